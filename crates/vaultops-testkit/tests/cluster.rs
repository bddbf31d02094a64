//! The harness itself: a 3-node TLS raft cluster comes up with one active node, and a killed
//! node comes back sealed and rejoins after unseal.

use std::time::Duration;
use vaultops_api::NodeRole;
use vaultops_testkit::{Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_node_cluster_bootstraps_and_survives_a_restart() {
    let mut c = Cluster::start(ClusterOptions::default()).await;
    let active = c.wait_active(Duration::from_secs(30)).await;
    let roles: Vec<NodeRole> = {
        let mut v = Vec::new();
        for i in 0..3 {
            v.push(c.client(i).health().await.unwrap().role);
        }
        v
    };
    assert_eq!(
        roles.iter().filter(|r| **r == NodeRole::Active).count(),
        1,
        "{roles:?}"
    );
    assert_eq!(
        roles.iter().filter(|r| **r == NodeRole::Standby).count(),
        2,
        "{roles:?}"
    );

    let raft = c.root_client(active).raft_configuration().await.unwrap();
    assert_eq!(raft.servers.len(), 3);
    assert!(raft.servers.iter().all(|s| s.voter), "{raft:?}");

    let standby = (active + 1) % 3;
    c.kill_node(standby);
    c.start_node(standby);
    let sealed = vaultops_bootstrap::wait_until(
        "the restarted node to answer sealed",
        Duration::from_secs(20),
        Duration::from_millis(50),
        || {
            let n = c.client(standby);
            async move {
                match n.health().await {
                    Ok(h) => Ok(Some(h.role)),
                    Err(e) => Err(e.to_string()),
                }
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(
        sealed,
        NodeRole::Sealed,
        "a restarted Shamir node comes back sealed"
    );
    c.unseal(standby).await;
    let h = c.client(standby).health().await.unwrap();
    assert_eq!(h.role, NodeRole::Standby);
}
