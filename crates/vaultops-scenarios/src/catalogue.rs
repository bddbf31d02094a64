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
    /// Cut the active node off from its peers while the clients still reach it (the fault
    /// the Consul analysis found): the old leader must not acknowledge a write or serve a
    /// stale read once a new leader exists.
    IsolateActive,
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
    /// Positive control: read-after-write through standbys on a testbed with standby reads
    /// on (OpenBao's default since 2.5, served locally): the history must be found NOT
    /// linearizable. Runs on its own testbed.
    StaleReadsControl,
    /// The same on the shared testbed, rendered like deploy/ (`disable_standby_reads =
    /// true`): standbys forward reads, none may be stale, the history is linearizable.
    StaleReadsForwarded,
    /// Rolling upgrade 2.6.2 → 2.7.2 under load, in the order `vaultops upgrade next` gives
    /// (standbys, step-down, the old active), each node checked before the next. Runs on its
    /// own testbed (started on 2.6.2).
    Upgrade,
    /// New same-CA certificates for every node under load, delivered over the configured
    /// files and reloaded with SIGHUP one node at a time, each seen serving its new
    /// certificate before the next; no server process restarts (`docs/runbooks/cert-rotation.md`).
    CertRotation,
    /// CA rotation under load in three phases (trust bundle, new-CA leaves reloaded node by
    /// node, old CA dropped) with clients holding the bundle never failing a handshake; ends
    /// with a standby restarted. Runs on its own testbed (its CA is replaced).
    CaRotation,
    /// Unseal-key rotation under load (`vaultops rekey`'s functions: 5/3 → 6/4, new shares
    /// into an age bundle before verification), the old shares refused and the new ones
    /// accepted, barrier key rotation, then every node restarted and unsealed with shares
    /// decrypted from the new bundle. Runs on its own testbed (it replaces the testbed's keys).
    Rekey,
    /// Under load, a standby's container and volume are lost; the dead peer is removed with
    /// `vaultops raft remove-peer`'s code (refusals checked first), a node with a new
    /// identity joins, is unsealed and becomes a voter. Runs on its own testbed.
    ReplaceNode,
    /// Under load, 3 → 5 nodes (each new node held back as a permanent non-voter until
    /// caught up, then promoted) → 3 (demote, remove-peer, node removed), with autopilot's
    /// dead-server cleanup and a safe `min_quorum`. Runs on its own testbed.
    ScaleOutIn,
    /// Seal migration Shamir → static under load, in the order `vaultops seal migrate next`
    /// gives (each standby reconfigured, restarted and unsealed with migrate; the step-down;
    /// the old active), then every node restarted at once: back with no operator input. Runs
    /// on its own testbed (Shamir).
    SealMigration,
    /// Snapshot, destroy the cluster, fresh cluster, forced restore, unseal with the old keys.
    BackupRestore,
    /// Positive control: under load, a snapshot, more writes, then the snapshot restored with
    /// force. The writes acknowledged in between are lost for real: the run passes only when
    /// the verifier reports them and the checker finds the history not linearizable.
    RollbackControl,
}

/// The release the `upgrade` scenario's own testbed starts on.
pub(crate) const UPGRADE_FROM: &str = "2.6.2";
/// The release the `upgrade` scenario upgrades it to.
pub(crate) const UPGRADE_TO: &str = "2.7.2";

/// A testbed's seal and configuration (see [`Scenario::own_testbed`]). The default is the
/// shared testbed's: Shamir, and `disable_standby_reads = true` as deploy/ renders it, so
/// that every scenario but the stale-reads control runs on the production setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TestbedVariant {
    /// `None`: Shamir.
    pub seal: Option<vaultops_testbed::SealKind>,
    pub disable_standby_reads: bool,
    /// `None`: the default OpenBao release; else a pinned one (`2.6.2`).
    pub openbao_version: Option<&'static str>,
}

