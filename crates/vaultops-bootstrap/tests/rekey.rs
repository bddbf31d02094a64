//! Unseal-key rotation and barrier key rotation against a real 3-node TLS raft cluster,
//! with scoped (non-root) tokens: the new shares open every restarted node, the old ones are
//! refused, an interrupted rekey is resumed, an unhealthy cluster is refused.

use std::time::Duration;
use vaultops_api::{EnableRequest, KeySplit, NodeClient, TokenCreateRequest, UnsealKey};
use vaultops_bootstrap::{
    plan_rekey, probe_shares, rekey_collect, rekey_persisted, rekey_verify, rotate_encryption_key,
    unseal_node, BootstrapError, NodeSet, RekeyError, REKEY_POLICY, ROTATE_ENCRYPTION_KEY_POLICY,
};
use vaultops_testkit::{Cluster, ClusterOptions};

const DEADLINE: Duration = Duration::from_secs(60);

/// A token carrying only `policy` (written under `name`).
async fn scoped_nodes(c: &Cluster, name: &str, policy: &str) -> NodeSet {
    let active = c.wait_active(DEADLINE).await;
    let root = c.root_client(active);
    root.policy_write(name, policy).await.unwrap();
    let auth = root
        .token_create(&TokenCreateRequest {
            policies: vec![name.to_owned()],
            no_default_policy: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    NodeSet::new(
        (0..c.nodes().len())
            .map(|i| c.client(i).with_token(auth.client_token.clone()))
            .collect(),
    )
}

async fn restart_all(c: &mut Cluster) {
    for i in 0..c.nodes().len() {
        c.kill_node(i);
    }
    for i in 0..c.nodes().len() {
        c.start_node(i);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekey_with_a_scoped_token_then_restart_opens_with_the_new_shares_only() {
    let mut c = Cluster::start(ClusterOptions::default()).await;
    let nodes = scoped_nodes(&c, "rekey", REKEY_POLICY).await;
    let old: Vec<UnsealKey> = c.unseal_keys().to_vec();
    let new_split = KeySplit::new(3, 2).unwrap();

    // Positive control of the health check: an unreachable node is named.
    let mut with_dead: Vec<NodeClient> = nodes.nodes().to_vec();
    let dead = "https://127.0.0.1:1";
    with_dead.push(NodeClient::new(dead, c.client_config()).unwrap());
    match plan_rekey(&NodeSet::new(with_dead), new_split).await {
        Err(RekeyError::Unhealthy { problems }) => {
            assert!(problems.iter().any(|p| p.contains(dead)), "{problems:?}")
        }
        other => panic!("an unhealthy cluster must be refused: {other:?}"),
    }

    let (plan, active) = plan_rekey(&nodes, new_split).await.unwrap();
    assert_eq!((plan.current_shares, plan.current_threshold), (5, 3));
    assert_eq!((plan.new_shares, plan.new_threshold), (3, 2));
    assert!(plan.in_progress.is_none());

    // Interrupted: two of the three old shares, then the run stops.
    match rekey_collect(&active, &plan, &old[..2], &[]).await {
        Err(RekeyError::NotEnoughOldShares {
            given: 2,
            required: 3,
            ..
        }) => {}
        other => panic!("two of three old shares must leave the attempt pending: {other:?}"),
    }
    // Re-run: the attempt is found and resumed (the two shares are given again and skipped).
    let (plan, active) = plan_rekey(&nodes, new_split).await.unwrap();
    let pending = plan
        .in_progress
        .as_ref()
        .expect("the attempt is still there");
    assert_eq!((pending.progress, pending.n, pending.t), (2, 3, 2));
    let collected = rekey_collect(&active, &plan, &old, &[]).await.unwrap();
    assert_eq!(collected.new_keys.len(), 3);
    assert!(!collected.verification_nonce.is_empty());

    // Before verification nothing changed: the old shares are still the current ones.
    let (plan, active) = plan_rekey(&nodes, new_split).await.unwrap();
    assert!(plan
        .in_progress
        .as_ref()
        .is_some_and(|a| !a.verification_nonce.is_empty()));
    match rekey_collect(&active, &plan, &old, &[]).await {
        Err(RekeyError::AwaitingVerification { .. }) => {}
        other => panic!("old shares after the new ones were issued: {other:?}"),
    }
    rekey_verify(&nodes, &active, &plan, &collected.new_keys)
        .await
        .unwrap();

    // The probe: positive control (new accepted) and the old refused, nothing sealed.
    let (after, active) = plan_rekey(&nodes, new_split).await.unwrap();
    assert_eq!((after.current_shares, after.current_threshold), (3, 2));
    assert!(after.in_progress.is_none());
    assert!(probe_shares(&active, after.engine, &collected.new_keys)
        .await
        .unwrap());
    assert!(!probe_shares(&active, after.engine, &old).await.unwrap());
    // A rekey authorized with the void shares is refused and leaves no attempt behind.
    match rekey_collect(&active, &after, &old, &[]).await {
        Err(RekeyError::WrongOldShares { message, .. }) => {
            assert!(
                message.contains("message authentication failed"),
                "{message}"
            )
        }
        other => panic!("the old shares must no longer authorize a rekey: {other:?}"),
    }
    assert!(plan_rekey(&nodes, new_split)
        .await
        .unwrap()
        .0
        .in_progress
        .is_none());

    // The real check: every node restarted; the old shares are refused, the new ones open.
    restart_all(&mut c).await;
    for i in 0..c.nodes().len() {
        let n = c.client(i);
        wait_listening(&n).await;
        match unseal_node(&n, &old).await {
            Err(BootstrapError::UnsealWrongKeys { .. }) => {}
            other => panic!("node {i}: the old shares must be refused: {other:?}"),
        }
        unseal_node(&n, &collected.new_keys[1..])
            .await
            .unwrap_or_else(|e| panic!("node {i}: the new shares must unseal: {e}"));
    }
    c.wait_active(DEADLINE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_shares_that_cannot_be_saved_are_never_activated() {
    let c = Cluster::start(ClusterOptions {
        nodes: 1,
        wait_voters: false,
        ..Default::default()
    })
    .await;
    let nodes = scoped_nodes(&c, "rekey", REKEY_POLICY).await;
    let old: Vec<UnsealKey> = c.unseal_keys().to_vec();
    let (plan, active) = plan_rekey(&nodes, KeySplit::new(3, 2).unwrap())
        .await
        .unwrap();
    // The bundle write fails: the attempt is cancelled, nothing activated.
    let mut seen = Vec::new();
    let err = rekey_persisted(&nodes, &active, &plan, &old, &[], |keys| {
        seen = keys.to_vec();
        Err::<Vec<UnsealKey>, _>("disk full")
    })
    .await
    .unwrap_err();
    assert!(
        matches!(&err, RekeyError::NotPersisted { reason, cancelled }
            if reason == "disk full" && cancelled.contains("current shares stay valid")),
        "{err:?}"
    );
    assert_eq!(seen.len(), 3, "the new shares were handed to persist");
    assert!(plan_rekey(&nodes, KeySplit::new(3, 2).unwrap())
        .await
        .unwrap()
        .0
        .in_progress
        .is_none());
    assert!(probe_shares(&active, plan.engine, &old).await.unwrap());
    assert!(!probe_shares(&active, plan.engine, &seen).await.unwrap());

    // Positive control: the same call with a persist that works activates the new shares.
    let (plan, active) = plan_rekey(&nodes, KeySplit::new(3, 2).unwrap())
        .await
        .unwrap();
    let new = rekey_persisted(&nodes, &active, &plan, &old, &[], |keys| {
        Ok::<_, String>(keys.to_vec())
    })
    .await
    .unwrap();
    assert!(probe_shares(&active, plan.engine, &new).await.unwrap());
    assert!(!probe_shares(&active, plan.engine, &old).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encryption_key_rotation_raises_the_term_and_data_survives_a_restart() {
    let mut c = Cluster::start(ClusterOptions {
        nodes: 1,
        wait_voters: false,
        ..Default::default()
    })
    .await;
    let root = c.root_client(0);
    root.mount_enable("kv", &EnableRequest::kv_v2())
        .await
        .unwrap();
    root.kv_write("kv", "a", &serde_json::json!({"v": "before"}), None)
        .await
        .unwrap();
    let nodes = scoped_nodes(&c, "rotate", ROTATE_ENCRYPTION_KEY_POLICY).await;
    let dry = rotate_encryption_key(&nodes, true).await.unwrap();
    assert_eq!(dry.before, dry.after, "a dry run changes nothing");
    let done = rotate_encryption_key(&nodes, false).await.unwrap();
    assert_eq!(done.after.term, done.before.term + 1);
    let again = rotate_encryption_key(&nodes, true).await.unwrap();
    assert_eq!(again.before.term, done.after.term);
    root.kv_write("kv", "b", &serde_json::json!({"v": "after"}), None)
        .await
        .unwrap();

    c.kill_node(0);
    c.start_node(0);
    wait_listening(&c.client(0)).await;
    c.unseal(0).await;
    c.wait_active(DEADLINE).await;
    let root = c.root_client(0);
    for (k, v) in [("a", "before"), ("b", "after")] {
        let s = root.kv_read("kv", k).await.unwrap().unwrap();
        assert_eq!(s.data["v"], v);
    }
    assert_eq!(root.key_status().await.unwrap().term, done.after.term);
}

async fn wait_listening(n: &NodeClient) {
    vaultops_bootstrap::wait_until(
        "node listening",
        DEADLINE,
        Duration::from_millis(100),
        || async { n.seal_status().await.map(Some).map_err(|e| e.to_string()) },
    )
    .await
    .unwrap();
}
