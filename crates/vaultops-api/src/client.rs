//! [`NodeClient`]: an HTTP client bound to ONE node's address, and the request plumbing every
//! endpoint module shares (token header, status classification, JSON decoding).
//!
//! One client per node is deliberate: init, unseal, join and health must target a single
//! node, and scenarios must know which node answered. Redirects are never followed: a
//! standby's 307 points at the active node, which during a failover is the dead one.

use crate::error::{classify_status, classify_transport, ApiError, ErrorKind};
use crate::secret::Token;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;
use url::Url;
use vaultops_types::Cause;

/// How to reach nodes: trust, client certificate, timeouts, token.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// PEM of the CA(s) to trust. When set, the system roots are NOT trusted: a private
    /// cluster must be verified against its own CA only.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM holding a client certificate and its private key, for listeners that require
    /// client certificates.
    pub client_identity_pem: Option<secrecy::SecretSlice<u8>>,
    /// Whole-request timeout (snapshot streaming and `sys/init` use their own).
    pub timeout: Duration,
    /// Whole-request timeout of `PUT sys/init`; `None` (the default): none, the client waits
    /// as long as the server needs. The keys and the root token exist only in that answer: a
    /// client that gives up while the server finishes loses them, and the cluster with them.
    /// The connect timeout still applies (nothing was sent yet), and TCP keepalive ends the
    /// wait when the peer's host is gone.
    pub init_timeout: Option<Duration>,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Token sent as `X-Vault-Token`.
    pub token: Option<Token>,
    /// Enterprise/OpenBao namespace sent as `X-Vault-Namespace`.
    pub namespace: Option<String>,
    /// Accept `http://` addresses. Off by default: over plain HTTP every token, unseal share
    /// and secret crosses the network in clear. Dev servers and tests on loopback set it.
    pub allow_plain_http: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            ca_pem: None,
            client_identity_pem: None,
            timeout: Duration::from_secs(30),
            init_timeout: None,
            connect_timeout: Duration::from_secs(5),
            token: None,
            namespace: None,
            allow_plain_http: false,
        }
    }
}

