//! Pure building of TLS material: a self-signed CA, node certificates signed by it, and renewal
//! of a node certificate with a fresh key. Nothing here touches the file system; see
//! [`crate::store`] for writing the results.
//!
//! Node certificates carry serverAuth and clientAuth, because raft nodes are both TLS servers
//! (API and cluster port) and TLS clients of each other (`retry_join`, request forwarding).

use std::fmt;
use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SignatureAlgorithm,
};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};
use x509_parser::oid_registry::{OID_EC_P256, OID_NIST_EC_P384};

use crate::inspect::{fmt_time, InspectError};
use crate::parse;

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

/// A validity request that cannot be honoured.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValidityError {
    /// `days` was 0.
    #[error("validity of 0 days: pass --days with a positive number of days")]
    ZeroDays,
    /// `days` exceeded [`MAX_DAYS`].
    #[error("validity of {days} days is longer than the maximum of {MAX_DAYS} days: pass a smaller --days")]
    TooManyDays {
        /// The rejected value.
        days: u32,
    },
    /// `not_after` was not after `not_before`.
    #[error("empty validity window: not_after {} is not after not_before {}", fmt_time(*.not_after), fmt_time(*.not_before))]
    Empty {
        /// Requested start.
        not_before: OffsetDateTime,
        /// Requested end.
        not_after: OffsetDateTime,
    },
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
        let key = KeyPair::from_pem(key_pem.expose_secret())
            .map_err(|source| ParseCaError::Key { source })?;
        if key.public_key_raw() != spki.as_slice() {
            return Err(ParseCaError::KeyMismatch { subject });
        }
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)
            .map_err(|source| ParseCaError::Issuer { source })?;
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

/// Why [`Ca::from_pem`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ParseCaError {
    /// The CA certificate PEM could not be read.
    #[error("cannot read the CA certificate: {0}")]
    Certificate(#[source] InspectError),
    /// The certificate is not a CA.
    #[error("{subject} is not a CA certificate (no basicConstraints CA:true): pass the CA certificate (ca.pem), not a node certificate")]
    NotCa {
        /// Subject of the certificate given.
        subject: String,
    },
    /// The private key could not be read.
    #[error(
        "cannot read the CA private key (expected a PKCS#8 PEM key such as ca-key.pem): {source}"
    )]
    Key {
        /// What rcgen reported.
        #[source]
        source: rcgen::Error,
    },
    /// The private key does not belong to the certificate.
    #[error("the CA private key does not belong to the CA certificate {subject}: pass the ca-key.pem created together with this ca.pem")]
    KeyMismatch {
        /// Subject of the CA certificate.
        subject: String,
    },
    /// rcgen could not use the certificate as an issuer.
    #[error("cannot use the CA certificate as an issuer: {source}")]
    Issuer {
        /// What rcgen reported.
        #[source]
        source: rcgen::Error,
    },
}

/// Why [`create_ca`] failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateCaError {
    /// The common name was empty.
    #[error("empty CA common name: pass a non-empty --common-name")]
    EmptyCommonName,
    /// The requested validity is not usable.
    #[error("invalid CA validity: {0}")]
    Validity(#[source] ValidityError),
    /// Key generation or signing failed.
    #[error("cannot generate the CA certificate: {source}")]
    Generate {
        /// What rcgen reported.
        #[source]
        source: rcgen::Error,
    },
}

