//! Auto-unseal with real OpenBao 2.7.2 servers: `seal "static"` (key file) and `seal "transit"`
//! (a separate OpenBao as unsealer, token in `BAO_TOKEN`).
//!
//! For both seals: a 3-node cluster comes up unsealed with no key entered; the server rejects
//! unseal shares (`secret_shares`) and wants recovery shares; after kill -9 of all three nodes
//! and a restart, every node is unsealed and one is active again with no operator input, and
//! data written before is still there. For transit: a node whose unsealer is down at start
//! exits non-zero (which is why a restart policy is needed), and starts unsealed once the
//! unsealer is back.
//!
//! Measured times are printed (`--nocapture` shows them).

use std::time::{Duration, Instant};
use vaultops_api::{EnableRequest, InitRequest, KeySplit, NodeRole};
use vaultops_bootstrap::wait_until;
use vaultops_testkit::{Cluster, ClusterOptions, TestSeal};

const DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(50);

fn seal_name(seal: TestSeal) -> &'static str {
    match seal {
        TestSeal::Shamir => "shamir",
        TestSeal::Static => "static",
        TestSeal::Transit => "transit",
    }
}

/// Every node's role; a node that does not answer counts as `None`.
async fn roles(c: &Cluster) -> Vec<Option<NodeRole>> {
    let mut v = Vec::new();
    for i in 0..c.nodes().len() {
        v.push(c.client(i).health().await.ok().map(|h| h.role));
    }
    v
}

