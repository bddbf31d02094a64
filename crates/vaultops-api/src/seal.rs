//! Initialization and the seal: `sys/init`, `sys/unseal` (with reset), `sys/seal`, and the
//! `sys/generate-root/*` flow.
//!
//! [`KeySplit`] carries the Shamir precondition in its type (1 ≤ threshold ≤ shares ≤ 255,
//! and a threshold of 1 only with a single share, as the server requires), so a bad split is
//! refused before any request is sent.

use crate::client::NodeClient;
use crate::error::{ApiError, ErrorKind};
use crate::secret::{Token, UnsealKey};
use crate::status::SealStatus;
use base64::Engine as _;
use reqwest::Method;
use serde::{Deserialize, Serialize};

/// A Shamir split: how many shares, how many needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySplit {
    shares: u8,
    threshold: u8,
}

/// A [`KeySplit`] that the server would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySplitError {
    #[error("key shares must be between 1 and 255, got {0}")]
    Shares(u32),
    #[error("key threshold {threshold} must be between 1 and the number of shares ({shares})")]
    Threshold { shares: u32, threshold: u32 },
    #[error("a threshold of 1 needs exactly 1 share (got {shares} shares); use a threshold of at least 2")]
    ThresholdOne { shares: u32 },
}

impl KeySplit {
    /// Validates a split. Takes u32 so that out-of-range user input is reported, not wrapped.
    pub fn new(shares: u32, threshold: u32) -> Result<Self, KeySplitError> {
        if !(1..=255).contains(&shares) {
            return Err(KeySplitError::Shares(shares));
        }
        if threshold < 1 || threshold > shares {
            return Err(KeySplitError::Threshold { shares, threshold });
        }
        if threshold == 1 && shares > 1 {
            return Err(KeySplitError::ThresholdOne { shares });
        }
        Ok(Self {
            shares: shares as u8,
            threshold: threshold as u8,
        })
    }
    pub fn shares(&self) -> u8 {
        self.shares
    }
    pub fn threshold(&self) -> u8 {
        self.threshold
    }
}

/// What `sys/init` should do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InitRequest {
    /// Shamir seal: the unseal key split.
    #[serde(
        skip_serializing_if = "Option::is_none",
        flatten,
        with = "split_as_secret"
    )]
    pub secret: Option<KeySplit>,
    /// One base64 PGP public key per share: the server returns each share encrypted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pgp_keys: Vec<String>,
    /// Base64 PGP public key that encrypts the root token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_token_pgp_key: Option<String>,
    /// Auto-unseal (transit, static, KMS): the recovery key split. The server rejects
    /// `secret_shares` for those seals.
    #[serde(
        skip_serializing_if = "Option::is_none",
        flatten,
        with = "split_as_recovery"
    )]
    pub recovery: Option<KeySplit>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recovery_pgp_keys: Vec<String>,
}

mod split_as_secret {
    use super::KeySplit;
    use serde::ser::SerializeMap;
    pub fn serialize<S: serde::Serializer>(v: &Option<KeySplit>, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(k) = v {
            m.serialize_entry("secret_shares", &k.shares)?;
            m.serialize_entry("secret_threshold", &k.threshold)?;
        }
        m.end()
    }
}

mod split_as_recovery {
    use super::KeySplit;
    use serde::ser::SerializeMap;
    pub fn serialize<S: serde::Serializer>(v: &Option<KeySplit>, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(k) = v {
            m.serialize_entry("recovery_shares", &k.shares)?;
            m.serialize_entry("recovery_threshold", &k.threshold)?;
        }
        m.end()
    }
}

impl InitRequest {
    /// Shamir init with the given split.
    pub fn shamir(split: KeySplit) -> Self {
        Self {
            secret: Some(split),
            ..Default::default()
        }
    }
    /// Auto-unseal init with the given recovery split.
    pub fn auto_unseal(recovery: KeySplit) -> Self {
        Self {
            recovery: Some(recovery),
            ..Default::default()
        }
    }
}

/// What `sys/init` returns. Keys are hex in `keys` and base64 in `keys_base64`; with PGP
/// keys given, each entry is the share encrypted to the matching key.
#[derive(Debug, Clone, Deserialize)]
pub struct InitResponse {
    #[serde(default)]
    pub keys: Vec<UnsealKey>,
    #[serde(default)]
    pub keys_base64: Vec<UnsealKey>,
    #[serde(default)]
    pub recovery_keys: Vec<UnsealKey>,
    #[serde(default)]
    pub recovery_keys_base64: Vec<UnsealKey>,
    pub root_token: Token,
}

#[derive(Deserialize)]
struct InitStatus {
    initialized: bool,
}

/// `sys/generate-root/attempt` status.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct GenerateRootStatus {
    #[serde(default)]
    pub nonce: String,
    pub started: bool,
    pub progress: u8,
    pub required: u8,
    pub complete: bool,
    /// The encoded (OTP-XORed or PGP-encrypted) root token, once complete.
    #[serde(default, skip_serializing)]
    pub encoded_token: Option<Token>,
    #[serde(default, skip_serializing)]
    pub encoded_root_token: Option<Token>,
    #[serde(default)]
    pub pgp_fingerprint: String,
    #[serde(default)]
    pub otp_length: usize,
    /// The OTP the server generated (OpenBao/Vault ≥1.10 generate it on start).
    #[serde(default, skip_serializing)]
    pub otp: Option<Token>,
}

