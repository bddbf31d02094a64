//! Failover scenarios on the Docker testbed, with measured unavailability and a proof that no
//! acknowledged write was lost.
//!
//! Every scenario: healthy testbed → workload → fault → recovery → workload stops →
//! verification of every acknowledged write and of the counter on the active node. Layout:
//! - [`model`]: the records (clock, attempts, outcomes, role observations, events; pure);
//! - [`workload`]: K writers of unique keys and check-and-set counter increments;
//! - [`monitor`]: every node's role, polled every 50 ms;
//! - [`verify`]: reading back every acknowledged write from the active node;
//! - [`analysis`]: unavailability window, time to a new active node, errors by kind (pure);
//! - [`report`] and [`svg`]: JSON, the human table, medians, the SVG timeline;
//! - `scenarios` and `drill`: the scenarios themselves;
//! - [`suite`]: [`run_scenario`], [`run_all`], [`bench`], testbed lifecycle;
//! - [`backup`]: snapshot backups (save, encrypt, checksum, verify, restore) for production
//!   use and the drill.
//!
//! Budgets (0 acknowledged writes lost, kill -9 unavailability ≤ 5 s, …) are asserted only
//! here, by the scenario suite; nothing else in the workspace asserts timings.
//!
//! Invariant: the scenarios drive the testbed only through `vaultops-testbed`'s public API
//! and the cluster only through `vaultops-api` / `vaultops-bootstrap`.

pub mod analysis;
/// Snapshot backups live in `vaultops-backup` (the CLI uses them without Docker code).
pub use vaultops_backup as backup;
mod drill;
pub mod error;
pub mod model;
pub mod monitor;
pub mod report;
mod run;
mod scenarios;
pub mod suite;
pub mod svg;
pub mod verify;
pub mod workload;

pub use error::ScenarioError;
pub use report::{medians, table, Check, Measurements, ScenarioReport, WorkloadSummary};
pub use scenarios::{Scenario, TestbedVariant};
pub use suite::{
    bench, run_all, run_named, run_scenario, BenchReport, Budgets, SuiteOptions, SuiteReport,
};
pub use workload::WorkloadConfig;
