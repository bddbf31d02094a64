//! Redacting newtypes for the secrets the API hands out or takes: tokens, unseal and recovery
//! key shares, AppRole secret-ids, and response-wrapping tokens.
//!
//! Each type wraps a [`secrecy::SecretString`], so its memory is zeroized on drop and neither
//! `Debug` nor `Display` ever shows the value. Reading the value is explicit
//! ([`ExposeSecret::expose_secret`]), which makes every place that does it easy to audit.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! secret_newtype {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(SecretString);

        impl $name {
            /// Wraps a value; the caller gives up its plain copy.
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretString::from(value.into()))
            }

            /// The secret value. Call only where the value must leave the process
            /// (an HTTP body or header, an encrypted file, a file the user asked for).
            pub fn expose(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!($label, "(<redacted>)"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("<redacted>")
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                // Not constant-time: secrets are compared only in tests and bookkeeping,
                // never to authenticate anyone.
                self.expose() == other.expose()
            }
        }

        impl Eq for $name {}

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map(Self::new)
            }
        }

        /// Serializes the plain value: only for request bodies and for files the user
        /// asked for (written 0600). Never serialize these into logs or reports.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.expose())
            }
        }
    };
}

secret_newtype!(
    /// A Vault/OpenBao token (root, service or batch).
    Token,
    "Token"
);
secret_newtype!(
    /// One unseal or recovery key share (hex or base64, as the server returned it).
    UnsealKey,
    "UnsealKey"
);
secret_newtype!(
    /// An AppRole secret-id.
    SecretId,
    "SecretId"
);
secret_newtype!(
    /// A response-wrapping token: whoever unwraps it first gets the wrapped secret.
    WrappingToken,
    "WrappingToken"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let t = Token::new("s.supersecretvalue");
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert_eq!(format!("{t}"), "<redacted>");
        let k = UnsealKey::new("abcdef0123");
        assert!(!format!("{k:?} {k}").contains("abcdef"));
        let s = SecretId::new("1234-5678");
        assert!(!format!("{s:?} {s}").contains("1234"));
    }

    #[test]
    fn serde_round_trip_keeps_value() {
        let t: Token = serde_json::from_str("\"s.abc\"").unwrap();
        assert_eq!(t.expose(), "s.abc");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"s.abc\"");
    }

    #[test]
    fn debug_of_containing_struct_redacts() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Init {
            keys: Vec<UnsealKey>,
            root: Token,
        }
        let i = Init {
            keys: vec![UnsealKey::new("k1-plain"), UnsealKey::new("k2-plain")],
            root: Token::new("root-plain"),
        };
        let s = format!("{i:?}");
        assert!(!s.contains("plain"), "{s}");
    }
}
