//! The seal a testbed's nodes run with ([`SealKind`]): the `seal` stanza they get (pure), and
//! the static seal key ([`StaticKey`], 32 random bytes that never appear in Debug output and
//! are zeroized on drop). The transit unsealer's key and policy are
//! `vaultops_bootstrap::transit`'s (what an operator runs).
//!
//! Shamir needs an operator (the testbed plays one, with the keys in `init.json`) after every
//! restart; `transit` and `static` let a restarted node unseal itself. See `docs/auto-unseal.md`
//! for the measured behaviour and `docs/testbed.md` for how the testbed sets them up.

use std::fmt;
use std::io::Read;
use std::str::FromStr;

use vaultops_bootstrap::TRANSIT_KEY;
use vaultops_config::{Seal, StaticSeal, TransitSeal};
use vaultops_types::Engine;
use zeroize::Zeroizing;

use crate::plan::API_PORT;

/// Hostname (and DNS alias) of the transit unsealer on the testbed network.
pub const UNSEALER_HOST: &str = "unsealer";
/// Directory of the static key inside a node container.
pub const STATIC_KEY_DIR: &str = "/vault/seal";
/// The static key inside a node container.
pub const STATIC_KEY_FILE: &str = "/vault/seal/static.key";
/// `current_key_id` of the static seal. A new id would mark a key rotation.
pub const STATIC_KEY_ID: &str = "testbed-1";
/// Length of a static seal key (AES-256).
pub const STATIC_KEY_LEN: usize = 32;

/// How the testbed's nodes are sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SealKind {
    /// Unseal keys split 5/3 with Shamir's scheme; the testbed enters them (from `init.json`).
    #[default]
    Shamir,
    /// Auto-unseal through the transit engine of a separate one-node unsealer container.
    Transit,
    /// Auto-unseal with a 32-byte key file on every node (OpenBao only).
    Static,
}

/// A seal name that is not one of `shamir`, `transit`, `static`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown seal {0:?}: use shamir, transit or static (e.g. --seal transit)")]
pub struct InvalidSeal(pub String);

impl SealKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SealKind::Shamir => "shamir",
            SealKind::Transit => "transit",
            SealKind::Static => "static",
        }
    }

    /// Whether nodes unseal themselves (init then asks for recovery shares, not unseal keys).
    pub fn is_auto(self) -> bool {
        self != SealKind::Shamir
    }

    /// Whether `engine` can run this seal: Vault has no `static` seal.
    pub fn supported_by(self, engine: Engine) -> bool {
        !(self == SealKind::Static && engine == Engine::Vault)
    }
}

impl fmt::Display for SealKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SealKind {
    type Err = InvalidSeal;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "shamir" => Ok(SealKind::Shamir),
            "transit" => Ok(SealKind::Transit),
            "static" => Ok(SealKind::Static),
            _ => Err(InvalidSeal(s.to_owned())),
        }
    }
}

/// `https://unsealer:8200`: how the nodes reach the unsealer.
pub fn unsealer_addr() -> String {
    format!("https://{UNSEALER_HOST}:{API_PORT}")
}

/// The `seal` stanza of every node for `kind`, with paths inside the container. `ca_file` is
/// the testbed CA, which also signed the unsealer's certificate. The transit token is NOT in
/// it: the node container gets it in its environment ([`TransitSeal::token_env`]).
pub fn node_seal(kind: SealKind, ca_file: &str) -> Seal {
    match kind {
        SealKind::Shamir => Seal::Shamir,
        SealKind::Transit => Seal::Transit(TransitSeal::new(
            unsealer_addr(),
            TRANSIT_KEY,
            Some(ca_file.to_owned()),
        )),
        SealKind::Static => Seal::Static(StaticSeal {
            current_key_id: STATIC_KEY_ID.to_owned(),
            current_key: format!("file://{STATIC_KEY_FILE}"),
        }),
    }
}

/// A static seal key: 32 bytes, zeroized on drop, redacted in Debug.
#[derive(Clone)]
pub struct StaticKey(Zeroizing<[u8; STATIC_KEY_LEN]>);

/// Bytes that are not a static seal key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a static seal key is {STATIC_KEY_LEN} bytes, this one has {0}")]
pub struct InvalidStaticKey(pub usize);

impl StaticKey {
    /// 32 bytes from the kernel's CSPRNG (`/dev/urandom`).
    pub fn generate() -> std::io::Result<Self> {
        let mut key = Zeroizing::new([0u8; STATIC_KEY_LEN]);
        std::fs::File::open("/dev/urandom")?.read_exact(key.as_mut())?;
        Ok(Self(key))
    }

    /// The key in `bytes` (e.g. read back from the state directory).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvalidStaticKey> {
        let arr: [u8; STATIC_KEY_LEN] = bytes
            .try_into()
            .map_err(|_| InvalidStaticKey(bytes.len()))?;
        Ok(Self(Zeroizing::new(arr)))
    }

    /// The raw key, to write into the key file.
    pub fn expose(&self) -> &[u8] {
        self.0.as_ref()
    }
}

impl fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_kinds_parse_and_print() {
        for k in [SealKind::Shamir, SealKind::Transit, SealKind::Static] {
            assert_eq!(k.as_str().parse::<SealKind>().unwrap(), k);
            assert_eq!(k.to_string(), k.as_str());
        }
        assert_eq!(" Transit ".parse::<SealKind>().unwrap(), SealKind::Transit);
        let e = "awskms".parse::<SealKind>().unwrap_err();
        assert!(e.to_string().contains("shamir, transit or static"), "{e}");
        assert_eq!(SealKind::default(), SealKind::Shamir);
        assert!(!SealKind::Shamir.is_auto());
        assert!(SealKind::Transit.is_auto() && SealKind::Static.is_auto());
        assert!(!SealKind::Static.supported_by(Engine::Vault));
        assert!(SealKind::Transit.supported_by(Engine::Vault));
        assert!(SealKind::Static.supported_by(Engine::OpenBao));
    }

    #[test]
    fn node_seal_stanzas_point_inside_the_container_and_hold_no_secret() {
        assert!(matches!(
            node_seal(SealKind::Shamir, "/ca.pem"),
            Seal::Shamir
        ));
        match node_seal(SealKind::Transit, "/vault/tls/ca.pem") {
            Seal::Transit(t) => {
                assert_eq!(t.address, "https://unsealer:8200");
                assert_eq!(t.key_name, "autounseal");
                assert_eq!(t.mount_path, "transit/");
                assert_eq!(t.tls_ca_cert.as_deref(), Some("/vault/tls/ca.pem"));
                assert!(t.token.is_none());
            }
            other => panic!("{other:?}"),
        }
        match node_seal(SealKind::Static, "/ca.pem") {
            Seal::Static(s) => {
                assert_eq!(s.current_key, "file:///vault/seal/static.key");
                assert_eq!(s.current_key_id, "testbed-1");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn static_keys_are_random_32_bytes_and_redacted() {
        let a = StaticKey::generate().unwrap();
        let b = StaticKey::generate().unwrap();
        assert_eq!(a.expose().len(), 32);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(format!("{a:?}"), "StaticKey(<redacted>)");
        let back = StaticKey::from_bytes(a.expose()).unwrap();
        assert_eq!(back.expose(), a.expose());
        assert_eq!(
            StaticKey::from_bytes(&[0; 31]).unwrap_err(),
            InvalidStaticKey(31)
        );
    }
}
