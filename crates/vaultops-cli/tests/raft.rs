//! `vaultops raft` on real `bao` processes, with a token holding only
//! `vaultops_bootstrap::MEMBERSHIP_POLICY`: 3 → 5 nodes (the new ones join as non-voters
//! through `vaultops raft join` and are promoted once caught up) → 3 (demoted, then removed) while a writer writes; and
//! `raft autopilot set` shows its diff, refuses an unsafe min_quorum and applies a safe one.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use vaultops_api::{EnableRequest, NodeRole, TokenCreateRequest};
use vaultops_bootstrap::{read_peers, wait_until, wait_voters, NodeSet};
use vaultops_testkit::{Cluster, ClusterOptions, JoinMode, TestSeal};

const WAIT: Duration = Duration::from_secs(60);

fn raft(c: &Cluster, nodes: &[usize], token: &str, args: &[&str]) -> Output {
    let mut a = vec![
        "--ca-cert".to_string(),
        c.ca_path().to_string_lossy().into_owned(),
        "--token".into(),
        token.to_owned(),
    ];
    for &i in nodes {
        a.extend(["--addr".into(), c.nodes()[i].addr.clone()]);
    }
    a.push("raft".into());
    a.extend(args.iter().map(|s| s.to_string()));
    Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .args(&a)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs a changing command until it succeeds: under the writer's load a peer can trail
/// briefly and the safeguards refuse ("refusing …"); the operator re-runs, so does this.
async fn ok_eventually(c: &Cluster, nodes: &[usize], token: &str, args: &[&str]) -> String {
    wait_until(
        &format!("vaultops raft {}", args.join(" ")),
        WAIT,
        Duration::from_millis(250),
        || async {
            let out = raft(c, nodes, token, args);
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            if out.status.success() {
                Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned()))
            } else {
                assert!(err.contains("refusing"), "not a refusal: {err}");
                Err(err)
            }
        },
    )
    .await
    .unwrap()
}

async fn voters(c: &Cluster, active: usize) -> Vec<String> {
    let cfg = c.root_client(active).raft_configuration().await.unwrap();
    let mut v: Vec<String> = cfg
        .servers
        .iter()
        .filter(|s| s.voter)
        .map(|s| s.node_id.clone())
        .collect();
    v.sort();
    v
}

