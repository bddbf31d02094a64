//! The Docker testbed: an N-node TLS OpenBao (or Vault) raft cluster in containers, created from
//! one command and bootstrapped through `vaultops-bootstrap`, the production code path.
//!
//! This is the only crate that talks to Docker (bollard); no bollard type appears in its
//! public API. Layout (all modules private; this file names what other crates use):
//! - `names`: validated names ([`TestbedName`], [`NodeCount`], [`NodeId`]) and labels (pure);
//! - `plan`: subnet, static IPs and published ports of each node (pure);
//! - `render`: server configs (through `vaultops-config`) and container specs (pure);
//! - `seal`: the seal kind, the nodes' `seal` stanza (pure) and the static seal key;
//! - `image`: choosing, pulling or building the server image;
//! - `docker`: connection, label queries, idempotent removal, uploads and logs;
//! - `state`: `target/testbed/<name>/` (certificates, configs, `init.json`, `env.sh`);
//! - `testbed`: [`Testbed`] and its children: `up`, `bootstrap`, `attach`, `status`,
//!   `resources` (Docker resource creation), `membership` (add a node with a new identity,
//!   remove one with its volume), `ops` (node operations for scenarios: stop, kill, pause,
//!   partition, logs, …), `swap` (a node on another pinned release), `tls` (TLS files of
//!   running nodes, for certificate rotations), `rekey` (the recorded unseal keys replaced
//!   after a rekey), `seal_change` (a node reconfigured with another seal: seal migration)
//!   and `unsealer` (the transit unsealer of a `--seal transit` testbed); [`down`];
//! - `progress`: step reporting for the caller's display;
//! - `error`: [`TestbedError`] and the opaque [`DockerError`].
//!
//! Invariant: everything created carries the label `vaultops.testbed=<name>` and is found and
//! removed by that label only.

mod docker;
mod error;
mod image;
mod names;
mod plan;
mod progress;
mod render;
mod seal;
mod state;
mod testbed;

pub use docker::Removed;
pub use error::{DockerError, TestbedError};
pub use image::{ImageOrigin, ServerImage, HOST_BUSYBOX};
pub use names::{
    InvalidName, InvalidNodeCount, InvalidNodeId, NodeCount, NodeId, TestbedName, DEFAULT_NAME,
    MAX_NAME_LEN,
};
pub use plan::{InvalidSubnet, PortError, PortPlan, DEFAULT_BASE_PORT};
pub use progress::{Progress, Silent};
pub use render::CONFIG_FILE;
pub use seal::{InvalidSeal, SealKind, STATIC_KEY_FILE};
pub use state::{default_state_root, InitFile, StateDir};
pub use testbed::{
    down, ensure_image, keep_from_env, JoinBy, NodeReport, ServerProcess, Testbed, TestbedNode,
    TestbedStatus, TlsDelivery, UnsealerNode, UnsealerReport, UpOptions, UpOutcome, KEEP_ENV,
};
