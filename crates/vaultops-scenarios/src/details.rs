//! The scenario-specific section of a report (`details` in the JSON): typed records of what a
//! scenario's fault steps observed (the pause, the restart phases, the quorum outage, the
//! reads, the backup figures) and of what the post-run checks found in them. The engine
//! writes and reads these types; serde turns them into the report's JSON and nothing reads
//! them back from JSON.
//!
//! A value a fault step did not get to observe is `None`, and a check that needs it fails,
//! naming it (see `checks`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{node, secs};

/// Scenario-specific figures of one run; each scenario fills its own fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Details {
    /// `pause-active`: the pause as its fault step saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<PauseRecord>,
    /// `pause-active`: the requests the paused node answered after the new leader appeared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_leader_answers: Option<StaleLeaderAnswers>,
    /// `rolling-restart`: one phase per restarted node, in restart order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<Vec<RestartPhase>>,
    /// `rolling-restart`: the largest gap between acknowledged writes in each phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase_gaps: Option<Vec<PhaseGap>>,
    /// `quorum-loss`: when no leader could exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage: Option<Outage>,
    /// `quorum-loss`: the writes sent during the outage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writes_without_quorum: Option<WritesWithoutQuorum>,
    /// `seal-active`: the server's answer to the wrong unseal key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrong_key_error: Option<String>,
    /// `stale-reads`, `stale-reads-forwarded`: read-after-write through every node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_after_write: Option<ReadAfterWrite>,
    /// `backup-restore`: the drill's figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupFigures>,
    /// `backup-restore`: seconds to bring the target testbed up (also in `backup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_up_s: Option<f64>,
    /// `rekey`: the rotation phase (rekey, verification, probes, barrier key rotation) and
    /// the largest write gap in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rekey: Option<RekeyRecord>,
    /// `rollback-control`: when the snapshot was taken and restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackRecord>,
    /// `rollback-control`: the writes the rollback must have lost, and what the verifier
    /// reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_findings: Option<RollbackFindings>,
}

/// `rekey`: the rotation phase, from the plan to the new barrier key term (run clock), under
/// load and with every node up: the largest gap between acknowledged writes in it is filled
/// in by the post-run check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RekeyRecord {
    #[serde(rename = "from_s", with = "secs")]
    pub from: Duration,
    #[serde(rename = "to_s", with = "secs")]
    pub to: Duration,
    /// The barrier key term before and after `rotate-encryption-key`.
    pub term_before: u64,
    pub term_after: u64,
    #[serde(
        rename = "largest_write_gap_s",
        default,
        with = "secs::opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub largest_write_gap: Option<Duration>,
}

/// `rollback-control`: the snapshot and its forced restore, under load (run clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackRecord {
    #[serde(rename = "snapshot_started_s", with = "secs")]
    pub snapshot_started: Duration,
    #[serde(rename = "snapshot_done_s", with = "secs")]
    pub snapshot_done: Duration,
    #[serde(rename = "restore_started_s", with = "secs")]
    pub restore_started: Duration,
    #[serde(rename = "restore_done_s", with = "secs")]
    pub restore_done: Duration,
}

/// `rollback-control`: what the verifier had to find. A write acknowledged after the
/// snapshot was complete and before the restore began is certainly rolled back; one
/// acknowledged while the snapshot or the restore ran may or may not be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackFindings {
    /// Unique-key writes certainly rolled back.
    pub certainly_lost: usize,
    /// Unique-key writes that may have been rolled back (the certain ones included).
    pub possibly_lost: usize,
    /// Unique-key writes the verifier reported lost.
    pub reported_lost: usize,
    /// Certainly rolled back, yet not reported (the verifier missed them).
    pub missed: Vec<String>,
    /// Reported lost although acknowledged before the snapshot began (a loss the rollback
    /// does not explain).
    pub unexplained: Vec<String>,
}

/// `pause-active`: what the fault step observed (run clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseRecord {
    /// The node that was active, then paused.
    #[serde(with = "node")]
    pub paused_node: usize,
    /// How long the node was paused.
    #[serde(rename = "pause_s", default, with = "secs::opt")]
    pub held: Option<Duration>,
    /// When another node was first seen active.
    #[serde(rename = "new_active_seen_at_s", default, with = "secs::opt")]
    pub new_active_seen_at: Option<Duration>,
    /// When the paused node was resumed.
    #[serde(rename = "resumed_at_s", default, with = "secs::opt")]
    pub resumed_at: Option<Duration>,
}

