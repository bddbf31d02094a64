//! Raft membership against real `bao` processes: a node whose volume is lost is removed
//! (after the plan) and replaced by a fresh node with a new identity while a writer keeps
//! writing; the safeguards refuse removals that would lose quorum or remove the leader.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use vaultops_api::{EnableRequest, NodeClient};
use vaultops_bootstrap::{
    change_member, plan_member, unseal_when_joined, wait_until, wait_voters, MemberAction,
    MembershipError, NodeSet,
};
use vaultops_testkit::{Cluster, ClusterOptions, JoinMode};

const WAIT: Duration = Duration::from_secs(60);

/// Writes `k0`, `k1`, … to the active node until stopped; returns the acknowledged indices.
fn start_writer(client: NodeClient, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<u64>> {
    tokio::spawn(async move {
        let mut acked = Vec::new();
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let body = serde_json::json!({ "n": n });
            if client
                .kv_write("kv", &format!("k{n}"), &body, None)
                .await
                .is_ok()
            {
                acked.push(n);
            }
            n += 1;
            // Pace the writer (a condition-free pause between writes, not a wait).
            tokio::task::yield_now().await;
        }
        acked
    })
}

fn live_set(c: &Cluster, idx: &[usize]) -> NodeSet {
    NodeSet::new(idx.iter().map(|&i| c.root_client(i)).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_a_lost_volume_is_replaced_by_a_fresh_node() {
    let mut c = Cluster::start(ClusterOptions::default()).await;
    let active = c.wait_active(WAIT).await;
    let victim = (active + 2) % 3;
    let other = (active + 1) % 3;
    let name = |c: &Cluster, i: usize| c.nodes()[i].name.clone();
    let (leader_id, victim_id, other_id) = (name(&c, active), name(&c, victim), name(&c, other));
    c.root_client(active)
        .mount_enable("kv", &EnableRequest::kv_v2())
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = start_writer(c.root_client(active), stop.clone());

    // The volume is lost.
    c.wipe_node(victim);
    let live = live_set(&c, &[active, other]);

    // Positive control: removing the other healthy voter would leave {leader, dead victim},
    // without a healthy majority. Autopilot needs its last_contact_threshold to call the
    // victim unhealthy: wait until the plan says so.
    let refusal = wait_until(
        "removing the healthy standby to be refused for quorum",
        WAIT,
        Duration::from_millis(250),
        || async {
            match plan_member(&live, MemberAction::RemovePeer, &other_id).await {
                Err(e @ MembershipError::WouldLoseQuorum { .. }) => Ok(Some(e)),
                Err(e) => Err(e.to_string()),
                Ok((p, _)) => Err(format!("planned: {p:?}")),
            }
        },
    )
    .await
    .unwrap();
    assert!(refusal.to_string().contains(&victim_id), "{refusal}");
    let err = change_member(&live, MemberAction::RemovePeer, &other_id, WAIT)
        .await
        .unwrap_err();
    assert!(
        matches!(err, MembershipError::WouldLoseQuorum { .. }),
        "{err}"
    );
    let err = change_member(&live, MemberAction::RemovePeer, &leader_id, WAIT)
        .await
        .unwrap_err();
    assert!(matches!(err, MembershipError::IsLeader { .. }), "{err}");
    let cfg = c.root_client(active).raft_configuration().await.unwrap();
    assert_eq!(cfg.servers.len(), 3, "nothing was removed: {cfg:?}");

    // The plan first, then the removal; a re-run is a no-op. Under the writer's load the
    // healthy standby can trail briefly (autopilot: last contact, trailing logs) and the
    // safeguard refuses for quorum: the operator re-runs, and so does this test.
    let (plan, _) = wait_until(
        "the removal of the dead node to be planned",
        WAIT,
        Duration::from_millis(250),
        || async {
            plan_member(&live, MemberAction::RemovePeer, &victim_id)
                .await
                .map(Some)
                .map_err(|e| e.to_string())
        },
    )
    .await
    .unwrap();
    assert_eq!(plan.noop, None);
    assert_eq!(plan.voters_after.len(), 2, "{plan:?}");
    assert!(!plan.voters_after.contains(&victim_id));
    wait_until(
        "the dead node removed",
        WAIT,
        Duration::from_millis(250),
        || async {
            match change_member(&live, MemberAction::RemovePeer, &victim_id, WAIT).await {
                Ok(p) => Ok(Some(p)),
                Err(
                    e @ (MembershipError::WouldLoseQuorum { .. }
                    | MembershipError::Unhealthy { .. }),
                ) => Err(e.to_string()),
                Err(e) => panic!("removing the dead node: {e}"),
            }
        },
    )
    .await
    .unwrap();
    let again = change_member(&live, MemberAction::RemovePeer, &victim_id, WAIT)
        .await
        .unwrap();
    assert!(
        again
            .noop
            .as_deref()
            .unwrap_or("")
            .contains("already removed"),
        "{again:?}"
    );

    // A fresh node with a new identity joins and becomes the third voter.
    let fresh = c.add_node("node3b", JoinMode::RetryJoin);
    unseal_when_joined(&c.client(fresh), c.unseal_keys(), WAIT)
        .await
        .unwrap();
    wait_voters(&c.root_client(active), 3, WAIT).await.unwrap();
    let cfg = c.root_client(active).raft_configuration().await.unwrap();
    let mut ids: Vec<String> = cfg.servers.iter().map(|s| s.node_id.clone()).collect();
    ids.sort();
    let mut want = vec![leader_id.clone(), other_id.clone(), "node3b".to_owned()];
    want.sort();
    assert_eq!(ids, want);
    assert!(cfg.servers.iter().all(|s| s.voter), "{cfg:?}");

    // Every acknowledged write is readable, through the fresh node too (standby reads).
    stop.store(true, Ordering::Relaxed);
    let acked = writer.await.unwrap();
    assert!(
        acked.len() > 10,
        "the writer made progress: {}",
        acked.len()
    );
    for reader in [active, fresh] {
        let r = c.root_client(reader);
        for n in &acked {
            let got = r.kv_read("kv", &format!("k{n}")).await.unwrap();
            let got = got.unwrap_or_else(|| panic!("k{n} acknowledged but missing on {reader}"));
            assert_eq!(got.data["n"], serde_json::json!(n));
        }
    }
}
