//! age encryption of shares and of the root token, and decryption with identity files.

use crate::bundle::{EncryptedSecret, ShareCustody};

/// An age X25519 recipient (`age1…`).
pub use age::x25519::Recipient as AgeRecipient;
use std::io::Read;
use std::str::FromStr;
use vaultops_api::{Token, UnsealKey};

/// An age problem, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum AgeError {
    #[error("{value:?} is not an age recipient (expected age1…): {reason}")]
    Recipient { value: String, reason: String },
    #[error("{count} age recipients for {shares} shares: give one recipient per share, or exactly one for all")]
    RecipientCount { count: usize, shares: usize },
    #[error("encrypting share {index} to {recipient}: {reason}")]
    Encrypt {
        index: u32,
        recipient: String,
        reason: String,
    },
    #[error("the identity file holds no usable age identity: {reason}")]
    Identity { reason: String },
    #[error("the identity file holds no usable age identity: no AGE-SECRET-KEY-1… line found")]
    NoIdentity,
    #[error("share {index} could not be decrypted: {reason}")]
    Decrypt { index: u32, reason: String },
}

/// Parses `age1…` recipients.
pub fn parse_recipients(values: &[String]) -> Result<Vec<age::x25519::Recipient>, AgeError> {
    values
        .iter()
        .map(|v| {
            age::x25519::Recipient::from_str(v.trim()).map_err(|e| AgeError::Recipient {
                value: v.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

fn encrypt_one(
    index: u32,
    r: &age::x25519::Recipient,
    plain: &str,
) -> Result<EncryptedSecret, AgeError> {
    let ciphertext =
        age::encrypt_and_armor(r, plain.as_bytes()).map_err(|e| AgeError::Encrypt {
            index,
            recipient: r.to_string(),
            reason: e.to_string(),
        })?;
    Ok(EncryptedSecret {
        index,
        custody: ShareCustody::Age {
            recipient: r.to_string(),
        },
        ciphertext,
    })
}

/// Encrypts share i to recipient i (or every share to the single recipient).
pub fn encrypt_shares(
    shares: &[UnsealKey],
    recipients: &[age::x25519::Recipient],
) -> Result<Vec<EncryptedSecret>, AgeError> {
    if recipients.len() != 1 && recipients.len() != shares.len() {
        return Err(AgeError::RecipientCount {
            count: recipients.len(),
            shares: shares.len(),
        });
    }
    shares
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let r = &recipients[if recipients.len() == 1 { 0 } else { i }];
            encrypt_one(i as u32 + 1, r, s.expose())
        })
        .collect()
}

/// Encrypts the root token to one recipient.
pub fn encrypt_token(
    token: &Token,
    recipient: &age::x25519::Recipient,
) -> Result<EncryptedSecret, AgeError> {
    encrypt_one(0, recipient, token.expose())
}

/// The identities of an age identity file (`AGE-SECRET-KEY-1…` lines, comments allowed).
pub struct Identities(Vec<Box<dyn age::Identity>>);

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identities({} keys, <redacted>)", self.0.len())
    }
}

impl Identities {
    /// Reads identities from the text of an identity file.
    pub fn from_text(text: &str) -> Result<Self, AgeError> {
        let file =
            age::IdentityFile::from_buffer(text.as_bytes()).map_err(|e| AgeError::Identity {
                reason: e.to_string(),
            })?;
        let ids = file.into_identities().map_err(|e| AgeError::Identity {
            reason: e.to_string(),
        })?;
        if ids.is_empty() {
            return Err(AgeError::NoIdentity);
        }
        Ok(Self(ids))
    }

    /// Decrypts an age-encrypted secret. `Ok(None)` when it was encrypted to someone else.
    pub fn decrypt(&self, secret: &EncryptedSecret) -> Result<Option<String>, AgeError> {
        let fail = |reason: String| AgeError::Decrypt {
            index: secret.index,
            reason,
        };
        let reader = age::armor::ArmoredReader::new(secret.ciphertext.as_bytes());
        let dec = age::Decryptor::new_buffered(reader).map_err(|e| fail(e.to_string()))?;
        match dec.decrypt(self.0.iter().map(|i| i.as_ref() as &dyn age::Identity)) {
            Ok(mut r) => {
                let mut out = String::new();
                r.read_to_string(&mut out)
                    .map_err(|e| fail(e.to_string()))?;
                Ok(Some(out))
            }
            Err(age::DecryptError::NoMatchingKeys) => Ok(None),
            Err(e) => Err(fail(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    #[test]
    fn shares_round_trip_and_other_identities_get_nothing() {
        let a = age::x25519::Identity::generate();
        let b = age::x25519::Identity::generate();
        let shares = vec![UnsealKey::new("share-one"), UnsealKey::new("share-two")];
        let enc = encrypt_shares(&shares, &[a.to_public(), b.to_public()]).unwrap();
        assert!(!enc[0].ciphertext.contains("share-one"));
        let ida = Identities::from_text(a.to_string().expose_secret()).unwrap();
        assert_eq!(ida.decrypt(&enc[0]).unwrap().as_deref(), Some("share-one"));
        assert_eq!(ida.decrypt(&enc[1]).unwrap(), None);
    }

    #[test]
    fn recipient_count_must_fit() {
        let a = age::x25519::Identity::generate().to_public();
        let shares = vec![
            UnsealKey::new("1"),
            UnsealKey::new("2"),
            UnsealKey::new("3"),
        ];
        assert!(matches!(
            encrypt_shares(&shares, &[a.clone(), a]),
            Err(AgeError::RecipientCount {
                count: 2,
                shares: 3
            })
        ));
        assert!(parse_recipients(&["not-a-key".into()]).is_err());
    }

    #[test]
    fn tampered_ciphertext_fails_loudly() {
        let a = age::x25519::Identity::generate();
        let mut enc = encrypt_shares(&[UnsealKey::new("s")], &[a.to_public()]).unwrap();
        let body = &mut enc[0].ciphertext;
        let mid = body.len() / 2;
        let c = if body.as_bytes()[mid] == b'A' {
            "B"
        } else {
            "A"
        };
        body.replace_range(mid..mid + 1, c);
        let ids = Identities::from_text(a.to_string().expose_secret()).unwrap();
        assert!(ids.decrypt(&enc[0]).is_err());
    }
}
