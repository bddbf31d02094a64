//! The input model: everything a node's server configuration is made of, as plain data.
//!
//! Fields are public so callers (testkit, testbed, `deploy/`) can build and tweak nodes freely;
//! every rule that cannot be expressed in the types is checked by the renderer (the `render`
//! module, which depends on this one and not the other way round), the only way to turn a
//! [`NodeConfig`] into HCL.
//!
//! Paths are `String`s, not `PathBuf`s, because they are paths *on the server* (often inside a
//! container), not on the machine doing the rendering.

use std::fmt;

use secrecy::SecretString;

use vaultops_types::Engine;

/// One server node's configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub engine: Engine,
    /// The node's name: raft `node_id`, and the name used in error messages.
    pub node_id: String,
    pub cluster_name: String,
    /// URL other nodes and clients use to reach this node's API, e.g. `https://node1:8200`.
    /// Must be `https://` (plain `http://` only with [`ListenerTls::DisabledForTests`]).
    pub api_addr: String,
    /// URL of this node's cluster port, e.g. `https://node1:8201`; always `https://` (the cluster
    /// port speaks TLS even when the API listener does not).
    pub cluster_addr: String,
    pub listener: Listener,
    /// A second listener for Prometheus only (`None`: no second listener). With it the API
    /// listener can leave [`Telemetry::unauthenticated_metrics_access`] off, so metrics need a
    /// token there.
    pub metrics_listener: Option<MetricsListener>,
    pub storage: Storage,
    /// [`Seal::Shamir`] (the default) renders no `seal` stanza.
    pub seal: Seal,
    /// Seal migration: the seal being migrated away from, rendered as a second `seal` stanza
    /// with `disabled = "true"` (auto-unseal → Shamir, or auto → auto). `None` (the default)
    /// outside a migration; [`Seal::Shamir`] is refused (Shamir has no stanza to disable: a
    /// Shamir → auto migration needs only the new [`NodeConfig::seal`]).
    pub disabled_seal: Option<Seal>,
    /// Audit devices. OpenBao: declared in the file (it refuses API-created ones by default).
    /// Vault: not rendered, returned in [`Rendered::api_managed_audit`] to be enabled via the API.
    pub audit: Vec<AuditDevice>,
    pub telemetry: Telemetry,
    pub ui: bool,
    pub log_level: LogLevel,
    /// OpenBao only: `Some(true)` stops standbys serving reads locally (they are eventually
    /// consistent: a read right after a write returned the old value 50 of 50 times). `None`
    /// leaves the server default (standby reads on). An error for Vault.
    pub disable_standby_reads: Option<bool>,
    /// Vault only: render `disable_mlock = true`, which HashiCorp recommends with integrated
    /// (raft) storage. An error with OpenBao (which ignores the field with a warning) and with
    /// non-raft storage.
    pub vault_disable_mlock: bool,
    /// Where the server registers itself (`None`: nowhere, no stanza).
    pub service_registration: Option<ServiceRegistration>,
}

/// A `service_registration` stanza: the server publishes its own state (active, sealed, …)
/// to a service registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceRegistration {
    /// `service_registration "kubernetes"`: the server labels its own pod through the
    /// Kubernetes API (`openbao-active: "true"` / `vault-active: "true"` while it is the active
    /// node), so a Service can select the active node. Namespace and pod name are written in
    /// the file rather than taken from the downward API: each pod has its own file anyway, and
    /// the values can then be checked by a linter.
    Kubernetes {
        /// The pod's namespace.
        namespace: String,
        /// The pod's name.
        pod_name: String,
    },
}

impl NodeConfig {
    /// A node with Shamir seal, no audit devices, no telemetry, UI off, `info` logging and the
    /// engine's defaults for everything else.
    pub fn new(
        engine: Engine,
        node_id: impl Into<String>,
        cluster_name: impl Into<String>,
        api_addr: impl Into<String>,
        cluster_addr: impl Into<String>,
        listener: Listener,
        storage: Storage,
    ) -> Self {
        Self {
            engine,
            node_id: node_id.into(),
            cluster_name: cluster_name.into(),
            api_addr: api_addr.into(),
            cluster_addr: cluster_addr.into(),
            listener,
            metrics_listener: None,
            storage,
            seal: Seal::Shamir,
            disabled_seal: None,
            audit: Vec::new(),
            telemetry: Telemetry::default(),
            ui: false,
            log_level: LogLevel::Info,
            disable_standby_reads: None,
            vault_disable_mlock: false,
            service_registration: None,
        }
    }
}

