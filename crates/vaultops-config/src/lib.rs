//! Server configuration rendering (HCL) for OpenBao and Vault nodes; pure, no I/O.
//!
//! The single source of server configuration for the whole tree: the test harness, the Docker
//! testbed and `deploy/` all build a [`NodeConfig`] and call [`render`], so every scenario also
//! tests the templates production uses. Writing the file (mode 0600 when
//! [`Rendered::contains_secrets`]) is the caller's job; this crate never touches the file system.
//!
//! ```
//! use vaultops_config::*;
//! use vaultops_types::Engine;
//!
//! let mut raft = RaftStorage::new("/openbao/data");
//! raft.performance_multiplier = Some(1);
//! raft.retry_join.push(RetryJoin::new("https://node2:8200", "/openbao/tls/ca.pem"));
//! let node = NodeConfig::new(
//!     Engine::OpenBao,
//!     "node1",
//!     "prod",
//!     "https://node1:8200",
//!     "https://node1:8201",
//!     Listener::tls("0.0.0.0:8200", "0.0.0.0:8201",
//!         TlsFiles::new("/openbao/tls/node.pem", "/openbao/tls/node.key")),
//!     Storage::Raft(raft),
//! );
//! let rendered = node.render().unwrap();
//! assert!(rendered.hcl.contains("storage \"raft\" {"));
//! ```
//!
//! [`lint`] is the other direction: it reads a configuration file (hand-written, or the seed's)
//! and reports, with line numbers, every field the chosen engine does not support and the
//! settings measured to break a cluster (`vaultops config lint`).
//!
//! What OpenBao accepts was measured with 2.7.2: unknown fields at top level, in `listener`,
//! `telemetry` and at `audit` stanza level only produce a `WARN unknown or unsupported field`
//! log line (the integration test `bao_starts` asserts there is none), while fields inside
//! `storage`, `retry_join`, `seal` and audit `options` are not reported at all, so their names
//! are only proven by the servers behaving as configured (cluster tests).

mod error;
mod hcl;
mod lint;
mod model;
mod render;

pub use error::RenderError;
pub use lint::{lint, supported_fields, Finding, HostFacts, LintReport, Severity};
pub use model::{
    AuditDevice, AuditKind, AwsKmsSeal, AzureKeyVaultSeal, ConsulScheme, ConsulStorage,
    GcpCkmsSeal, Listener, ListenerTls, LogLevel, MetricsListener, NodeConfig, RaftStorage,
    Rendered, RetryJoin, Seal, ServiceRegistration, SocketType, StaticSeal, Storage, Telemetry,
    TlsFiles, TlsVersion, TransitSeal,
};
pub use render::render;