/// How the new root token of a generate-root attempt is protected.
#[derive(Debug, Clone)]
pub enum GenerateRootProtection {
    /// The server generates an OTP and returns it in the start answer.
    Otp,
    /// Encrypt the token to this base64 PGP public key.
    Pgp(String),
}

impl NodeClient {
    /// `GET sys/init`: whether the cluster behind this node is initialized.
    pub async fn init_status(&self) -> Result<bool, ApiError> {
        let s: InitStatus = self
            .call::<(), _>("init status", Method::GET, "sys/init", None)
            .await?;
        Ok(s.initialized)
    }

    /// `PUT sys/init`. Refuses a request with neither split before sending it. Waits for the
    /// answer as long as [`ClientConfig::init_timeout`](crate::ClientConfig::init_timeout)
    /// says (by default as long as the server needs), not the ordinary request timeout.
    pub async fn init(&self, req: &InitRequest) -> Result<InitResponse, ApiError> {
        const OP: &str = "init";
        if req.secret.is_none() && req.recovery.is_none() {
            return Err(self.err(
                OP,
                ErrorKind::InvalidRequest(
                    "give a key split (Shamir) or a recovery split (auto-unseal)".into(),
                ),
            ));
        }
        for (what, split, pgp) in [
            ("pgp_keys", req.secret, &req.pgp_keys),
            ("recovery_pgp_keys", req.recovery, &req.recovery_pgp_keys),
        ] {
            if let Some(split) = split {
                if !pgp.is_empty() && pgp.len() != split.shares() as usize {
                    return Err(self.err(
                        OP,
                        ErrorKind::InvalidRequest(format!(
                            "{what}: {} PGP keys for {} shares; give exactly one key per share",
                            pgp.len(),
                            split.shares()
                        )),
                    ));
                }
            }
        }
        // Without the client's ordinary timeout (see `ClientConfig::init_timeout`).
        let rb = self
            .request(Method::PUT, "sys/init")
            .json(req)
            .timeout(self.init_timeout());
        let resp = self.send(OP, rb).await?;
        self.decode(OP, resp).await
    }

    /// `PUT sys/unseal` with one key share. Returns the seal status after it: `progress`
    /// counts accepted shares; a wrong share only shows when the threshold is reached (HTTP
    /// 400 "message authentication failed", and progress resets to 0).
    pub async fn unseal(&self, key: &UnsealKey) -> Result<SealStatus, ApiError> {
        #[derive(Serialize)]
        struct Body<'a> {
            key: &'a str,
        }
        self.call(
            "unseal",
            Method::PUT,
            "sys/unseal",
            Some(&Body { key: key.expose() }),
        )
        .await
    }

    /// `PUT sys/unseal` with one key share and `migrate: true`: unseals a node restarted with a
    /// new seal configuration (seal migration; `sys/seal-status` shows `migration: true`). The
    /// shares are the OLD seal's: the unseal keys when leaving Shamir, the recovery keys when
    /// leaving an auto-unseal seal. Needs no token.
    pub async fn unseal_migrate(&self, key: &UnsealKey) -> Result<SealStatus, ApiError> {
        #[derive(Serialize)]
        struct Body<'a> {
            key: &'a str,
            migrate: bool,
        }
        self.call(
            "unseal (migrate)",
            Method::PUT,
            "sys/unseal",
            Some(&Body {
                key: key.expose(),
                migrate: true,
            }),
        )
        .await
    }

    /// `PUT sys/unseal` with `reset`: discards the shares given so far.
    pub async fn unseal_reset(&self) -> Result<SealStatus, ApiError> {
        self.call(
            "unseal reset",
            Method::PUT,
            "sys/unseal",
            Some(&serde_json::json!({ "reset": true })),
        )
        .await
    }

    /// `PUT sys/seal` (needs a token with `sudo` on `sys/seal`).
    pub async fn seal(&self) -> Result<(), ApiError> {
        self.call_empty::<()>("seal", Method::PUT, "sys/seal", None)
            .await
    }

    /// `GET <endpoint>/attempt`.
    pub async fn generate_root_status(
        &self,
        endpoint: GenerateRootEndpoint,
    ) -> Result<GenerateRootStatus, ApiError> {
        let env: Envelope<GenerateRootStatus> = self
            .call::<(), _>(
                "generate-root status",
                Method::GET,
                &format!("{}/attempt", endpoint.path()),
                None,
            )
            .await?;
        Ok(env.into_inner())
    }

    /// `POST <endpoint>/attempt`: starts an attempt. With [`GenerateRootProtection::Otp`]
    /// the answer's `otp` holds the one-time pad needed to decode the token.
    pub async fn generate_root_start(
        &self,
        endpoint: GenerateRootEndpoint,
        protection: &GenerateRootProtection,
    ) -> Result<GenerateRootStatus, ApiError> {
        let body = match protection {
            GenerateRootProtection::Otp => serde_json::json!({}),
            GenerateRootProtection::Pgp(k) => serde_json::json!({ "pgp_key": k }),
        };
        let env: Envelope<GenerateRootStatus> = self
            .call(
                "generate-root start",
                Method::POST,
                &format!("{}/attempt", endpoint.path()),
                Some(&body),
            )
            .await?;
        Ok(env.into_inner())
    }

    /// `DELETE <endpoint>/attempt`: cancels the attempt in progress.
    pub async fn generate_root_cancel(
        &self,
        endpoint: GenerateRootEndpoint,
    ) -> Result<(), ApiError> {
        self.call_empty::<()>(
            "generate-root cancel",
            Method::DELETE,
            &format!("{}/attempt", endpoint.path()),
            None,
        )
        .await
    }

    /// `POST <endpoint>/update`: gives one unseal (or recovery) share.
    pub async fn generate_root_update(
        &self,
        endpoint: GenerateRootEndpoint,
        key: &UnsealKey,
        nonce: &str,
    ) -> Result<GenerateRootStatus, ApiError> {
        let env: Envelope<GenerateRootStatus> = self
            .call(
                "generate-root update",
                Method::POST,
                &format!("{}/update", endpoint.path()),
                Some(&serde_json::json!({ "key": key.expose(), "nonce": nonce })),
            )
            .await?;
        Ok(env.into_inner())
    }
}

