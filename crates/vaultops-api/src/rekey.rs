//! Unseal-key rotation ("rekey") and barrier (encryption) key rotation.
//!
//! Two flows with the same shapes, chosen by [`RekeyEndpoint`]:
//!
//! - OpenBao's authenticated `sys/rotate/root/*` (read from OpenBao's
//!   `internal/vault/logical_system_rotate.go`): `GET|POST|DELETE sys/rotate/root/init`
//!   (status, start with `secret_shares`, `secret_threshold`, `pgp_keys`, `backup`,
//!   `require_verification`; cancel), `POST sys/rotate/root/update` (`key`, `nonce`: one OLD
//!   share), `GET|POST|DELETE sys/rotate/root/verify` (status, one NEW share with the
//!   `verification_nonce`, restart the verification only). They need a token whose policy
//!   allows them (no `sudo`); answers come inside `data`. The legacy unauthenticated
//!   `sys/rekey/*` are off by default since OpenBao 2.5 (listener setting
//!   `disable_unauthed_rekey_endpoints`).
//! - Vault's `sys/rekey/init|update|verify`: same fields, unauthenticated, answers at the
//!   top level.
//!
//! Nonce: the start answer carries `nonce`; every update must send it. The attempt lives in
//! the ACTIVE node's memory: status is read from `init`, a half-done attempt is resumed by
//! sending the remaining shares with the nonce the status shows, or cancelled with `DELETE`.
//! The final update (threshold of OLD shares reached) returns the NEW shares (`keys`,
//! `keys_base64`). Without `require_verification` the root key is replaced at that moment.
//! With it, the answer also carries `verification_nonce` and NOTHING is replaced yet: the old
//! shares keep working until a threshold of NEW shares is given to `verify` (answer
//! `complete: true`). Cancelling (`DELETE init`) before that keeps the old shares valid.
//!
//! Measured on OpenBao 2.7.2: `sys/rekey/*` answer 405 "unsupported operation" (with or
//! without a token); `sys/rotate/root/init` answers 403 without a token and
//! `{"data": {"n": 0, "required": T, "started": false, "t": 0}}` with one; a wrong old share
//! at the threshold is HTTP 400 "failed to read root key: … message authentication failed"
//! (the source clears the progress before combining); a wrong nonce is HTTP 400 "incorrect
//! nonce supplied" (the message names the right one).
//!
//! Barrier key: `POST sys/rotate` (OpenBao also `sys/rotate/keyring`; a `sudo` path) adds a
//! new encryption key term; `GET sys/key-status` shows `term`, `install_time`, `encryptions`.

use crate::client::NodeClient;
use crate::error::ApiError;
use crate::seal::{Envelope, KeySplit};
use crate::secret::UnsealKey;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use vaultops_types::Engine;

/// Which rekey API a node offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RekeyEndpoint {
    /// OpenBao: `sys/rotate/root/*`, authenticated.
    RotateRoot,
    /// Vault (and OpenBao with `disable_unauthed_rekey_endpoints = false`): `sys/rekey/*`.
    Legacy,
}

impl RekeyEndpoint {
    /// The endpoint the engine enables by default.
    pub fn for_engine(engine: Engine) -> Self {
        match engine {
            Engine::OpenBao => RekeyEndpoint::RotateRoot,
            Engine::Vault => RekeyEndpoint::Legacy,
        }
    }
    fn path(self, leaf: &str) -> String {
        match self {
            RekeyEndpoint::RotateRoot => format!("sys/rotate/root/{leaf}"),
            RekeyEndpoint::Legacy => format!("sys/rekey/{leaf}"),
        }
    }
}

/// The status of a rekey attempt (`GET init`, and the answer of start and of a non-final
/// update). The final update also fills `complete`, `keys_base64` and the verification nonce.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RekeyStatus {
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub started: bool,
    /// New threshold of the attempt (0 when none).
    #[serde(default)]
    pub t: u8,
    /// New number of shares of the attempt (0 when none).
    #[serde(default)]
    pub n: u8,
    /// OLD shares accepted so far.
    #[serde(default)]
    pub progress: u8,
    /// OLD threshold: how many old shares the attempt needs.
    #[serde(default)]
    pub required: u8,
    #[serde(default)]
    pub verification_required: bool,
    /// Set once the old shares were all given and the new ones await verification.
    #[serde(default, deserialize_with = "crate::rekey::null_string")]
    pub verification_nonce: String,
    /// True on the final update.
    #[serde(default)]
    pub complete: bool,
    /// The NEW shares (final update only; PGP-encrypted when `pgp_keys` were given).
    #[serde(default, skip_serializing)]
    pub keys_base64: Vec<UnsealKey>,
    #[serde(default, deserialize_with = "crate::rekey::null_vec")]
    pub pgp_fingerprints: Vec<String>,
    #[serde(default)]
    pub backup: bool,
}

/// The status of the verification stage (`GET verify`, `POST verify`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RekeyVerifyStatus {
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub started: bool,
    #[serde(default)]
    pub t: u8,
    #[serde(default)]
    pub n: u8,
    /// NEW shares accepted so far.
    #[serde(default)]
    pub progress: u8,
    /// True once the new shares replaced the old ones.
    #[serde(default)]
    pub complete: bool,
}

/// What a rekey attempt should produce.
#[derive(Debug, Clone)]
pub struct RekeyRequest {
    pub split: KeySplit,
    /// One base64 PGP public key per new share: the server returns them encrypted.
    pub pgp_keys: Vec<String>,
    /// Keep the old shares valid until a threshold of the new ones is verified.
    pub require_verification: bool,
}

