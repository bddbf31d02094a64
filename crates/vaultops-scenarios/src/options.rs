//! How the suite runs: [`SuiteOptions`] (where state and reports go, the workload, verbosity,
//! testbed deadlines) and the [`Budgets`] it asserts.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::workload::WorkloadConfig;

/// Limits the suite asserts besides the per-scenario table (`budgets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budgets {
    /// Acknowledged writes lost, in every scenario (0).
    pub lost_acked_writes: u64,
    /// A standby fault (kill, or a restart during a rolling restart): writes must go on;
    /// the longest gap between acknowledgements (2.5 s). Measured 0.05–0.53 s on a quiet
    /// 2-core machine, up to 1.7 s while other Docker tests ran beside it (CI shares its
    /// cores); a failover with no leader at all takes ≥ 1.5 s, so 2.5 s still separates
    /// "writes went on" from "the cluster stopped".
    #[serde(with = "crate::model::secs")]
    pub standby_unavailability: Duration,
}

impl Default for Budgets {
    fn default() -> Self {
        Self {
            lost_acked_writes: 0,
            standby_unavailability: Duration::from_millis(2500),
        }
    }
}

/// How scenarios run.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    /// Where testbed state lives (`target/testbed`).
    pub state_root: PathBuf,
    /// Where reports go (default `target/scenario-reports/<UTC time>-<pid>/`).
    pub reports_dir: PathBuf,
    pub workload: WorkloadConfig,
    pub budgets: Budgets,
    /// Keep testbeds at the end (and a failed `up`'s resources): `TESTBED_KEEP=1`.
    pub keep: bool,
    /// Progress lines on stderr.
    pub verbose: bool,
    /// Testbed names are `<prefix>-<scenario>-<pid>-<n>`.
    pub name_prefix: String,
    /// Secrets the backup drill writes before the snapshot.
    pub backup_secrets: usize,
    /// Writes (each read through every node) in `stale-reads`.
    pub stale_read_iterations: usize,
    /// Deadline of each testbed wait (listeners, unseal, voters).
    pub testbed_deadline: Duration,
}

impl SuiteOptions {
    /// Defaults with testbed state under `state_root` (e.g. `default_state_root()`); reports
    /// go next to it, in `<state_root>/../scenario-reports/<UTC time>-<pid>/`.
    pub fn new(state_root: PathBuf) -> Self {
        let stamp = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .unwrap_or_default();
        let reports_dir = state_root
            .parent()
            .map_or_else(
                || state_root.join("reports"),
                |p| p.join("scenario-reports"),
            )
            .join(format!("{stamp}-{}", std::process::id()));
        Self {
            state_root,
            reports_dir,
            workload: WorkloadConfig::default(),
            budgets: Budgets::default(),
            keep: vaultops_testbed::keep_from_env(),
            verbose: false,
            name_prefix: "scn".to_owned(),
            backup_secrets: 300,
            stale_read_iterations: 50,
            testbed_deadline: Duration::from_secs(120),
        }
    }
}
