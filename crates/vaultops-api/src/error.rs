//! The error every API call returns: which operation failed, on which node, and why.
//!
//! [`ApiError`] keeps the operation name and the node address so that a message a user sees
//! says what failed and where; [`ErrorKind`] keeps the server's HTTP status and its `errors`
//! list and separates the cases callers must tell apart: sealed, standby, not initialized,
//! permission denied, unreachable and TLS failure.

use crate::tls_problem::find_tls_problem;
pub use crate::tls_problem::TlsProblem;
use std::fmt;
use vaultops_types::Cause;

/// A failed API call: the operation (e.g. `unseal`), the node it was sent to, and why.
///
/// The message is `{op} on {node}: {kind}`: the kind (sealed, HTTP 403 with the server's
/// messages, unreachable, …) is what went wrong, not a separate cause, so it is part of this
/// error's own text. Its underlying cause (the transport, decoding or file error) is this
/// error's [`std::error::Error::source`], printed once by a chain printer.
#[derive(Debug)]
pub struct ApiError {
    /// The operation that failed, named as in this crate's methods (`unseal`, `kv write`, …).
    pub op: &'static str,
    /// The node's base address.
    pub node: String,
    /// Why it failed.
    pub kind: ErrorKind,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}: {}", self.op, self.node, self.kind)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

/// The server's `errors` list, shown joined by "; ".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerErrors(pub Vec<String>);

impl fmt::Display for ServerErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("(no message)")
        } else {
            f.write_str(&self.0.join("; "))
        }
    }
}

/// Why an API call failed. Match on the variant; the HTTP status and the server's own
/// messages are kept wherever the server answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The node is sealed (HTTP 503 "Vault is sealed").
    #[error("node is sealed (HTTP {status}: {errors}); unseal it (vaultops unseal) and retry")]
    Sealed { status: u16, errors: ServerErrors },
    /// The node has not been initialized.
    #[error("node is not initialized (HTTP {status}: {errors}); run vaultops init first")]
    NotInitialized { status: u16, errors: ServerErrors },
    /// The node is a standby that would not (or could not) serve or forward the request:
    /// a 307 redirect to the active node (not followed, on purpose: while there is no
    /// leader it points at the dead one) or a 429.
    #[error("node is a standby (HTTP {status}{}): send the request to the active node", location.as_deref().map(|l| format!(", redirects to {l}")).unwrap_or_default())]
    Standby {
        status: u16,
        location: Option<String>,
        errors: ServerErrors,
    },
    /// HTTP 403.
    #[error("permission denied (HTTP 403: {errors}); check the token and its policies")]
    PermissionDenied { errors: ServerErrors },
    /// HTTP 404 (also returned for an empty list).
    #[error("not found (HTTP 404: {errors})")]
    NotFound { errors: ServerErrors },
    /// Any other non-success answer.
    #[error("server answered HTTP {status}: {errors}")]
    Server { status: u16, errors: ServerErrors },
    /// No TCP connection could be made, or the connection broke.
    #[error("unreachable ({detail}); check the address and that the server is running")]
    Unreachable {
        detail: String,
        #[source]
        source: Cause,
    },
    /// The request did not complete in time.
    #[error("timed out ({detail})")]
    Timeout {
        detail: String,
        #[source]
        source: Cause,
    },
    /// The TLS handshake failed: unknown CA, expired certificate, name not in the SANs,
    /// or an https:// client talking to a plain-HTTP listener. `problem` names which, with
    /// what to do.
    #[error("TLS failure: {problem} ({detail})")]
    Tls {
        problem: TlsProblem,
        detail: String,
        #[source]
        source: Cause,
    },
    /// A plain-HTTP request reached a TLS listener.
    #[error("plain HTTP sent to a TLS listener; use an https:// address")]
    HttpToTlsListener,
    /// The server answered 2xx but the body was not what the API documents.
    #[error("unexpected response body (HTTP {status})")]
    Decode {
        status: u16,
        #[source]
        source: Cause,
    },
    /// A snapshot download answered 2xx with a body that is not a raft snapshot (no gzip
    /// header): something between the client and the node answered instead.
    #[error("the {bytes}-byte body is not a raft snapshot (no gzip header); is a proxy between this client and the node?")]
    NotASnapshot { bytes: u64 },
    /// A capabilities query answered without an entry for a path that was asked about.
    #[error("the answer has no capabilities for {path:?}")]
    MissingCapabilities { path: String },
    /// Reading or writing a local file (snapshots) failed.
    #[error("local file {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Writing a local file (a snapshot) atomically failed; the error names the file and the
    /// step.
    #[error("writing a local file")]
    WriteFile {
        #[source]
        source: vaultops_fs::AtomicWriteError,
    },
    /// The request was refused before it was sent (bad argument).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

impl ApiError {
    pub(crate) fn new(op: &'static str, node: &url::Url, kind: ErrorKind) -> Self {
        Self {
            op,
            node: node.as_str().trim_end_matches('/').to_owned(),
            kind,
        }
    }

    /// The HTTP status, where the server answered.
    pub fn status(&self) -> Option<u16> {
        match &self.kind {
            ErrorKind::Sealed { status, .. }
            | ErrorKind::NotInitialized { status, .. }
            | ErrorKind::Standby { status, .. }
            | ErrorKind::Server { status, .. }
            | ErrorKind::Decode { status, .. } => Some(*status),
            ErrorKind::NotASnapshot { .. } | ErrorKind::MissingCapabilities { .. } => Some(200),
            ErrorKind::PermissionDenied { .. } => Some(403),
            ErrorKind::NotFound { .. } => Some(404),
            ErrorKind::HttpToTlsListener => Some(400),
            _ => None,
        }
    }

