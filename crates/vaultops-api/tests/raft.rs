//! Raft endpoints (peer set, join, remove-peer, autopilot, snapshots) against real 3-node
//! TLS raft clusters from `vaultops_testkit::Cluster`.

use sha2::{Digest, Sha256};
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};
use vaultops_api::{
    AutopilotConfig, AutopilotServerStatus, ErrorKind, NodeClient, NodeRole, RaftJoinRequest,
};
use vaultops_testkit::{Cluster, ClusterOptions};

const DEADLINE: Duration = Duration::from_secs(90);

/// Polls `probe` every 200 ms until it returns `Some`, panicking after `deadline` with what
/// was waited for and the last observation.
async fn poll<T, F, Fut>(what: &str, deadline: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, String>>,
{
    let start = Instant::now();
    let mut last = String::from("no observation yet");
    loop {
        match probe().await {
            Ok(Some(v)) => return v,
            Ok(None) => {}
            Err(e) => last = e,
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}; last seen: {last}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until autopilot on `c` is healthy with `n` voters.
async fn wait_voters(c: &NodeClient, n: usize) {
    poll(
        &format!("autopilot healthy with {n} voters"),
        DEADLINE,
        || async {
            match c.autopilot_state().await {
                Ok(s) if s.healthy_with_voters(n) => Ok(Some(())),
                Ok(s) => Err(format!("healthy={} voters={:?}", s.healthy, s.voters)),
                Err(e) => Err(e.to_string()),
            }
        },
    )
    .await
}

/// Speeds up promotion of new peers (default stabilization: 10 s).
fn fast_autopilot() -> AutopilotConfig {
    AutopilotConfig {
        server_stabilization_time: "1s".into(),
        ..Default::default()
    }
}

fn sha256_file(p: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(p).unwrap()))
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn peer_set_autopilot_config_and_remove_peer() {
    let cluster = Cluster::start(ClusterOptions::default()).await;
    let active = cluster.wait_active(DEADLINE).await;
    let c = cluster.root_client(active);

    // Autopilot configuration: write everything, read back the same (normalised) values.
    let cfg = AutopilotConfig {
        cleanup_dead_servers: true,
        min_quorum: 3,
        last_contact_threshold: "5s".into(),
        dead_server_last_contact_threshold: "1h".into(),
        max_trailing_logs: 500,
        server_stabilization_time: "1s".into(),
    };
    c.set_autopilot_config(&cfg).await.unwrap();
    let read = c.autopilot_config().await.unwrap();
    assert_eq!(
        read,
        AutopilotConfig {
            dead_server_last_contact_threshold: "1h0m0s".into(),
            ..cfg.clone()
        }
    );
    // The server's own validation comes back with its message.
    let err = c
        .set_autopilot_config(&AutopilotConfig {
            cleanup_dead_servers: true,
            min_quorum: 1,
            ..cfg.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    assert!(err.server_errors()[0].contains("min_quorum"), "{err:?}");
    let err = c
        .set_autopilot_config(&AutopilotConfig {
            last_contact_threshold: "soon".into(),
            ..cfg.clone()
        })
        .await
        .unwrap_err();
    assert!(
        err.server_errors()[0].contains("invalid duration"),
        "{err:?}"
    );
    // Read, modify, write. (The server ignores a `min_quorum` of 0 as "not given", so the
    // 3 set above stays.)
    let relaxed = AutopilotConfig {
        cleanup_dead_servers: false,
        min_quorum: 0,
        ..fast_autopilot()
    };
    c.set_autopilot_config(&relaxed).await.unwrap();
    assert_eq!(
        c.autopilot_config().await.unwrap(),
        AutopilotConfig {
            min_quorum: 3,
            ..relaxed
        }
    );

    // Peer set: three voters, one leader, the same leader autopilot reports.
    wait_voters(&c, 3).await;
    let conf = c.raft_configuration().await.unwrap();
    assert_eq!(conf.servers.len(), 3, "{conf:?}");
    assert_eq!(conf.voter_count(), 3, "{conf:?}");
    let leader = conf.leader().expect("a leader").node_id.clone();
    let state = c.autopilot_state().await.unwrap();
    assert_eq!(state.leader, leader);
    assert_eq!(state.servers.len(), 3);
    assert_eq!(state.failure_tolerance, 1);
    assert_eq!(state.servers[&leader].status, AutopilotServerStatus::Leader);
    assert!(
        state.servers.values().all(|s| s.is_voter() && s.healthy),
        "{state:?}"
    );
    // A standby answers too (forwarded or served locally), with the same peer set.
    let standby = (0..3).find(|i| *i != active).unwrap();
    let seen = cluster
        .root_client(standby)
        .raft_configuration()
        .await
        .unwrap();
    assert_eq!(seen.voter_count(), 3);

    // Remove a follower: the peer set shrinks to two.
    let victim = conf
        .servers
        .iter()
        .find(|s| !s.leader)
        .expect("a follower")
        .node_id
        .clone();
    c.raft_remove_peer(&victim).await.unwrap();
    let conf = c.raft_configuration().await.unwrap();
    assert_eq!(conf.servers.len(), 2, "{conf:?}");
    assert!(conf.servers.iter().all(|s| s.node_id != victim));
    poll("autopilot to forget the removed peer", DEADLINE, || async {
        let s = c.autopilot_state().await.map_err(|e| e.to_string())?;
        if s.servers.contains_key(&victim) {
            Err(format!("still lists {victim}: {:?}", s.voters))
        } else {
            Ok(Some(()))
        }
    })
    .await;
    let err = c.raft_remove_peer(" ").await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::InvalidRequest(_)), "{err:?}");
}

#[tokio::test]
async fn join_a_fresh_node_as_non_voter_then_remove_it() {
    // Cluster A: one bootstrapped node. Cluster B: two uninitialised nodes; B's `node2`
    // joins A by an explicit join request (its retry_join only names B's uninitialised
    // node1, which cannot accept it).
    let a = Cluster::start(ClusterOptions {
        nodes: 1,
        ..Default::default()
    })
    .await;
    let b = Cluster::start(ClusterOptions {
        nodes: 2,
        bootstrap: false,
        ..Default::default()
    })
    .await;
    a.wait_active(DEADLINE).await;
    let leader = a.root_client(0);
    let joiner = b.client(1);

    // The wrong CA for the leader's certificate: the join fails and nothing joins.
    let wrong = joiner
        .raft_join(&RaftJoinRequest::new(
            a.addrs()[0].clone(),
            Some(b.ca_pem().to_owned()),
        ))
        .await;
    let err = wrong.expect_err("joined with the wrong CA");
    assert_eq!(err.status(), Some(500), "{err:?}");
    assert!(
        err.server_errors()[0].contains("failed to get raft challenge"),
        "{err:?}"
    );
    assert_eq!(leader.raft_configuration().await.unwrap().servers.len(), 1);

    let joined = joiner
        .raft_join(&RaftJoinRequest {
            non_voter: true,
            ..RaftJoinRequest::new(a.addrs()[0].clone(), Some(a.ca_pem().to_owned()))
        })
        .await
        .unwrap();
    assert!(joined);
    // The joined node needs cluster A's unseal keys.
    for key in &a.unseal_keys()[..3] {
        joiner.unseal(key).await.unwrap();
    }
    poll("the joined node to become a standby", DEADLINE, || async {
        match joiner.health().await {
            Ok(h) if h.role == NodeRole::Standby => Ok(Some(())),
            Ok(h) => Err(format!("role {}", h.role)),
            Err(e) => Err(e.to_string()),
        }
    })
    .await;
    let conf = leader.raft_configuration().await.unwrap();
    let node2 = conf
        .servers
        .iter()
        .find(|s| s.node_id == "node2")
        .unwrap_or_else(|| panic!("node2 not in {conf:?}"));
    assert!(!node2.voter, "asked to join as a non-voter: {node2:?}");
    assert!(!node2.leader);

    leader.raft_remove_peer("node2").await.unwrap();
    let conf = leader.raft_configuration().await.unwrap();
    assert_eq!(
        conf.servers
            .iter()
            .map(|s| s.node_id.as_str())
            .collect::<Vec<_>>(),
        ["node1"]
    );
}

#[tokio::test]
async fn snapshot_save_restore_and_refusals() {
    let cluster = Cluster::start(ClusterOptions::default()).await;
    let active = cluster.wait_active(DEADLINE).await;
    let c = cluster.root_client(active);
    let dir = tempfile::tempdir().unwrap();

    // Policies are the data here: one written before the snapshot, one after.
    c.policy_write("before", r#"path "a/*" { capabilities = ["read"] }"#)
        .await
        .unwrap();
    let snap = dir.path().join("raft.snap");
    let info = c.snapshot_save(&snap).await.unwrap();
    assert!(info.bytes > 0);
    assert_eq!(info.bytes, std::fs::metadata(&snap).unwrap().len());
    assert_eq!(info.sha256, sha256_file(&snap));
    assert_eq!(entries(dir.path()), ["raft.snap"], "no temp file left");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&snap).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // Saving over an existing file replaces it.
    c.policy_write("after", r#"path "b/*" { capabilities = ["read"] }"#)
        .await
        .unwrap();
    let newer = dir.path().join("newer.snap");
    std::fs::write(&newer, b"old contents").unwrap();
    let info = c.snapshot_save(&newer).await.unwrap();
    assert_eq!(info.sha256, sha256_file(&newer));
    assert_eq!(std::fs::read(&newer).unwrap()[..2], [0x1f, 0x8b]);

    // A truncated snapshot is refused with the server's reason; the cluster keeps serving.
    let bytes = std::fs::read(&snap).unwrap();
    let truncated = dir.path().join("truncated.snap");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = c.snapshot_restore(&truncated, false).await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Server { .. }), "{err:?}");
    assert!(
        err.server_errors().iter().any(|e| e.contains("snapshot")),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("snapshot restore on https://127.0.0.1:"),
        "{err}"
    );
    assert!(c.policy_read("after").await.unwrap().is_some());
    assert_eq!(c.health().await.unwrap().role, NodeRole::Active);

    // A file that is not a snapshot at all is refused before sending.
    let junk = dir.path().join("junk.snap");
    std::fs::write(&junk, b"not a snapshot").unwrap();
    let err = c.snapshot_restore(&junk, true).await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::InvalidRequest(_)), "{err:?}");
    assert!(err.to_string().contains("junk.snap"), "{err}");
    let err = c
        .snapshot_restore(&dir.path().join("missing.snap"), false)
        .await
        .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Io { .. }), "{err:?}");

    // Restoring the earlier snapshot onto the same cluster (no force needed: same keys)
    // brings back the state before "after" was written.
    c.snapshot_restore(&snap, false).await.unwrap();
    poll("the restored state to be served", DEADLINE, || async {
        let active = cluster
            .nodes_set(true)
            .active_index()
            .await
            .ok_or("no active node yet")?;
        let c = cluster.root_client(active);
        match (c.policy_read("before").await, c.policy_read("after").await) {
            (Ok(Some(_)), Ok(None)) => Ok(Some(())),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // Saving into a missing directory fails on the local file, naming it, and leaves
    // nothing behind.
    let missing_dir = dir.path().join("no-such-dir");
    let target = missing_dir.join("raft.snap");
    let active = cluster.wait_active(DEADLINE).await;
    let err = cluster
        .root_client(active)
        .snapshot_save(&target)
        .await
        .unwrap_err();
    match &err.kind {
        ErrorKind::WriteFile { source } => {
            let path = source.path().display().to_string();
            assert!(path.contains("no-such-dir"), "{path}");
            let io = std::error::Error::source(source)
                .and_then(|e| e.downcast_ref::<std::io::Error>())
                .unwrap_or_else(|| panic!("{source:?}"));
            assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        vaultops_types::error_report(&err).contains("no-such-dir"),
        "{err}"
    );
    assert!(!missing_dir.exists());
    assert_eq!(
        entries(dir.path()),
        ["junk.snap", "newer.snap", "raft.snap", "truncated.snap"]
    );
}
