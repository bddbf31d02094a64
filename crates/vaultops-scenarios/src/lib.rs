//! Failover scenarios on the Docker testbed, with measured unavailability and a proof that no
//! acknowledged write was lost.
//!
//! Every scenario: healthy testbed → workload → fault → recovery → workload stops →
//! verification of every acknowledged write and of the counter on the active node. Layout
//! (every module private; this file names the public API):
//! - `catalogue`: the scenarios' names, run order and the testbed each needs;
//! - `options`: [`SuiteOptions`] and the [`Budgets`] the suite asserts;
//! - `model`: the records (clock, attempts, outcomes, role observations, events, checks; pure);
//! - `workload`: K writers of unique keys and check-and-set counter increments;
//! - `monitor`: every node's role, polled every 50 ms;
//! - `verify`: reading back every acknowledged write from the active node;
//! - `analysis`: unavailability window, time to a new active node, errors by kind (pure);
//! - `details` and `checks`: each scenario's typed records and the checks computed from them
//!   after the run (pure);
//! - `report`, `svg` and `files`: JSON, the human table, medians, the SVG timeline, the files;
//! - `run`: one scenario run's context and the steps every scenario shares;
//! - `scenarios` (one module per family of faults) and `drill` (backup-restore);
//! - `lifecycle`: testbeds for the suite (create, check healthy, repair, remove);
//! - `suite`: [`run_scenario`], [`run_all`], [`bench`].
//!
//! Budgets (0 acknowledged writes lost, kill -9 unavailability ≤ 5 s, …) are asserted only
//! here, by the scenario suite; nothing else in the workspace asserts timings.
//!
//! Invariant: the scenarios drive the testbed only through `vaultops-testbed`'s public API
//! and the cluster only through `vaultops-api` / `vaultops-bootstrap` / `vaultops-backup`.

mod analysis;
mod budgets;
mod catalogue;
mod checks;
mod control;
mod details;
mod drill;
mod error;
mod files;
mod history;
mod latency;
mod lifecycle;
mod linearizability;
mod model;
mod monitor;
mod options;
mod report;
mod rng;
mod run;
mod scenarios;
mod suite;
mod summary;
mod svg;
mod verify;
mod workload;

pub use analysis::median;
pub use budgets::{budget, Budget, MARGIN};
pub use catalogue::{Scenario, UnknownScenario};
pub use details::{
    BackupFigures, Details, NodeReads, Outage, PauseRecord, PhaseGap, ReadAfterWrite, RekeyRecord,
    RestartPhase, StaleLeaderAnswers, WritesWithoutQuorum,
};
pub use error::ScenarioError;
pub use latency::{fault_window, write_latency, Percentiles, WriteLatency};
pub use linearizability::{HistoryVerdict, KeyViolation};
pub use model::{Attempt, Check, ErrorClass, Event, EventKind, NodeTimeline, Observed, Transition};
pub use options::{Budgets, SuiteOptions};
pub use report::{medians, table, Measurements, ScenarioReport, WorkloadSummary};
pub use suite::{bench, run_all, run_named, run_scenario, BenchReport, SuiteReport};
pub use summary::{figures_table, MachineFacts};
pub use verify::{CounterCheck, Verification};
pub use workload::WorkloadConfig;