/// The result of rendering one node.
#[derive(Clone)]
pub struct Rendered {
    /// The configuration file's contents.
    pub hcl: String,
    /// Audit devices the caller must enable through the API after unseal (Vault, which has no
    /// config-declared audit devices). Always empty for OpenBao, where they are in `hcl`.
    pub api_managed_audit: Vec<AuditDevice>,
    /// True when `hcl` contains a secret (an explicit transit seal token): write the file with
    /// mode 0600 and never log it. `Debug` redacts `hcl` in that case.
    pub contains_secrets: bool,
}

impl Rendered {
    /// File mode to write `hcl` with: 0600 when it holds a secret, else 0644 (it holds only
    /// paths and addresses).
    pub fn file_mode(&self) -> u32 {
        if self.contains_secrets {
            0o600
        } else {
            0o644
        }
    }
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hcl: &dyn fmt::Debug = if self.contains_secrets {
            &"[REDACTED: contains secrets]"
        } else {
            &self.hcl
        };
        f.debug_struct("Rendered")
            .field("hcl", hcl)
            .field("api_managed_audit", &self.api_managed_audit)
            .field("contains_secrets", &self.contains_secrets)
            .finish()
    }
}

/// The `listener "tcp"` stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// `host:port` the API listens on, e.g. `0.0.0.0:8200`.
    pub address: String,
    /// `host:port` of the cluster (request forwarding, raft) port, e.g. `0.0.0.0:8201`.
    pub cluster_address: String,
    pub tls: ListenerTls,
    /// Serve the unauthenticated `sys/generate-root/*` endpoints, so a root token can be
    /// generated from unseal shares alone. OpenBao ≥ 2.5.3 turns them off by default; `true`
    /// renders `disable_unauthed_generate_root_endpoints = false`. Vault always serves them
    /// (nothing is rendered). Off in production configs; `vaultops backup verify --restore`
    /// turns it on for its throwaway node, whose only token source is the old cluster's shares.
    pub unauthenticated_generate_root: bool,
}

impl Listener {
    /// A TLS listener.
    pub fn tls(
        address: impl Into<String>,
        cluster_address: impl Into<String>,
        files: TlsFiles,
    ) -> Self {
        Self {
            address: address.into(),
            cluster_address: cluster_address.into(),
            tls: ListenerTls::Files(files),
            unauthenticated_generate_root: false,
        }
    }

    /// A plain-HTTP listener (`tls_disable = true`). **For tests only**: it lets `api_addr`,
    /// `retry_join` and transit addresses use `http://`. Production configs use [`Listener::tls`].
    pub fn insecure_for_tests(
        address: impl Into<String>,
        cluster_address: impl Into<String>,
    ) -> Self {
        Self {
            address: address.into(),
            cluster_address: cluster_address.into(),
            tls: ListenerTls::DisabledForTests,
            unauthenticated_generate_root: false,
        }
    }
}

/// A dedicated `listener "tcp"` that serves `/v1/sys/metrics` without a token, with the API
/// listener's TLS settings. For OpenBao it is rendered with `metrics_only = true`: every other
/// path answers 404 there (measured with 2.7.2), so the port exposes metrics and nothing else.
/// Vault documents no such setting; its metrics listener serves the whole API, which still
/// needs a token for everything but the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsListener {
    /// `host:port` Prometheus scrapes, e.g. `0.0.0.0:8202`.
    pub address: String,
    /// Every `tcp` listener also opens a cluster port once the node is unsealed: without
    /// `cluster_address` it is the listener's port + 1 on the same address (measured with
    /// OpenBao 2.7.2), and reusing the API listener's cluster address fails to bind (an
    /// `[ERROR] … address already in use` line, measured). Give an otherwise unused loopback
    /// address, e.g. `127.0.0.1:8203`, so that port is reachable from nowhere.
    pub cluster_address: String,
}