/// Building a client failed: bad address or unusable TLS material.
#[derive(Debug, thiserror::Error)]
pub enum BuildClientError {
    #[error("invalid node address {addr:?}: {reason}; expected e.g. https://vault-1:8200")]
    Address { addr: String, reason: String },
    #[error("refusing the plain-HTTP address {addr:?}: tokens, unseal shares and secrets would cross the network in clear; use https://, or pass --allow-plain-http for a dev server")]
    PlainHttp { addr: String },
    #[error("the CA certificate is not usable PEM; pass the CA's PEM file (e.g. ca.pem)")]
    CaCert(#[source] Cause),
    #[error("the client certificate/key is not usable PEM")]
    ClientIdentity(#[source] Cause),
    #[error("could not build the HTTP client")]
    Http(#[source] Cause),
}

/// A client for one Vault/OpenBao node. Cheap to clone (shares the connection pool).
#[derive(Clone)]
pub struct NodeClient {
    addr: Url,
    http: reqwest::Client,
    token: Option<Token>,
    namespace: Option<String>,
    snapshot_timeout: Duration,
    init_timeout: Option<Duration>,
}

impl std::fmt::Debug for NodeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeClient")
            .field("addr", &self.addr.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl NodeClient {
    /// A client for the node at `addr` (e.g. `https://10.0.0.1:8200`).
    pub fn new(addr: &str, config: &ClientConfig) -> Result<Self, BuildClientError> {
        let http = build_http(config)?;
        Self::with_http(addr, http, config)
    }

    /// Clients for several nodes sharing one configuration (one connection pool each).
    pub fn many(addrs: &[String], config: &ClientConfig) -> Result<Vec<Self>, BuildClientError> {
        addrs.iter().map(|a| Self::new(a, config)).collect()
    }

    fn with_http(
        addr: &str,
        http: reqwest::Client,
        config: &ClientConfig,
    ) -> Result<Self, BuildClientError> {
        let bad = |reason: &str| BuildClientError::Address {
            addr: addr.to_owned(),
            reason: reason.to_owned(),
        };
        let mut url = Url::parse(addr.trim()).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(bad("the scheme must be https (or http for a dev server)"));
        }
        if url.scheme() == "http" && !config.allow_plain_http {
            return Err(BuildClientError::PlainHttp {
                addr: addr.trim().to_owned(),
            });
        }
        if url.host_str().is_none() {
            return Err(bad("no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("no query or fragment allowed"));
        }
        // Paths are joined relative to the base: make sure it ends with '/'.
        if !url.path().ends_with('/') {
            let p = format!("{}/", url.path());
            url.set_path(&p);
        }
        Ok(Self {
            addr: url,
            http,
            token: config.token.clone(),
            namespace: config.namespace.clone(),
            snapshot_timeout: Duration::from_secs(600),
            init_timeout: config.init_timeout,
        })
    }

    /// The node's base address, without the trailing slash.
    pub fn addr(&self) -> &str {
        self.addr.as_str().trim_end_matches('/')
    }

    /// The same node and connection pool, with another token.
    pub fn with_token(&self, token: Token) -> Self {
        Self {
            token: Some(token),
            ..self.clone()
        }
    }

    /// The same node, without a token.
    pub fn without_token(&self) -> Self {
        Self {
            token: None,
            ..self.clone()
        }
    }

    /// The token this client sends, if any.
    pub fn token(&self) -> Option<&Token> {
        self.token.as_ref()
    }

    pub(crate) fn url(&self, path: &str) -> Url {
        // `path` is a fixed API path plus caller-given names; names are percent-encoded
        // by the caller through `seg`.
        self.addr
            .join(&format!("v1/{}", path.trim_start_matches('/')))
            .expect("API paths are valid relative URLs")
    }

    pub(crate) fn err(&self, op: &'static str, kind: ErrorKind) -> ApiError {
        ApiError::new(op, &self.addr, kind)
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut rb = self.http.request(method, self.url(path));
        if let Some(t) = &self.token {
            rb = rb.header("X-Vault-Token", t.expose());
        }
        if let Some(ns) = &self.namespace {
            rb = rb.header("X-Vault-Namespace", ns);
        }
        rb
    }

    /// The DER certificate the node presented (after it passed verification), taken from a
    /// `sys/health` exchange. `None` over plain HTTP.
    pub async fn peer_certificate(&self) -> Result<Option<Vec<u8>>, ApiError> {
        const OP: &str = "read peer certificate";
        let resp = self
            .send_raw(OP, self.request(Method::GET, "sys/health"))
            .await?;
        let der = resp
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|i| i.peer_certificate())
            .map(<[u8]>::to_vec);
        let _ = resp.bytes().await;
        Ok(der)
    }

    pub(crate) fn snapshot_timeout(&self) -> Duration {
        self.snapshot_timeout
    }

    /// The per-request timeout of `PUT sys/init`. reqwest cannot lift the client's timeout for
    /// one request, only replace it: "none" is a timeout no server reaches (about 136 years).
    pub(crate) fn init_timeout(&self) -> Duration {
        self.init_timeout
            .unwrap_or(Duration::from_secs(u64::from(u32::MAX)))
    }

    /// Sends a request and returns the raw response, whatever its status.
    pub(crate) async fn send_raw(
        &self,
        op: &'static str,
        rb: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ApiError> {
        rb.send()
            .await
            .map_err(|e| self.err(op, classify_transport(e)))
    }

    /// Sends a request; a non-2xx answer becomes a classified error.
    pub(crate) async fn send(
        &self,
        op: &'static str,
        rb: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ApiError> {
        let resp = self.send_raw(op, rb).await?;
        self.check(op, resp).await
    }

    pub(crate) async fn check(
        &self,
        op: &'static str,
        resp: reqwest::Response,
    ) -> Result<reqwest::Response, ApiError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp.text().await.unwrap_or_default();
        Err(self.err(op, classify_status(status.as_u16(), location, &body)))
    }

    /// Decodes a 2xx JSON body.
    pub(crate) async fn decode<T: DeserializeOwned>(
        &self,
        op: &'static str,
        resp: reqwest::Response,
    ) -> Result<T, ApiError> {
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| self.err(op, classify_transport(e)))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            self.err(
                op,
                ErrorKind::Decode {
                    status,
                    source: Cause::new(e),
                },
            )
        })
    }

    /// GET/PUT/POST/DELETE with an optional JSON body, decoding a JSON answer.
    pub(crate) async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        op: &'static str,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ApiError> {
        let mut rb = self.request(method, path);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = self.send(op, rb).await?;
        self.decode(op, resp).await
    }

    /// Like [`call`](Self::call) for endpoints that answer 204 or a body the caller ignores.
    pub(crate) async fn call_empty<B: Serialize + ?Sized>(
        &self,
        op: &'static str,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), ApiError> {
        let mut rb = self.request(method, path);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = self.send(op, rb).await?;
        // Drain the body so the connection goes back to the pool.
        let _ = resp.bytes().await;
        Ok(())
    }

    /// Like [`call`](Self::call) but maps 404 to `None` (Vault answers 404 for a missing
    /// object and for an empty LIST).
    pub(crate) async fn call_opt<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        op: &'static str,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Option<T>, ApiError> {
        match self.call(op, method, path, body).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() && e.server_errors().is_empty() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The LIST method Vault uses for listing.
pub(crate) fn list_method() -> Method {
    Method::from_bytes(b"LIST").expect("LIST is a valid method token")
}

/// Percent-encodes one path segment given by a caller (a role or policy name, a KV path
/// component), so a name can never escape into another API path.
///
/// `.` and `..` cannot be written in a URL path at all (URL parsing resolves them, even
/// percent-encoded), so they are sent double-encoded: the server sees the literal name
/// `%2E%2E`, which names nothing, instead of the parent path.
pub(crate) fn seg(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c == '.') {
        return "%252E".repeat(name.len());
    }
    url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Percent-encodes a multi-segment path (KV paths), keeping the `/` separators.
pub(crate) fn segs(path: &str) -> String {
    path.trim_matches('/')
        .split('/')
        .map(seg)
        .collect::<Vec<_>>()
        .join("/")
}

fn build_http(config: &ClientConfig) -> Result<reqwest::Client, BuildClientError> {
    use secrecy::ExposeSecret;
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.timeout)
        .connect_timeout(config.connect_timeout)
        // A request without a timeout (sys/init) must still end when the peer's host is
        // gone: keepalive probes notice a dead connection.
        .tcp_keepalive(Duration::from_secs(30))
        .min_tls_version(reqwest::tls::Version::TLS_1_2)
        // Keep the peer certificate on each response: `peer_certificate` reads it.
        .tls_info(true)
        .user_agent(concat!("vaultops/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = &config.ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| BuildClientError::CaCert(Cause::new(e)))?;
        if certs.is_empty() {
            return Err(BuildClientError::Address {
                addr: String::new(),
                reason: "the CA file holds no certificate".into(),
            });
        }
        b = b.tls_built_in_root_certs(false);
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    if let Some(id) = &config.client_identity_pem {
        let identity = reqwest::Identity::from_pem(id.expose_secret())
            .map_err(|e| BuildClientError::ClientIdentity(Cause::new(e)))?;
        b = b.identity(identity);
    }
    b.build().map_err(|e| BuildClientError::Http(Cause::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_addresses() {
        let c = ClientConfig::default();
        for a in ["ftp://x:1", "not a url", "https://h:8200/?a=b"] {
            assert!(NodeClient::new(a, &c).is_err(), "{a}");
        }
    }

    #[test]
    fn plain_http_is_refused_unless_allowed() {
        let e = NodeClient::new("http://10.0.0.1:8200", &ClientConfig::default()).unwrap_err();
        assert!(matches!(e, BuildClientError::PlainHttp { .. }), "{e:?}");
        assert!(e.to_string().contains("--allow-plain-http"), "{e}");
        let dev = ClientConfig {
            allow_plain_http: true,
            ..Default::default()
        };
        assert!(NodeClient::new("http://127.0.0.1:8200", &dev).is_ok());
    }

    #[test]
    fn joins_paths_under_base() {
        let c = NodeClient::new("https://h:8200", &ClientConfig::default()).unwrap();
        assert_eq!(c.url("sys/health").as_str(), "https://h:8200/v1/sys/health");
        let c = NodeClient::new("https://h:8200/prefix", &ClientConfig::default()).unwrap();
        assert_eq!(
            c.url("sys/health").as_str(),
            "https://h:8200/prefix/v1/sys/health"
        );
        assert_eq!(c.addr(), "https://h:8200/prefix");
    }

    #[test]
    fn segments_cannot_escape() {
        assert_eq!(seg("../sys/seal"), "..%2Fsys%2Fseal");
        assert_eq!(segs("atmr/db config"), "atmr/db%20config");
        let c = NodeClient::new("https://h:8200", &ClientConfig::default()).unwrap();
        for name in [".", ".."] {
            let u = c.url(&format!("sys/policies/acl/{}", seg(name)));
            assert!(u.path().starts_with("/v1/sys/policies/acl/%252E"), "{u}");
        }
        let u = c.url(&format!("secret/data/{}", segs("a/../../sys/seal")));
        assert!(u.path().starts_with("/v1/secret/data/a/%252E%252E/"), "{u}");
    }

    #[test]
    fn debug_hides_token() {
        let cfg = ClientConfig {
            token: Some(Token::new("s.plain")),
            ..Default::default()
        };
        let c = NodeClient::new("https://h:8200", &cfg).unwrap();
        assert!(!format!("{c:?}").contains("plain"));
    }
}
