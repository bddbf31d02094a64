//! [`parse_share_text`]: the parser of an unseal (or recovery) share typed at the
//! `vaultops unseal --prompt` prompt. It checks the text before it is sent, so that a typo is
//! named (not base64, wrong length) instead of reaching the server as a wrong share.

use base64::Engine as _;
use vaultops_api::UnsealKey;
use zeroize::Zeroizing;

/// Fewest bytes a share decodes to: the server's shortest barrier key (AES-128).
pub const MIN_SHARE_BYTES: usize = 16;
/// Most bytes a share decodes to: a 32-byte key plus the Shamir share's one-byte tag.
pub const MAX_SHARE_BYTES: usize = 33;

/// Why a typed share was refused. The message names the share by its position and says what
/// a share looks like; the share's text is never part of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareTextError {
    #[error("share {position} is neither base64 nor hex ({reason}); type the share as init printed or the bundle holds it: 44 base64 characters (or 66 hex digits)")]
    NotBase64 { position: usize, reason: String },
    #[error("share {position} has the wrong length: it decodes to {bytes} bytes, a share is {MIN_SHARE_BYTES} to {MAX_SHARE_BYTES} (33 for a 32-byte key: 44 base64 characters); check for a missing or extra character")]
    WrongLength { position: usize, bytes: usize },
}

/// Checks one typed share (`position` counts from 1, for the message) and returns it as an
/// [`UnsealKey`], trimmed. Accepted: standard base64 (as `keys_base64`) or hex (as `keys`),
/// decoding to [`MIN_SHARE_BYTES`]..=[`MAX_SHARE_BYTES`] bytes, as the server requires.
pub fn parse_share_text(text: &str, position: usize) -> Result<UnsealKey, ShareTextError> {
    let t = text.trim();
    let is_hex =
        !t.is_empty() && t.len().is_multiple_of(2) && t.bytes().all(|b| b.is_ascii_hexdigit());
    let decoded: Zeroizing<Vec<u8>> = if is_hex {
        Zeroizing::new(hex::decode(t).map_err(|e| ShareTextError::NotBase64 {
            position,
            reason: e.to_string(),
        })?)
    } else {
        Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(|e| ShareTextError::NotBase64 {
                    position,
                    reason: describe(&e),
                })?,
        )
    };
    if !(MIN_SHARE_BYTES..=MAX_SHARE_BYTES).contains(&decoded.len()) {
        return Err(ShareTextError::WrongLength {
            position,
            bytes: decoded.len(),
        });
    }
    Ok(UnsealKey::new(t))
}

/// The decoder's complaint without the offending byte's value (it is part of a secret).
fn describe(e: &base64::DecodeError) -> String {
    match e {
        base64::DecodeError::InvalidByte(offset, _) => {
            format!("character {} is not a base64 character", offset + 1)
        }
        base64::DecodeError::InvalidLength(n) => {
            format!("{n} significant characters is not a base64 length")
        }
        base64::DecodeError::InvalidLastSymbol(offset, _) => {
            format!("character {} ends the text wrongly", offset + 1)
        }
        base64::DecodeError::InvalidPadding => "bad '=' padding".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD_B64: &str = "q0VIOjZ0eR1yVqwfu8j0Jm4cb5hOj4ujPTqi1k3Vm7zb";

    #[test]
    fn a_real_share_shape_is_accepted_in_base64_and_hex() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(GOOD_B64)
            .unwrap();
        assert_eq!(bytes.len(), 33);
        assert_eq!(parse_share_text(GOOD_B64, 1).unwrap().expose(), GOOD_B64);
        let hexed = hex::encode(&bytes);
        assert!(parse_share_text(&format!(" {hexed}\n"), 1).is_ok());
    }

    #[test]
    fn not_base64_is_named_without_the_secret() {
        let e = parse_share_text("q0VIOjZ0eR1yVqwf!8j0Jm4cb5hOj4ujPTqi1k3Vm7zb", 2).unwrap_err();
        assert!(
            matches!(e, ShareTextError::NotBase64 { position: 2, .. }),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains("share 2") && msg.contains("base64"), "{msg}");
        assert!(!msg.contains("q0VIO"), "the message leaks the share: {msg}");
    }

    #[test]
    fn wrong_length_is_named() {
        // A character missing: 43 characters is not a base64 length.
        let e = parse_share_text(&GOOD_B64[..43], 1).unwrap_err();
        assert!(matches!(e, ShareTextError::NotBase64 { .. }), "{e:?}");
        // Valid base64, too short (12 bytes) and too long (36 bytes).
        let e = parse_share_text("ZZZZZZZZZZZZZZZZ", 1).unwrap_err();
        assert_eq!(
            e,
            ShareTextError::WrongLength {
                position: 1,
                bytes: 12
            }
        );
        let long = base64::engine::general_purpose::STANDARD.encode([7u8; 36]);
        let e = parse_share_text(&long, 3).unwrap_err();
        assert!(e.to_string().contains("wrong length"), "{e}");
    }
}
