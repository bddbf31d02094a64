//! The init bundle: a JSON document holding encrypted shares and root token, and the facts
//! needed to use them (split, seal type, cluster id), protected by an integrity digest.
//!
//! The digest (SHA-256 over the canonical JSON of everything else) detects a corrupted or
//! edited bundle. It is not a signature: whoever can rewrite the file can rewrite the digest.
//! The shares' authenticity comes from their encryption (age and PGP are authenticated:
//! a modified ciphertext does not decrypt) and, finally, from the server, which refuses a
//! wrong share at the threshold.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vaultops_types::Cause;

/// The bundle format identifier.
pub const FORMAT: &str = "vaultops-init-bundle/v1";

/// Unseal shares (Shamir seal) or recovery shares (auto-unseal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    Unseal,
    Recovery,
}

/// Who can decrypt a secret in the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum ShareCustody {
    /// age (X25519), encrypted by vaultops before anything touched disk.
    Age { recipient: String },
    /// PGP, encrypted by the server to this public key (`pgp_keys` at init).
    Pgp { key_fingerprint_hint: String },
}

/// One encrypted secret (a share or the root token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedSecret {
    /// 1-based share number (0 for the root token).
    pub index: u32,
    pub custody: ShareCustody,
    /// ASCII-armored age file, or the server's base64 PGP message.
    pub ciphertext: String,
}

/// What `vaultops init` writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitBundle {
    pub format: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// The node init was sent to.
    pub initialized_via: String,
    /// `shamir`, `transit`, `static`, `awskms`, … as the server reports it.
    pub seal_type: String,
    pub key_kind: KeyKind,
    pub shares: u8,
    pub threshold: u8,
    /// The cluster's id once known (read after the first unseal); used to tell a bundle of
    /// another cluster from a wrong share.
    pub cluster_id: Option<String>,
    pub cluster_name: Option<String>,
    pub encrypted_shares: Vec<EncryptedSecret>,
    pub root_token: Option<EncryptedSecret>,
    /// Hex SHA-256 of the canonical JSON of every other field.
    pub integrity_sha256: String,
}

/// A bundle that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle is not valid JSON for {FORMAT}")]
    Parse(#[source] Cause),
    #[error("unsupported bundle format {found:?}; this vaultops reads {FORMAT}")]
    Format { found: String },
    #[error("the bundle's integrity check failed (expected {expected}, computed {computed}): it was corrupted or edited; use an intact copy")]
    Integrity { expected: String, computed: String },
    #[error("the bundle is inconsistent: threshold {threshold} with {shares} shares")]
    Threshold { threshold: u8, shares: u8 },
    #[error("the bundle is inconsistent: {encrypted} encrypted shares for {shares} shares")]
    ShareCount { encrypted: usize, shares: u8 },
}

impl InitBundle {
    /// The digest over every field but the digest itself (serde_json's output of the
    /// struct is canonical here: fixed field order, no maps with unordered keys).
    pub fn compute_integrity(&self) -> String {
        let mut copy = self.clone();
        copy.integrity_sha256 = String::new();
        let bytes = serde_json::to_vec(&copy).expect("bundle serializes");
        hex::encode(Sha256::digest(&bytes))
    }

    /// Sets the digest; call after the last change.
    pub fn seal_integrity(&mut self) {
        self.integrity_sha256 = self.compute_integrity();
    }

    /// Parses and checks a bundle: format, digest, and that the shares fit the split.
    pub fn from_json(text: &str) -> Result<Self, BundleError> {
        let b: InitBundle =
            serde_json::from_str(text).map_err(|e| BundleError::Parse(Cause::new(e)))?;
        if b.format != FORMAT {
            return Err(BundleError::Format { found: b.format });
        }
        let computed = b.compute_integrity();
        if computed != b.integrity_sha256 {
            return Err(BundleError::Integrity {
                expected: b.integrity_sha256,
                computed,
            });
        }
        if b.threshold == 0 || b.threshold > b.shares {
            return Err(BundleError::Threshold {
                threshold: b.threshold,
                shares: b.shares,
            });
        }
        if !b.encrypted_shares.is_empty() && b.encrypted_shares.len() != b.shares as usize {
            return Err(BundleError::ShareCount {
                encrypted: b.encrypted_shares.len(),
                shares: b.shares,
            });
        }
        Ok(b)
    }

