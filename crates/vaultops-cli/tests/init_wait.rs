//! `vaultops init` against a server frozen (SIGSTOP) while `sys/init` is under way: the
//! client waits past its ordinary request timeout (`--timeout 1`), says it is still waiting,
//! and keeps the keys once the server answers; and when the bundle cannot be written after
//! init, `--insecure-print` still shows the keys and the exit says the bundle was NOT saved.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vaultops_api::{ClientConfig, NodeClient, UnsealKey};
use vaultops_testkit::{Cluster, ClusterOptions};

/// The stderr line `vaultops init` prints right before `PUT sys/init` leaves.
const SENDING: &str = "sending sys/init to";
const STILL_WAITING: &str = "still waiting for sys/init on";

/// A `vaultops` child whose stderr is collected line by line while it runs.
struct Running {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    fn spawn(args: &[String]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vaultops"))
            .args(args)
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_TOKEN")
            .env_remove("BAO_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running vaultops");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Self { child, stderr }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr holds `text` at least `times` times.
    async fn wait_for(&self, text: &str, times: usize, deadline: Duration) {
        vaultops_bootstrap::wait_until(
            &format!("{times} × {text:?} on vaultops' stderr"),
            deadline,
            Duration::from_millis(5),
            || async {
                let err = self.stderr();
                if err.matches(text).count() >= times {
                    Ok(Some(()))
                } else {
                    Err(err)
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Waits for the exit; returns the exit code, stdout and stderr.
    async fn finish(mut self, deadline: Duration) -> (Option<i32>, String, String) {
        let status = vaultops_bootstrap::wait_until(
            "vaultops to exit",
            deadline,
            Duration::from_millis(50),
            || {
                let r = self.child.try_wait();
                async move {
                    match r {
                        Ok(Some(s)) => Ok(Some(s)),
                        Ok(None) => Err("running".to_string()),
                        Err(e) => Err(e.to_string()),
                    }
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}; stderr so far:\n{}", self.stderr()));
        let mut out = String::new();
        use std::io::Read;
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        // The reader thread ends at EOF, right after the exit: wait for it to have it all.
        let _ = vaultops_bootstrap::wait_until(
            "stderr to be read to the end",
            Duration::from_secs(5),
            Duration::from_millis(10),
            || async {
                if Arc::strong_count(&self.stderr) == 1 {
                    Ok(Some(()))
                } else {
                    Err(String::new())
                }
            },
        )
        .await;
        (status.code(), out, self.stderr())
    }
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The cluster's CA, one address, and `--timeout 1`: any ordinary request to a frozen server
/// gives up after a second.
fn base(c: &Cluster) -> Vec<String> {
    vec![
        "--ca-cert".into(),
        s(&c.ca_path()),
        "--addr".into(),
        c.addrs()[0].clone(),
        "--timeout".into(),
        "1".into(),
    ]
}

/// Freezes node 0 as soon as vaultops says `sys/init` goes out, then proves it is frozen: an
/// ordinary request with a 1 s timeout fails.
async fn freeze_during_init(c: &Cluster, run: &Running) {
    run.wait_for(SENDING, 1, Duration::from_secs(30)).await;
    c.pause_node(0);
    let quick = NodeClient::new(
        &c.addrs()[0],
        &ClientConfig {
            timeout: Duration::from_secs(1),
            ..c.client_config().clone()
        },
    )
    .unwrap();
    let e = quick
        .seal_status()
        .await
        .expect_err("a frozen server does not answer");
    assert!(e.to_string().contains("timed out"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_outwaits_a_frozen_server_and_keeps_the_keys() {
    let c = Cluster::start(ClusterOptions {
        nodes: 1,
        bootstrap: false,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let bundle = dir.path().join("init.json");
    let mut args = base(&c);
    args.extend([
        "init".into(),
        "--out".into(),
        s(&bundle),
        "--age-recipient".into(),
        id.to_public().to_string(),
    ]);
    let run = Running::spawn(&args);
    freeze_during_init(&c, &run).await;
    // Three progress lines at --timeout 1: the client has waited three times as long as
    // any ordinary request may take, and goes on.
    run.wait_for(STILL_WAITING, 3, Duration::from_secs(30))
        .await;
    assert!(!bundle.exists(), "no answer yet, so no bundle yet");
    c.resume_node(0);
    let (code, stdout, stderr) = run.finish(Duration::from_secs(60)).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.is_empty(),
        "nothing on stdout without --insecure-print"
    );
    assert!(stderr.contains("bundle written to"), "{stderr}");

    // The bundle holds the real keys: three of its shares open the node.
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let n = c.client(0);
    for sh in &b["encrypted_shares"].as_array().unwrap()[..3] {
        let ct = sh["ciphertext"].as_str().unwrap();
        let plain = String::from_utf8(age::decrypt(&id, ct.as_bytes()).unwrap()).unwrap();
        n.unseal(&UnsealKey::new(plain)).await.unwrap();
    }
    assert!(!n.seal_status().await.unwrap().sealed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_print_shows_the_keys_when_the_bundle_cannot_be_written() {
    let c = Cluster::start(ClusterOptions {
        nodes: 1,
        bootstrap: false,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("keys");
    std::fs::create_dir(&sub).unwrap();
    let bundle = sub.join("init.json");
    let mut args = base(&c);
    args.extend([
        "init".into(),
        "--out".into(),
        s(&bundle),
        "--insecure-print".into(),
    ]);
    let run = Running::spawn(&args);
    // The path was checked writable before init; it stops being so while the server works:
    // its directory is replaced by a file.
    freeze_during_init(&c, &run).await;
    run.wait_for(STILL_WAITING, 1, Duration::from_secs(30))
        .await;
    std::fs::remove_dir(&sub).unwrap();
    std::fs::write(&sub, "not a directory").unwrap();
    c.resume_node(0);
    let (code, stdout, stderr) = run.finish(Duration::from_secs(60)).await;
    assert_ne!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("the bundle was NOT saved") && stderr.contains("shown above"),
        "{stderr}"
    );
    assert!(!bundle.exists());

    // The printed keys are the real ones: three open the node, the root token works.
    let keys: Vec<UnsealKey> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Unseal Key "))
        .map(|l| UnsealKey::new(l.split_once(": ").unwrap().1.to_owned()))
        .collect();
    assert_eq!(keys.len(), 5, "{stdout}");
    let root = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Initial Root Token: "))
        .unwrap_or_else(|| panic!("no root token in {stdout}"));
    let n = c.client(0);
    for k in &keys[..3] {
        n.unseal(k).await.unwrap();
    }
    assert!(!n.seal_status().await.unwrap().sealed);
    c.nodes_set(false)
        .wait_active(Duration::from_secs(30))
        .await
        .unwrap();
    let me = n
        .with_token(vaultops_api::Token::new(root))
        .token_lookup_self()
        .await
        .unwrap();
    assert!(me.policies.contains(&"root".to_string()));
}