/// `sys/key-status`: the barrier's active encryption key.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct KeyStatus {
    pub term: u64,
    #[serde(default)]
    pub install_time: String,
    #[serde(default)]
    pub encryptions: Option<u64>,
}

fn null_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

fn null_vec<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

impl NodeClient {
    /// `GET init`: the attempt in progress, if any (`started`), and the current threshold
    /// (`required`).
    pub async fn rekey_status(&self, ep: RekeyEndpoint) -> Result<RekeyStatus, ApiError> {
        let env: Envelope<RekeyStatus> = self
            .call::<(), _>("rekey status", Method::GET, &ep.path("init"), None)
            .await?;
        Ok(env.into_inner())
    }

    /// `POST init`: starts an attempt (the server refuses while one is in progress).
    pub async fn rekey_start(
        &self,
        ep: RekeyEndpoint,
        req: &RekeyRequest,
    ) -> Result<RekeyStatus, ApiError> {
        let mut body = serde_json::json!({
            "secret_shares": req.split.shares(),
            "secret_threshold": req.split.threshold(),
            "require_verification": req.require_verification,
        });
        if !req.pgp_keys.is_empty() {
            body["pgp_keys"] = serde_json::json!(req.pgp_keys);
        }
        let env: Envelope<RekeyStatus> = self
            .call("rekey start", Method::POST, &ep.path("init"), Some(&body))
            .await?;
        Ok(env.into_inner())
    }

    /// `DELETE init`: cancels the attempt; before verification completes the old shares stay
    /// valid.
    pub async fn rekey_cancel(&self, ep: RekeyEndpoint) -> Result<(), ApiError> {
        self.call_empty::<()>("rekey cancel", Method::DELETE, &ep.path("init"), None)
            .await
    }

    /// `POST update`: one OLD share. The final one returns the new shares.
    pub async fn rekey_update(
        &self,
        ep: RekeyEndpoint,
        key: &UnsealKey,
        nonce: &str,
    ) -> Result<RekeyStatus, ApiError> {
        let env: Envelope<RekeyStatus> = self
            .call(
                "rekey update",
                Method::POST,
                &ep.path("update"),
                Some(&serde_json::json!({ "key": key.expose(), "nonce": nonce })),
            )
            .await?;
        Ok(env.into_inner())
    }

    /// `GET verify`: progress of the verification stage.
    pub async fn rekey_verify_status(
        &self,
        ep: RekeyEndpoint,
    ) -> Result<RekeyVerifyStatus, ApiError> {
        let env: Envelope<RekeyVerifyStatus> = self
            .call::<(), _>("rekey verify status", Method::GET, &ep.path("verify"), None)
            .await?;
        Ok(env.into_inner())
    }

    /// `POST verify`: one NEW share with the verification nonce; `complete` once the new
    /// shares replaced the old ones.
    pub async fn rekey_verify(
        &self,
        ep: RekeyEndpoint,
        key: &UnsealKey,
        verification_nonce: &str,
    ) -> Result<RekeyVerifyStatus, ApiError> {
        let env: Envelope<RekeyVerifyStatus> = self
            .call(
                "rekey verify",
                Method::POST,
                &ep.path("verify"),
                Some(&serde_json::json!({ "key": key.expose(), "nonce": verification_nonce })),
            )
            .await?;
        Ok(env.into_inner())
    }

    /// `GET sys/key-status` (a token allowed to read it).
    pub async fn key_status(&self) -> Result<KeyStatus, ApiError> {
        let env: Envelope<KeyStatus> = self
            .call::<(), _>("key status", Method::GET, "sys/key-status", None)
            .await?;
        Ok(env.into_inner())
    }

    /// `POST sys/rotate`: a new barrier encryption key term (needs `sudo` on `sys/rotate`).
    pub async fn rotate_encryption_key(&self) -> Result<(), ApiError> {
        self.call_empty::<()>("rotate encryption key", Method::POST, "sys/rotate", None)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_decode_wrapped_and_bare() {
        let wrapped = serde_json::json!({"data": {"nonce": "n1", "started": true, "t": 3, "n": 5,
            "progress": 1, "required": 3, "verification_required": true,
            "verification_nonce": "", "pgp_fingerprints": null}});
        let s: Envelope<RekeyStatus> = serde_json::from_value(wrapped).unwrap();
        let s = s.into_inner();
        assert_eq!((s.nonce.as_str(), s.started, s.t, s.n), ("n1", true, 3, 5));
        assert_eq!((s.progress, s.required), (1, 3));
        let bare = serde_json::json!({"complete": true, "nonce": "n1",
            "keys_base64": ["a", "b"], "verification_nonce": "v1"});
        let s: Envelope<RekeyStatus> = serde_json::from_value(bare).unwrap();
        let s = s.into_inner();
        assert!(s.complete);
        assert_eq!(s.keys_base64.len(), 2);
        assert_eq!(s.verification_nonce, "v1");
    }

    #[test]
    fn endpoints_by_engine() {
        assert_eq!(
            RekeyEndpoint::for_engine(Engine::OpenBao).path("init"),
            "sys/rotate/root/init"
        );
        assert_eq!(
            RekeyEndpoint::for_engine(Engine::Vault).path("verify"),
            "sys/rekey/verify"
        );
    }
}
