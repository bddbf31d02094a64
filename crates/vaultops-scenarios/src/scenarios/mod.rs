//! The fault scenarios (every one but `backup-restore`, which is `drill`), one module per
//! family of faults, and the dispatch from a [`Scenario`] to its steps. Each one: healthy
//! testbed → workload → fault → recovery → workload stops → verification of every
//! acknowledged write and the counter (in `Run::finish`), plus its own checks. Each ends with
//! a healthy cluster again (every node running, unsealed, one active).

mod ca_rotation;
mod certs;
mod isolation;
mod kill;
mod membership;
mod reads;
mod rekey;
mod restarts;
mod rollback;
mod seal;
mod seal_migration;
mod upgrade;

use std::time::Duration;

use crate::catalogue::Scenario;
use crate::error::ScenarioError;
use crate::model::Observed;
use crate::run::{Run, NODE_DEADLINE};

/// How long a pause, partition or quorum loss is held at least: longer than the 3 s
/// election timeout the testbed's `performance_multiplier = 1` gives after unseal (shared
/// facts).
const HOLD_FAULT: Duration = Duration::from_secs(4);
/// Timeout of the probe writes: they must survive the pause and be answered after it.
const PROBE_TIMEOUT: Duration = Duration::from_secs(40);

/// Runs `run.scenario` on `run`'s testbed (not `backup-restore`: see `drill`).
pub(crate) async fn run_fault_scenario(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    match run.scenario {
        Scenario::KillActive => kill::kill_active(run).await,
        Scenario::StopActive => kill::stop_active(run).await,
        Scenario::KillStandby => kill::kill_standby(run).await,
        Scenario::StepDown => kill::step_down(run).await,
        Scenario::QuorumLoss => kill::quorum_loss(run).await,
        Scenario::PauseActive => isolation::pause_active(run).await,
        Scenario::PartitionActive => isolation::partition_active(run).await,
        Scenario::IsolateActive => isolation::isolate_active(run).await,
        Scenario::SealActive => seal::seal_active(run).await,
        Scenario::RollingRestart => restarts::rolling_restart(run).await,
        Scenario::RestartAll => restarts::restart_all(run).await,
        Scenario::RestartAllAuto => restarts::restart_all_auto(run).await,
        Scenario::StaleReadsControl => reads::stale_reads(run, false).await,
        Scenario::StaleReadsForwarded => reads::stale_reads(run, true).await,
        Scenario::RollbackControl => rollback::rollback(run).await,
        Scenario::Upgrade => upgrade::upgrade(run).await,
        Scenario::CertRotation => certs::cert_rotation(run).await,
        Scenario::CaRotation => ca_rotation::ca_rotation(run).await,
        Scenario::Rekey => rekey::rekey(run).await,
        Scenario::ReplaceNode => membership::replace_node(run).await,
        Scenario::ScaleOutIn => membership::scale_out_in(run).await,
        Scenario::SealMigration => seal_migration::seal_migration(run).await,
        Scenario::BackupRestore => Err(ScenarioError::NotAFault {
            scenario: Scenario::BackupRestore.to_string(),
        }),
    }
}

/// Waits until the monitor sees every node active or standby (`what` names the wait).
async fn wait_all_unsealed(run: &Run<'_>, what: &str) -> Result<(), ScenarioError> {
    run.monitor()
        .wait_for(what, NODE_DEADLINE, |tls| {
            tls.iter()
                .all(|tl| {
                    matches!(
                        tl.transitions.last().map(|t| t.seen),
                        Some(Observed::Active | Observed::Standby)
                    )
                })
                .then_some(())
        })
        .await
}
