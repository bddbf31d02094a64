//! age keys and encryption, for the whole workspace: recipients (`age1…`) and identity files
//! (`AGE-SECRET-KEY-1…`) are parsed here and only here; shares and the root token are
//! encrypted and decrypted here, and so are streams (backups). The `age` crate's types stay
//! inside this module.

use crate::bundle::{EncryptedSecret, ShareCustody};
use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;
use vaultops_api::{Token, UnsealKey};

/// An age X25519 recipient (`age1…`): whom a secret is encrypted to.
#[derive(Clone)]
pub struct AgeRecipient(age::x25519::Recipient);

impl FromStr for AgeRecipient {
    type Err = AgeError;

    fn from_str(value: &str) -> Result<Self, AgeError> {
        age::x25519::Recipient::from_str(value.trim())
            .map(Self)
            .map_err(|e| AgeError::Recipient {
                value: value.to_owned(),
                reason: e.to_string(),
            })
    }
}

impl fmt::Display for AgeRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for AgeRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgeRecipient({})", self.0)
    }
}

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
    #[error("the identity file holds no usable age identity: {reason}; pass the holder's age identity file (AGE-SECRET-KEY-1… lines, as age-keygen writes)")]
    Identity { reason: String },
    #[error("the identity file holds no usable age identity: no AGE-SECRET-KEY-1… line found")]
    NoIdentity,
    #[error("share {index} could not be decrypted: {reason}")]
    Decrypt { index: u32, reason: String },
    /// Encrypting or decrypting a stream (a backup file) failed: no identity matches, the
    /// file is damaged, or a recipient is unusable.
    #[error("{reason}")]
    Stream { reason: String },
}

/// Parses `age1…` recipients.
pub fn parse_recipients(values: &[String]) -> Result<Vec<AgeRecipient>, AgeError> {
    values.iter().map(|v| v.parse()).collect()
}

fn encrypt_one(index: u32, r: &AgeRecipient, plain: &str) -> Result<EncryptedSecret, AgeError> {
    let ciphertext =
        age::encrypt_and_armor(&r.0, plain.as_bytes()).map_err(|e| AgeError::Encrypt {
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
    recipients: &[AgeRecipient],
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
pub fn encrypt_token(token: &Token, recipient: &AgeRecipient) -> Result<EncryptedSecret, AgeError> {
    encrypt_one(0, recipient, token.expose())
}

/// A stream being encrypted to age recipients (binary age format). Call
/// [`AgeWriter::finish`] after the last write: without it the output is truncated.
pub struct AgeWriter<W: Write>(age::stream::StreamWriter<W>);

impl<W: Write> fmt::Debug for AgeWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgeWriter")
    }
}

impl<W: Write> AgeWriter<W> {
    /// Encrypts what is written to `out` for `recipients` (at least one).
    pub fn new(recipients: &[AgeRecipient], out: W) -> Result<Self, AgeError> {
        let encryptor =
            age::Encryptor::with_recipients(recipients.iter().map(|r| &r.0 as &dyn age::Recipient))
                .map_err(|e| AgeError::Stream {
                    reason: e.to_string(),
                })?;
        encryptor
            .wrap_output(out)
            .map(Self)
            .map_err(|e| AgeError::Stream {
                reason: e.to_string(),
            })
    }

    /// Writes the last chunk and returns the underlying writer.
    pub fn finish(self) -> std::io::Result<W> {
        self.0.finish()
    }
}

impl<W: Write> Write for AgeWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The identities of age identity files (`AGE-SECRET-KEY-1…` lines, comments allowed): who
/// can decrypt. May be empty (no identity given). Holds each file's text in a redacting,
/// zeroized string (checked when read, parsed again for each decryption: the parsed keys of
/// the `age` crate cannot cross threads), so it can be cloned into a blocking task.
#[derive(Default, Clone)]
pub struct Identities(Vec<secrecy::SecretString>);

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identities({} files, <redacted>)", self.0.len())
    }
}

/// A new X25519 key pair: the identity (to decrypt) and its recipient (to encrypt to). For a
/// throwaway key (drills, tests); an operator's key is made with `age-keygen` and kept offline.
pub fn generate_identity() -> (Identities, AgeRecipient) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let text = id.to_string();
    (
        Identities(vec![secrecy::SecretString::from(
            text.expose_secret().to_owned(),
        )]),
        AgeRecipient(id.to_public()),
    )
}

fn parse_identity_file(text: &str) -> Result<Vec<Box<dyn age::Identity>>, AgeError> {
    let file = age::IdentityFile::from_buffer(text.as_bytes()).map_err(|e| AgeError::Identity {
        reason: e.to_string(),
    })?;
    let ids = file.into_identities().map_err(|e| AgeError::Identity {
        reason: e.to_string(),
    })?;
    if ids.is_empty() {
        return Err(AgeError::NoIdentity);
    }
    Ok(ids)
}

impl Identities {
    /// Reads identities from the text of an identity file.
    pub fn from_text(text: &str) -> Result<Self, AgeError> {
        parse_identity_file(text)?;
        Ok(Self(vec![secrecy::SecretString::from(text.to_owned())]))
    }

    fn parsed(&self) -> Result<Vec<Box<dyn age::Identity>>, AgeError> {
        use secrecy::ExposeSecret;
        let mut out = Vec::new();
        for text in &self.0 {
            out.extend(parse_identity_file(text.expose_secret())?);
        }
        Ok(out)
    }

