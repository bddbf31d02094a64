//! Pure building of TLS material: a self-signed CA, node certificates signed by it, and renewal
//! of a node certificate with a fresh key. Nothing here touches the file system; see
//! the `store` module (which depends on this one) for writing the results.
//!
//! This module holds the parameters and results; [`issue`](self) functions live in the `issue`
//! child module, the error types in `error`.
//!
//! Node certificates carry serverAuth and clientAuth, because raft nodes are both TLS servers
//! (API and cluster port) and TLS clients of each other (`retry_join`, request forwarding).

use std::fmt;
use std::net::IpAddr;
use vaultops_types::Cause;

use rcgen::{Issuer, KeyPair, SignatureAlgorithm};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};
use x509_parser::oid_registry::{OID_EC_P256, OID_NIST_EC_P384};

use crate::parse;

mod error;
mod issue;

pub use error::{CreateCaError, CreateNodeCertError, ParseCaError, RenewError, ValidityError};
pub use issue::{create_ca, create_node_cert, reissue_node_cert, renew_node_cert};

/// Common name of a CA when none is given.
pub const DEFAULT_CA_COMMON_NAME: &str = "vaultops CA";
/// Validity of a CA when none is given (10 years).
pub const DEFAULT_CA_DAYS: u32 = 3650;
/// Validity of a node certificate when none is given (1 year).
pub const DEFAULT_NODE_DAYS: u32 = 365;
/// Longest validity accepted, in days (100 years); guards the date arithmetic against overflow.
pub const MAX_DAYS: u32 = 36_500;

/// How far `not_before` is moved into the past, so that a peer whose clock is slightly behind
/// does not reject a certificate that was just issued.
const CLOCK_SKEW: Duration = Duration::minutes(1);

/// The key type of a generated certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256 with SHA-256 (the default: small, fast, accepted everywhere).
    #[default]
    EcdsaP256,
    /// ECDSA on NIST P-384 with SHA-384.
    EcdsaP384,
}

impl KeyAlgorithm {
    fn rcgen(self) -> &'static SignatureAlgorithm {
        match self {
            KeyAlgorithm::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlgorithm::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        }
    }
}

/// An explicit validity window; overrides `days` in [`CaParams`] and [`NodeParams`].
///
/// Meant for tests (an already expired or not yet valid certificate) and for callers that need
/// exact dates. The constructor guarantees `not_before < not_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

impl Validity {
    /// A window from one minute ago (clock skew) to `days` days from now.
    pub fn days_from_now(days: u32) -> Result<Self, ValidityError> {
        if days == 0 {
            return Err(ValidityError::ZeroDays);
        }
        if days > MAX_DAYS {
            return Err(ValidityError::TooManyDays { days });
        }
        let now = now();
        Ok(Validity {
            not_before: now - CLOCK_SKEW,
            not_after: now + Duration::days(i64::from(days)),
        })
    }

    /// An explicit window; both ends are truncated to whole seconds, as X.509 stores them.
    pub fn between(
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<Self, ValidityError> {
        let not_before = truncate(not_before);
        let not_after = truncate(not_after);
        if not_after <= not_before {
            return Err(ValidityError::Empty {
                not_before,
                not_after,
            });
        }
        Ok(Validity {
            not_before,
            not_after,
        })
    }

    /// Start of the window.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// End of the window.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    fn resolve(days: u32, explicit: Option<Validity>) -> Result<Self, ValidityError> {
        match explicit {
            Some(v) => Ok(v),
            None => Validity::days_from_now(days),
        }
    }
}

/// What to put in a new CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaParams {
    /// Subject common name (default [`DEFAULT_CA_COMMON_NAME`]).
    pub common_name: String,
    /// Validity in days from now (default [`DEFAULT_CA_DAYS`]); must be in `1..=MAX_DAYS`.
    pub days: u32,
    /// Explicit window; when set, `days` is ignored.
    pub validity: Option<Validity>,
    /// Key type (default ECDSA P-256).
    pub key_algorithm: KeyAlgorithm,
}