impl MetricsListener {
    /// A metrics listener on `address` whose implicit cluster port is `cluster_address`.
    pub fn new(address: impl Into<String>, cluster_address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            cluster_address: cluster_address.into(),
        }
    }
}

/// TLS on the API listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerTls {
    Files(TlsFiles),
    /// No TLS; see [`Listener::insecure_for_tests`].
    DisabledForTests,
}

/// Certificate files of a TLS listener (paths on the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Node certificate (PEM; may include the chain).
    pub cert_file: String,
    /// Node private key (PEM).
    pub key_file: String,
    /// CA to verify client certificates against (`tls_client_ca_file`), for cert auth or mTLS.
    pub client_ca_file: Option<String>,
    pub min_version: TlsVersion,
}

impl TlsFiles {
    /// Cert and key, no client CA, minimum TLS 1.2.
    pub fn new(cert_file: impl Into<String>, key_file: impl Into<String>) -> Self {
        Self {
            cert_file: cert_file.into(),
            key_file: key_file.into(),
            client_ca_file: None,
            min_version: TlsVersion::Tls12,
        }
    }
}

/// `tls_min_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVersion {
    #[default]
    Tls12,
    Tls13,
}

impl TlsVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "tls12",
            TlsVersion::Tls13 => "tls13",
        }
    }
}

/// `log_level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    Trace,
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// The `storage` stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// Integrated storage (both engines).
    Raft(RaftStorage),
    /// Consul (Vault only; OpenBao 2.7.2 fails with `unknown storage type consul`).
    Consul(ConsulStorage),
}

/// `storage "raft"`. The raft `node_id` is [`NodeConfig::node_id`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftStorage {
    /// Data directory on the server.
    pub path: String,
    /// 1 (fastest) to 10; `None` is the server default (5). With 1 a kill -9 failover took
    /// 1.3–2.6 s instead of 8–23 s (measured); use 1 on low-latency networks.
    pub performance_multiplier: Option<u8>,
    /// Peers to join; every other node, each with the CA that signed its certificate.
    pub retry_join: Vec<RetryJoin>,
    /// Go duration, e.g. `"1s"`; with `autopilot_update_interval = "500ms"` it took 3 voters
    /// from 22.9 s to 8.9 s after start (measured, together with a 1 s stabilization time).
    pub autopilot_reconcile_interval: Option<String>,
    /// Go duration, e.g. `"500ms"`.
    pub autopilot_update_interval: Option<String>,
}

impl RaftStorage {
    /// Raft at `path` with server defaults and no peers.
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            performance_multiplier: None,
            retry_join: Vec::new(),
            autopilot_reconcile_interval: None,
            autopilot_update_interval: None,
        }
    }
}

/// One `retry_join` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryJoin {
    /// API URL of a peer, e.g. `https://node2:8200`.
    pub leader_api_addr: String,
    /// CA that signed the peer's certificate (a path on the server). `None` uses the system roots.
    pub leader_ca_cert_file: Option<String>,
    /// Server name to verify when it differs from the host in `leader_api_addr`.
    pub leader_tls_servername: Option<String>,
    /// Client certificate and key for peers that require mTLS; both or neither.
    pub leader_client_cert_file: Option<String>,
    pub leader_client_key_file: Option<String>,
}

impl RetryJoin {
    /// Join `leader_api_addr`, trusting `ca_cert_file`.
    pub fn new(leader_api_addr: impl Into<String>, ca_cert_file: impl Into<String>) -> Self {
        Self {
            leader_api_addr: leader_api_addr.into(),
            leader_ca_cert_file: Some(ca_cert_file.into()),
            leader_tls_servername: None,
            leader_client_cert_file: None,
            leader_client_key_file: None,
        }
    }
}

/// `storage "consul"` (Vault only).
///
/// The Consul ACL token is deliberately not a field: Vault's Consul client reads it from the
/// `CONSUL_HTTP_TOKEN` environment variable, which keeps it out of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsulStorage {
    /// `host:port` of the local Consul agent, e.g. `127.0.0.1:8500`.
    pub address: String,
    /// KV prefix, e.g. `vault/`.
    pub path: String,
    pub scheme: ConsulScheme,
    /// CA for the agent's certificate when `scheme` is https.
    pub tls_ca_file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsulScheme {
    Http,
    Https,
}