    /// Adds the identities of another file.
    pub fn extend(&mut self, other: Identities) {
        self.0.extend(other.0);
    }

    /// Whether no identity was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recipients these identities decrypt for (what encrypts to them): one per X25519
    /// key (`AGE-SECRET-KEY-1…` line). Identities of other kinds (plugins) are skipped: no
    /// recipient can be derived from them here.
    pub fn x25519_recipients(&self) -> Vec<AgeRecipient> {
        use secrecy::ExposeSecret;
        self.0
            .iter()
            .flat_map(|text| {
                text.expose_secret()
                    .lines()
                    .filter_map(|l| l.trim().parse::<age::x25519::Identity>().ok())
                    .map(|id| AgeRecipient(id.to_public()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Decrypts a binary age stream. Fails when none of the identities can.
    pub fn decrypt_stream<R: Read>(&self, input: R) -> Result<impl Read, AgeError> {
        let fail = |e: &dyn fmt::Display| AgeError::Stream {
            reason: e.to_string(),
        };
        let ids = self.parsed()?;
        let dec = age::Decryptor::new(std::io::BufReader::new(input)).map_err(|e| fail(&e))?;
        dec.decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|e| fail(&e))
    }

    /// Decrypts an age-encrypted secret. `Ok(None)` when it was encrypted to someone else.
    pub fn decrypt(&self, secret: &EncryptedSecret) -> Result<Option<String>, AgeError> {
        let fail = |reason: String| AgeError::Decrypt {
            index: secret.index,
            reason,
        };
        let reader = age::armor::ArmoredReader::new(secret.ciphertext.as_bytes());
        let ids = self.parsed()?;
        let dec = age::Decryptor::new_buffered(reader).map_err(|e| fail(e.to_string()))?;
        match dec.decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity)) {
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

    fn recipient(id: &age::x25519::Identity) -> AgeRecipient {
        id.to_public().to_string().parse().unwrap()
    }

    #[test]
    fn the_recipients_of_identity_files_are_their_public_keys() {
        let (a, b) = (
            age::x25519::Identity::generate(),
            age::x25519::Identity::generate(),
        );
        let text = format!("# created: now\n{}\n", a.to_string().expose_secret());
        let mut ids = Identities::from_text(&text).unwrap();
        ids.extend(Identities::from_text(b.to_string().expose_secret()).unwrap());
        let got: Vec<String> = ids
            .x25519_recipients()
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(got, [a.to_public().to_string(), b.to_public().to_string()]);
        assert!(Identities::default().x25519_recipients().is_empty());
    }

    #[test]
    fn streams_round_trip_and_a_stranger_cannot_read_them() {
        let a = age::x25519::Identity::generate();
        let mut w = AgeWriter::new(&[recipient(&a)], Vec::new()).unwrap();
        w.write_all(b"raft snapshot bytes").unwrap();
        let sealed = w.finish().unwrap();
        assert!(!sealed.windows(4).any(|x| x == b"raft"));
        let ids = Identities::from_text(a.to_string().expose_secret()).unwrap();
        let mut plain = String::new();
        ids.decrypt_stream(sealed.as_slice())
            .unwrap()
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, "raft snapshot bytes");
        let other = age::x25519::Identity::generate();
        let stranger = Identities::from_text(other.to_string().expose_secret()).unwrap();
        assert!(stranger.decrypt_stream(sealed.as_slice()).is_err());
        assert!(Identities::default()
            .decrypt_stream(sealed.as_slice())
            .is_err());
    }

    #[test]
    fn shares_round_trip_and_other_identities_get_nothing() {
        let a = age::x25519::Identity::generate();
        let b = age::x25519::Identity::generate();
        let shares = vec![UnsealKey::new("share-one"), UnsealKey::new("share-two")];
        let enc = encrypt_shares(&shares, &[recipient(&a), recipient(&b)]).unwrap();
        assert!(!enc[0].ciphertext.contains("share-one"));
        let ida = Identities::from_text(a.to_string().expose_secret()).unwrap();
        assert_eq!(ida.decrypt(&enc[0]).unwrap().as_deref(), Some("share-one"));
        assert_eq!(ida.decrypt(&enc[1]).unwrap(), None);
    }

    #[test]
    fn recipient_count_must_fit() {
        let a = recipient(&age::x25519::Identity::generate());
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
    fn identities_and_recipients_are_checked() {
        let id = age::x25519::Identity::generate();
        let text = format!("# created: now\n{}\n", id.to_string().expose_secret());
        assert!(!Identities::from_text(&text).unwrap().is_empty());
        assert!(matches!(
            Identities::from_text("# nothing\n"),
            Err(AgeError::NoIdentity)
        ));
        assert!(Identities::from_text("AGE-SECRET-KEY-1NOPE").is_err());
        assert_eq!(
            parse_recipients(&[id.to_public().to_string()])
                .unwrap()
                .len(),
            1
        );
        let e = parse_recipients(&["age1nope".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not an age recipient"), "{e}");
    }

    #[test]
    fn tampered_ciphertext_fails_loudly() {
        let a = age::x25519::Identity::generate();
        let mut enc = encrypt_shares(&[UnsealKey::new("s")], &[recipient(&a)]).unwrap();
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