impl Default for CaParams {
    fn default() -> Self {
        CaParams {
            common_name: DEFAULT_CA_COMMON_NAME.to_owned(),
            days: DEFAULT_CA_DAYS,
            validity: None,
            key_algorithm: KeyAlgorithm::default(),
        }
    }
}

/// What to put in a new node certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeParams {
    /// Subject common name, usually the node name (e.g. `node1`). Must not be empty.
    pub name: String,
    /// DNS subject alternative names. Duplicates (ignoring case) are dropped.
    pub dns: Vec<String>,
    /// IP subject alternative names. Duplicates are dropped.
    pub ips: Vec<IpAddr>,
    /// Validity in days from now (default [`DEFAULT_NODE_DAYS`]); must be in `1..=MAX_DAYS`.
    pub days: u32,
    /// Explicit window; when set, `days` is ignored.
    pub validity: Option<Validity>,
    /// Key type (default ECDSA P-256).
    pub key_algorithm: KeyAlgorithm,
}

impl Default for NodeParams {
    fn default() -> Self {
        NodeParams {
            name: String::new(),
            dns: Vec::new(),
            ips: Vec::new(),
            days: DEFAULT_NODE_DAYS,
            validity: None,
            key_algorithm: KeyAlgorithm::default(),
        }
    }
}

/// A newly created CA: certificate and private key as PEM.
#[derive(Debug, Clone)]
pub struct CaBundle {
    /// The CA certificate (`ca.pem`), safe to distribute.
    pub cert_pem: String,
    /// The CA private key (`ca-key.pem`), PKCS#8 PEM. Debug output is redacted.
    pub key_pem: SecretString,
}

/// A newly issued node certificate and its private key as PEM.
#[derive(Debug, Clone)]
pub struct NodeCert {
    /// The node certificate (`<name>.pem`).
    pub cert_pem: String,
    /// The node private key (`<name>-key.pem`), PKCS#8 PEM. Debug output is redacted.
    pub key_pem: SecretString,
}

/// A CA loaded for signing: its certificate plus its private key.
pub struct Ca {
    cert_pem: String,
    subject: String,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("subject", &self.subject)
            .field("not_after", &self.not_after)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

impl Ca {
    /// Loads a CA from its certificate and private key (PKCS#8 PEM, as written by
    /// [`create_ca`]).
    ///
    /// Fails when the certificate is not a CA (no `basicConstraints CA:true`) or the key does
    /// not belong to it, since certificates signed that way would never verify.
    pub fn from_pem(cert_pem: &str, key_pem: &SecretString) -> Result<Self, ParseCaError> {
        let (subject, not_before, not_after, is_ca, spki) = parse::with_cert(cert_pem, |c| {
            (
                c.subject().to_string(),
                c.validity().not_before.to_datetime(),
                c.validity().not_after.to_datetime(),
                c.is_ca(),
                c.public_key().subject_public_key.data.to_vec(),
            )
        })
        .map_err(ParseCaError::Certificate)?;
        if !is_ca {
            return Err(ParseCaError::NotCa { subject });
        }
        let key = KeyPair::from_pem(key_pem.expose_secret()).map_err(|e| ParseCaError::Key {
            source: Cause::new(e),
        })?;
        if key.public_key_raw() != spki.as_slice() {
            return Err(ParseCaError::KeyMismatch { subject });
        }
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key).map_err(|e| ParseCaError::Issuer {
            source: Cause::new(e),
        })?;
        Ok(Ca {
            cert_pem: cert_pem.to_owned(),
            subject,
            not_before,
            not_after,
            issuer,
        })
    }

    /// Loads the CA from a freshly created [`CaBundle`].
    pub fn from_bundle(bundle: &CaBundle) -> Result<Self, ParseCaError> {
        Ca::from_pem(&bundle.cert_pem, &bundle.key_pem)
    }

    /// The CA certificate as PEM (what clients and `tls_client_ca_file` trust).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA subject, e.g. `CN=vaultops CA`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// When the CA certificate expires.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }
}

/// Now, to the second (certificates carry no sub-second time).
pub(super) fn now() -> OffsetDateTime {
    truncate(OffsetDateTime::now_utc())
}

pub(super) fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).expect("0 is a valid nanosecond")
}
