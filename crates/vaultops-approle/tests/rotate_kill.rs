//! Rotation killed between steps: for every step K, a child process (this same test
//! binary, re-executed) rotates the env file's secret-id and calls `abort()` right after
//! step K; the parent then proves that the env file's pair still logs in. After the last
//! step, the secret-ids the file held before can no longer log in.
//!
//! A custom `main` (`harness = false`) tells the two roles apart by an environment
//! variable, so the child needs no separate binary or example target to be built first.

#[path = "common/abort_child.rs"]
mod abort_child;
mod common;

use abort_child::{child_step, rotate_and_abort, run_child, runtime, var};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vaultops_approle::{
    issue, login, CredentialPair, EnvFileSink, IssueOptions, RotateOptions, RotateStep, Sink,
};

const SINK: &str = "VAULTOPS_TEST_SINK";

fn sink(path: &Path) -> Sink {
    Sink::EnvFile(EnvFileSink::new(path))
}

fn main() {
    match child_step() {
        Some(k) => rotate_and_abort(k, &[sink(Path::new(&var(SINK)))], RotateOptions::default()),
        None => parent(),
    }
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
            let status = run_child(
                k,
                &root,
                &cluster.ca_path(),
                &[(SINK, &path)],
                Duration::from_secs(60),
            );
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
