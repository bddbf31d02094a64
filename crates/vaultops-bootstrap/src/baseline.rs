//! The baseline configuration every fresh cluster gets from `testbed up` (and, until the
//! declarative `apply` lands, from rollout scripts): KV v2 at `secret/`, the seed's
//! `atmr-api-rotate` policy, and the `atmr-api` AppRole. Every step is idempotent.

use crate::error::BootstrapError;
use vaultops_api::approle::{AppRoleSpec, DEFAULT_APPROLE_MOUNT};
use vaultops_api::sys::EnableRequest;
use vaultops_api::{NodeClient, Ttl};

/// Mount path of the application's KV v2 engine.
pub const KV_MOUNT: &str = "secret";
/// The application's policy name (from the rollout guide).
pub const APP_POLICY: &str = "atmr-api-rotate";
/// The application's AppRole name.
pub const APP_ROLE: &str = "atmr-api";

/// What the atmr-api application (Flask API and Celery workers) may do: read and rotate its
/// own secrets under `secret/atmr/`, and keep its token alive. KV v2 needs `create` to write
/// a key that does not exist yet (measured: `update` alone gives 403). Deliberately absent:
/// `delete`/`destroy` of versions, listing other paths, and minting secret-ids (credential
/// rotation is an operator job with its own policy).
pub const APP_POLICY_HCL: &str = r#"# atmr-api-rotate: the atmr-api application (Flask API and Celery workers).
# Read and rotate its own secrets.
path "secret/data/atmr/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/metadata/atmr/*" {
  capabilities = ["read", "list"]
}
# Keep its own token alive and inspect it.
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
"#;

/// The `atmr-api` role as the rollout guide defines it: token TTL 24 h, max 48 h, secret-ids
/// without expiry (rotated by `vaultops approle rotate`), unlimited uses (concurrent logins
/// sharing one secret-id with a use limit fail with HTTP 500, measured).
pub fn app_role_spec() -> AppRoleSpec {
    AppRoleSpec {
        token_policies: Some(vec![APP_POLICY.to_owned()]),
        token_ttl: Some(Ttl::from("24h")),
        token_max_ttl: Some(Ttl::from("48h")),
        secret_id_ttl: Some(Ttl::from(0)),
        secret_id_num_uses: Some(0),
        ..Default::default()
    }
}

/// Applies the baseline through `client` (a token with root-like rights). Safe to repeat.
pub async fn apply_baseline(client: &NodeClient) -> Result<(), BootstrapError> {
    let fail = |step: &'static str| {
        move |source| BootstrapError::Configure {
            step,
            node: client.addr().to_owned(),
            source,
        }
    };
    let mounts = client
        .mounts_list()
        .await
        .map_err(fail("listing secrets engines"))?;
    if !mounts.contains_key(&format!("{KV_MOUNT}/")) {
        client
            .mount_enable(KV_MOUNT, &EnableRequest::kv_v2())
            .await
            .map_err(fail("enabling KV v2 at secret/"))?;
    }
    client
        .policy_write(APP_POLICY, APP_POLICY_HCL)
        .await
        .map_err(fail("writing the atmr-api-rotate policy"))?;
    let auths = client
        .auth_list()
        .await
        .map_err(fail("listing auth methods"))?;
    if !auths.contains_key(&format!("{DEFAULT_APPROLE_MOUNT}/")) {
        client
            .auth_enable(DEFAULT_APPROLE_MOUNT, &EnableRequest::new("approle"))
            .await
            .map_err(fail("enabling AppRole"))?;
    }
    client
        .approle_write_role(DEFAULT_APPROLE_MOUNT, APP_ROLE, &app_role_spec())
        .await
        .map_err(fail("writing the atmr-api AppRole"))?;
    Ok(())
}
