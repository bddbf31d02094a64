//! Docker integration: a real 3-node testbed, end to end.
//!
//! up → status (one active, two standbys, three voters) → a KV write through a standby is
//! readable from every node → node operations (pause, partition, kill + restart + unseal) →
//! up again is a no-op → down leaves no labelled container, network or volume.
//!
//! Needs a reachable Docker engine and FAILS (never skips) without one. The testbed has its own
//! name and free ports, so it never collides with a user's testbed, and is removed even when
//! the test fails (unless TESTBED_KEEP=1).

mod common;

use std::path::Path;
use std::time::Duration;

use common::{
    container_starts, docker_or_fail, labelled_objects, poll, run_and_clean_up, unique_name,
};
use vaultops_api::NodeRole;
use vaultops_testbed::{NodeCount, NodeId, Silent, Testbed, UpOptions, UpOutcome};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_node_testbed_end_to_end() {
    let d = docker_or_fail().await;
    let name = unique_name("e2e");
    let root = tempfile::tempdir().unwrap();
    let mut opts = UpOptions::new(name.clone(), root.path().to_owned());
    opts.nodes = Some(NodeCount::new(3).unwrap());
    opts.deadline = Duration::from_secs(120);

    let state_root = root.path().to_owned();
    run_and_clean_up(&name, root, scenario(&d, &opts, &state_root)).await;
    assert_eq!(labelled_objects(&d, &name).await, (0, 0, 0));
}

async fn scenario(d: &bollard::Docker, opts: &UpOptions, root: &Path) {
    let name = &opts.name;
    let (tb, outcome) = Testbed::up(opts, &mut Silent)
        .await
        .unwrap_or_else(|e| panic!("up failed: {e}"));
    assert!(matches!(outcome, UpOutcome::Created { .. }), "{outcome:?}");

    // Status: one active, two standbys, three voters, every container running.
    let st = tb.status().await.unwrap();
    assert!(st.healthy(), "problems: {:?}", st.problems);
    let roles: Vec<_> = st.nodes.iter().map(|n| n.api.role).collect();
    assert_eq!(
        roles
            .iter()
            .filter(|r| **r == Some(NodeRole::Active))
            .count(),
        1,
        "{roles:?}"
    );
    assert_eq!(
        roles
            .iter()
            .filter(|r| **r == Some(NodeRole::Standby))
            .count(),
        2,
        "{roles:?}"
    );
    assert_eq!(st.voters(), 3, "{st:?}");
    assert_eq!(st.seal, vaultops_testbed::SealKind::Shamir);
    assert!(st.unsealer.is_none() && tb.unsealer().is_none());
    assert!(st.nodes.iter().all(|n| n.container_state == "running"));
    // The sink needs busybox in the image (from the host's /bin/busybox): `up` refuses to
    // build the testbed without it, so the sink always runs.
    assert_eq!(st.audit_sink, "running");
    let init = std::fs::metadata(tb.state().init_file()).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&init.permissions()) & 0o777,
        0o600
    );
    let env = std::fs::read_to_string(tb.state().env_file()).unwrap();
    assert!(
        env.contains("VAULT_ADDR=https://127.0.0.1:") && !env.contains("TOKEN"),
        "{env}"
    );

    // A write through a standby (forwarded to the active) is readable from every node. The
    // write is retried while KV v2 finishes its upgrade; reads are polled because standbys
    // serve local reads that lag ~100 ms.
    let active = st.active().unwrap();
    let standby = st.nodes.iter().find(|n| n.id != active).unwrap().id;
    let writer = tb.root_client(standby);
    let value = format!("written via {standby}");
    poll(
        "a KV write through a standby",
        Duration::from_secs(20),
        || {
            let writer = writer.clone();
            let value = value.clone();
            async move {
                writer
                    .kv_write(
                        "secret",
                        "testbed/check",
                        &serde_json::json!({ "v": value }),
                        None,
                    )
                    .await
                    .map(Some)
                    .map_err(|e| e.to_string())
            }
        },
    )
    .await;
    for n in tb.nodes() {
        let c = tb.root_client(n.id);
        let value = value.clone();
        poll(
            &format!("the secret on {}", n.id),
            Duration::from_secs(10),
            || {
                let c = c.clone();
                let value = value.clone();
                async move {
                    match c.kv_read("secret", "testbed/check").await {
                        Ok(Some(s)) if s.data.get("v") == Some(&serde_json::json!(value)) => {
                            Ok(Some(()))
                        }
                        Ok(other) => Err(format!("{other:?}")),
                        Err(e) => Err(e.to_string()),
                    }
                }
            },
        )
        .await;
    }

    // The audit sink received the nodes' audit stream, and the file device wrote too.
    let files = tb.fetch_audit_logs().await.unwrap();
    let sink = std::fs::read_to_string(tb.state().audit_dir().join("sink.log")).unwrap();
    assert!(
        sink.contains("testbed/check"),
        "sink log has no KV request; files {files:?}"
    );
    let active_log =
        std::fs::read_to_string(tb.state().audit_dir().join(format!("{active}.log"))).unwrap();
    assert!(
        active_log.contains("\"type\":\"response\""),
        "{active_log:.300}"
    );

    node_operations(&tb, standby).await;

    // up again: a no-op on a healthy testbed (no container recreated or restarted).
    let before = container_starts(d, name).await;
    let (_, outcome) = Testbed::up(opts, &mut Silent).await.unwrap();
    assert_eq!(outcome, UpOutcome::AlreadyRunning);
    assert_eq!(container_starts(d, name).await, before);

    // down removes every labelled object (3 nodes and the audit sink) and the state dir;
    // twice is fine.
    let removed = tb.down().await.unwrap();
    assert_eq!(removed.containers.len(), 4, "{removed:?}");
    assert_eq!(removed.networks.len(), 1, "{removed:?}");
    assert_eq!(removed.volumes.len(), 3, "{removed:?}");
    assert_eq!(labelled_objects(d, name).await, (0, 0, 0));
    assert!(!root.join(name.as_str()).exists());
    let again = vaultops_testbed::down(name, root).await.unwrap();
    assert!(again.is_empty(), "{again:?}");
}