/// Polls until every node is unsealed and exactly one is active.
async fn wait_one_active_rest_standby(c: &Cluster, what: &str) {
    wait_until(what, DEADLINE, POLL, || async {
        let r = roles(c).await;
        let active = r.iter().filter(|x| **x == Some(NodeRole::Active)).count();
        let standby = r.iter().filter(|x| **x == Some(NodeRole::Standby)).count();
        if active == 1 && active + standby == r.len() {
            Ok(Some(()))
        } else {
            Err(format!("roles {r:?}"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

async fn cluster_restarts_unsealed_with_no_operator_input(seal: TestSeal) {
    let name = seal_name(seal);
    let start = Instant::now();
    let mut c = Cluster::start(ClusterOptions {
        seal,
        ..Default::default()
    })
    .await;
    eprintln!(
        "[{name}] start → 3 unsealed voters (incl. unsealer and autopilot): {:.2?}",
        start.elapsed()
    );

    // Came up unsealed with no key entry: init gave recovery keys only.
    assert!(
        c.unseal_keys().is_empty(),
        "auto-unseal init gave unseal keys"
    );
    assert_eq!(c.recovery_keys().len(), 5);
    for i in 0..3 {
        let s = c.client(i).seal_status().await.unwrap();
        assert_eq!(s.seal_type, name, "node {i}: {s:?}");
        assert!(s.recovery_seal, "node {i}: {s:?}");
        assert!(!s.sealed, "node {i}: {s:?}");
    }
    wait_one_active_rest_standby(&c, "one active, two standbys after bootstrap").await;

    // Data written before the restart.
    let active = c.wait_active(DEADLINE).await;
    let root = c.root_client(active);
    root.mount_enable("secret", &EnableRequest::kv_v2())
        .await
        .unwrap();
    let payload =
        std::collections::BTreeMap::from([("seal", name), ("value", "written before kill -9")]);
    wait_until("the first KV write", DEADLINE, POLL, || {
        let root = root.clone();
        let payload = payload.clone();
        async move {
            match root
                .kv_write("secret", "autounseal/check", &payload, None)
                .await
            {
                Ok(_) => Ok(Some(())),
                Err(e) => Err(e.to_string()),
            }
        }
    })
    .await
    .unwrap();

    // kill -9 every node, start them again, touch nothing else.
    for i in 0..3 {
        c.kill_node(i);
    }
    let restart = Instant::now();
    for i in 0..3 {
        c.start_node(i);
    }
    wait_one_active_rest_standby(&c, "one active, two standbys after kill -9 of all nodes").await;
    let back = restart.elapsed();
    eprintln!("[{name}] kill -9 all 3 → restart → 1 active + 2 standby, no key entry: {back:.2?}");

    let active = c.wait_active(DEADLINE).await;
    let read = wait_until("reading the secret back", DEADLINE, POLL, || {
        let root = c.root_client(active);
        async move {
            match root.kv_read("secret", "autounseal/check").await {
                Ok(Some(s)) => Ok(Some(s)),
                Ok(None) => Err("not found".into()),
                Err(e) => Err(e.to_string()),
            }
        }
    })
    .await
    .unwrap();
    for (key, value) in &payload {
        assert_eq!(
            read.data.get(*key).and_then(|v| v.as_str()),
            Some(*value),
            "{:?}",
            read.data
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_seal_cluster_restarts_unsealed() {
    cluster_restarts_unsealed_with_no_operator_input(TestSeal::Static).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_seal_cluster_restarts_unsealed() {
    cluster_restarts_unsealed_with_no_operator_input(TestSeal::Transit).await;
}

/// Init on a fresh auto-unseal node: unseal shares are refused with the server's message,
/// recovery shares work, and the node unseals itself.
async fn init_wants_recovery_shares(seal: TestSeal) {
    let name = seal_name(seal);
    let c = Cluster::start(ClusterOptions {
        nodes: 1,
        bootstrap: false,
        wait_voters: false,
        seal,
        ..Default::default()
    })
    .await;
    let node = c.client(0);
    let split = KeySplit::new(5, 3).unwrap();

    let err = node.init(&InitRequest::shamir(split)).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let expected =
        format!("parameters secret_shares,secret_threshold not applicable to seal type {name}");
    assert!(
        err.server_errors().iter().any(|e| e.contains(&expected)),
        "{err}"
    );
    assert!(
        !node.init_status().await.unwrap(),
        "a refused init left the node initialised"
    );

    let init = node.init(&InitRequest::auto_unseal(split)).await.unwrap();
    assert!(init.keys_base64.is_empty());
    assert_eq!(init.recovery_keys_base64.len(), 5);
    wait_until("the node to unseal itself", DEADLINE, POLL, || {
        let node = node.clone();
        async move {
            match node.health().await {
                Ok(h) if h.role == NodeRole::Active => Ok(Some(())),
                Ok(h) => Err(format!("role {}", h.role)),
                Err(e) => Err(e.to_string()),
            }
        }
    })
    .await
    .unwrap();
    // A recovery key does not "unseal": the node just reports its (unsealed) status.
    let s = node.unseal(&init.recovery_keys_base64[0]).await.unwrap();
    assert!(!s.sealed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_seal_init_wants_recovery_shares() {
    init_wants_recovery_shares(TestSeal::Static).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_seal_init_wants_recovery_shares() {
    init_wants_recovery_shares(TestSeal::Transit).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_node_exits_when_the_unsealer_is_down_and_starts_unsealed_when_it_is_back() {
    let mut c = Cluster::start(ClusterOptions {
        nodes: 1,
        wait_voters: false,
        seal: TestSeal::Transit,
        ..Default::default()
    })
    .await;
    c.wait_active(DEADLINE).await;

    c.unsealer_mut().unwrap().kill_node(0);
    c.kill_node(0);
    let start = Instant::now();
    c.start_node(0);
    let status = wait_until(
        "the node to exit without its unsealer",
        DEADLINE,
        POLL,
        || {
            let status = c.node_exit_status(0);
            async move { Ok::<_, String>(status) }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let exited_after = start.elapsed();
    eprintln!("[transit] unsealer down: node exited with {status} after {exited_after:.2?}");
    let log = std::fs::read_to_string(&c.nodes()[0].log_path).unwrap();
    assert_eq!(status.code(), Some(1), "log:\n{log}");
    assert!(
        log.contains("Error configuring seal \"transit\""),
        "log:\n{log}"
    );

    // The unsealer comes back (Shamir: its key is entered), then a restart of the node is
    // all it takes.
    {
        let unsealer = c.unsealer_mut().unwrap();
        unsealer.start_node(0);
        wait_until("the unsealer to listen again", DEADLINE, POLL, || {
            let n = unsealer.client(0);
            async move {
                match n.health().await {
                    Ok(h) => Ok(Some(h.role)),
                    Err(e) => Err(e.to_string()),
                }
            }
        })
        .await
        .unwrap();
        unsealer.unseal(0).await;
        unsealer.wait_active(DEADLINE).await;
    }
    let restart = Instant::now();
    c.start_node(0);
    c.wait_active(DEADLINE).await;
    eprintln!(
        "[transit] unsealer back: node restart → active: {:.2?}",
        restart.elapsed()
    );
}