/// `pause-active`: requests sent to the paused node, started before it resumed and answered
/// after the new leader was first seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleLeaderAnswers {
    pub requests: usize,
    pub acknowledged: usize,
    pub probes_acknowledged: usize,
    pub probe_errors: Vec<String>,
    /// Acknowledged, then missing on the new active node.
    pub acknowledged_but_missing: usize,
}

/// `rolling-restart`: one node's restart, from its restart to autopilot healthy again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartPhase {
    #[serde(with = "node")]
    pub node: usize,
    pub was_active: bool,
    #[serde(rename = "from_s", with = "secs")]
    pub from: Duration,
    #[serde(rename = "to_s", with = "secs")]
    pub to: Duration,
}

/// `rolling-restart`: the largest gap between acknowledged writes during one phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseGap {
    #[serde(with = "node")]
    pub node: usize,
    pub was_active: bool,
    #[serde(rename = "largest_write_gap_s", with = "secs")]
    pub largest_write_gap: Duration,
}

/// `quorum-loss`: the window in which no leader could exist (run clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outage {
    /// The survivor was seen giving up leadership.
    #[serde(rename = "no_leader_from_s", with = "secs")]
    pub no_leader_from: Duration,
    /// The killed nodes were about to be started again.
    #[serde(rename = "recovery_from_s", with = "secs")]
    pub recovery_from: Duration,
}

/// `quorum-loss`: the writes sent while no leader could exist.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WritesWithoutQuorum {
    pub requests: usize,
    pub acknowledged: usize,
    /// Failed writes by error kind (`no-leader-500`, …).
    pub errors_by_kind: BTreeMap<String, u64>,
    /// The first message seen for each of those kinds.
    pub error_messages: BTreeMap<String, String>,
}

/// `stale-reads*`: read-after-write through every node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadAfterWrite {
    /// The standby-reads setting the testbed was rendered with.
    pub config: String,
    pub standby_stale_rate: f64,
    pub nodes: Vec<NodeReads>,
}

/// `stale-reads*`: one node's reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeReads {
    #[serde(with = "node")]
    pub node: usize,
    /// `active` or `standby`.
    pub role: String,
    pub stale: u64,
    pub reads: usize,
    pub stale_rate: f64,
    pub visible_after_ms_median: Option<f64>,
    pub visible_after_ms_max: Option<f64>,
    pub not_visible_within_5s: u64,
}

/// `backup-restore`: sizes, checksums and timings of the drill (seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupFigures {
    pub secrets: usize,
    pub write_s: f64,
    pub snapshot_bytes: u64,
    pub snapshot_sha256: String,
    pub encrypted_bytes: u64,
    pub encrypted_sha256: String,
    pub snapshot_save_s: f64,
    pub target_up_s: f64,
    pub restore_call_s: f64,
    pub restore_to_all_sealed_s: f64,
    pub unseal_old_keys_to_active_s: f64,
    pub verify_s: f64,
    /// `None`: `verify --restore` failed (its check says why).
    pub verify_restore_s: Option<f64>,
    pub source_inventory_secrets: u64,
    pub secrets_verified: usize,
    /// The server's answer to each refused snapshot (`truncated`, `corrupted`).
    pub refused: BTreeMap<String, String>,
    pub target_marker_after_restore: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON keeps the shape the reports had when details were built with `json!`.
    #[test]
    fn pause_and_phases_serialize_as_before() {
        let d = Details {
            pause: Some(PauseRecord {
                paused_node: 1,
                held: Some(Duration::from_millis(4500)),
                new_active_seen_at: Some(Duration::from_secs(3)),
                resumed_at: Some(Duration::from_secs(7)),
            }),
            phases: Some(vec![RestartPhase {
                node: 0,
                was_active: false,
                from: Duration::from_secs(1),
                to: Duration::from_secs(2),
            }]),
            ..Default::default()
        };
        let j = serde_json::to_value(&d).unwrap();
        assert_eq!(
            j,
            serde_json::json!({
                "pause": {"paused_node": "node2", "pause_s": 4.5, "new_active_seen_at_s": 3.0, "resumed_at_s": 7.0},
                "phases": [{"node": "node1", "was_active": false, "from_s": 1.0, "to_s": 2.0}],
            })
        );
        assert_eq!(serde_json::from_value::<Details>(j).unwrap(), d);
        assert_eq!(
            serde_json::to_value(Details::default()).unwrap(),
            serde_json::json!({})
        );
    }
}