impl ConsulScheme {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsulScheme::Http => "http",
            ConsulScheme::Https => "https",
        }
    }
}

/// The `seal` stanza.
#[derive(Debug, Clone, Default)]
pub enum Seal {
    /// Unseal keys split with Shamir's scheme; no stanza is rendered.
    #[default]
    Shamir,
    /// Auto-unseal through another server's transit engine (both engines).
    Transit(TransitSeal),
    /// Auto-unseal with a static key (OpenBao only).
    Static(StaticSeal),
    /// AWS KMS (Vault only: OpenBao 2.7.2 reports `unknown wrapper: awskms`).
    AwsKms(AwsKmsSeal),
    /// Google Cloud KMS (Vault only).
    GcpCkms(GcpCkmsSeal),
    /// Azure Key Vault (Vault only).
    AzureKeyVault(AzureKeyVaultSeal),
}

/// `seal "transit"`.
///
/// The token is best left out of the file: without [`TransitSeal::token`] the server reads it
/// from its environment, [`TransitSeal::token_env`] (`BAO_TOKEN` or `VAULT_TOKEN` for OpenBao,
/// both checked with 2.7.2; `VAULT_TOKEN` for Vault).
#[derive(Debug, Clone)]
pub struct TransitSeal {
    /// URL of the unsealer, e.g. `https://unsealer:8200`.
    pub address: String,
    pub key_name: String,
    /// Mount of the transit engine, e.g. `transit/`.
    pub mount_path: String,
    /// CA of the unsealer's certificate (a path on the server).
    pub tls_ca_cert: Option<String>,
    /// Server name to verify when it differs from the host in `address`.
    pub tls_server_name: Option<String>,
    /// Rendered into the file only when set; the file then holds a secret
    /// ([`Rendered::contains_secrets`]).
    pub token: Option<SecretString>,
}

impl TransitSeal {
    /// Transit seal at `address` with key `key_name` on mount `transit/`, token from the
    /// environment.
    pub fn new(
        address: impl Into<String>,
        key_name: impl Into<String>,
        tls_ca_cert: Option<String>,
    ) -> Self {
        Self {
            address: address.into(),
            key_name: key_name.into(),
            mount_path: "transit/".to_owned(),
            tls_ca_cert,
            tls_server_name: None,
            token: None,
        }
    }

    /// Environment variable the server process reads the transit token from when the file has
    /// none.
    pub fn token_env(engine: Engine) -> &'static str {
        match engine {
            Engine::OpenBao => "BAO_TOKEN",
            Engine::Vault => "VAULT_TOKEN",
        }
    }
}

/// `seal "static"` (OpenBao only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticSeal {
    /// Identifier of the key, e.g. `"20260101-1"`; changing it marks a key rotation.
    pub current_key_id: String,
    /// Where the 32-byte key is: `file:///path` or `env://VAR`. Inline key material is refused so
    /// the key never sits in the config file.
    pub current_key: String,
}

/// `seal "awskms"` (Vault only). Credentials come from the environment or the instance role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsKmsSeal {
    pub region: String,
    pub kms_key_id: String,
}

/// `seal "gcpckms"` (Vault only). Credentials come from `GOOGLE_APPLICATION_CREDENTIALS` or the
/// instance's service account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcpCkmsSeal {
    pub project: String,
    pub region: String,
    pub key_ring: String,
    pub crypto_key: String,
}

/// `seal "azurekeyvault"` (Vault only). Credentials come from the environment or managed identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureKeyVaultSeal {
    pub tenant_id: String,
    pub vault_name: String,
    pub key_name: String,
}

/// An audit device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDevice {
    /// Mount path of the device, e.g. `file` (shown in `sys/audit` as `file/`).
    pub name: String,
    pub description: Option<String>,
    pub kind: AuditKind,
}

