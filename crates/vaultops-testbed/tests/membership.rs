//! Docker: a node added to a running testbed with a new identity, then removed with its
//! volume, and the testbed's state following both (attach, status, labelled objects); a node
//! container lost behind the testbed's back is reported as an inconsistency.
//!
//! Needs a reachable Docker engine and FAILS (never skips) without one. One node is enough:
//! the added node is left uninitialised (`JoinBy::Explicit`), so raft is untouched; joining
//! is the scenarios' business (`replace-node`, `scale-out-in`).

mod common;

use std::path::Path;
use std::time::Duration;

use bollard::query_parameters::RemoveContainerOptionsBuilder;
use common::{docker_or_fail, labelled_objects, poll, run_and_clean_up, unique_name};
use vaultops_api::NodeRole;
use vaultops_testbed::{JoinBy, NodeCount, NodeId, Silent, Testbed, UpOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_is_added_with_a_new_identity_and_removed_with_its_volume() {
    let d = docker_or_fail().await;
    let name = unique_name("members");
    let root = tempfile::tempdir().unwrap();
    let mut opts = UpOptions::new(name.clone(), root.path().to_owned());
    opts.nodes = Some(NodeCount::new(1).unwrap());
    opts.deadline = Duration::from_secs(120);
    let state_root = root.path().to_owned();
    run_and_clean_up(&name, root, scenario(&d, &opts, &state_root)).await;
}

fn ids(tb: &Testbed) -> Vec<String> {
    tb.nodes().iter().map(|n| n.id.to_string()).collect()
}

async fn scenario(d: &bollard::Docker, opts: &UpOptions, root: &Path) {
    let name = &opts.name;
    let (mut tb, _) = Testbed::up(opts, &mut Silent)
        .await
        .unwrap_or_else(|e| panic!("up failed: {e}"));
    assert!(tb.status().await.unwrap().healthy());

    let added = tb.add_node(JoinBy::Explicit).await.unwrap();
    assert_eq!(added, NodeId::new(2).unwrap());
    assert_eq!(ids(&tb), ["node1", "node2"]);
    let node = tb.node(added).unwrap().clone();
    assert_eq!(node.ip, tb.plan_view().subnet.node_ip(added));
    // It answers over TLS with a certificate the testbed CA signed, uninitialised and alone.
    let client = tb.client(added);
    poll(
        "the added node to answer",
        Duration::from_secs(60),
        || async {
            match client.health().await {
                Ok(h) if h.role == NodeRole::Uninitialized => Ok(Some(())),
                Ok(h) => Err(format!("role {}", h.role)),
                Err(e) => Err(e.to_string()),
            }
        },
    )
    .await;
    let cfg = std::fs::read_to_string(tb.state().node_config(added)).unwrap();
    assert!(
        cfg.contains("node_id") && cfg.contains("\"node2\""),
        "{cfg}"
    );
    assert!(!cfg.contains("retry_join"), "{cfg}");
    assert_eq!(
        labelled_objects(d, name).await,
        (3, 1, 2),
        "node1, node2, sink"
    );

    // Another handle sees the same node set; status names the node that is not a voter.
    let again = Testbed::attach(name, root).await.unwrap();
    assert_eq!(ids(&again), ["node1", "node2"]);
    let st = again.status().await.unwrap();
    assert_eq!(st.nodes.len(), 2);
    assert!(
        st.problems.iter().any(|p| p.contains("node2")),
        "{:?}",
        st.problems
    );

    // Positive control: a node container gone without the testbed knowing is inconsistent.
    d.remove_container(
        &node.container,
        Some(RemoveContainerOptionsBuilder::new().force(true).build()),
    )
    .await
    .unwrap();
    let e = Testbed::attach(name, root).await.unwrap_err().to_string();
    assert!(e.contains("incomplete") && e.contains("node2"), "{e}");

    // Removing it (its container already gone: idempotent) takes its volume and config too.
    tb.remove_node(added, Duration::from_secs(5)).await.unwrap();
    assert_eq!(ids(&tb), ["node1"]);
    assert_eq!(labelled_objects(d, name).await, (2, 1, 1), "node1, sink");
    assert!(!tb.state().node_config(added).exists());
    let again = Testbed::attach(name, root).await.unwrap();
    assert_eq!(ids(&again), ["node1"]);
    let st = again.status().await.unwrap();
    assert!(st.healthy(), "{:?}", st.problems);

    tb.down().await.unwrap();
    assert_eq!(labelled_objects(d, name).await, (0, 0, 0));
}
