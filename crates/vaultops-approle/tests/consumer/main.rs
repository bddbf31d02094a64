//! A real long-running consumer through 20 rotations: the client of
//! `docs/app-integration.md` (hvac), extracted from the document as it stands, logs in every
//! second while the role's secret-id is rotated 20 times, 7 of those rotations killed
//! (`abort()`, like kill -9) right after each of the 7 steps in turn. Two consumers run it:
//! one reading the env file sink, one reading files projected from the Secret manifest sink
//! the way the kubelet refreshes a mounted Secret (a `..data` symlink swapped atomically,
//! polled every 500 ms). Both must see 0 refused logins and 0 errors.
//!
//! Positive control: a third consumer reads the env file once at start (python-dotenv at
//! import, the pattern the issue found in the Flask app) and must be refused once the first
//! rotation has destroyed its secret-id: the harness does see failed logins.
//!
//! Needs python3 with hvac 2.4.0 and python-dotenv 1.2.4 (`.ci/run` installs them); the
//! test fails, naming them, when they are missing. A custom `main` (`harness = false`)
//! re-executes this binary as the rotation child that aborts.

#[path = "../common/abort_child.rs"]
mod abort_child;
#[path = "../common/mod.rs"]
mod common;
mod kubelet;

use abort_child::{child_step, rotate_and_abort, run_child, runtime, var};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vaultops_approle::{
    issue, login, rotate, EnvFileSink, IssueOptions, K8sSecretSink, RotateOptions, RotateStep, Sink,
};

const ENV_SINK: &str = "VAULTOPS_TEST_ENV_SINK";
const K8S_SINK: &str = "VAULTOPS_TEST_K8S_SINK";

/// Rotations in all; the ones at odd positions 1, 3, …, 13 are killed after step 1…7.
const ROTATIONS: usize = 20;
/// The grace of every rotation: longer than the kubelet emulation's poll and a login.
const GRACE: Duration = Duration::from_secs(3);

fn sinks(env: &Path, k8s: &Path) -> [Sink; 2] {
    [
        Sink::EnvFile(EnvFileSink::new(env)),
        Sink::K8sSecret(K8sSecretSink {
            path: k8s.to_owned(),
            namespace: Some("atmr".into()),
            name: Some("vault-credentials".into()),
        }),
    ]
}

fn options() -> RotateOptions {
    RotateOptions {
        grace: GRACE,
        lock_wait: Duration::from_secs(60),
        ..Default::default()
    }
}

fn main() {
    match child_step() {
        Some(k) => rotate_and_abort(
            k,
            &sinks(Path::new(&var(ENV_SINK)), Path::new(&var(K8S_SINK))),
            options(),
        ),
        None => parent(),
    }
}

/// The consumer driver: the documented client, forced to log in again every second.
const DRIVER: &str = r#"
import json, logging, os, sys, time
sys.path.insert(0, os.environ["CONSUMER_PATH"])
refused = 0
class Count(logging.Handler):
    def emit(self, record):
        global refused
        if "login refused" in record.getMessage():
            refused += 1
logging.getLogger("atmr.vault").addHandler(Count())
logging.getLogger("atmr.vault").setLevel(logging.INFO)
from atmr.vault import vault
stop = os.environ["CONSUMER_STOP"]
logins = errors = 0
last_error = None
open(os.environ["CONSUMER_READY"], "w").close()
while not os.path.exists(stop):
    started = time.monotonic()
    try:
        session = vault()
        session.invalidate()
        session.get()
        logins += 1
    except Exception as e:
        errors += 1
        last_error = repr(e)
    time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
print(json.dumps({"logins": logins, "refused": refused, "errors": errors, "last_error": last_error}))
"#;

/// The control: reads the env file once at start, then logs in every second with it.
const READ_ONCE: &str = r#"
import json, os, time
import hvac
from dotenv import dotenv_values
values = dotenv_values(os.environ["VAULT_ENV_FILE"], interpolate=False)
role_id, secret_id = values["VAULT_ROLE_ID"], values["VAULT_SECRET_ID"]
client = hvac.Client(url=os.environ["VAULT_ADDR"], verify=os.environ["VAULT_CACERT"], timeout=10)
stop = os.environ["CONSUMER_STOP"]
logins = refused = errors = 0
last_error = None
open(os.environ["CONSUMER_READY"], "w").close()
while not os.path.exists(stop):
    started = time.monotonic()
    try:
        client.auth.approle.login(role_id=role_id, secret_id=secret_id)
        logins += 1
    except hvac.exceptions.InvalidRequest as e:
        refused += 1
        last_error = repr(e)
    except Exception as e:
        errors += 1
        last_error = repr(e)
    time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
print(json.dumps({"logins": logins, "refused": refused, "errors": errors, "last_error": last_error}))
"#;

/// The client module exactly as `docs/app-integration.md` shows it.
fn documented_client() -> String {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/app-integration.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    let start = text
        .find("```python\n\"\"\"atmr/vault.py")
        .expect("docs/app-integration.md has the ```python block of atmr/vault.py");
    let body = &text[start + "```python\n".len()..];
    body[..body.find("\n```").expect("the block ends")].to_owned() + "\n"
}

struct Consumer {
    name: &'static str,
    child: Child,
}

#[derive(Debug, serde::Deserialize)]
struct Counts {
    logins: u64,
    refused: u64,
    errors: u64,
    #[allow(dead_code)] // printed with {:?} when an assertion fails
    last_error: Option<String>,
}