    /// The bundle after a seal migration to `seal_type` (`shamir`, `static`, `transit`, …): the
    /// SAME encrypted shares (a migration keeps the shares: Shamir unseal keys become the
    /// recovery keys of an auto-unseal seal, and back), now of [`KeyKind::Recovery`] for an
    /// auto-unseal seal or [`KeyKind::Unseal`] for Shamir, created `now`, the digest reset.
    /// Nothing is decrypted.
    pub fn after_seal_migration(&self, seal_type: &str, now: String) -> InitBundle {
        let mut b = self.clone();
        b.seal_type = seal_type.to_owned();
        b.key_kind = if seal_type == "shamir" {
            KeyKind::Unseal
        } else {
            KeyKind::Recovery
        };
        b.created_at = now;
        b.seal_integrity();
        b
    }

    /// Pretty JSON with the digest set.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("bundle serializes")
    }
}

/// The current time as RFC 3339 (UTC).
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formatting the current time")
}

#[cfg(test)]
pub(crate) fn sample() -> InitBundle {
    let mut b = InitBundle {
        format: FORMAT.into(),
        created_at: "2026-11-29T10:00:00Z".into(),
        initialized_via: "https://n1:8200".into(),
        seal_type: "shamir".into(),
        key_kind: KeyKind::Unseal,
        shares: 1,
        threshold: 1,
        cluster_id: None,
        cluster_name: None,
        encrypted_shares: vec![EncryptedSecret {
            index: 1,
            custody: ShareCustody::Age {
                recipient: "age1xyz".into(),
            },
            ciphertext: "-----BEGIN AGE ENCRYPTED FILE-----".into(),
        }],
        root_token: None,
        integrity_sha256: String::new(),
    };
    b.seal_integrity();
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_migrated_bundle_keeps_the_shares_and_changes_the_kind() {
        let old = sample();
        let new = old.after_seal_migration("static", "2026-12-03T20:00:00Z".into());
        assert_eq!(new.encrypted_shares, old.encrypted_shares);
        assert_eq!(
            (new.seal_type.as_str(), new.key_kind),
            ("static", KeyKind::Recovery)
        );
        assert_eq!(InitBundle::from_json(&new.to_json()).expect("valid"), new);
        let back = new.after_seal_migration("shamir", "2026-12-03T21:00:00Z".into());
        assert_eq!(back.key_kind, KeyKind::Unseal);
    }

    #[test]
    fn round_trip_keeps_integrity() {
        let b = sample();
        let back = InitBundle::from_json(&b.to_json()).unwrap();
        assert_eq!(back, b);
    }

    #[test]
    fn any_edit_is_detected() {
        let b = sample();
        let edited = b.to_json().replace("\"threshold\": 1", "\"threshold\": 2");
        assert!(matches!(
            InitBundle::from_json(&edited),
            Err(BundleError::Integrity { .. })
        ));
        let edited = b.to_json().replace("age1xyz", "age1evil");
        assert!(matches!(
            InitBundle::from_json(&edited),
            Err(BundleError::Integrity { .. })
        ));
    }

    #[test]
    fn unknown_format_and_fields_are_refused() {
        let b = sample();
        let t = b.to_json().replace(FORMAT, "other/v9");
        assert!(matches!(
            InitBundle::from_json(&t),
            Err(BundleError::Format { .. })
        ));
        let t = b.to_json().replacen('{', "{\"extra\": 1,", 1);
        assert!(matches!(
            InitBundle::from_json(&t),
            Err(BundleError::Parse(_))
        ));
    }
}
