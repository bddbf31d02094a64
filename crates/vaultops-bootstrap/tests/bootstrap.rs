//! Bootstrap against a real 3-node TLS raft cluster: unseal outcomes and errors, baseline
//! configuration, cluster status.

use std::time::Duration;
use vaultops_api::{NodeRole, UnsealKey};
use vaultops_api::{SecretIdRequest, DEFAULT_APPROLE_MOUNT};
use vaultops_bootstrap::cluster_status;
use vaultops_bootstrap::{apply_baseline, APP_POLICY, APP_ROLE};
use vaultops_bootstrap::{unseal_node, BootstrapError, UnsealOutcome};
use vaultops_testkit::{Cluster, ClusterOptions};

fn fast() -> ClusterOptions {
    ClusterOptions {
        wait_voters: false,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unseal_outcomes_and_errors_name_the_node() {
    let c = Cluster::start(fast()).await;
    let active = c.wait_active(Duration::from_secs(30)).await;
    let victim = (active + 1) % 3;
    let keys = c.unseal_keys().to_vec();

    // Already unsealed: skipped, nothing sent.
    let out = unseal_node(&c.client(victim), &keys[..3]).await.unwrap();
    assert_eq!(out, UnsealOutcome::AlreadyUnsealed);

    // Seal a standby through the API.
    c.root_client(victim).seal().await.unwrap();
    assert_eq!(
        c.client(victim).health().await.unwrap().role,
        NodeRole::Sealed
    );

    // Too few shares: named, with the threshold.
    let err = unseal_node(&c.client(victim), &keys[..2])
        .await
        .unwrap_err();
    match &err {
        BootstrapError::UnsealNotEnoughKeys {
            node,
            given,
            threshold,
        } => {
            assert_eq!(node, &c.addrs()[victim]);
            assert_eq!((*given, *threshold), (2, 3));
        }
        other => panic!("{other:?}"),
    }

    // A wrong share (random bytes, well-formed): detected at the threshold, progress reset.
    let bogus = UnsealKey::new("q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0VniQ");
    let err = unseal_node(
        &c.client(victim),
        &[keys[0].clone(), keys[1].clone(), bogus],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, BootstrapError::UnsealWrongKeys { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(&c.addrs()[victim]), "{err}");
    let s = c.client(victim).seal_status().await.unwrap();
    assert!(s.sealed);
    assert_eq!(
        s.progress, 0,
        "the server resets progress after a failed attempt"
    );

    // A half-finished attempt left by someone else is reset, then the right keys work;
    // duplicates are not counted twice.
    c.client(victim).unseal(&keys[4]).await.unwrap();
    let out = unseal_node(
        &c.client(victim),
        &[
            keys[2].clone(),
            keys[2].clone(),
            keys[3].clone(),
            keys[4].clone(),
        ],
    )
    .await
    .unwrap();
    assert_eq!(out, UnsealOutcome::Unsealed { shares_used: 3 });
    assert!(cluster_status(&c.nodes_set(false)).await.healthy());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baseline_is_idempotent_and_gives_the_app_least_privilege() {
    let c = Cluster::start(fast()).await;
    let active = c.wait_active(Duration::from_secs(30)).await;
    let root = c.root_client(active);
    apply_baseline(&root).await.unwrap();
    apply_baseline(&root)
        .await
        .expect("a second run changes nothing and succeeds");

    let mounts = root.mounts_list().await.unwrap();
    assert!(mounts["secret/"].is_kv_v2());
    assert!(root.policy_read(APP_POLICY).await.unwrap().is_some());
    let role = root
        .approle_read_role(DEFAULT_APPROLE_MOUNT, APP_ROLE)
        .await
        .unwrap()
        .expect("role exists");
    assert_eq!(role.token_ttl.and_then(|t| t.as_secs()), Some(86_400));
    assert_eq!(role.token_max_ttl.and_then(|t| t.as_secs()), Some(172_800));

    let role_id = root
        .approle_role_id(DEFAULT_APPROLE_MOUNT, APP_ROLE)
        .await
        .unwrap()
        .unwrap();
    let sid = root
        .approle_generate_secret_id(DEFAULT_APPROLE_MOUNT, APP_ROLE, &SecretIdRequest::default())
        .await
        .unwrap();
    let auth = c
        .client(active)
        .approle_login(DEFAULT_APPROLE_MOUNT, &role_id, &sid.secret_id)
        .await
        .unwrap();
    assert!(auth.policies.contains(&APP_POLICY.to_string()));
    let app = c.client(active).with_token(auth.client_token);
    app.kv_write(
        "secret",
        "atmr/db",
        &serde_json::json!({"password": "p1"}),
        None,
    )
    .await
    .expect("the app may create its own secrets");
    let back = app.kv_read("secret", "atmr/db").await.unwrap().unwrap();
    assert_eq!(back.data["password"], "p1");
    let denied = app.kv_read("secret", "other/x").await.unwrap_err();
    assert!(denied.is_permission_denied(), "{denied}");
    let denied = app.kv_destroy("secret", "atmr/db", &[1]).await.unwrap_err();
    assert!(denied.is_permission_denied(), "{denied}");
    let denied = app.mounts_list().await.unwrap_err();
    assert!(denied.is_permission_denied(), "{denied}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_a_stopped_node() {
    let mut c = Cluster::start(fast()).await;
    let active = c.wait_active(Duration::from_secs(30)).await;
    // Autopilot tuning sticks (sub-second values would be silently ignored by the server).
    let root = c.root_client(active);
    vaultops_bootstrap::tune_autopilot(&root, Duration::from_millis(1500))
        .await
        .unwrap();
    let cfg = root.autopilot_config().await.unwrap();
    assert_eq!(cfg.server_stabilization_time, "2s");
    let ok = cluster_status(&c.nodes_set(false)).await;
    assert!(ok.healthy(), "{:?}", ok.problems);
    let victim = (active + 2) % 3;
    c.kill_node(victim);
    let s = cluster_status(&c.nodes_set(false)).await;
    assert!(!s.healthy());
    assert!(!s.nodes[victim].reachable);
    assert_eq!(s.problems.len(), 1, "{:?}", s.problems);
    assert!(s.problems[0].contains("is unreachable"), "{:?}", s.problems);
}
