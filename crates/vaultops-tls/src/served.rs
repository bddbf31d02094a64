//! Which certificate each node serves, compared with the one it should serve: the pure half of
//! `vaultops tls served` (the caller fetches each node's DER certificate through the API
//! client). A node matches when it presents exactly the expected certificate (same DER, so the
//! same SHA-256 fingerprint); a same-serial certificate from another CA does not match.

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::inspect::{inspect_at, inspect_der_at, CertInfo};
use crate::parse::{decode_pem, InspectError};

/// SHA-256 fingerprint of a DER certificate, as colon-separated upper-case hex.
pub fn fingerprint_der(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// SHA-256 fingerprint of the first certificate in `pem`.
pub fn fingerprint_pem(pem: &str) -> Result<String, InspectError> {
    Ok(fingerprint_der(&decode_pem(pem)?.contents))
}

/// A certificate as seen on the wire: its summary and fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeenCert {
    /// Serial, subject, issuer, SANs, validity.
    #[serde(flatten)]
    pub info: CertInfo,
    /// SHA-256 fingerprint of the DER.
    pub fingerprint: String,
}

/// What one node serves, compared with the expected certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ServedState {
    /// The node serves exactly the expected certificate.
    Expected {
        /// What it serves.
        cert: SeenCert,
    },
    /// The node serves another certificate (for instance the old one, before its reload).
    Other {
        /// What it serves.
        cert: SeenCert,
    },
    /// No certificate could be read: connection or handshake failure, or an unreadable one.
    Unreadable {
        /// Why, as the client reported it.
        error: String,
    },
}

/// One node's line in a [`ServedReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServedNode {
    /// The node's address.
    pub addr: String,
    /// The certificate this node should serve.
    pub expected: SeenCert,
    /// What it serves.
    #[serde(flatten)]
    pub state: ServedState,
}

/// Every node's served certificate against the one it should serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServedReport {
    /// One entry per node, in the order given.
    pub nodes: Vec<ServedNode>,
    /// True when every node serves the expected certificate.
    pub all_expected: bool,
}

impl ServedReport {
    /// One line per node that does not serve the expected certificate, naming what it serves.
    pub fn problems(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter_map(|n| match &n.state {
                ServedState::Expected { .. } => None,
                ServedState::Other { cert } => Some(format!(
                    "{} serves serial {} (issuer {}, fingerprint {}), not the expected serial {}",
                    n.addr,
                    cert.info.serial,
                    cert.info.issuer,
                    cert.fingerprint,
                    n.expected.info.serial
                )),
                ServedState::Unreadable { error } => {
                    Some(format!("{}: no certificate read: {error}", n.addr))
                }
            })
            .collect()
    }
}

/// One node to compare: its address, the PEM it should serve, and what it served (`Ok(der)`,
/// or `Err(why)` when nothing could be read).
pub type ServedInput = (String, String, Result<Vec<u8>, String>);

/// Compares what each node served with what it should serve. Fails only when an expected
/// certificate itself cannot be read.
pub fn compare_served(served: Vec<ServedInput>) -> Result<ServedReport, InspectError> {
    let now = OffsetDateTime::now_utc();
    let mut nodes = Vec::with_capacity(served.len());
    for (addr, expected_pem, got) in served {
        let expected = SeenCert {
            info: inspect_at(&expected_pem, now)?,
            fingerprint: fingerprint_pem(&expected_pem)?,
        };
        let state = match got.and_then(|der| {
            inspect_der_at(&der, now)
                .map(|info| SeenCert {
                    info,
                    fingerprint: fingerprint_der(&der),
                })
                .map_err(|e| format!("unreadable certificate: {e}"))
        }) {
            Ok(cert) if cert.fingerprint == expected.fingerprint => ServedState::Expected { cert },
            Ok(cert) => ServedState::Other { cert },
            Err(error) => ServedState::Unreadable { error },
        };
        nodes.push(ServedNode {
            addr,
            expected,
            state,
        });
    }
    let all_expected = !nodes.is_empty()
        && nodes
            .iter()
            .all(|n| matches!(n.state, ServedState::Expected { .. }));
    Ok(ServedReport {
        nodes,
        all_expected,
    })
}