/// Waits until the first `count` nodes are all peers, all healthy, and the added ones
/// (node4, node5) permanent non-voters.
async fn wait_caught_up(c: &Cluster, count: usize) {
    let set = NodeSet::new((0..count).map(|i| c.root_client(i)).collect());
    wait_until(
        "the added nodes caught up as permanent non-voters",
        WAIT,
        Duration::from_millis(250),
        || async {
            let (_, peers) = read_peers(&set).await.map_err(|e| e.to_string())?;
            let fine = peers.len() == count
                && peers.iter().all(|p| p.healthy)
                && peers
                    .iter()
                    .filter(|p| p.node_id == "node4" || p.node_id == "node5")
                    .all(|p| !p.voter && p.permanent_non_voter);
            if fine {
                Ok(Some(()))
            } else {
                Err(format!("{peers:?}"))
            }
        },
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_out_with_non_voters_then_in_and_autopilot_settings() {
    // Auto-unseal (static key): OpenBao 2.7.2 drops the join's `non_voter` under Shamir (the
    // answer is sent from the unseal path, which never sets it; docs/runbooks/membership.md).
    let mut c = Cluster::start(ClusterOptions {
        seal: TestSeal::Static,
        ..Default::default()
    })
    .await;
    let active = c.wait_active(WAIT).await;
    let root = c.root_client(active);
    root.policy_write("raft-membership", vaultops_bootstrap::MEMBERSHIP_POLICY)
        .await
        .unwrap();
    let tok = root
        .token_create_orphan(&TokenCreateRequest {
            policies: vec!["raft-membership".into()],
            no_default_policy: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let token = tok.client_token.expose().to_owned();
    root.mount_enable("kv", &EnableRequest::kv_v2())
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (client, stop) = (root.clone(), stop.clone());
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
            }
            acked
        })
    };

    // Scale out: two fresh nodes join as permanent non-voters.
    let mut new = Vec::new();
    for name in ["node4", "node5"] {
        let i = c.add_node(name, JoinMode::Explicit);
        c.wait_node_listening(i, WAIT).await;
        let node = c.nodes()[i].addr.clone();
        let dry = ok_eventually(
            &c,
            &[0, 1, 2],
            &token,
            &["join", "--node", &node, "--non-voter", "--dry-run"],
        )
        .await;
        assert!(
            dry.contains("as a permanent non-voter") && dry.contains("dry run"),
            "{dry}"
        );
        ok_eventually(
            &c,
            &[0, 1, 2],
            &token,
            &["join", "--node", &node, "--non-voter"],
        )
        .await;
        // The static seal unseals it once joined.
        NodeSet::new(vec![c.client(i)])
            .wait_all("the added node unsealed", &[NodeRole::Standby], WAIT)
            .await
            .unwrap();
        new.push(i);
        wait_caught_up(&c, i + 1).await;
        let again = ok_eventually(&c, &[0, 1, 2], &token, &["join", "--node", &node]).await;
        assert!(again.contains("already initialized"), "{again}");
    }
    let all: Vec<usize> = (0..5).collect();
    assert_eq!(voters(&c, active).await, ["node1", "node2", "node3"]);
    let peers = ok(&raft(&c, &all, &token, &["peers"]));
    assert!(
        peers.contains("node5") && peers.contains("non-voter"),
        "{peers}"
    );

    // Promote: the plan first (nothing changes), then for real; a re-run is a no-op.
    let plan = ok_eventually(&c, &all, &token, &["promote", "node4", "--dry-run"]).await;
    assert!(
        plan.contains("voters after: node1, node2, node3, node4"),
        "{plan}"
    );
    assert!(plan.contains("dry run"), "{plan}");
    assert_eq!(voters(&c, active).await.len(), 3);
    for name in ["node4", "node5"] {
        ok_eventually(&c, &all, &token, &["promote", name]).await;
    }
    assert_eq!(
        voters(&c, active).await,
        ["node1", "node2", "node3", "node4", "node5"]
    );
    let again = ok(&raft(&c, &all, &token, &["promote", "node5"]));
    assert!(again.contains("already a voter"), "{again}");

    // Autopilot: an unsafe min_quorum is refused (5 voters: at least 3), a safe one shown as
    // a diff, then applied and read back.
    let before = root.autopilot_config().await.unwrap();
    let out = raft(
        &c,
        &all,
        &token,
        &[
            "autopilot",
            "set",
            "--cleanup-dead-servers",
            "--min-quorum",
            "2",
            "--dead-server-threshold",
            "10m",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("min_quorum 2") && err.contains("majority"),
        "{err}"
    );
    assert_eq!(root.autopilot_config().await.unwrap(), before);
    let set_args = [
        "autopilot",
        "set",
        "--cleanup-dead-servers",
        "--min-quorum",
        "3",
        "--dead-server-threshold",
        "10m",
    ];
    let dry = ok(&raft(
        &c,
        &all,
        &token,
        &[&set_args[..], &["--dry-run"]].concat(),
    ));
    assert!(
        dry.contains("min_quorum: ") && dry.contains("-> 3"),
        "{dry}"
    );
    assert!(dry.contains("cleanup_dead_servers: false -> true"), "{dry}");
    assert_eq!(root.autopilot_config().await.unwrap(), before);
    ok(&raft(&c, &all, &token, &set_args));
    let after = root.autopilot_config().await.unwrap();
    assert!(after.cleanup_dead_servers);
    assert_eq!(after.min_quorum, 3);
    let again = ok(&raft(&c, &all, &token, &set_args));
    assert!(again.contains("nothing to do"), "{again}");

    // Scale in: demote, then remove each added node; the leader is refused.
    let leader = c.nodes()[active].name.clone();
    let out = raft(&c, &all, &token, &["remove-peer", &leader]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("raft leader"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, i) in [("node5", new[1]), ("node4", new[0])] {
        ok_eventually(&c, &all, &token, &["demote", name]).await;
        ok_eventually(&c, &all, &token, &["remove-peer", name]).await;
        c.kill_node(i);
    }
    let gone = ok(&raft(&c, &[0, 1, 2], &token, &["remove-peer", "node5"]));
    assert!(gone.contains("already removed"), "{gone}");
    wait_voters(&root, 3, WAIT).await.unwrap();
    assert_eq!(voters(&c, active).await, ["node1", "node2", "node3"]);

    stop.store(true, Ordering::Relaxed);
    let acked = writer.await.unwrap();
    assert!(
        acked.len() > 10,
        "the writer made progress: {}",
        acked.len()
    );
    for n in &acked {
        let got = root.kv_read("kv", &format!("k{n}")).await.unwrap();
        let got = got.unwrap_or_else(|| panic!("k{n} acknowledged but missing"));
        assert_eq!(got.data["n"], serde_json::json!(n));
    }
}
