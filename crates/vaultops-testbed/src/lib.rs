//! The Docker testbed: an N-node TLS OpenBao (or Vault) raft cluster in containers, created from
//! one command and bootstrapped through `vaultops-bootstrap`, the production code path.
//!
//! This is the only crate that talks to Docker (bollard). Layout:
//! - [`names`]: validated names ([`TestbedName`], [`NodeCount`], [`NodeId`]) and labels (pure);
//! - [`plan`]: subnet, static IPs and published ports of each node (pure);
//! - [`render`]: server configs (through `vaultops-config`) and container specs (pure);
//! - [`seal`]: the seal kind, the nodes' `seal` stanza (pure) and the static seal key;
//! - [`image`]: choosing, pulling or building the server image;
//! - [`docker`]: connection, label queries, idempotent removal, uploads and logs;
//! - [`state`]: `target/testbed/<name>/` (certificates, configs, `init.json`, `env.sh`);
//! - [`testbed`]: [`Testbed::up`], [`Testbed::attach`], [`Testbed::status`], [`down`];
//! - [`ops`]: node operations for scenarios (stop, kill, pause, partition, logs, …);
//! - [`unsealer`]: the transit unsealer of a `--seal transit` testbed and its operations;
//! - [`progress`]: step reporting for the caller's display.
//!
//! Invariant: everything created carries the label `vaultops.testbed=<name>` and is found and
//! removed by that label only.

mod bootstrap;
pub mod docker;
pub mod error;
pub mod image;
pub mod names;
pub mod ops;
pub mod plan;
pub mod progress;
pub mod render;
pub mod seal;
pub mod state;
pub mod testbed;
pub mod unsealer;

pub use error::TestbedError;
pub use image::{ImageOrigin, ServerImage};
pub use names::{NodeCount, NodeId, TestbedName, DEFAULT_NAME};
pub use plan::{PortPlan, DEFAULT_BASE_PORT};
pub use progress::{Progress, Silent};
pub use seal::SealKind;
pub use state::{default_state_root, InitFile, StateDir};
pub use testbed::{
    down, keep_from_env, NodeReport, Testbed, TestbedNode, TestbedStatus, UpOptions, UpOutcome,
    KEEP_ENV,
};
pub use unsealer::{UnsealerNode, UnsealerReport};
pub use vaultops_config::Engine;
