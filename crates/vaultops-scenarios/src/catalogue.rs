//! The catalogue of scenarios: their names (the CLI's and the reports'), run order, and the
//! testbed each needs. Nothing here runs a scenario (see `scenarios`, `drill` and `suite`).

use std::fmt;
use std::str::FromStr;

/// Every scenario, in the order `run_all` runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scenario {
    /// kill -9 of the active node, restart, unseal: it rejoins as a standby.
    KillActive,
    /// SIGTERM of the active node, restart, unseal.
    StopActive,
    /// kill -9 of a standby: writes continue.
    KillStandby,
    /// `sys/step-down` of the active node.
    StepDown,
    /// Freeze the active node longer than the election timeout, then resume it.
    PauseActive,
    /// Disconnect the active node from the cluster network, then reconnect it.
    PartitionActive,
    /// `sys/seal` of the active node; a wrong key, a reset, then 3 of 5 keys.
    SealActive,
    /// Restart one node at a time (standbys first), unsealing each.
    RollingRestart,
    /// Restart every node at once: Shamir needs every node unsealed again.
    RestartAll,
    /// Restart every node at once on a testbed with an auto-unseal (static) seal: the nodes
    /// come back with no operator input. Runs on its own testbed.
    RestartAllAuto,
    /// kill -9 of both standbys: the active node loses quorum; then restart both.
    QuorumLoss,
    /// Read-after-write through standbys (served locally: may be stale).
    StaleReads,
    /// The same on a testbed rendered with `disable_standby_reads = true` (what deploy/
    /// ships): standbys forward reads, none may be stale. Runs on its own testbed.
    StaleReadsForwarded,
    /// Snapshot, destroy the cluster, fresh cluster, forced restore, unseal with the old keys.
    BackupRestore,
}

/// A testbed other than the shared one (see [`Scenario::own_testbed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TestbedVariant {
    /// `None`: Shamir.
    pub seal: Option<vaultops_testbed::SealKind>,
    pub disable_standby_reads: bool,
}

impl Scenario {
    pub const ALL: [Scenario; 14] = [
        Scenario::KillActive,
        Scenario::StopActive,
        Scenario::KillStandby,
        Scenario::StepDown,
        Scenario::PauseActive,
        Scenario::PartitionActive,
        Scenario::SealActive,
        Scenario::RollingRestart,
        Scenario::RestartAll,
        Scenario::RestartAllAuto,
        Scenario::QuorumLoss,
        Scenario::StaleReads,
        Scenario::StaleReadsForwarded,
        Scenario::BackupRestore,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::KillActive => "kill-active",
            Scenario::StopActive => "stop-active",
            Scenario::KillStandby => "kill-standby",
            Scenario::StepDown => "step-down",
            Scenario::PauseActive => "pause-active",
            Scenario::PartitionActive => "partition-active",
            Scenario::SealActive => "seal-active",
            Scenario::RollingRestart => "rolling-restart",
            Scenario::RestartAll => "restart-all",
            Scenario::RestartAllAuto => "restart-all-auto",
            Scenario::QuorumLoss => "quorum-loss",
            Scenario::StaleReads => "stale-reads",
            Scenario::StaleReadsForwarded => "stale-reads-forwarded",
            Scenario::BackupRestore => "backup-restore",
        }
    }

    /// The testbed this scenario needs when it is not the shared one (Shamir, default
    /// configs): it then gets its own, removed right after.
    pub(crate) fn own_testbed(self) -> Option<TestbedVariant> {
        match self {
            Scenario::RestartAllAuto => Some(TestbedVariant {
                seal: Some(vaultops_testbed::SealKind::Static),
                disable_standby_reads: false,
            }),
            Scenario::StaleReadsForwarded => Some(TestbedVariant {
                seal: None,
                disable_standby_reads: true,
            }),
            _ => None,
        }
    }

    /// Every scenario name, in run order.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|s| s.name()).collect()
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = UnknownScenario;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|x| x.name() == s)
            .ok_or_else(|| UnknownScenario(s.to_owned()))
    }
}

/// A name that is not a scenario's (the message lists the known names).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scenario {0:?}; known: {known}", known = Scenario::names().join(", "))]
pub struct UnknownScenario(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for s in Scenario::ALL {
            assert_eq!(s.name().parse::<Scenario>().unwrap(), s);
        }
        let e = "kill".parse::<Scenario>().unwrap_err().to_string();
        assert!(e.contains("unknown scenario \"kill\""), "{e}");
        assert!(e.contains("kill-active"), "{e}");
    }
}
