//! Trust bundles for a CA rotation: several CA certificates in one PEM file, so that clients
//! trust the old and the new CA while the nodes move from one to the other. Pure.

use base64::Engine;
use x509_parser::pem::Pem;

use crate::parse::InspectError;
use crate::served::fingerprint_der;

/// Why a trust bundle could not be built.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TrustBundleError {
    /// An input holds no certificate.
    #[error("input {index} holds no PEM certificate: pass CA certificate files (ca.pem)")]
    Empty {
        /// Position of the input (1-based).
        index: usize,
    },
    /// An input block could not be read.
    #[error("input {index}: cannot read a certificate")]
    Unreadable {
        /// Position of the input (1-based).
        index: usize,
        /// What the parser said.
        #[source]
        source: InspectError,
    },
    /// An input certificate is not a CA (a node certificate passed by mistake).
    #[error("input {index}: {subject} is not a CA certificate (no basicConstraints CA:true): a trust bundle holds CA certificates only (ca.pem), never node certificates")]
    NotCa {
        /// Position of the input (1-based).
        index: usize,
        /// Subject of the offending certificate.
        subject: String,
    },
    /// Fewer than one distinct CA certificate was given.
    #[error("no CA certificate given: pass --ca OLD/ca.pem --ca NEW/ca.pem")]
    NoInput,
}

/// Builds one PEM holding every distinct CA certificate of `ca_pems` (each may itself be a
/// bundle), in the order given; duplicates (same DER) are kept once. Returns the PEM text and
/// the number of CA certificates in it.
pub fn trust_bundle(ca_pems: &[String]) -> Result<(String, usize), TrustBundleError> {
    let mut seen = Vec::new();
    let mut out = String::new();
    for (i, pem) in ca_pems.iter().enumerate() {
        let index = i + 1;
        let mut found = 0;
        for block in Pem::iter_from_buffer(pem.as_bytes()) {
            let block = block.map_err(|e| TrustBundleError::Unreadable {
                index,
                source: InspectError::Malformed {
                    reason: format!("invalid PEM: {e}"),
                },
            })?;
            if block.label != "CERTIFICATE" {
                return Err(TrustBundleError::Unreadable {
                    index,
                    source: InspectError::NotACertificate { label: block.label },
                });
            }
            found += 1;
            let (subject, is_ca) =
                crate::parse::with_der(&block.contents, |c| (c.subject().to_string(), c.is_ca()))
                    .map_err(|source| TrustBundleError::Unreadable { index, source })?;
            if !is_ca {
                return Err(TrustBundleError::NotCa { index, subject });
            }
            let fp = fingerprint_der(&block.contents);
            if seen.contains(&fp) {
                continue;
            }
            seen.push(fp);
            out.push_str(&der_to_pem(&block.contents));
        }
        if found == 0 {
            return Err(TrustBundleError::Empty { index });
        }
    }
    if seen.is_empty() {
        return Err(TrustBundleError::NoInput);
    }
    Ok((out, seen.len()))
}

/// PEM text (`CERTIFICATE`, 64-column base64) of a DER certificate.
pub fn der_to_pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}
