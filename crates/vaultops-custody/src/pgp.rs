//! PGP public keys for the server's `pgp_keys` / `root_token_pgp_key`: the server wants each
//! key as base64 of the binary (unarmored) key. Files may hold that base64 text, an
//! ASCII-armored key (`gpg --export --armor`), or the binary key (`gpg --export`).

use base64::Engine as _;

/// A PGP key file that cannot be used, or a PGP share that `gpg` could not decrypt.
#[derive(Debug, thiserror::Error)]
pub enum PgpKeyError {
    #[error("this is a PRIVATE key: give the public key (gpg --export KEYID)")]
    PrivateKey,
    #[error(
        "not a PGP public key (expected `gpg --export KEYID`, armored or binary, or its base64)"
    )]
    NotAPublicKey,
    #[error("armored key body is not base64: {reason}")]
    ArmorBody { reason: String },
    #[error("the PGP share is not base64: {reason}")]
    ShareEncoding { reason: String },
    #[error("cannot run gpg; install GnuPG (Debian package gnupg) to decrypt PGP shares")]
    GpgStart {
        #[source]
        source: std::io::Error,
    },
    #[error("{step} gpg")]
    GpgIo {
        step: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "gpg could not decrypt the share (is the holder's secret key in this keyring?): {stderr}"
    )]
    GpgDecrypt { stderr: String },
    #[error("gpg returned a share that is not text")]
    GpgOutput,
}

/// Converts a key file's bytes to the base64 the server expects.
pub fn public_key_base64(bytes: &[u8]) -> Result<String, PgpKeyError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let text = std::str::from_utf8(bytes).ok();
    if let Some(t) = text {
        let t = t.trim();
        if t.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
            return dearmor(t).map(|bin| b64.encode(bin));
        }
        if t.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----") {
            return Err(PgpKeyError::PrivateKey);
        }
        let compact: String = t.split_whitespace().collect();
        if let Ok(bin) = b64.decode(&compact) {
            if is_public_key_packet(&bin) {
                return Ok(compact);
            }
        }
    }
    if is_public_key_packet(bytes) {
        return Ok(b64.encode(bytes));
    }
    Err(PgpKeyError::NotAPublicKey)
}

/// An OpenPGP public-key packet: tag 6, old or new packet format.
fn is_public_key_packet(b: &[u8]) -> bool {
    match b.first() {
        Some(&t) if t & 0x80 != 0 => {
            let tag = if t & 0x40 != 0 {
                t & 0x3f
            } else {
                (t >> 2) & 0x0f
            };
            tag == 6
        }
        _ => false,
    }
}

fn dearmor(text: &str) -> Result<Vec<u8>, PgpKeyError> {
    let mut body = String::new();
    let mut in_body = false;
    let mut past_headers = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("-----BEGIN") {
            in_body = true;
            continue;
        }
        if line.starts_with("-----END") {
            break;
        }
        if !in_body {
            continue;
        }
        if !past_headers {
            // Armor headers ("Comment: …") end at the first empty line; a body may also
            // start right away.
            if line.is_empty() {
                past_headers = true;
                continue;
            }
            if line.contains(": ") {
                continue;
            }
            past_headers = true;
        }
        if line.starts_with('=') {
            break; // CRC24 checksum line
        }
        body.push_str(line);
    }
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| PgpKeyError::ArmorBody {
            reason: e.to_string(),
        })
}

/// Decrypts a PGP-encrypted share or token (the server's base64 message) with the local
/// `gpg` and the holder's secret key in their keyring (`GNUPGHOME` honoured).
pub fn decrypt_with_gpg(ciphertext_b64: &str) -> Result<String, PgpKeyError> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let bin = base64::engine::general_purpose::STANDARD
        .decode(ciphertext_b64.trim())
        .map_err(|e| PgpKeyError::ShareEncoding {
            reason: e.to_string(),
        })?;
    let mut child = Command::new("gpg")
        .args(["--batch", "--quiet", "--decrypt"])
        .env_clear()
        .envs(vaultops_types::without_tokens(std::env::vars_os()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| PgpKeyError::GpgStart { source })?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(&bin)
        .map_err(|source| PgpKeyError::GpgIo {
            step: "writing to",
            source,
        })?;
    let out = child
        .wait_with_output()
        .map_err(|source| PgpKeyError::GpgIo {
            step: "waiting for",
            source,
        })?;
    if !out.status.success() {
        return Err(PgpKeyError::GpgDecrypt {
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    String::from_utf8(out.stdout)
        .map(|s| s.trim().to_owned())
        .map_err(|_| PgpKeyError::GpgOutput)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKET: &[u8] = &[0x99, 0x00, 0x0d, 0x04, 1, 2, 3];

    #[test]
    fn accepts_binary_base64_and_armor() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(PACKET);
        assert_eq!(public_key_base64(PACKET).unwrap(), b64);
        assert_eq!(public_key_base64(b64.as_bytes()).unwrap(), b64);
        let armored = format!(
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: test\n\n{b64}\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n"
        );
        assert_eq!(public_key_base64(armored.as_bytes()).unwrap(), b64);
    }

    #[test]
    fn refuses_private_keys_and_junk() {
        let e = public_key_base64(b"-----BEGIN PGP PRIVATE KEY BLOCK-----\nx\n").unwrap_err();
        assert!(e.to_string().contains("PRIVATE"));
        assert!(public_key_base64(b"hello").is_err());
    }
}
