//! Why a scenario could not run to its end. A scenario that ran but broke a budget is not an
//! error: its report says `passed: false` and lists the failed checks.
//!
//! Each variant is named after the step that failed; its cause is reachable through
//! [`std::error::Error::source`] only (never repeated in the message), and
//! [`ScenarioError::report`] prints the whole chain once, with the nodes' log lines.

use std::path::PathBuf;

use vaultops_api::{ApiError, BuildClientError};
use vaultops_backup::{BackupError, InventoryError};
use vaultops_bootstrap::BootstrapError;
use vaultops_bootstrap::WaitTimeout;
use vaultops_fs::AtomicWriteError;
use vaultops_install::InstallError;
use vaultops_testbed::InvalidName;
use vaultops_testbed::TestbedError;

use crate::catalogue::UnknownScenario;

/// A scenario step failed.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error(transparent)]
    UnknownScenario(#[from] UnknownScenario),
    #[error("testbed: {step}")]
    Testbed {
        step: &'static str,
        #[source]
        source: Box<TestbedError>,
    },
    #[error("{step}")]
    Api {
        step: &'static str,
        #[source]
        source: Box<ApiError>,
    },
    #[error("{step}")]
    Bootstrap {
        step: &'static str,
        #[source]
        source: Box<BootstrapError>,
    },
    #[error("upgrade: {step}")]
    UpgradeStep {
        step: &'static str,
        #[source]
        source: Box<vaultops_bootstrap::UpgradeError>,
    },
    #[error("upgrade: {reason}")]
    Upgrade { reason: String },
    /// A step of a certificate or CA rotation failed (issuing, bundling, reading what a node
    /// serves).
    #[error("certificate rotation: {step}")]
    CertRotation {
        step: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("rekey: {step}")]
    Rekey {
        step: &'static str,
        #[source]
        source: Box<vaultops_bootstrap::RekeyError>,
    },
    #[error("rekey: reading the new bundle {}", path.display())]
    RekeyBundle {
        path: PathBuf,
        #[source]
        source: vaultops_custody::StoreError,
    },
    #[error("rekey: decrypting a share of the new bundle")]
    RekeyShare(#[source] vaultops_custody::AgeError),
    #[error("rekey: the new bundle opened {opened} shares with the holders' identities, {shares} expected")]
    RekeyShares { opened: usize, shares: u8 },
    #[error("membership: {step}")]
    MembershipStep {
        step: &'static str,
        #[source]
        source: Box<vaultops_bootstrap::MembershipError>,
    },
    #[error("membership: {reason}")]
    Membership { reason: String },
    #[error("seal migration: {step}")]
    SealMigrationStep {
        step: &'static str,
        #[source]
        source: Box<vaultops_bootstrap::SealMigrationError>,
    },
    #[error("seal migration: {reason}")]
    SealMigration { reason: String },
    #[error("the active node's sys/leader gave no raft_committed_index: convergence cannot be checked (raft storage is required)")]
    NoRaftIndex,
    #[error("creating a client for {node}")]
    Client {
        node: String,
        #[source]
        source: BuildClientError,
    },
    #[error("naming a testbed {name:?}")]
    TestbedName {
        name: String,
        #[source]
        source: InvalidName,
    },
    /// A wait gave up; its message says what it waited for.
    #[error(transparent)]
    Wait(WaitTimeout),
    #[error("{node} does not serve KV reads after a write through the active node")]
    KvReady {
        node: String,
        #[source]
        source: WaitTimeout,
    },
    #[error("the workload needs at least one node and one writer")]
    NoWriters,
    #[error("waiting for a new active node before any fault was recorded (a scenario bug)")]
    NoFaultRecorded,
    #[error(
        "{scenario} replaces the testbed and runs as the backup drill, not as a fault on a \
         running testbed"
    )]
    NotAFault { scenario: String },
    #[error(
        "testbed {testbed} has no init.json (its unseal keys and root token): bring it up \
         again with `cargo xtask testbed up --name {testbed}`"
    )]
    NoInitRecord { testbed: String },
    #[error("{scenario} needs the 5 shares of a 5/3 split; init.json has {found}")]
    TooFewShares { scenario: String, found: usize },
    #[error("the workload's counter {key} is missing on the active node")]
    CounterMissing { key: String },
    #[error(
        "{node} is {role} (not active) during verification: reads from a standby may be \
         stale; run again"
    )]
    VerifiedOnStandby { node: String, role: String },
    #[error("the source has no AppRole {role}")]
    NoAppRole { role: &'static str },
    #[error("{step}")]
    Inventory {
        step: &'static str,
        #[source]
        source: Box<InventoryError>,
    },
    #[error("{step}")]
    Backup {
        step: &'static str,
        #[source]
        source: Box<BackupError>,
    },
    #[error("the bao binary for verify --restore")]
    InstallBao(#[source] InstallError),
    #[error(
        "no node became active after the restore: the target's declarative audit devices \
         differ from the audit table in the snapshot (OpenBao logs \"{marker}\"); the restore \
         target's audit stanzas must equal the source's, e.g. the testbed's socket audit sink \
         addressed by DNS name (audit-sink:9090) rather than by its per-network IP \
         (docs/scenarios.md, \"audit devices must match\")"
    )]
    RestoreAuditMismatch {
        marker: &'static str,
        #[source]
        source: Box<ScenarioError>,
    },
    #[error("{action} {}", path.display())]
    DrillFile {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing a drill file")]
    WriteDrillFile(#[source] AtomicWriteError),
    /// Creating the reports directory or serializing a report.
    #[error("writing the report {}", path.display())]
    Report {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing a report file")]
    WriteReport(#[source] AtomicWriteError),
    /// A scenario stopped on an error; `logs` holds every node's last log lines (printed by
    /// [`ScenarioError::report`] after the cause).
    #[error("scenario {scenario}")]
    InScenario {
        scenario: String,
        logs: String,
        #[source]
        source: Box<ScenarioError>,
    },
}

impl ScenarioError {
    /// The error and its causes ([`vaultops_types::error_report`]), then every node's last
    /// log lines when the error carries them.
    pub fn report(&self) -> String {
        let mut out = vaultops_types::error_report(self);
        for logs in self.node_logs() {
            out.push('\n');
            out.push_str(logs);
        }
        out
    }

    /// Every node's last log lines, when a scenario stopped on this error.
    pub fn node_logs(&self) -> Vec<&str> {
        match self {
            ScenarioError::InScenario { logs, source, .. } => {
                let mut v = vec![logs.as_str()];
                v.extend(source.node_logs());
                v
            }
            ScenarioError::RestoreAuditMismatch { source, .. } => source.node_logs(),
            _ => Vec::new(),
        }
    }
}

/// Shorthand for mapping an API error of step `step`.
pub(crate) fn api(step: &'static str) -> impl FnOnce(ApiError) -> ScenarioError {
    move |source| ScenarioError::Api {
        step,
        source: Box::new(source),
    }
}

/// Shorthand for mapping a testbed error of step `step`.
pub(crate) fn testbed(step: &'static str) -> impl FnOnce(TestbedError) -> ScenarioError {
    move |source| ScenarioError::Testbed {
        step,
        source: Box::new(source),
    }
}

/// Shorthand for mapping a bootstrap error of step `step`.
pub(crate) fn boot(step: &'static str) -> impl FnOnce(BootstrapError) -> ScenarioError {
    move |source| ScenarioError::Bootstrap {
        step,
        source: Box::new(source),
    }
}

/// Shorthand for mapping a backup error of step `step`.
pub(crate) fn backup(step: &'static str) -> impl FnOnce(BackupError) -> ScenarioError {
    move |source| ScenarioError::Backup {
        step,
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_prints_each_cause_once_then_the_logs() {
        let inner = ScenarioError::KvReady {
            node: "node2".into(),
            source: WaitTimeout {
                what: "every node to serve KV reads".into(),
                waited: std::time::Duration::from_secs(120),
                last: "marker not visible yet".into(),
            },
        };
        let e = ScenarioError::InScenario {
            scenario: "kill-active".into(),
            logs: "--- node1 last 30 lines ---\nhello".into(),
            source: Box::new(inner),
        };
        let r = e.report();
        assert!(
            r.starts_with(
                "scenario kill-active: node2 does not serve KV reads after a write through the active node: "
            ),
            "{r}"
        );
        assert!(r.contains("marker not visible yet"), "{r}");
        assert!(r.ends_with("\n--- node1 last 30 lines ---\nhello"), "{r}");
        assert_eq!(r.matches("node2 does not serve").count(), 1, "{r}");
    }

    #[test]
    fn messages_do_not_repeat_their_cause() {
        let e = ScenarioError::Report {
            path: "/x/r.json".into(),
            source: std::io::Error::other("disk full"),
        };
        assert_eq!(e.to_string(), "writing the report /x/r.json");
        assert_eq!(e.report(), "writing the report /x/r.json: disk full");
    }
}
