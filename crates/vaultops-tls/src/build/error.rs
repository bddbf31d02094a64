//! Why building TLS material failed: one error type per operation (a validity request,
//! loading a CA, creating a CA, creating a node certificate, renewing one).

use time::OffsetDateTime;
use vaultops_types::Cause;

use super::MAX_DAYS;
use crate::parse::{fmt_time, InspectError};

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

/// Why [`Ca::from_pem`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ParseCaError {
    /// The CA certificate PEM could not be read.
    #[error("cannot read the CA certificate")]
    Certificate(#[source] InspectError),
    /// The certificate is not a CA.
    #[error("{subject} is not a CA certificate (no basicConstraints CA:true): pass the CA certificate (ca.pem), not a node certificate")]
    NotCa {
        /// Subject of the certificate given.
        subject: String,
    },
    /// The private key could not be read.
    #[error("cannot read the CA private key (expected a PKCS#8 PEM key such as ca-key.pem)")]
    Key {
        /// What rcgen reported.
        #[source]
        source: Cause,
    },
    /// The private key does not belong to the certificate.
    #[error("the CA private key does not belong to the CA certificate {subject}: pass the ca-key.pem created together with this ca.pem")]
    KeyMismatch {
        /// Subject of the CA certificate.
        subject: String,
    },
    /// rcgen could not use the certificate as an issuer.
    #[error("cannot use the CA certificate as an issuer")]
    Issuer {
        /// What rcgen reported.
        #[source]
        source: Cause,
    },
}

/// Why [`create_ca`] failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateCaError {
    /// The common name was empty.
    #[error("empty CA common name: pass a non-empty --common-name")]
    EmptyCommonName,
    /// The requested validity is not usable.
    #[error("invalid CA validity")]
    Validity(#[source] ValidityError),
    /// Key generation or signing failed.
    #[error("cannot generate the CA certificate")]
    Generate {
        /// What rcgen reported.
        #[source]
        source: Cause,
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
    #[error("invalid validity for node {name}")]
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
    #[error("cannot generate the certificate for node {name}")]
    Generate {
        /// The node name.
        name: String,
        /// What rcgen reported.
        #[source]
        source: Cause,
    },
}

/// Why [`renew_node_cert`] failed.
#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    /// The existing certificate could not be read.
    #[error("cannot read the certificate to renew")]
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
