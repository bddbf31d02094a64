//! Preparing a transit unsealer, as an operator does on the cluster that holds the key
//! (`docs/auto-unseal.md`): the transit engine at `transit/`, the key `autounseal`, a policy
//! allowing only `update` on `transit/encrypt/autounseal` and `transit/decrypt/autounseal`,
//! and an orphan periodic token with only that policy, which the sealed nodes use.
//!
//! The testbed's unsealer container and the test harness's unsealer process both run it.

use vaultops_api::{EnableRequest, NodeClient, Token, TokenCreateRequest};

use crate::error::BootstrapError;

/// Mount of the transit engine on the unsealer.
pub const TRANSIT_MOUNT: &str = "transit";
/// Name of the transit key, and of the policy that may use it.
pub const TRANSIT_KEY: &str = "autounseal";
/// Period of the nodes' token: renewable forever (the seal renews it itself).
pub const TRANSIT_TOKEN_PERIOD: &str = "24h";

/// The transit policy: encrypt and decrypt with the one key, nothing else.
pub fn transit_policy() -> String {
    format!(
        "path \"{TRANSIT_MOUNT}/encrypt/{TRANSIT_KEY}\" {{\n  capabilities = [\"update\"]\n}}\n\
         path \"{TRANSIT_MOUNT}/decrypt/{TRANSIT_KEY}\" {{\n  capabilities = [\"update\"]\n}}\n"
    )
}

/// Prepares the unsealer behind `root` (a root token on its active node): transit engine
/// (kept when mounted), key (creating an existing key changes nothing), policy, and returns
/// a fresh orphan periodic token holding only that policy.
pub async fn prepare_unsealer(root: &NodeClient) -> Result<Token, BootstrapError> {
    let fail = |step: &'static str| {
        move |source| BootstrapError::Configure {
            step,
            node: root.addr().to_owned(),
            source,
        }
    };
    let mounts = root
        .mounts_list()
        .await
        .map_err(fail("listing secrets engines on the unsealer"))?;
    if !mounts.contains_key(&format!("{TRANSIT_MOUNT}/")) {
        root.mount_enable(TRANSIT_MOUNT, &EnableRequest::new("transit"))
            .await
            .map_err(fail("mounting the transit engine"))?;
    }
    // `POST transit/keys/<name>` with no parameters creates an aes256-gcm96 key. The client
    // has no transit endpoints; this is the plain logical write `kv1_write` sends.
    root.kv1_write(
        TRANSIT_MOUNT,
        &format!("keys/{TRANSIT_KEY}"),
        &serde_json::json!({}),
    )
    .await
    .map_err(fail("creating the transit key"))?;
    root.policy_write(TRANSIT_KEY, &transit_policy())
        .await
        .map_err(fail("writing the autounseal policy"))?;
    // Orphan: it survives the revocation of the root token that made it. Periodic: the seal
    // renews it forever. No default policy: it can do nothing but encrypt and decrypt with
    // the one key.
    let req = TokenCreateRequest {
        policies: vec![TRANSIT_KEY.to_owned()],
        period: Some(TRANSIT_TOKEN_PERIOD.into()),
        no_default_policy: Some(true),
        display_name: Some(TRANSIT_KEY.to_owned()),
        ..Default::default()
    };
    root.token_create_orphan(&req)
        .await
        .map(|auth| auth.client_token)
        .map_err(fail("creating the nodes' transit token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transit_policy_allows_only_encrypt_and_decrypt_with_the_key() {
        let p = transit_policy();
        assert!(p.contains("path \"transit/encrypt/autounseal\""), "{p}");
        assert!(p.contains("path \"transit/decrypt/autounseal\""), "{p}");
        assert_eq!(p.matches("capabilities = [\"update\"]").count(), 2, "{p}");
        assert!(!p.contains("create") && !p.contains("keys/"), "{p}");
    }
}
