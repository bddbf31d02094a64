//! `sys/storage/raft/promote` and `demote` on a real 3-node OpenBao cluster: the round trip
//! (voter → permanent non-voter → voter) and the server's refusals (HTTP 500), kept with their
//! messages. (In this crate, not vaultops-api, for `wait_until`.)

use std::time::Duration;
use vaultops_api::NodeClient;
use vaultops_testkit::{Cluster, ClusterOptions};

const DEADLINE: Duration = Duration::from_secs(60);

/// Waits until `node_id`'s raft voter flag and autopilot node type are as given.
async fn wait_role(c: &NodeClient, node_id: &str, voter: bool, node_type: &str) {
    vaultops_bootstrap::wait_until(
        &format!("{node_id}: voter={voter}, node_type={node_type}"),
        DEADLINE,
        Duration::from_millis(200),
        || async {
            let conf = c.raft_configuration().await.map_err(|e| e.to_string())?;
            let st = c.autopilot_state().await.map_err(|e| e.to_string())?;
            let v = conf
                .servers
                .iter()
                .find(|s| s.node_id == node_id)
                .map(|s| s.voter);
            let t = st.servers.get(node_id).map(|s| s.node_type.clone());
            if v == Some(voter) && t.as_deref() == Some(node_type) {
                Ok(Some(()))
            } else {
                Err(format!("voter={v:?}, node_type={t:?}"))
            }
        },
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demote_then_promote_and_the_refusals() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let active = c.wait_active(DEADLINE).await;
    let leader = c.root_client(active);
    let other = c.nodes()[(active + 1) % 3].name.clone();

    let err = leader.raft_promote("no-such-node").await.unwrap_err();
    assert_eq!(err.status(), Some(500), "{err:?}");
    assert!(
        err.server_errors()
            .iter()
            .any(|m| m.contains("not found in raft configuration")),
        "{err:?}"
    );
    let err = leader.raft_promote(&other).await.unwrap_err();
    assert_eq!(err.status(), Some(500), "{err:?}");
    assert!(
        err.server_errors()
            .iter()
            .any(|m| m.contains("not a non-voter")),
        "{err:?}"
    );
    let err = leader.raft_demote("").await.unwrap_err();
    assert!(err.to_string().contains("node id is empty"), "{err}");

    leader.raft_demote(&other).await.unwrap();
    wait_role(&leader, &other, false, "non-voter").await;
    let err = leader.raft_demote(&other).await.unwrap_err();
    assert_eq!(err.status(), Some(500), "{err:?}");
    assert!(
        err.server_errors()
            .iter()
            .any(|m| m.contains("already a non-voter")),
        "{err:?}"
    );
    leader.raft_promote(&other).await.unwrap();
    wait_role(&leader, &other, true, "voter").await;
}
