//! TLS material for a Vault/OpenBao TLS raft cluster.
//!
//! The crate owns these parts and keeps them apart:
//! - [`build`]: pure creation of a CA and of node certificates (serverAuth + clientAuth, DNS and
//!   IP SANs, ECDSA P-256 by default) and renewal of a node certificate. No I/O.
//! - [`mod@inspect`]: reading a certificate ([`CertInfo`]) and verifying it against a CA, its
//!   validity period and, optionally, a hostname or IP. No I/O.
//! - `served`: comparing the certificate each node serves (DER from the API client) with
//!   the expected one, by SHA-256 fingerprint. No I/O.
//! - `bundle`: trust bundles (old + new CA in one PEM) for a CA rotation. No I/O.
//! - [`store`]: the only I/O: atomic PEM writes (private keys mode 0600, certificates 0644) and
//!   loading a CA back from a directory.
//!
//! Private keys only ever live in [`secrecy::SecretString`], whose `Debug` is redacted.
//!
//! ```
//! use vaultops_tls::{create_ca, create_node_cert, verify_for_host, Ca, CaParams, NodeParams};
//!
//! let bundle = create_ca(&CaParams::default()).unwrap();
//! let ca = Ca::from_bundle(&bundle).unwrap();
//! let node = create_node_cert(
//!     &ca,
//!     &NodeParams {
//!         name: "node1".into(),
//!         dns: vec!["node1".into(), "localhost".into()],
//!         ips: vec!["127.0.0.1".parse().unwrap()],
//!         ..NodeParams::default()
//!     },
//! )
//! .unwrap();
//! verify_for_host(&node.cert_pem, &bundle.cert_pem, "127.0.0.1").unwrap();
//! ```

mod build;
mod bundle;
mod inspect;
mod parse;
mod served;
mod store;
#[cfg(test)]
mod tests;

pub use build::{
    create_ca, create_node_cert, reissue_node_cert, renew_node_cert, Ca, CaBundle, CaParams,
    CreateCaError, CreateNodeCertError, KeyAlgorithm, NodeCert, NodeParams, ParseCaError,
    RenewError, Validity, ValidityError, DEFAULT_CA_COMMON_NAME, DEFAULT_CA_DAYS,
    DEFAULT_NODE_DAYS, MAX_DAYS,
};
pub use bundle::{der_to_pem, trust_bundle, TrustBundleError};
pub use inspect::{inspect, verify, verify_for_host, CertInfo, VerifyError};
pub use parse::InspectError;
pub use served::{
    compare_served, fingerprint_der, fingerprint_pem, SeenCert, ServedInput, ServedNode,
    ServedReport, ServedState,
};
pub use store::{
    load_ca, node_files, write_bundle, write_ca, write_node, CaFiles, LoadCaError, NodeFiles,
    Overwrite, WriteError, CA_CERT_FILE, CA_KEY_FILE,
};
