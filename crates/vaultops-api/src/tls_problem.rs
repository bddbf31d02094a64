//! [`TlsProblem`]: why a TLS handshake with a node failed, read from the rustls error inside a
//! transport error, so that every command names the cause (expired, not yet valid, name
//! mismatch, unknown CA) and what to do instead of a generic "error sending request".

use std::fmt;

/// What was wrong with the node's certificate (or the handshake), as rustls reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsProblem {
    /// The node's certificate is past its `notAfter`.
    Expired,
    /// The node's certificate's `notBefore` is in the future.
    NotYetValid,
    /// The host of the address is not among the certificate's SANs; `presented` lists the
    /// names the certificate carries (when rustls reported them).
    NameMismatch { presented: Vec<String> },
    /// The certificate does not chain to a trusted CA.
    UnknownIssuer,
    /// The chain's signature does not verify (forged or mixed-up CA).
    BadSignature,
    /// The certificate lacks the serverAuth purpose.
    WrongPurpose,
    /// Any other handshake failure (protocol, alert, plain-HTTP listener, …).
    Other,
}

impl fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsProblem::Expired => f.write_str(
                "the node's certificate has expired; renew it (vaultops tls renew) and restart the node",
            ),
            TlsProblem::NotYetValid => f.write_str(
                "the node's certificate is not valid yet (its start date is in the future); check the clocks of this machine and the node, or re-issue it (vaultops tls node)",
            ),
            TlsProblem::NameMismatch { presented } if presented.is_empty() => f.write_str(
                "the node's certificate does not match the address's host name (not in its SANs); use an address the certificate names, or re-issue it with that name (vaultops tls node --dns/--ip)",
            ),
            TlsProblem::NameMismatch { presented } => write!(
                f,
                "the node's certificate does not match the address's host name (it names only {}); use one of those names in --addr, or re-issue it with that name (vaultops tls node --dns/--ip)",
                presented.join(", ")
            ),
            TlsProblem::UnknownIssuer => f.write_str(
                "the node's certificate is signed by an unknown CA (unknown issuer); pass the cluster's CA with --ca-cert (or $VAULT_CACERT)",
            ),
            TlsProblem::BadSignature => f.write_str(
                "the node's certificate has a bad signature (not issued by the CA given); pass the cluster's CA with --ca-cert",
            ),
            TlsProblem::WrongPurpose => f.write_str(
                "the node's certificate is not for server authentication; re-issue it (vaultops tls node)",
            ),
            TlsProblem::Other => f.write_str(
                "check --ca-cert, the certificate's validity and SANs, and that the address uses the right scheme",
            ),
        }
    }
}

impl TlsProblem {
    fn from_rustls(e: &rustls::Error) -> Self {
        use rustls::CertificateError as C;
        match e {
            rustls::Error::InvalidCertificate(c) => match c {
                C::Expired | C::ExpiredContext { .. } => TlsProblem::Expired,
                C::NotValidYet | C::NotValidYetContext { .. } => TlsProblem::NotYetValid,
                C::NotValidForName => TlsProblem::NameMismatch {
                    presented: Vec::new(),
                },
                C::NotValidForNameContext { presented, .. } => TlsProblem::NameMismatch {
                    presented: presented.iter().map(|n| plain_name(n)).collect(),
                },
                C::UnknownIssuer => TlsProblem::UnknownIssuer,
                C::BadSignature => TlsProblem::BadSignature,
                C::InvalidPurpose | C::InvalidPurposeContext { .. } => TlsProblem::WrongPurpose,
                _ => TlsProblem::Other,
            },
            _ => TlsProblem::Other,
        }
    }
}

/// A SAN as rustls presents it (`DnsName("n1")`, `IpAddress(10.0.0.1)`) as the bare name.
fn plain_name(presented: &str) -> String {
    let inner = presented
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(presented);
    inner.trim_matches('"').to_owned()
}

/// The TLS problem inside a transport error, or `None` when the chain holds no rustls error.
///
/// `io::Error::source` skips the error it wraps (it returns the wrapped error's source), and
/// hyper-rustls nests io errors (Other → InvalidData → rustls::Error): so this descends through
/// `get_ref` as well as `source`.
pub(crate) fn find_tls_problem(err: &(dyn std::error::Error + 'static)) -> Option<TlsProblem> {
    let mut stack: Vec<&(dyn std::error::Error + 'static)> = vec![err];
    while let Some(e) = stack.pop() {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(TlsProblem::from_rustls(r));
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                stack.push(inner);
            }
        }
        if let Some(next) = e.source() {
            stack.push(next);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::CertificateError as C;

    /// A rustls error wrapped as hyper-rustls does: io(Other) → io(InvalidData) → rustls.
    fn nested(e: rustls::Error) -> std::io::Error {
        let inner = std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        std::io::Error::other(inner)
    }

    fn classify(c: C) -> TlsProblem {
        find_tls_problem(&nested(rustls::Error::InvalidCertificate(c))).expect("rustls error found")
    }

    #[test]
    fn certificate_errors_map_to_named_problems() {
        assert_eq!(classify(C::Expired), TlsProblem::Expired);
        assert_eq!(classify(C::NotValidYet), TlsProblem::NotYetValid);
        assert_eq!(classify(C::UnknownIssuer), TlsProblem::UnknownIssuer);
        assert_eq!(classify(C::BadSignature), TlsProblem::BadSignature);
        assert_eq!(
            classify(C::NotValidForName),
            TlsProblem::NameMismatch { presented: vec![] }
        );
        assert_eq!(classify(C::Revoked), TlsProblem::Other);
    }

    #[test]
    fn messages_name_the_cause_and_the_fix() {
        let expired = TlsProblem::Expired.to_string();
        assert!(
            expired.contains("expired") && expired.contains("vaultops tls renew"),
            "{expired}"
        );
        assert!(TlsProblem::NotYetValid
            .to_string()
            .contains("not valid yet"));
        let issuer = TlsProblem::UnknownIssuer.to_string();
        assert!(
            issuer.contains("unknown CA") && issuer.contains("--ca-cert"),
            "{issuer}"
        );
        let name = TlsProblem::NameMismatch {
            presented: vec!["DnsName(\"n1\")".into()],
        }
        .to_string();
        assert!(
            name.contains("does not match") && name.contains("n1"),
            "{name}"
        );
    }

    #[test]
    fn presented_names_are_shown_bare() {
        assert_eq!(
            plain_name("DnsName(\"vault-1.example\")"),
            "vault-1.example"
        );
        assert_eq!(plain_name("IpAddress(10.9.9.9)"), "10.9.9.9");
        assert_eq!(plain_name("odd"), "odd");
    }

    #[test]
    fn a_chain_without_rustls_is_not_tls() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(find_tls_problem(&refused), None);
        // Positive control: the same shape with a rustls error inside is found.
        let alert = nested(rustls::Error::General("x".into()));
        assert_eq!(find_tls_problem(&alert), Some(TlsProblem::Other));
    }
}