fn start_consumer(
    name: &'static str,
    script: &str,
    dir: &Path,
    envs: &[(&str, &Path)],
    common_env: &[(&str, String)],
) -> Consumer {
    let ready = dir.join(format!("{name}.ready"));
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(script)
        .env("CONSUMER_PATH", dir)
        .env("CONSUMER_STOP", dir.join("stop"))
        .env("CONSUMER_READY", &ready)
        .env("VAULT_LOGIN_RETRY_SECONDS", "60")
        .stdout(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    for (k, v) in common_env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("python3 starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready.exists() {
        assert!(
            Instant::now() < deadline,
            "consumer {name} did not start within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Consumer { name, child }
}

fn finish(c: Consumer) -> Counts {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut child = c.child;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "consumer {} did not stop within 120 s",
            c.name
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("consumer {} printed {text:?}: {e}", c.name))
}

fn python_ready() {
    let ok = Command::new("python3")
        .args(["-c", "import hvac, dotenv"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "this test runs the documented hvac client: install it with `python3 -m pip install hvac==2.4.0 python-dotenv==1.2.4` (.ci/run does)"
    );
}

fn parent() {
    python_ready();
    runtime().block_on(async {
        let (cluster, root) = common::cluster().await;
        let rotator = common::rotator_client(&root).await;
        let tmp = tempfile::tempdir().unwrap();
        let env_path: PathBuf = tmp.path().join("vault-secrets.env");
        let k8s_path: PathBuf = tmp.path().join("vault-credentials.yaml");
        let mounted = tmp.path().join("mounted");
        let [env_sink, k8s_sink] = sinks(&env_path, &k8s_path);
        std::fs::write(
            &env_path,
            format!(
                "VAULT_ADDR={}\nVAULT_CACERT={}\nFLASK_ENV=production\n",
                root.addr(),
                cluster.ca_path().display()
            ),
        )
        .unwrap();
        let creds = issue(&root, common::MOUNT, common::ROLE, &IssueOptions::default())
            .await
            .unwrap();
        let first = creds.pair().unwrap();
        env_sink.write(&first).unwrap();
        k8s_sink.write(&first).unwrap();
        let kubelet = kubelet::Kubelet::start(k8s_sink.clone(), mounted.clone());

        let atmr = tmp.path().join("atmr");
        std::fs::create_dir(&atmr).unwrap();
        std::fs::write(atmr.join("__init__.py"), "").unwrap();
        std::fs::write(atmr.join("vault.py"), documented_client()).unwrap();
        let server = [
            ("VAULT_ADDR", root.addr().to_owned()),
            ("VAULT_CACERT", cluster.ca_path().display().to_string()),
        ];
        let env_consumer = start_consumer(
            "env-file",
            DRIVER,
            tmp.path(),
            &[("VAULT_ENV_FILE", &env_path)],
            &server,
        );
        let files_consumer = start_consumer(
            "mounted-secret",
            DRIVER,
            tmp.path(),
            &[
                ("VAULT_ROLE_ID_FILE", &mounted.join("vault-role-id")),
                ("VAULT_SECRET_ID_FILE", &mounted.join("vault-secret-id")),
            ],
            &server,
        );
        let control = start_consumer(
            "read-once-control",
            READ_ONCE,
            tmp.path(),
            &[("VAULT_ENV_FILE", &env_path)],
            &server,
        );

        let sinks = [env_sink.clone(), k8s_sink.clone()];
        let mut killed = 0;
        for i in 0..ROTATIONS {
            if i % 2 == 1 && killed < RotateStep::ALL.len() {
                killed += 1;
                let status = run_child(
                    killed,
                    &rotator,
                    &cluster.ca_path(),
                    &[(ENV_SINK, &env_path), (K8S_SINK, &k8s_path)],
                    Duration::from_secs(120),
                );
                assert_eq!(status.signal(), Some(6), "rotation {i} must die right after step {killed}: {status:?}");
                eprintln!("rotation {i}: killed after step {killed} ({})", RotateStep::ALL[killed - 1]);
            } else {
                let report = rotate(&rotator, common::MOUNT, common::ROLE, &sinks, &options())
                    .await
                    .unwrap_or_else(|e| panic!("rotation {i}: {}", vaultops_types::error_report(&e)));
                eprintln!("rotation {i}: complete, new accessor {}", report.new_accessor);
            }
            // Whatever happened, both sinks hold a pair that logs in.
            for s in &sinks {
                login(&root, common::MOUNT, &s.read_pair().unwrap().pair)
                    .await
                    .unwrap_or_else(|e| panic!("after rotation {i}, {s} does not log in: {e}"));
            }
        }
        // The mounted files caught up with the last rotation before the consumers stop.
        kubelet.wait_synced(&k8s_sink, Duration::from_secs(10));
        std::fs::write(tmp.path().join("stop"), "").unwrap();
        let env_counts = finish(env_consumer);
        let files_counts = finish(files_consumer);
        let control_counts = finish(control);
        kubelet.stop();
        eprintln!("consumer env-file: {env_counts:?}");
        eprintln!("consumer mounted-secret: {files_counts:?}");
        eprintln!("control read-once: {control_counts:?}");
        for (name, c) in [("env-file", &env_counts), ("mounted-secret", &files_counts)] {
            assert!(c.logins >= ROTATIONS as u64, "{name}: only {} logins", c.logins);
            assert_eq!(
                (c.refused, c.errors),
                (0, 0),
                "{name}: refused or failed logins through {ROTATIONS} rotations: {c:?}"
            );
        }
        assert!(
            control_counts.refused > 0,
            "positive control: a consumer that read the env file once must be refused after the rotations destroyed its secret-id: {control_counts:?}"
        );
        println!(
            "consumer: {ROTATIONS} rotations ({} killed, one after each step): env-file {} logins 0 refused, mounted-secret {} logins 0 refused; read-once control refused {} times",
            RotateStep::ALL.len(),
            env_counts.logins,
            files_counts.logins,
            control_counts.refused
        );
        drop(cluster);
    });
}
