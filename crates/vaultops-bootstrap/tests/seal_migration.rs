//! Seal migration on real 3-node `bao` clusters, driven only by the production library
//! (`next_seal_action` / `seal_migration_step` / `check_seal_migration`); the harness plays
//! the operator (changes a node's seal stanza and restarts it) when the library says
//! `reconfigure`. Shamir → static → Shamir and Shamir → transit → Shamir, each ending with a
//! restart of every node: auto-unsealed with no unseal call, or (Shamir) opened by the same
//! shares. A KV value written before the migration is read back after it.

use std::time::Duration;

use vaultops_api::{NodeRole, Token, TokenCreateRequest};
use vaultops_bootstrap::{
    check_seal_migration, seal_migration_step, NodeSet, SealAction, SealKind, SEAL_MIGRATION_POLICY,
};
use vaultops_testkit::{Cluster, ClusterOptions, TestSeal};

const DEADLINE: Duration = Duration::from_secs(60);

/// A token holding only `SEAL_MIGRATION_POLICY`: the library never needs root.
async fn scoped_token(c: &Cluster) -> Token {
    let root = c.root_client(c.wait_active(DEADLINE).await);
    root.policy_write("seal-migration", SEAL_MIGRATION_POLICY)
        .await
        .unwrap();
    let t = root
        .token_create_orphan(&TokenCreateRequest {
            policies: vec!["seal-migration".into()],
            no_default_policy: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    t.client_token
}

fn scoped(c: &Cluster, token: &Token) -> NodeSet {
    NodeSet::new(
        (0..c.nodes().len())
            .map(|i| c.client(i).with_token(token.clone()))
            .collect(),
    )
}

fn test_seal(k: SealKind) -> TestSeal {
    match k {
        SealKind::Shamir => TestSeal::Shamir,
        SealKind::Static => TestSeal::Static,
        SealKind::Transit => TestSeal::Transit,
    }
}

/// Runs the migration from `from` to `to` to the end; returns the actions seen, in order.
async fn migrate(c: &mut Cluster, token: &Token, from: SealKind, to: SealKind) -> Vec<String> {
    let keys = c.unseal_keys().to_vec();
    let nodes = scoped(c, token);
    let mut seen = Vec::new();
    for _ in 0..30 {
        let next = check_seal_migration(&nodes, to, DEADLINE)
            .await
            .unwrap_or_else(|e| c.fail("seal migrate check", &vaultops_types::error_report(&e)));
        match next {
            SealAction::Reconfigure { node, last, .. } => {
                seen.push(format!("reconfigure{}", if last { "-last" } else { "" }));
                let i = c.addrs().iter().position(|a| *a == node).expect("a node");
                let old = if last { to } else { from };
                c.migrate_node_config(i, test_seal(old), test_seal(to), DEADLINE)
                    .await;
            }
            SealAction::Done { seal } => {
                assert_eq!(seal, to);
                seen.push("done".into());
                return seen;
            }
            SealAction::Refused { reasons } => panic!("refused: {reasons:?}"),
            _ => {
                let done = seal_migration_step(&nodes, to, &keys, DEADLINE)
                    .await
                    .unwrap_or_else(|e| {
                        c.fail("seal migrate step", &vaultops_types::error_report(&e))
                    });
                seen.push(
                    serde_json::to_value(&done).unwrap()["action"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
        }
    }
    panic!("the migration did not finish in 30 steps: {seen:?}");
}

/// Restarts every node after a finished migration to `to`; with an auto-unseal seal every node
/// must come back unsealed with no unseal call.
async fn restart_all(c: &mut Cluster, token: &Token, to: SealKind) {
    c.finish_seal_migration(test_seal(to)).await;
    for i in 0..c.nodes().len() {
        c.stop_node(i, DEADLINE).await;
    }
    for i in 0..c.nodes().len() {
        c.start_node(i);
    }
    if to == SealKind::Shamir {
        c.nodes_set(false)
            .wait_all("every node's listener", &[NodeRole::Sealed], DEADLINE)
            .await
            .unwrap_or_else(|e| c.fail("restart-all", &e));
        for i in 0..c.nodes().len() {
            c.unseal(i).await;
        }
    }
    let nodes = scoped(c, token);
    let after = check_seal_migration(&nodes, to, DEADLINE)
        .await
        .unwrap_or_else(|e| c.fail("after restart-all", &vaultops_types::error_report(&e)));
    assert_eq!(after, SealAction::Done { seal: to });
}

async fn round_trip(auto: SealKind) {
    let mut c = Cluster::start(ClusterOptions::default()).await;
    c.wait_active(DEADLINE).await;
    let token = scoped_token(&c).await;

    let there = migrate(&mut c, &token, SealKind::Shamir, auto).await;
    assert_eq!(
        there,
        [
            "reconfigure",
            "migrate-unseal",
            "reconfigure",
            "migrate-unseal",
            "step-down",
            "reconfigure-last",
            "done"
        ],
        "shamir → {auto}"
    );
    restart_all(&mut c, &token, auto).await;
    // The shares are recovery keys now: the seal status says so.
    let st = c.client(0).seal_status().await.unwrap();
    assert_eq!(
        (st.seal_type.as_str(), st.recovery_seal),
        (auto.as_str(), true)
    );

    let back = migrate(&mut c, &token, auto, SealKind::Shamir).await;
    assert_eq!(
        back,
        [
            "reconfigure",
            "migrate-unseal",
            "reconfigure",
            "migrate-unseal",
            "step-down",
            "reconfigure-last",
            "unseal",
            "done"
        ],
        "{auto} → shamir"
    );
    restart_all(&mut c, &token, SealKind::Shamir).await;
    let st = c.client(0).seal_status().await.unwrap();
    assert_eq!((st.seal_type.as_str(), st.recovery_seal), ("shamir", false));
}

#[tokio::test(flavor = "multi_thread")]
async fn shamir_to_static_and_back_on_three_nodes() {
    round_trip(SealKind::Static).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shamir_to_transit_and_back_on_three_nodes() {
    round_trip(SealKind::Transit).await;
}
