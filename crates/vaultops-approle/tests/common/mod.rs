//! Shared setup for the integration tests: a real one-node OpenBao raft cluster (TLS) with
//! the rollout baseline applied (KV v2 at `secret/`, policy `atmr-api-rotate`, AppRole
//! `atmr-api`), and tokens with narrower policies.

#![allow(dead_code)]

use std::time::Duration;
use vaultops_api::{NodeClient, TokenCreateRequest};
use vaultops_approle::rotator_policy_hcl;
use vaultops_bootstrap::{apply_baseline, APP_ROLE, KV_MOUNT};
use vaultops_testkit::{Cluster, ClusterOptions};

pub const MOUNT: &str = "approle";
pub const ROLE: &str = APP_ROLE;

/// One node is enough: AppRole and KV behave the same on the active node of any cluster
/// size, and the machine has two cores.
pub async fn cluster() -> (Cluster, NodeClient) {
    let c = Cluster::start(ClusterOptions {
        nodes: 1,
        wait_voters: false,
        ..Default::default()
    })
    .await;
    let i = c.wait_active(Duration::from_secs(30)).await;
    let root = c.root_client(i);
    apply_baseline(&root).await.expect("baseline");
    wait_kv_ready(&root).await;
    (c, root)
}

/// A freshly enabled KV v2 mount answers 400 "Waiting for the primary to upgrade…" for
/// about a second (measured): poll a read until it is served.
pub async fn wait_kv_ready(root: &NodeClient) {
    vaultops_bootstrap::wait_until(
        "KV v2 at secret/ to serve reads",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async {
            match root.kv_read(KV_MOUNT, "atmr/readiness-probe").await {
                Ok(_) => Ok(Some(())),
                Err(e) => Err(e.to_string()),
            }
        },
    )
    .await
    .expect("KV v2 ready");
}

/// A client whose token carries only the rotator policy for the app role.
pub async fn rotator_client(root: &NodeClient) -> NodeClient {
    root.policy_write("atmr-api-rotator", &rotator_policy_hcl(MOUNT, ROLE))
        .await
        .unwrap();
    let auth = root
        .token_create(&TokenCreateRequest {
            policies: vec!["atmr-api-rotator".into()],
            no_default_policy: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    root.with_token(auth.client_token)
}
