//! Rotation killed between steps: for every step K, a child process (this same test
//! binary, re-executed) rotates the env file's secret-id and calls `abort()` right after
//! step K; the parent then proves that the env file's pair still logs in. After the last
//! step, the secret-ids the file held before can no longer log in.
//!
//! A custom `main` (`harness = false`) tells the two roles apart by an environment
//! variable, so the child needs no separate binary or example target to be built first.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use vaultops_api::{ClientConfig, NodeClient, Token};
use vaultops_approle::{
    issue, login, rotate, CredentialPair, EnvFileSink, IssueOptions, RotateOptions, RotateStep,
    Sink,
};

const CHILD: &str = "VAULTOPS_TEST_ROTATE_ABORT_AFTER";
const ADDR: &str = "VAULTOPS_TEST_ADDR";
const CA: &str = "VAULTOPS_TEST_CA";
const TOKEN: &str = "VAULTOPS_TEST_TOKEN";
const SINK: &str = "VAULTOPS_TEST_SINK";

static ABORT_AFTER: AtomicUsize = AtomicUsize::new(0);

fn abort_after(step: RotateStep) {
    if step.number() == ABORT_AFTER.load(Ordering::SeqCst) {
        // Like a kill -9 at this point: no destructors, no flushing, no clean-up.
        std::process::abort();
    }
}

fn sink(path: &Path) -> Sink {
    Sink::EnvFile(EnvFileSink::new(path))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn main() {
    match std::env::var(CHILD) {
        Ok(k) => child(k.parse().expect("step number")),
        Err(_) => parent(),
    }
}

/// Rotates with the abort hook; reaching the end means the hook did not fire.
fn child(k: usize) {
    ABORT_AFTER.store(k, Ordering::SeqCst);
    let var = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("{n} not set"));
    let config = ClientConfig {
        ca_pem: Some(std::fs::read(var(CA)).unwrap()),
        token: Some(Token::new(var(TOKEN))),
        ..Default::default()
    };
    let client = NodeClient::new(&var(ADDR), &config).unwrap();
    let sinks = [sink(Path::new(&var(SINK)))];
    runtime().block_on(async {
        let opts = RotateOptions {
            after_step: Some(abort_after),
            ..Default::default()
        };
        rotate(&client, common::MOUNT, common::ROLE, &sinks, &opts)
            .await
            .expect("rotation in the child");
    });
    eprintln!("child: rotation finished without reaching step {k}");
    std::process::exit(0);
}

fn parent() {
    runtime().block_on(async {
        let (cluster, root) = common::cluster().await;
        let tmp = tempfile::tempdir().unwrap();
        let path: PathBuf = tmp.path().join("vault-secrets.env");
        let env_sink = sink(&path);
        let creds = issue(&root, common::MOUNT, common::ROLE, &IssueOptions::default())
            .await
            .unwrap();
        env_sink.write(&creds.pair().unwrap()).unwrap();
        let mut held_before: Vec<CredentialPair> = vec![creds.pair().unwrap()];

        for step in RotateStep::ALL {
            let k = step.number();
            let before = env_sink.read_pair().unwrap().pair;
            let status = run_child(k, root.addr(), &cluster.ca_path(), root.token().unwrap(), &path);
            assert_eq!(
                status.signal(),
                Some(6),
                "the child must die by SIGABRT right after step {k} ({step}), got {status:?}"
            );
            let now = env_sink.read_pair().unwrap().pair;
            // The invariant: whatever the step, the file's pair logs in.
            login(&root, common::MOUNT, &now).await.unwrap_or_else(|e| {
                panic!("after a kill following step {k} ({step}) the env file's pair does not log in: {e}")
            });
            assert_eq!(
                now != before,
                step.sinks_updated(),
                "after step {k} ({step}) the file must hold the {} pair",
                if step.sinks_updated() { "new" } else { "old" }
            );
            if step == RotateStep::PreviousDestroyed {
                // The pair the file held when this last child started is destroyed.
                let e = login(&root, common::MOUNT, &before).await.unwrap_err();
                assert_eq!(e.failure, vaultops_approle::LoginFailure::InvalidCredentials, "{e}");
            }
            eprintln!("killed after step {k} ({step}): env file pair logs in");
            held_before.push(now);
        }
        // Rotations killed before destroying leave their previous secret-ids valid, named
        // in the audit log; the last complete rotation destroyed only what it held.
        let last = held_before.last().unwrap();
        login(&root, common::MOUNT, last).await.unwrap();
        drop(cluster);
    });
    eprintln!("rotate_kill: ok");
}

/// Runs the child with a deadline; kills it when the deadline passes.
fn run_child(
    k: usize,
    addr: &str,
    ca: &Path,
    token: &Token,
    sink: &Path,
) -> std::process::ExitStatus {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, k.to_string())
        .env(ADDR, addr)
        .env(CA, ca)
        .env(TOKEN, token.expose())
        .env(SINK, sink)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the rotation child for step {k} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
