//! Cluster bootstrap that talks only to node URLs, through `vaultops-api`.
//!
//! This is the production code path: `vaultops init`/`unseal` and the testbed's `up` call the
//! same functions, so every testbed run exercises what operators run on rollout day.
//! [`bring_up`] is the one bring-up sequence (init → unseal → autopilot → join → voters) the
//! testbed, the test harness and the throwaway restore node share; [`transit`] prepares a
//! transit unsealer; [`baseline`] applies the shipped example rollout through [`apply`].
//!
//! Invariant: this crate never depends on the testbed runtime (Docker) or on the test
//! harness; it sees nodes only as HTTP endpoints.

pub mod apply;
pub mod baseline;
mod bringup;
pub mod check;
pub mod cluster;
pub mod error;
pub mod nodes;
pub mod raft;
pub mod root;
pub mod status;
pub mod transit;
pub mod unseal;
pub mod wait;

pub use bringup::{
    bring_up, BringUp, BringUpError, BringUpHooks, BringUpOptions, Milestone, NoHooks, SealMode,
};
pub use cluster::{init_cluster, unseal_cluster, unseal_when_joined};
pub use error::BootstrapError;
pub use nodes::{NodeSet, NodeState};
pub use root::generate_root;
pub use unseal::{submit_shares, unseal_node, ShareProgress, UnsealOutcome};
