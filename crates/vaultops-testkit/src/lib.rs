//! Real-server test harness: runs `bao server` processes on loopback for integration tests.
//!
//! - [`DevServer`]: one `bao server -dev` node (in-memory, unsealed, plain HTTP on a free
//!   loopback port, known root token). The fastest real server: for API behaviour tests.
//! - `Cluster` (module [`cluster`]): N raft nodes with TLS from `vaultops-tls` and configs from
//!   `vaultops-config`, initialised and unsealed through `vaultops-api`: for anything that
//!   needs raft, TLS, sealing or several nodes. The seal is a [`TestSeal`]: Shamir, or
//!   auto-unseal with `static` (key file) or `transit` (a separate unsealer node the testkit
//!   starts too). Audit devices: file, or syslog into a socket the test reads (each node in
//!   its own mount namespace, root only).
//! - Membership (module `membership`): [`Cluster::wipe_node`] loses a node's volume,
//!   [`Cluster::add_node`] adds a fresh node with a new identity ([`JoinMode`]).
//! - Seal migration (module `seal`): [`Cluster::migrate_node_config`] changes one node's seal
//!   stanza and restarts it, [`Cluster::finish_seal_migration`] records the new seal.
//! - [`TlsListeners`]: one uninitialised node (in-memory storage) with a TLS listener per
//!   certificate given: for expired, not-yet-valid, wrong-name and foreign-CA certificates.
//!
//! Every process is killed when its handle drops; every wait polls a condition with a
//! deadline (`vaultops_bootstrap::wait_until`). The binary comes from `vaultops-install` (pinned, verified):
//! the default release, or another pinned one ([`bao_bin_version`], [`ClusterOptions::bao_version`],
//! [`Cluster::restart_node_with`] for a rolling upgrade).

mod cluster;
mod listeners;
mod membership;
mod process;
mod seal;

mod dev;
pub use cluster::{Cluster, ClusterOptions, TestSeal, SYSLOG_TAG};
pub use dev::DevServer;
pub use listeners::{ListenerCert, TlsListeners};
pub use membership::JoinMode;
pub use process::{free_port, BaoProcess};

/// Path of the verified `bao` binary (installs it on first use).
///
/// # Panics
/// When it cannot be installed: tests cannot run without a real server, and the message says why.
pub fn bao_bin() -> std::path::PathBuf {
    static BIN: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        vaultops_install::ensure_bao(&Default::default())
            .unwrap_or_else(|e| panic!("cannot obtain the bao binary for tests: {e}"))
    })
    .clone()
}

/// Path of the verified `bao` binary of pinned release `version` (`2.6.2`), installed into
/// `target/openbao/<version>/` on first use; the default release honours `VAULTOPS_BAO_BIN` as
/// [`bao_bin`] does.
///
/// # Panics
/// When the version is not pinned or cannot be installed.
pub fn bao_bin_version(version: &str) -> std::path::PathBuf {
    let opts = vaultops_install::InstallOptions {
        version: Some(version.to_owned()),
        ..Default::default()
    };
    vaultops_install::ensure_bao(&opts)
        .unwrap_or_else(|e| panic!("cannot obtain the bao {version} binary for tests: {e}"))
}