/// Why [`create_node_cert`] failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateNodeCertError {
    /// The node name (common name) was empty.
    #[error("empty node name: pass --name with the node's name, e.g. node1")]
    EmptyName,
    /// Neither a DNS name nor an IP address was given.
    #[error("node certificate for {name} has no subject alternative names: pass at least one --dns NAME or --ip ADDRESS that clients use to reach the node")]
    NoSans {
        /// The node name.
        name: String,
    },
    /// A DNS SAN is not a valid host name.
    #[error("invalid DNS name {dns:?} for node {name}: {reason}")]
    InvalidDnsName {
        /// The node name.
        name: String,
        /// The rejected DNS name.
        dns: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The requested validity is not usable.
    #[error("invalid validity for node {name}: {source}")]
    Validity {
        /// The node name.
        name: String,
        /// What is wrong.
        #[source]
        source: ValidityError,
    },
    /// The CA has expired, so nothing it signs would verify.
    #[error("CA {subject} expired at {}: create a new CA and re-issue the node certificates", fmt_time(*.not_after))]
    CaExpired {
        /// CA subject.
        subject: String,
        /// CA expiry.
        not_after: OffsetDateTime,
    },
    /// The node certificate would be valid outside the CA's validity window.
    #[error("node certificate for {name} would be valid until {}, after its CA {ca_subject} expires at {}: pass a smaller --days or create a new CA", fmt_time(*.not_after), fmt_time(*.ca_not_after))]
    OutlivesCa {
        /// The node name.
        name: String,
        /// Requested end of validity.
        not_after: OffsetDateTime,
        /// CA subject.
        ca_subject: String,
        /// CA expiry.
        ca_not_after: OffsetDateTime,
    },
    /// Key generation or signing failed.
    #[error("cannot generate the certificate for node {name}: {source}")]
    Generate {
        /// The node name.
        name: String,
        /// What rcgen reported.
        #[source]
        source: rcgen::Error,
    },
}