/// Type of audit device and its type-specific options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditKind {
    /// Append JSON lines to a file (on the server).
    File { file_path: String },
    /// Send JSON lines to a socket. If it is the only device and cannot write, every audited
    /// request fails with 500 (measured).
    Socket {
        /// `host:port` for tcp/udp, a path for unix.
        address: String,
        socket_type: SocketType,
        /// Go duration, e.g. `"2s"`.
        write_timeout: Option<String>,
    },
    /// Send to the local syslog. Only declare it where a syslog socket (`/dev/log`) exists: with
    /// a failing syslog device no OpenBao node could become active after a leader change
    /// (measured).
    Syslog {
        facility: Option<String>,
        tag: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketType {
    Tcp,
    Udp,
    Unix,
}

impl SocketType {
    pub fn as_str(self) -> &'static str {
        match self {
            SocketType::Tcp => "tcp",
            SocketType::Udp => "udp",
            SocketType::Unix => "unix",
        }
    }
}

impl AuditDevice {
    /// A file device named `name` writing to `file_path`.
    pub fn file(name: impl Into<String>, file_path: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
            kind: AuditKind::File {
                file_path: file_path.into(),
            },
        }
    }

    /// A TCP socket device named `name` sending to `address` (`host:port`).
    pub fn tcp_socket(name: impl Into<String>, address: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
            kind: AuditKind::Socket {
                address: address.into(),
                socket_type: SocketType::Tcp,
                write_timeout: None,
            },
        }
    }

    /// The device type: `"file"`, `"socket"` or `"syslog"`.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            AuditKind::File { .. } => "file",
            AuditKind::Socket { .. } => "socket",
            AuditKind::Syslog { .. } => "syslog",
        }
    }

    /// The device's options as (key, value) pairs in a fixed order: the `options { … }` block for
    /// OpenBao, and the `options` map of `PUT sys/audit/<name>` for Vault. All values are strings,
    /// as both servers expect.
    pub fn options(&self) -> Vec<(&'static str, String)> {
        match &self.kind {
            AuditKind::File { file_path } => vec![("file_path", file_path.clone())],
            AuditKind::Socket {
                address,
                socket_type,
                write_timeout,
            } => {
                let mut v = vec![
                    ("address", address.clone()),
                    ("socket_type", socket_type.as_str().to_owned()),
                ];
                if let Some(t) = write_timeout {
                    v.push(("write_timeout", t.clone()));
                }
                v
            }
            AuditKind::Syslog { facility, tag } => {
                let mut v = Vec::new();
                if let Some(f) = facility {
                    v.push(("facility", f.clone()));
                }
                if let Some(t) = tag {
                    v.push(("tag", t.clone()));
                }
                v
            }
        }
    }
}

/// The top-level `telemetry` stanza, plus metrics access on the listener.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Telemetry {
    /// Go duration, e.g. `"24h"`; enables `/v1/sys/metrics?format=prometheus`.
    pub prometheus_retention_time: Option<String>,
    /// Leave the host name out of metric names (wanted for Prometheus).
    pub disable_hostname: bool,
    /// Allow `/v1/sys/metrics` without a token on the API listener; rendered as
    /// `telemetry { … }` inside the listener, where both servers expect it. Production
    /// configs leave it off and serve metrics on a [`MetricsListener`] instead.
    pub unauthenticated_metrics_access: bool,
}

impl Telemetry {
    /// Prometheus format kept 24 h, no host name in metric names; the API listener requires a
    /// token for metrics (pair it with a [`MetricsListener`] for token-less scraping).
    pub fn prometheus() -> Self {
        Self {
            prometheus_retention_time: Some("24h".to_owned()),
            disable_hostname: true,
            unauthenticated_metrics_access: false,
        }
    }

    /// What the measured cluster used: Prometheus format kept 24 h, no host name in metric names,
    /// scraping without a token.
    pub fn prometheus_unauthenticated() -> Self {
        Self {
            prometheus_retention_time: Some("24h".to_owned()),
            disable_hostname: true,
            unauthenticated_metrics_access: true,
        }
    }

    pub(crate) fn has_stanza(&self) -> bool {
        self.prometheus_retention_time.is_some() || self.disable_hostname
    }
}