/// Pause/unpause, partition/heal and kill/restart/unseal of standby `node`; the cluster is
/// healthy again at the end.
async fn node_operations(tb: &Testbed, node: NodeId) {
    let client = tb.client(node);
    let role = |c: vaultops_api::NodeClient| async move {
        c.health().await.map(|h| h.role).map_err(|e| e.to_string())
    };

    tb.pause(node).await.unwrap();
    tb.pause(node).await.unwrap();
    assert_eq!(tb.container_state(node).await.unwrap(), "paused");
    tb.unpause(node).await.unwrap();
    poll(
        "the unpaused node to answer",
        Duration::from_secs(10),
        || {
            let c = client.clone();
            async move {
                role(c)
                    .await
                    .map(|r| (r == NodeRole::Standby).then_some(()))
            }
        },
    )
    .await;

    tb.disconnect(node).await.unwrap();
    assert!(!tb.is_connected(node).await.unwrap());
    tb.disconnect(node).await.unwrap();
    tb.reconnect(node).await.unwrap();
    assert!(tb.is_connected(node).await.unwrap());
    tb.reconnect(node).await.unwrap();

    tb.kill(node).await.unwrap();
    assert_eq!(tb.container_state(node).await.unwrap(), "exited");
    tb.kill(node).await.unwrap();
    tb.start(node).await.unwrap();
    poll(
        "the restarted node to answer sealed",
        Duration::from_secs(20),
        || {
            let c = client.clone();
            async move { role(c).await.map(|r| (r == NodeRole::Sealed).then_some(())) }
        },
    )
    .await;
    tb.unseal(node).await.unwrap();
    poll(
        "the testbed to be healthy again",
        Duration::from_secs(60),
        || async {
            let st = tb.status().await.map_err(|e| e.to_string())?;
            if st.healthy() {
                Ok(Some(()))
            } else {
                Err(st.problems.join("; "))
            }
        },
    )
    .await;
    let logs = tb.logs(node, 50).await.unwrap();
    assert!(logs.contains("vault is unsealed"), "{logs}");
}

/// A node that does not become healthy in time: a clear error naming the step, with every
/// node's log tail, and nothing left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_up_reports_logs_and_cleans_up() {
    let d = docker_or_fail().await;
    let name = unique_name("fail");
    let root = tempfile::tempdir().unwrap();
    let mut opts = UpOptions::new(name.clone(), root.path().to_owned());
    opts.nodes = Some(NodeCount::new(1).unwrap());
    // No wait can succeed within zero time: the first one fails.
    opts.deadline = Duration::ZERO;
    opts.keep_on_failure = false;
    let err = Testbed::up(&opts, &mut Silent).await.unwrap_err();
    // The whole chain, as the binaries print it: the cause is the source, not the message.
    let msg = vaultops_types::error_report(&err);
    assert!(
        matches!(err, vaultops_testbed::TestbedError::Bootstrap { .. }),
        "{err:?}"
    );
    // Normally the listener wait; a very fast node may get further, to a later wait.
    assert!(
        msg.contains("failed: ") && msg.contains("timed out"),
        "{msg}"
    );
    assert!(msg.contains("--- node1 ("), "{msg}");
    assert_eq!(labelled_objects(&d, &name).await, (0, 0, 0));
    assert!(!root.path().join(name.as_str()).exists());
}

/// A published port already in use stops `up` before anything is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_port_is_refused_before_creating_anything() {
    let d = docker_or_fail().await;
    let name = unique_name("port");
    let root = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut opts = UpOptions::new(name.clone(), root.path().to_owned());
    opts.nodes = Some(NodeCount::new(1).unwrap());
    opts.ports = vaultops_testbed::PortPlan::Base(port - 1);
    let err = Testbed::up(&opts, &mut Silent).await.unwrap_err();
    assert!(
        matches!(err, vaultops_testbed::TestbedError::Port(_)),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert_eq!(labelled_objects(&d, &name).await, (0, 0, 0));
}