/// Why [`renew_node_cert`] failed.
#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    /// The existing certificate could not be read.
    #[error("cannot read the certificate to renew: {0}")]
    Existing(#[source] InspectError),
    /// The existing certificate is a CA, not a node certificate.
    #[error("{subject} is a CA certificate: only node certificates can be renewed; create a new CA instead")]
    IsCa {
        /// Subject of the given certificate.
        subject: String,
    },
    /// The existing certificate has no subject common name to carry over.
    #[error("the certificate to renew ({subject}) has no common name: issue a new node certificate instead")]
    NoCommonName {
        /// Subject of the given certificate.
        subject: String,
    },
    /// The existing certificate was issued by a different CA.
    #[error("the certificate to renew was issued by {issuer}, not by the CA given ({ca_subject}): pass the CA that issued it, or issue a new certificate")]
    NotIssuedByCa {
        /// Issuer named in the existing certificate.
        issuer: String,
        /// Subject of the CA given.
        ca_subject: String,
    },
    /// Issuing the replacement failed.
    #[error(transparent)]
    Issue(#[from] CreateNodeCertError),
}

/// Creates a self-signed CA: `basicConstraints CA:true, pathlen:0` (it signs node certificates
/// only) and key usage keyCertSign + cRLSign.
pub fn create_ca(params: &CaParams) -> Result<CaBundle, CreateCaError> {
    let cn = params.common_name.trim();
    if cn.is_empty() {
        return Err(CreateCaError::EmptyCommonName);
    }
    let validity =
        Validity::resolve(params.days, params.validity).map_err(CreateCaError::Validity)?;

    let mut cp = CertificateParams::default();
    cp.distinguished_name = dn(cn);
    cp.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    cp.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    cp.not_before = validity.not_before;
    cp.not_after = validity.not_after;

    let key = KeyPair::generate_for(params.key_algorithm.rcgen())
        .map_err(|source| CreateCaError::Generate { source })?;
    let cert = cp
        .self_signed(&key)
        .map_err(|source| CreateCaError::Generate { source })?;
    Ok(CaBundle {
        cert_pem: cert.pem(),
        key_pem: SecretString::from(key.serialize_pem()),
    })
}

/// Issues a node certificate signed by `ca`: serverAuth + clientAuth, key usage
/// digitalSignature + keyEncipherment, `basicConstraints CA:false`, the given DNS and IP SANs,
/// and a new key.
pub fn create_node_cert(ca: &Ca, params: &NodeParams) -> Result<NodeCert, CreateNodeCertError> {
    let name = params.name.trim();
    if name.is_empty() {
        return Err(CreateNodeCertError::EmptyName);
    }
    let err_name = || name.to_owned();
    let validity = Validity::resolve(params.days, params.validity).map_err(|source| {
        CreateNodeCertError::Validity {
            name: err_name(),
            source,
        }
    })?;

    let now = now();
    if ca.not_after <= now {
        return Err(CreateNodeCertError::CaExpired {
            subject: ca.subject.clone(),
            not_after: ca.not_after,
        });
    }
    // A chain is only valid while every certificate in it is, so a node certificate reaching
    // past its CA would fail at the CA's expiry anyway; say so now instead of then.
    if validity.not_after > ca.not_after {
        return Err(CreateNodeCertError::OutlivesCa {
            name: err_name(),
            not_after: validity.not_after,
            ca_subject: ca.subject.clone(),
            ca_not_after: ca.not_after,
        });
    }
    // Starting a node certificate before its CA only adds a window in which the chain cannot
    // verify, so a `days` window starts no earlier than the CA (a CA made on a machine whose
    // clock runs ahead). An explicit window is honoured as given.
    let not_before = match params.validity {
        Some(v) => v.not_before,
        None => validity.not_before.max(ca.not_before),
    };

    let mut sans = Vec::new();
    let mut seen_dns: Vec<String> = Vec::new();
    for dns in &params.dns {
        let dns = dns.trim();
        check_dns_name(dns).map_err(|reason| CreateNodeCertError::InvalidDnsName {
            name: err_name(),
            dns: dns.to_owned(),
            reason,
        })?;
        let lower = dns.to_ascii_lowercase();
        if seen_dns.contains(&lower) {
            continue;
        }
        seen_dns.push(lower);
        let ia5 = dns.to_owned().try_into().map_err(|e: rcgen::Error| {
            CreateNodeCertError::InvalidDnsName {
                name: err_name(),
                dns: dns.to_owned(),
                reason: e.to_string(),
            }
        })?;
        sans.push(SanType::DnsName(ia5));
    }
    let mut seen_ips: Vec<IpAddr> = Vec::new();
    for ip in &params.ips {
        if !seen_ips.contains(ip) {
            seen_ips.push(*ip);
            sans.push(SanType::IpAddress(*ip));
        }
    }
    if sans.is_empty() {
        return Err(CreateNodeCertError::NoSans { name: err_name() });
    }

    let mut cp = CertificateParams::default();
    cp.distinguished_name = dn(name);
    cp.subject_alt_names = sans;
    cp.is_ca = IsCa::ExplicitNoCa;
    cp.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    cp.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    cp.use_authority_key_identifier_extension = true;
    cp.not_before = not_before;
    cp.not_after = validity.not_after;

    let generate = |source| CreateNodeCertError::Generate {
        name: err_name(),
        source,
    };
    let key = KeyPair::generate_for(params.key_algorithm.rcgen()).map_err(generate)?;
    let cert = cp.signed_by(&key, &ca.issuer).map_err(generate)?;
    Ok(NodeCert {
        cert_pem: cert.pem(),
        key_pem: SecretString::from(key.serialize_pem()),
    })
}

/// Re-issues a node certificate with `ca`: same subject common name, same DNS and IP SANs, same
/// key type (P-384 stays P-384; anything else becomes P-256), a new key, and `days` of validity
/// from now.
///
/// The existing certificate may have expired (that is the usual reason to renew), but it must
/// have been issued by `ca`.
pub fn renew_node_cert(
    ca: &Ca,
    existing_cert_pem: &str,
    days: u32,
) -> Result<NodeCert, RenewError> {
    // The CA certificate was parsed when `ca` was loaded, so reading it again cannot fail in
    // practice; the existing certificate is parsed inside so it can borrow the CA's key.
    let parsed = parse::with_cert(&ca.cert_pem, |ca_cert| {
        parse::with_cert(existing_cert_pem, |c| {
            let curve = c
                .public_key()
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            let key_algorithm = match curve {
                Some(oid) if oid == OID_NIST_EC_P384 => KeyAlgorithm::EcdsaP384,
                Some(oid) if oid == OID_EC_P256 => KeyAlgorithm::EcdsaP256,
                _ => KeyAlgorithm::default(),
            };
            (
                c.subject().to_string(),
                c.issuer().to_string(),
                parse::subject_cn(c),
                c.is_ca(),
                c.verify_signature(Some(ca_cert.public_key())).is_ok(),
                key_algorithm,
                parse::sans(c),
            )
        })
    });
    let (subject, issuer, cn, is_ca, signed_by_ca, key_algorithm, sans) = parsed
        .and_then(|inner| inner)
        .map_err(RenewError::Existing)?;
    if is_ca {
        return Err(RenewError::IsCa { subject });
    }
    if !signed_by_ca {
        return Err(RenewError::NotIssuedByCa {
            issuer,
            ca_subject: ca.subject.clone(),
        });
    }
    let name = cn.ok_or(RenewError::NoCommonName { subject })?;
    let (dns, ips) = sans.map_err(RenewError::Existing)?;
    Ok(create_node_cert(
        ca,
        &NodeParams {
            name,
            dns,
            ips,
            days,
            validity: None,
            key_algorithm,
        },
    )?)
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn now() -> OffsetDateTime {
    truncate(OffsetDateTime::now_utc())
}

fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).expect("0 is a valid nanosecond")
}