/// Which generate-root API to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenerateRootEndpoint {
    /// `sys/generate-root-token/*` (OpenBao ≥ 2.6): needs a token allowed on that path AND
    /// the shares. The only one enabled by default on OpenBao 2.7 (measured: the legacy
    /// endpoints answer 405 "unsupported operation").
    Authenticated,
    /// `sys/generate-root/*` (Vault; OpenBao only with the listener setting
    /// `disable_unauthed_generate_root_endpoints = false`): shares only, no token.
    Unauthenticated,
}

impl GenerateRootEndpoint {
    fn path(self) -> &'static str {
        match self {
            GenerateRootEndpoint::Authenticated => "sys/generate-root-token",
            GenerateRootEndpoint::Unauthenticated => "sys/generate-root",
        }
    }
}

/// The authenticated endpoints answer inside `data`, the legacy ones at the top level.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Envelope<T> {
    Wrapped { data: T },
    Bare(T),
}

impl<T> Envelope<T> {
    pub(crate) fn into_inner(self) -> T {
        match self {
            Envelope::Wrapped { data } | Envelope::Bare(data) => data,
        }
    }
}

/// Decodes an OTP-protected root token: base64(token XOR otp), as `vault operator
/// generate-root -decode` does.
pub fn decode_otp_root_token(encoded: &Token, otp: &Token) -> Result<Token, String> {
    let e = encoded.expose();
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(e.trim_end_matches('='))
        .map_err(|err| format!("encoded token is not base64: {err}"))?;
    let otp = otp.expose().as_bytes();
    if raw.len() != otp.len() {
        return Err(format!(
            "encoded token is {} bytes but the OTP is {}: wrong OTP for this attempt",
            raw.len(),
            otp.len()
        ));
    }
    let plain: Vec<u8> = raw.iter().zip(otp).map(|(a, b)| a ^ b).collect();
    String::from_utf8(plain)
        .map(Token::new)
        .map_err(|_| "decoded token is not text: wrong OTP".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_preconditions() {
        assert!(KeySplit::new(5, 3).is_ok());
        assert!(KeySplit::new(1, 1).is_ok());
        assert_eq!(KeySplit::new(0, 1), Err(KeySplitError::Shares(0)));
        assert_eq!(KeySplit::new(256, 3), Err(KeySplitError::Shares(256)));
        assert_eq!(
            KeySplit::new(3, 5),
            Err(KeySplitError::Threshold {
                shares: 3,
                threshold: 5
            })
        );
        assert_eq!(
            KeySplit::new(5, 1),
            Err(KeySplitError::ThresholdOne { shares: 5 })
        );
    }

    #[test]
    fn init_request_bodies() {
        let r = InitRequest::shamir(KeySplit::new(5, 3).unwrap());
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"secret_shares":5,"secret_threshold":3})
        );
        let r = InitRequest::auto_unseal(KeySplit::new(5, 3).unwrap());
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"recovery_shares":5,"recovery_threshold":3})
        );
    }

    #[test]
    fn otp_decoding_round_trips() {
        let token = "s.AbCdEfGhIjKlMnOpQrStUvWx";
        let otp = "0123456789abcdefghijklmnop";
        let x: Vec<u8> = token.bytes().zip(otp.bytes()).map(|(a, b)| a ^ b).collect();
        let enc = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&x);
        let got = decode_otp_root_token(&Token::new(enc), &Token::new(otp)).unwrap();
        assert_eq!(got.expose(), token);
        assert!(decode_otp_root_token(&Token::new("AAAA"), &Token::new(otp)).is_err());
    }
}