impl Default for TestbedVariant {
    fn default() -> Self {
        Self {
            seal: None,
            disable_standby_reads: true,
            openbao_version: None,
        }
    }
}

impl Scenario {
    pub const ALL: [Scenario; 23] = [
        Scenario::KillActive,
        Scenario::StopActive,
        Scenario::KillStandby,
        Scenario::StepDown,
        Scenario::PauseActive,
        Scenario::PartitionActive,
        Scenario::IsolateActive,
        Scenario::SealActive,
        Scenario::RollingRestart,
        Scenario::RestartAll,
        Scenario::RestartAllAuto,
        Scenario::QuorumLoss,
        Scenario::StaleReadsControl,
        Scenario::StaleReadsForwarded,
        Scenario::Upgrade,
        Scenario::CertRotation,
        Scenario::CaRotation,
        Scenario::Rekey,
        Scenario::ReplaceNode,
        Scenario::ScaleOutIn,
        Scenario::SealMigration,
        Scenario::BackupRestore,
        Scenario::RollbackControl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::KillActive => "kill-active",
            Scenario::StopActive => "stop-active",
            Scenario::KillStandby => "kill-standby",
            Scenario::StepDown => "step-down",
            Scenario::PauseActive => "pause-active",
            Scenario::PartitionActive => "partition-active",
            Scenario::IsolateActive => "isolate-active",
            Scenario::SealActive => "seal-active",
            Scenario::RollingRestart => "rolling-restart",
            Scenario::RestartAll => "restart-all",
            Scenario::RestartAllAuto => "restart-all-auto",
            Scenario::QuorumLoss => "quorum-loss",
            Scenario::StaleReadsControl => "stale-reads-control",
            Scenario::StaleReadsForwarded => "stale-reads-forwarded",
            Scenario::Upgrade => "upgrade",
            Scenario::CertRotation => "cert-rotation",
            Scenario::CaRotation => "ca-rotation",
            Scenario::Rekey => "rekey",
            Scenario::ReplaceNode => "replace-node",
            Scenario::ScaleOutIn => "scale-out-in",
            Scenario::SealMigration => "seal-migration",
            Scenario::BackupRestore => "backup-restore",
            Scenario::RollbackControl => "rollback-control",
        }
    }

    /// Positive controls lose acknowledged data (or serve stale reads) on purpose: their
    /// history must be found NOT linearizable, and their own check replaces the lost-write
    /// and counter checks.
    pub fn is_control(self) -> bool {
        matches!(
            self,
            Scenario::StaleReadsControl | Scenario::RollbackControl
        )
    }

    /// The testbed this scenario needs when it is not the shared one (Shamir, default
    /// configs): it then gets its own, removed right after.
    pub(crate) fn own_testbed(self) -> Option<TestbedVariant> {
        match self {
            Scenario::RestartAllAuto => Some(TestbedVariant {
                seal: Some(vaultops_testbed::SealKind::Static),
                ..TestbedVariant::default()
            }),
            Scenario::StaleReadsControl => Some(TestbedVariant {
                seal: None,
                disable_standby_reads: false,
                openbao_version: None,
            }),
            Scenario::Upgrade => Some(TestbedVariant {
                openbao_version: Some(UPGRADE_FROM),
                ..TestbedVariant::default()
            }),
            Scenario::CaRotation => Some(TestbedVariant::default()),
            // The rekey replaces the testbed's unseal keys: on the shared testbed, the suite's
            // own copy of it (and every later scenario's) would still hold the old ones.
            Scenario::Rekey => Some(TestbedVariant::default()),
            // Their node set changes (node2 → node4; node4 and node5 come and go): the
            // shared testbed keeps node1..node3 for the scenarios after them.
            Scenario::ReplaceNode | Scenario::ScaleOutIn => Some(TestbedVariant::default()),
            // It changes the seal of every node: its own testbed, removed right after.
            Scenario::SealMigration => Some(TestbedVariant::default()),
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
