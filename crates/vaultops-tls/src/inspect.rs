//! Reading and checking certificates: [`inspect`] summarises one certificate, [`verify`] checks
//! it against a CA (signature and validity period) and [`verify_for_host`] also checks that a
//! host name or IP is among its SANs. Pure: the caller reads the PEM files.

use std::net::IpAddr;

use serde::Serialize;
use time::OffsetDateTime;

use crate::parse::{self, fmt_time, InspectError};

/// A summary of one certificate, as shown by `vaultops tls inspect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// Subject distinguished name, e.g. `CN=node1`.
    pub subject: String,
    /// Issuer distinguished name, e.g. `CN=vaultops CA`.
    pub issuer: String,
    /// Serial number as colon-separated hex bytes.
    pub serial: String,
    /// DNS subject alternative names.
    pub dns_sans: Vec<String>,
    /// IP subject alternative names.
    pub ip_sans: Vec<IpAddr>,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Whole days until `not_after`, rounded down: 0 on the last day, negative once expired.
    pub days_left: i64,
    /// Whether `basicConstraints CA:true` is set.
    pub is_ca: bool,
}

/// Why a certificate did not verify.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The certificate could not be read.
    #[error("cannot read the certificate")]
    Certificate(#[source] InspectError),
    /// The CA certificate could not be read.
    #[error("cannot read the CA certificate")]
    CaCertificate(#[source] InspectError),
    /// The certificate given as CA is not a CA.
    #[error("{subject} is not a CA certificate (no basicConstraints CA:true): pass the CA certificate (ca.pem) with --ca")]
    NotCa {
        /// Subject of the certificate given as CA.
        subject: String,
    },
    /// The certificate was not signed by this CA's key.
    #[error("certificate issued by {issuer} was not signed by the CA {ca_subject} given: pass the CA that issued it, or re-issue the certificate with this CA")]
    SignatureMismatch {
        /// Issuer named in the certificate.
        issuer: String,
        /// Subject of the CA given (may be the same name for a different key).
        ca_subject: String,
    },
    /// The certificate has expired.
    #[error("certificate expired at {}: issue a new one (or renew it) with the same CA", fmt_time(*.not_after))]
    Expired {
        /// End of validity.
        not_after: OffsetDateTime,
    },
    /// The certificate is not valid yet.
    #[error("certificate is not valid before {}: check this machine's clock", fmt_time(*.not_before))]
    NotYetValid {
        /// Start of validity.
        not_before: OffsetDateTime,
    },
    /// The CA certificate has expired.
    #[error("CA certificate expired at {}: create a new CA and re-issue the node certificates", fmt_time(*.not_after))]
    CaExpired {
        /// End of the CA's validity.
        not_after: OffsetDateTime,
    },
    /// The CA certificate is not valid yet.
    #[error("CA certificate is not valid before {}: check this machine's clock", fmt_time(*.not_before))]
    CaNotYetValid {
        /// Start of the CA's validity.
        not_before: OffsetDateTime,
    },
    /// The host is not among the certificate's SANs.
    #[error("host {host} is not in the certificate's subject alternative names [{}]: re-issue the certificate with --dns or --ip {host}, or connect using one of those names", .sans.join(", "))]
    HostnameMismatch {
        /// The host that was checked.
        host: String,
        /// The certificate's SANs, as `DNS:name` and `IP:address`.
        sans: Vec<String>,
    },
}

/// Summarises the first certificate in `cert_pem`.
pub fn inspect(cert_pem: &str) -> Result<CertInfo, InspectError> {
    inspect_at(cert_pem, OffsetDateTime::now_utc())
}

pub(crate) fn inspect_at(cert_pem: &str, now: OffsetDateTime) -> Result<CertInfo, InspectError> {
    parse::with_cert(cert_pem, |c| summarize(c, now))?
}

/// Like [`inspect`], for a DER certificate (what a TLS peer presents).
pub(crate) fn inspect_der_at(der: &[u8], now: OffsetDateTime) -> Result<CertInfo, InspectError> {
    parse::with_der(der, |c| summarize(c, now))?
}

fn summarize(
    c: &x509_parser::certificate::X509Certificate<'_>,
    now: OffsetDateTime,
) -> Result<CertInfo, InspectError> {
    let not_before = c.validity().not_before.to_datetime();
    let not_after = c.validity().not_after.to_datetime();
    let (dns_sans, ip_sans) = parse::sans(c)?;
    Ok(CertInfo {
        subject: c.subject().to_string(),
        issuer: c.issuer().to_string(),
        serial: c.raw_serial_as_string(),
        dns_sans,
        ip_sans,
        not_before,
        not_after,
        // Rounded down, so a certificate that expired an hour ago shows -1, not 0.
        days_left: (not_after - now).whole_seconds().div_euclid(86_400),
        is_ca: c.is_ca(),
    })
}

/// Checks that `cert_pem` was signed by the CA in `ca_pem` and that both are within their
/// validity period now.
///
/// The signature is checked first, so a certificate from another CA is reported as
/// [`VerifyError::SignatureMismatch`] even when it has also expired.
pub fn verify(cert_pem: &str, ca_pem: &str) -> Result<(), VerifyError> {
    verify_at(cert_pem, ca_pem, OffsetDateTime::now_utc()).map(|_| ())
}

/// Like [`verify`], then checks that `host` (a DNS name or an IP address, IPv6 optionally in
/// brackets) is among the certificate's SANs, as a TLS client connecting to it would.
///
/// DNS names match case-insensitively; a `*.example.com` SAN matches exactly one extra label.
/// An IP address matches IP SANs only.
pub fn verify_for_host(cert_pem: &str, ca_pem: &str, host: &str) -> Result<(), VerifyError> {
    let info = verify_at(cert_pem, ca_pem, OffsetDateTime::now_utc())?;
    if host_matches(&info, host) {
        return Ok(());
    }
    let sans = info
        .dns_sans
        .iter()
        .map(|d| format!("DNS:{d}"))
        .chain(info.ip_sans.iter().map(|ip| format!("IP:{ip}")))
        .collect();
    Err(VerifyError::HostnameMismatch {
        host: host.to_owned(),
        sans,
    })
}

fn verify_at(cert_pem: &str, ca_pem: &str, now: OffsetDateTime) -> Result<CertInfo, VerifyError> {
    let ca = inspect_at(ca_pem, now).map_err(VerifyError::CaCertificate)?;
    if !ca.is_ca {
        return Err(VerifyError::NotCa {
            subject: ca.subject,
        });
    }
    let info = inspect_at(cert_pem, now).map_err(VerifyError::Certificate)?;
    let signed = parse::with_cert(ca_pem, |ca_cert| {
        parse::with_cert(cert_pem, |c| {
            c.verify_signature(Some(ca_cert.public_key())).is_ok()
        })
    })
    .map_err(VerifyError::CaCertificate)?
    .map_err(VerifyError::Certificate)?;
    if !signed {
        return Err(VerifyError::SignatureMismatch {
            issuer: info.issuer,
            ca_subject: ca.subject,
        });
    }
    if now < ca.not_before {
        return Err(VerifyError::CaNotYetValid {
            not_before: ca.not_before,
        });
    }
    if now > ca.not_after {
        return Err(VerifyError::CaExpired {
            not_after: ca.not_after,
        });
    }
    if now < info.not_before {
        return Err(VerifyError::NotYetValid {
            not_before: info.not_before,
        });
    }
    if now > info.not_after {
        return Err(VerifyError::Expired {
            not_after: info.not_after,
        });
    }
    Ok(info)
}

pub(crate) fn host_matches(info: &CertInfo, host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return info.ip_sans.contains(&ip);
    }
    // A fully qualified name with a trailing dot names the same host.
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    info.dns_sans.iter().any(|san| {
        let san = san.to_ascii_lowercase();
        match san.strip_prefix("*.") {
            Some(suffix) => host
                .split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
            None => san == host,
        }
    })
}
