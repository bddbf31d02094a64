//! The "rotation killed after step K" child shared by the harness-less tests (`rotate_kill`,
//! `consumer`): the test binary re-executes itself with `CHILD_STEP` set; the child rotates
//! the given sinks and calls `abort()` (like kill -9: no destructors, no flushing) right after
//! step K. The parent runs it with a deadline and gets its exit status.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use vaultops_api::{ClientConfig, NodeClient, Token};
use vaultops_approle::{rotate, RotateOptions, RotateStep, Sink};

/// Set in the child's environment: the step after which it aborts.
pub const CHILD_STEP: &str = "VAULTOPS_TEST_ROTATE_ABORT_AFTER";
const ADDR: &str = "VAULTOPS_TEST_ADDR";
const CA: &str = "VAULTOPS_TEST_CA";
const TOKEN: &str = "VAULTOPS_TEST_TOKEN";

static ABORT_AFTER: AtomicUsize = AtomicUsize::new(0);

fn abort_after(step: RotateStep) {
    if step.number() == ABORT_AFTER.load(Ordering::SeqCst) {
        std::process::abort();
    }
}

/// The runtime both roles use (two workers: the machine has two cores).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The step this process must abort after, when it is the child.
pub fn child_step() -> Option<usize> {
    std::env::var(CHILD_STEP)
        .ok()
        .map(|k| k.parse().expect("step number"))
}

/// An environment variable the parent set for the child.
pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"))
}

/// The child: rotates `sinks` with `opts` plus the abort hook after step `k`; reaching the
/// end means the hook did not fire (exit 0, which the parent reports).
pub fn rotate_and_abort(k: usize, sinks: &[Sink], opts: RotateOptions) -> ! {
    ABORT_AFTER.store(k, Ordering::SeqCst);
    let config = ClientConfig {
        ca_pem: Some(std::fs::read(var(CA)).unwrap()),
        token: Some(Token::new(var(TOKEN))),
        ..Default::default()
    };
    let client = NodeClient::new(&var(ADDR), &config).unwrap();
    let opts = RotateOptions {
        after_step: Some(abort_after),
        ..opts
    };
    runtime().block_on(async {
        rotate(
            &client,
            crate::common::MOUNT,
            crate::common::ROLE,
            sinks,
            &opts,
        )
        .await
        .expect("rotation in the child");
    });
    eprintln!("child: rotation finished without reaching step {k}");
    std::process::exit(0);
}

/// The parent: runs this binary as the child for step `k` against `client`'s node (its
/// address and token, `ca` trusted), with `env` added; kills it and fails after `deadline`.
pub fn run_child(
    k: usize,
    client: &NodeClient,
    ca: &Path,
    env: &[(&str, &Path)],
    deadline: Duration,
) -> ExitStatus {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env(CHILD_STEP, k.to_string())
        .env(ADDR, client.addr())
        .env(CA, ca)
        .env(TOKEN, client.token().unwrap().expose())
        .stdin(Stdio::null());
    for (name, value) in env {
        cmd.env(name, OsStr::new(value));
    }
    let mut child = cmd.spawn().unwrap();
    let until = Instant::now() + deadline;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!(
                "the rotation child for step {k} did not finish within {} s",
                deadline.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
