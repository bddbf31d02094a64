//! The baseline every fresh cluster of the testbed and the test harness gets: the shipped
//! example rollout (`examples/rollout.yaml`: KV v2 at `secret/`, the `atmr-api-rotate`
//! policy, the `atmr-api` AppRole), applied through [`crate::apply`] like `vaultops apply`
//! does (read the server → plan → apply), so every test cluster also tests the example and
//! the executor. Safe to repeat: a second run plans nothing.
//!
//! The example's audit section depends on the servers' configuration, so [`apply_baseline`]
//! leaves it out and [`apply_rollout`] takes what the caller declares (the testbed declares
//! the devices it rendered). The root token is not revoked here: that is the last step of a
//! real rollout (`vaultops apply` without `--keep-root-token`), and test clusters keep it.

use vaultops_api::AppRoleSpec;
use vaultops_api::NodeClient;
use vaultops_rollout::{plan, PlanOptions, Rollout};

use crate::apply::{apply, read_current, ApplyError, ApplyReport};

/// The shipped example rollout, as text.
pub const EXAMPLE_ROLLOUT: &str = include_str!("../../../examples/rollout.yaml");
/// Mount path of the application's KV v2 engine in the example.
pub const KV_MOUNT: &str = "secret";
/// The application's policy name in the example.
pub const APP_POLICY: &str = "atmr-api-rotate";
/// The application's AppRole name in the example.
pub const APP_ROLE: &str = "atmr-api";

/// The example rollout, parsed.
///
/// # Panics
/// Never for the shipped file: a unit test parses it.
pub fn example_rollout() -> Rollout {
    Rollout::from_yaml(EXAMPLE_ROLLOUT, "examples/rollout.yaml")
        .expect("the shipped examples/rollout.yaml parses (tested)")
}

/// The example's `atmr-api` role, as the API takes it.
pub fn app_role_spec() -> AppRoleSpec {
    let r = example_rollout();
    let role = &r
        .approle_roles
        .as_ref()
        .expect("the example declares roles")[APP_ROLE];
    crate::apply::role_spec(&role.settings(), true)
}

/// Reads what `rollout` manages through `client` (the active node, a root-like token),
/// plans without pruning, and applies the plan.
pub async fn apply_rollout(
    client: &NodeClient,
    rollout: &Rollout,
) -> Result<ApplyReport, ApplyError> {
    let current = read_current(client, rollout).await?;
    let plan = plan(rollout, &current, &PlanOptions { prune: false });
    apply(client, &plan).await
}

/// Applies the example rollout without its audit section through `client` (the active
/// node, a root-like token).
pub async fn apply_baseline(client: &NodeClient) -> Result<ApplyReport, ApplyError> {
    let mut r = example_rollout();
    r.audit = None;
    apply_rollout(client, &r).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The application's least-privilege policy, as the rollout guide defines it: read and
    /// rotate its own secrets (KV v2 needs `create` for a new key: `update` alone gives 403,
    /// measured), keep its token alive. No delete/destroy, no listing elsewhere, no
    /// secret-id minting.
    const APP_POLICY_HCL: &str = r#"# atmr-api-rotate: the atmr-api application (Flask API and Celery workers).
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

    #[test]
    fn the_example_rollout_ships_the_guides_policy_and_role_verbatim() {
        let r = example_rollout();
        assert!(r.secrets_engines.as_ref().unwrap().contains_key(KV_MOUNT));
        let policy = &r.policies.as_ref().unwrap()[APP_POLICY];
        assert_eq!(policy.hcl.as_deref(), Some(APP_POLICY_HCL));
        // The role as the rollout guide defines it: token TTL 24 h, max 48 h, secret-ids
        // without expiry (rotated by `vaultops approle rotate`), unlimited uses (concurrent
        // logins sharing one secret-id with a use limit fail with HTTP 500, measured).
        let expected = AppRoleSpec {
            token_policies: Some(vec![APP_POLICY.to_owned()]),
            token_ttl: Some(vaultops_api::Ttl::from("24h")),
            token_max_ttl: Some(vaultops_api::Ttl::from("48h")),
            secret_id_ttl: Some(vaultops_api::Ttl::from(0)),
            secret_id_num_uses: Some(0),
            ..Default::default()
        };
        assert_eq!(
            app_role_spec(),
            crate::apply::role_spec(&crate::apply::role_settings(&expected), true)
        );
    }
}
