//! Helpers shared by the Docker tests: unique names, a Docker connection that fails (never
//! skips) when the engine is missing, polling with a deadline, counting labelled objects, and
//! running a scenario so that its testbed is removed even when it panics.

#![allow(dead_code)] // each test binary uses a subset

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};
use futures_util::FutureExt;
use vaultops_testbed::{keep_from_env, TestbedName};

/// `t-<tag>-<pid>-<nanos>`: never the same twice, never a user's testbed.
pub fn unique_name(tag: &str) -> TestbedName {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    TestbedName::new(format!("t-{tag}-{}-{nanos:x}", std::process::id())).unwrap()
}

pub async fn docker_or_fail() -> bollard::Docker {
    let connect = async {
        let d = bollard::Docker::connect_with_local_defaults()?;
        d.negotiate_version().await
    };
    connect.await.unwrap_or_else(|e| {
        panic!("this test needs a reachable Docker engine and it is not reachable: {e}")
    })
}

/// Polls `f` every 100 ms until it returns `Some`, failing after `deadline` with `what`.
pub async fn poll<T, F, Fut>(what: &str, deadline: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, String>>,
{
    let start = Instant::now();
    let mut last = String::from("nothing yet");
    loop {
        match f().await {
            Ok(Some(v)) => return v,
            Ok(None) => {}
            Err(e) => last = e,
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Counts the containers, networks and volumes carrying the testbed's label.
pub async fn labelled_objects(d: &bollard::Docker, name: &TestbedName) -> (usize, usize, usize) {
    let f: HashMap<String, Vec<String>> = name.label_filter();
    let c = d
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&f)
                .build(),
        ))
        .await
        .unwrap();
    let n = d
        .list_networks(Some(ListNetworksOptionsBuilder::new().filters(&f).build()))
        .await
        .unwrap();
    let v = d
        .list_volumes(Some(ListVolumesOptionsBuilder::new().filters(&f).build()))
        .await
        .unwrap();
    (c.len(), n.len(), v.volumes.unwrap_or_default().len())
}

/// Every container of testbed `name`: its id and the time its process last started, sorted.
/// Equal before and after an operation: nothing was recreated or restarted.
pub async fn container_starts(d: &bollard::Docker, name: &TestbedName) -> Vec<(String, String)> {
    let f: HashMap<String, Vec<String>> = name.label_filter();
    let list = d
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&f)
                .build(),
        ))
        .await
        .unwrap();
    let mut starts = Vec::new();
    for c in list {
        let id = c.id.unwrap_or_default();
        let started = d
            .inspect_container(&id, None)
            .await
            .unwrap()
            .state
            .and_then(|s| s.started_at)
            .unwrap_or_default();
        starts.push((id, started));
    }
    starts.sort();
    starts
}

/// Runs `scenario`, then takes testbed `name` down (state under `root`) whatever happened,
/// unless it panicked and `TESTBED_KEEP=1` asks to keep it; then re-raises the panic.
pub async fn run_and_clean_up<F: Future<Output = ()>>(
    name: &TestbedName,
    root: tempfile::TempDir,
    scenario: F,
) {
    let outcome = std::panic::AssertUnwindSafe(scenario).catch_unwind().await;
    if outcome.is_err() && keep_from_env() {
        eprintln!(
            "TESTBED_KEEP=1: keeping testbed {name} (state in {:?})",
            root.keep()
        );
    } else {
        // Idempotent: after a successful scenario this may find nothing left.
        vaultops_testbed::down(name, root.path()).await.unwrap();
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Mode bits of a file on the host.
pub fn mode(p: &Path) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions()) & 0o777
}
