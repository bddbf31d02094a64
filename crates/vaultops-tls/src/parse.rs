//! Shared PEM/X.509 parsing for the `build` and `inspect` modules (both depend on this one,
//! never the other way round): turns PEM text into an x509-parser certificate and reads the
//! names this crate cares about; owns [`InspectError`] (why a certificate could not be read)
//! and the timestamp format of error messages. No I/O.

use std::net::IpAddr;

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Why a certificate could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum InspectError {
    /// The input has no PEM block at all.
    #[error("not a PEM file (no -----BEGIN CERTIFICATE----- line): pass a PEM certificate such as ca.pem or node1.pem")]
    NotPem,
    /// The first PEM block is something other than a certificate.
    #[error("the PEM block is a {label}, not a CERTIFICATE: pass the certificate file (e.g. node1.pem), not the key")]
    NotACertificate {
        /// The PEM label found, e.g. `PRIVATE KEY`.
        label: String,
    },
    /// The PEM or DER content is damaged.
    #[error("malformed certificate: {reason}")]
    Malformed {
        /// What the parser reported.
        reason: String,
    },
}

/// Formats a timestamp for error messages, e.g. `2026-01-01T00:00:00Z`.
pub(crate) fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// Decodes the first PEM block of `pem` and checks that it is a certificate.
///
/// The returned [`Pem`] owns the DER; callers parse it with [`Pem::parse_x509`] through
/// [`with_cert`], because the parsed certificate borrows from it.
pub(crate) fn decode_pem(pem: &str) -> Result<Pem, InspectError> {
    if !pem.contains("-----BEGIN") {
        return Err(InspectError::NotPem);
    }
    let (_rest, block) =
        x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|e| InspectError::Malformed {
            reason: format!("invalid PEM: {e}"),
        })?;
    if block.label != "CERTIFICATE" {
        return Err(InspectError::NotACertificate { label: block.label });
    }
    Ok(block)
}

/// Parses the first certificate in `pem` and hands it to `f`.
pub(crate) fn with_cert<T>(
    pem: &str,
    f: impl FnOnce(&X509Certificate<'_>) -> T,
) -> Result<T, InspectError> {
    let block = decode_pem(pem)?;
    let cert = block.parse_x509().map_err(|e| InspectError::Malformed {
        reason: format!("invalid X.509 certificate: {e}"),
    })?;
    Ok(f(&cert))
}

/// Parses a DER certificate and hands it to `f`.
pub(crate) fn with_der<T>(
    der: &[u8],
    f: impl FnOnce(&X509Certificate<'_>) -> T,
) -> Result<T, InspectError> {
    let (_rest, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| InspectError::Malformed {
            reason: format!("invalid X.509 certificate: {e}"),
        })?;
    Ok(f(&cert))
}

/// The certificate's DNS and IP subject alternative names, in certificate order.
pub(crate) fn sans(cert: &X509Certificate<'_>) -> Result<(Vec<String>, Vec<IpAddr>), InspectError> {
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    let ext = cert
        .subject_alternative_name()
        .map_err(|e| InspectError::Malformed {
            reason: format!("invalid subjectAltName extension: {e}"),
        })?;
    if let Some(ext) = ext {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns.push((*d).to_owned()),
                GeneralName::IPAddress(bytes) => ips.push(ip_from_bytes(bytes)?),
                // Other name types (URI, e-mail...) play no part in TLS server identity.
                _ => {}
            }
        }
    }
    Ok((dns, ips))
}

fn ip_from_bytes(bytes: &[u8]) -> Result<IpAddr, InspectError> {
    match bytes.len() {
        4 => Ok(IpAddr::from(
            <[u8; 4]>::try_from(bytes).expect("length checked"),
        )),
        16 => Ok(IpAddr::from(
            <[u8; 16]>::try_from(bytes).expect("length checked"),
        )),
        n => Err(InspectError::Malformed {
            reason: format!("IP address SAN has {n} bytes (expected 4 or 16)"),
        }),
    }
}

/// The first common name of the subject, if any.
pub(crate) fn subject_cn(cert: &X509Certificate<'_>) -> Option<String> {
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
}