/// Checks that `dns` is a host name a TLS client can match: letters, digits and hyphens in
/// labels of 1 to 63 characters, optionally a leading `*.` wildcard label.
fn check_dns_name(dns: &str) -> Result<(), String> {
    if dns.is_empty() {
        return Err("it is empty".into());
    }
    if dns.parse::<IpAddr>().is_ok() {
        return Err("it is an IP address: pass it with --ip instead of --dns".into());
    }
    if dns.len() > 253 {
        return Err("it is longer than 253 characters".into());
    }
    let host = dns.strip_prefix("*.").unwrap_or(dns);
    for label in host.split('.') {
        if label.is_empty() {
            return Err("it has an empty label (leading, trailing or double dot)".into());
        }
        if label.len() > 63 {
            return Err(format!("label {label:?} is longer than 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with a hyphen"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "character {c:?} is not allowed (only letters, digits, '-' and a leading '*.')"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::{inspect, verify, VerifyError};
    use x509_parser::extensions::ParsedExtension;

    fn ca() -> (CaBundle, Ca) {
        let bundle = create_ca(&CaParams::default()).unwrap();
        let ca = Ca::from_bundle(&bundle).unwrap();
        (bundle, ca)
    }

    fn node_params(name: &str) -> NodeParams {
        NodeParams {
            name: name.into(),
            dns: vec![name.into(), "localhost".into()],
            ips: vec!["127.0.0.11".parse().unwrap(), "127.0.0.1".parse().unwrap()],
            ..NodeParams::default()
        }
    }

    #[test]
    fn ca_is_self_signed_ca_with_given_cn_and_usages() {
        let bundle = create_ca(&CaParams {
            common_name: "test root".into(),
            days: 30,
            ..CaParams::default()
        })
        .unwrap();
        let info = inspect(&bundle.cert_pem).unwrap();
        assert!(info.is_ca);
        assert_eq!(info.subject, "CN=test root");
        assert_eq!(info.issuer, "CN=test root");
        assert!((29..=30).contains(&info.days_left), "{}", info.days_left);
        // The CA verifies against itself (self-signed).
        verify(&bundle.cert_pem, &bundle.cert_pem).unwrap();

        parse::with_cert(&bundle.cert_pem, |c| {
            let ku = c.key_usage().unwrap().unwrap().value;
            assert!(ku.key_cert_sign());
            assert!(ku.crl_sign());
            assert!(!ku.digital_signature());
            let bc = c.basic_constraints().unwrap().unwrap().value;
            assert!(bc.ca);
            assert_eq!(bc.path_len_constraint, Some(0));
            let now = OffsetDateTime::now_utc();
            let nb = c.validity().not_before.to_datetime();
            // not_before is backdated by about one minute for clock skew.
            assert!(nb < now - Duration::seconds(50) && nb > now - Duration::seconds(70));
        })
        .unwrap();
    }

    #[test]
    fn default_ca_common_name() {
        let bundle = create_ca(&CaParams::default()).unwrap();
        assert_eq!(inspect(&bundle.cert_pem).unwrap().subject, "CN=vaultops CA");
    }

    #[test]
    fn zero_days_is_rejected() {
        let err = create_ca(&CaParams {
            days: 0,
            ..CaParams::default()
        })
        .unwrap_err();
        assert!(matches!(
            err,
            CreateCaError::Validity(ValidityError::ZeroDays)
        ));
        assert!(err.to_string().contains("--days"), "{err}");

        let (_, ca) = self::ca();
        let err = create_node_cert(
            &ca,
            &NodeParams {
                days: 0,
                ..node_params("node1")
            },
        )
        .unwrap_err();
        assert!(matches!(
            err,
            CreateNodeCertError::Validity {
                source: ValidityError::ZeroDays,
                ..
            }
        ));
        assert!(matches!(
            Validity::days_from_now(MAX_DAYS + 1),
            Err(ValidityError::TooManyDays { .. })
        ));
    }

    #[test]
    fn empty_validity_window_is_rejected() {
        let now = OffsetDateTime::now_utc();
        assert!(matches!(
            Validity::between(now, now - Duration::days(1)),
            Err(ValidityError::Empty { .. })
        ));
    }

    #[test]
    fn node_cert_has_sans_ekus_and_verifies_against_its_ca() {
        let (bundle, ca) = ca();
        let node = create_node_cert(&ca, &node_params("node1")).unwrap();
        let info = inspect(&node.cert_pem).unwrap();
        assert_eq!(info.subject, "CN=node1");
        assert_eq!(info.issuer, "CN=vaultops CA");
        assert_eq!(info.dns_sans, vec!["node1", "localhost"]);
        assert_eq!(
            info.ip_sans,
            vec![
                "127.0.0.11".parse::<IpAddr>().unwrap(),
                "127.0.0.1".parse().unwrap()
            ]
        );
        assert!(!info.is_ca);
        assert!((364..=365).contains(&info.days_left));
        verify(&node.cert_pem, &bundle.cert_pem).unwrap();

        parse::with_cert(&node.cert_pem, |c| {
            let eku = c.extended_key_usage().unwrap().unwrap().value;
            assert!(eku.server_auth);
            assert!(eku.client_auth);
            let ku = c.key_usage().unwrap().unwrap().value;
            assert!(ku.digital_signature());
            assert!(ku.key_encipherment());
            assert!(!ku.key_cert_sign());
            let bc = c.basic_constraints().unwrap().unwrap().value;
            assert!(!bc.ca);
            // ECDSA P-256 by default.
            let curve = c.public_key().algorithm.parameters.as_ref().unwrap();
            assert_eq!(curve.as_oid().unwrap(), OID_EC_P256);
            // Authority key identifier present so chain building does not rely on names only.
            assert!(c.extensions().iter().any(|e| matches!(
                e.parsed_extension(),
                ParsedExtension::AuthorityKeyIdentifier(_)
            )));
        })
        .unwrap();
        assert!(node.key_pem.expose_secret().contains("BEGIN PRIVATE KEY"));
    }

    #[test]
    fn node_cert_fails_verify_against_another_ca_with_the_same_name() {
        let (_, ca) = ca();
        let (other_bundle, _) = self::ca();
        let node = create_node_cert(&ca, &node_params("node1")).unwrap();
        let err = verify(&node.cert_pem, &other_bundle.cert_pem).unwrap_err();
        assert!(
            matches!(&err, VerifyError::SignatureMismatch { issuer, ca_subject }
                if issuer == "CN=vaultops CA" && ca_subject == "CN=vaultops CA"),
            "{err:?}"
        );
    }

    #[test]
    fn duplicate_sans_are_dropped() {
        let (_, ca) = ca();
        let node = create_node_cert(
            &ca,
            &NodeParams {
                name: "n".into(),
                dns: vec!["a.example".into(), "A.example".into()],
                ips: vec!["::1".parse().unwrap(), "::1".parse().unwrap()],
                ..NodeParams::default()
            },
        )
        .unwrap();
        let info = inspect(&node.cert_pem).unwrap();
        assert_eq!(info.dns_sans, vec!["a.example"]);
        assert_eq!(info.ip_sans, vec!["::1".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn bad_node_input_is_rejected_with_a_reason() {
        let (_, ca) = ca();
        let err = create_node_cert(
            &ca,
            &NodeParams {
                dns: vec!["127.0.0.1".into()],
                ..node_params("node1")
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("--ip"), "{err}");
        for bad in ["", "a..b", "-a.b", "a b", "a_b.c", "node1."] {
            let err = create_node_cert(
                &ca,
                &NodeParams {
                    dns: vec![bad.into()],
                    ..node_params("node1")
                },
            )
            .unwrap_err();
            assert!(
                matches!(err, CreateNodeCertError::InvalidDnsName { ref dns, .. } if dns == bad.trim()),
                "{bad}: {err:?}"
            );
        }
        let err = create_node_cert(
            &ca,
            &NodeParams {
                name: "node1".into(),
                ..NodeParams::default()
            },
        )
        .unwrap_err();
        assert!(matches!(err, CreateNodeCertError::NoSans { .. }), "{err:?}");
        let err = create_node_cert(&ca, &node_params("  ")).unwrap_err();
        assert!(matches!(err, CreateNodeCertError::EmptyName), "{err:?}");
        // A wildcard is fine.
        create_node_cert(
            &ca,
            &NodeParams {
                dns: vec!["*.vault.internal".into()],
                ..node_params("node1")
            },
        )
        .unwrap();
    }

    #[test]
    fn node_cert_may_not_outlive_or_follow_an_expired_ca() {
        let bundle = create_ca(&CaParams {
            days: 10,
            ..CaParams::default()
        })
        .unwrap();
        let ca = Ca::from_bundle(&bundle).unwrap();
        let err = create_node_cert(
            &ca,
            &NodeParams {
                days: 11,
                ..node_params("node1")
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, CreateNodeCertError::OutlivesCa { .. }),
            "{err:?}"
        );

        let now = OffsetDateTime::now_utc();
        let expired = create_ca(&CaParams {
            validity: Some(
                Validity::between(now - Duration::days(3), now - Duration::days(1)).unwrap(),
            ),
            ..CaParams::default()
        })
        .unwrap();
        let expired = Ca::from_bundle(&expired).unwrap();
        let err = create_node_cert(&expired, &node_params("node1")).unwrap_err();
        assert!(
            matches!(err, CreateNodeCertError::CaExpired { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("create a new CA"), "{err}");
    }

    #[test]
    fn expired_node_cert_can_be_created_for_tests() {
        let (bundle, ca) = ca();
        let now = OffsetDateTime::now_utc();
        let window = Validity::between(now - Duration::days(30), now - Duration::days(2)).unwrap();
        let node = create_node_cert(
            &ca,
            &NodeParams {
                validity: Some(window),
                ..node_params("node1")
            },
        )
        .unwrap();
        let info = inspect(&node.cert_pem).unwrap();
        assert_eq!(info.not_before, window.not_before());
        assert_eq!(info.not_after, window.not_after());
        assert!(info.days_left < 0, "{}", info.days_left);
        assert!(matches!(
            verify(&node.cert_pem, &bundle.cert_pem),
            Err(VerifyError::Expired { .. })
        ));
    }

    #[test]
    fn renewal_keeps_cn_and_sans_and_changes_the_key() {
        let (bundle, ca) = ca();
        let now = OffsetDateTime::now_utc();
        let old = create_node_cert(
            &ca,
            &NodeParams {
                validity: Some(
                    Validity::between(now - Duration::days(30), now - Duration::days(1)).unwrap(),
                ),
                ..node_params("node2")
            },
        )
        .unwrap();
        let new = renew_node_cert(&ca, &old.cert_pem, 90).unwrap();
        let (old_info, new_info) = (
            inspect(&old.cert_pem).unwrap(),
            inspect(&new.cert_pem).unwrap(),
        );
        assert_eq!(new_info.subject, old_info.subject);
        assert_eq!(new_info.dns_sans, old_info.dns_sans);
        assert_eq!(new_info.ip_sans, old_info.ip_sans);
        assert_ne!(new_info.serial, old_info.serial);
        assert!((89..=90).contains(&new_info.days_left));
        assert_ne!(new.key_pem.expose_secret(), old.key_pem.expose_secret());
        let spki = |pem: &str| parse::with_cert(pem, |c| c.public_key().raw.to_vec()).unwrap();
        assert_ne!(spki(&new.cert_pem), spki(&old.cert_pem));
        verify(&new.cert_pem, &bundle.cert_pem).unwrap();
    }

    #[test]
    fn renewal_keeps_p384() {
        let (_, ca) = ca();
        let old = create_node_cert(
            &ca,
            &NodeParams {
                key_algorithm: KeyAlgorithm::EcdsaP384,
                ..node_params("node3")
            },
        )
        .unwrap();
        let new = renew_node_cert(&ca, &old.cert_pem, 30).unwrap();
        parse::with_cert(&new.cert_pem, |c| {
            let curve = c.public_key().algorithm.parameters.as_ref().unwrap();
            assert_eq!(curve.as_oid().unwrap(), OID_NIST_EC_P384);
        })
        .unwrap();
    }

    #[test]
    fn renewal_refuses_a_cert_from_another_ca_and_a_ca_cert() {
        let (_, ca) = ca();
        let (other_bundle, other) = self::ca();
        let node = create_node_cert(&other, &node_params("node1")).unwrap();
        let err = renew_node_cert(&ca, &node.cert_pem, 30).unwrap_err();
        assert!(matches!(err, RenewError::NotIssuedByCa { .. }), "{err:?}");
        let err = renew_node_cert(&other, &other_bundle.cert_pem, 30).unwrap_err();
        assert!(matches!(err, RenewError::IsCa { .. }), "{err:?}");
        let err = renew_node_cert(&other, &node.cert_pem, 0).unwrap_err();
        assert!(matches!(
            err,
            RenewError::Issue(CreateNodeCertError::Validity { .. })
        ));
    }

    #[test]
    fn ca_from_pem_rejects_mismatched_key_and_non_ca() {
        let (a, ca) = ca();
        let (b, _) = self::ca();
        let err = Ca::from_pem(&a.cert_pem, &b.key_pem).unwrap_err();
        assert!(matches!(err, ParseCaError::KeyMismatch { .. }), "{err:?}");
        let node = create_node_cert(&ca, &node_params("node1")).unwrap();
        let err = Ca::from_pem(&node.cert_pem, &node.key_pem).unwrap_err();
        assert!(matches!(err, ParseCaError::NotCa { .. }), "{err:?}");
        let err = Ca::from_pem(&a.cert_pem, &SecretString::from("junk".to_owned())).unwrap_err();
        assert!(matches!(err, ParseCaError::Key { .. }), "{err:?}");
        let err = Ca::from_pem(a.key_pem.expose_secret(), &a.key_pem).unwrap_err();
        assert!(matches!(err, ParseCaError::Certificate(_)), "{err:?}");
    }

    #[test]
    fn debug_output_redacts_key_material() {
        let (bundle, ca) = ca();
        let node = create_node_cert(&ca, &node_params("node1")).unwrap();
        for (key, dbg) in [
            (bundle.key_pem.expose_secret(), format!("{bundle:?}")),
            (node.key_pem.expose_secret(), format!("{node:?}")),
            (bundle.key_pem.expose_secret(), format!("{ca:?}")),
        ] {
            let body = key.lines().nth(1).unwrap();
            assert!(!dbg.contains(key), "{dbg}");
            assert!(!dbg.contains(body), "{dbg}");
            assert!(!dbg.contains("PRIVATE KEY"), "{dbg}");
        }
        assert!(format!("{bundle:?}").contains("REDACTED"));
    }
}