    /// The server's `errors` list (empty when it did not answer).
    pub fn server_errors(&self) -> &[String] {
        match &self.kind {
            ErrorKind::Sealed { errors, .. }
            | ErrorKind::NotInitialized { errors, .. }
            | ErrorKind::Standby { errors, .. }
            | ErrorKind::PermissionDenied { errors }
            | ErrorKind::NotFound { errors }
            | ErrorKind::Server { errors, .. } => &errors.0,
            _ => &[],
        }
    }

    /// True when the node is sealed.
    pub fn is_sealed(&self) -> bool {
        matches!(self.kind, ErrorKind::Sealed { .. })
    }
    /// True for a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self.kind, ErrorKind::NotFound { .. })
    }
    /// True for a 403.
    pub fn is_permission_denied(&self) -> bool {
        matches!(self.kind, ErrorKind::PermissionDenied { .. })
    }
    /// True when no connection could be made or it timed out.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Unreachable { .. } | ErrorKind::Timeout { .. }
        )
    }
    /// What was wrong with the TLS handshake, when that is why the call failed.
    pub fn tls_problem(&self) -> Option<&TlsProblem> {
        match &self.kind {
            ErrorKind::Tls { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// True for a TLS handshake failure or a scheme mismatch.
    pub fn is_tls(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Tls { .. } | ErrorKind::HttpToTlsListener
        )
    }
}

/// Classifies a non-success HTTP answer. `body` is the raw body text.
pub(crate) fn classify_status(status: u16, location: Option<String>, body: &str) -> ErrorKind {
    if status == 400 && body.contains("Client sent an HTTP request to an HTTPS server") {
        return ErrorKind::HttpToTlsListener;
    }
    let errors = parse_errors(body);
    let said = |needle: &str| errors.0.iter().any(|e| e.contains(needle));
    match status {
        503 if said("is sealed") => ErrorKind::Sealed { status, errors },
        _ if said("not initialized") || said("Vault is not initialized") => {
            ErrorKind::NotInitialized { status, errors }
        }
        307 | 429 => ErrorKind::Standby {
            status,
            location,
            errors,
        },
        500 if said("local node not active") => ErrorKind::Standby {
            status,
            location,
            errors,
        },
        403 => ErrorKind::PermissionDenied { errors },
        404 => ErrorKind::NotFound { errors },
        _ => ErrorKind::Server { status, errors },
    }
}

/// Pulls the `errors` list out of a Vault error body; a body that is not the documented
/// JSON shape is kept whole (trimmed) as the only message, so nothing the server said is lost.
pub(crate) fn parse_errors(body: &str) -> ServerErrors {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<String>,
    }
    match serde_json::from_str::<Body>(body) {
        Ok(b) => ServerErrors(b.errors),
        Err(_) if body.trim().is_empty() => ServerErrors(Vec::new()),
        Err(_) => ServerErrors(vec![body.trim().chars().take(500).collect()]),
    }
}

/// Classifies a transport error (no HTTP answer): TLS, timeout or unreachable.
pub(crate) fn classify_transport(err: reqwest::Error) -> ErrorKind {
    let detail = error_chain(&err);
    if err.is_timeout() {
        return ErrorKind::Timeout {
            detail,
            source: Cause::new(err),
        };
    }
    if let Some(problem) = find_tls_problem(&err) {
        return ErrorKind::Tls {
            problem,
            detail,
            source: Cause::new(err),
        };
    }
    ErrorKind::Unreachable {
        detail,
        source: Cause::new(err),
    }
}

/// The error and all its causes on one line, most specific last.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_is_recognised() {
        let k = classify_status(503, None, r#"{"errors":["Vault is sealed"]}"#);
        assert!(matches!(k, ErrorKind::Sealed { status: 503, .. }), "{k:?}");
    }

    #[test]
    fn standby_redirect_keeps_location() {
        let k = classify_status(307, Some("https://n1:8200/v1/x".into()), "");
        match k {
            ErrorKind::Standby { location, .. } => {
                assert_eq!(location.as_deref(), Some("https://n1:8200/v1/x"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn permission_denied_keeps_messages() {
        let k = classify_status(
            403,
            None,
            r#"{"errors":["1 error occurred:\n\t* permission denied\n\n"]}"#,
        );
        match k {
            ErrorKind::PermissionDenied { errors } => {
                assert!(errors.0[0].contains("permission denied"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn http_to_https_is_named() {
        let k = classify_status(
            400,
            None,
            "Client sent an HTTP request to an HTTPS server.\n",
        );
        assert!(matches!(k, ErrorKind::HttpToTlsListener));
    }

    #[test]
    fn non_json_body_is_kept() {
        let e = parse_errors("<html>bad gateway</html>");
        assert_eq!(e.0, vec!["<html>bad gateway</html>".to_string()]);
    }

    #[test]
    fn other_statuses_keep_status_and_errors() {
        let k = classify_status(400, None, r#"{"errors":["a","b"]}"#);
        let e = ApiError::new("unseal", &"https://n1:8200/".parse().unwrap(), k);
        assert_eq!(e.status(), Some(400));
        assert_eq!(e.server_errors(), ["a", "b"]);
        assert_eq!(
            e.to_string(),
            "unseal on https://n1:8200: server answered HTTP 400: a; b"
        );
    }
}
