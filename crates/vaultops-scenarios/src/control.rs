//! Positive controls: scenarios that lose acknowledged data on purpose, and the checks that
//! pass only when the verifier reports exactly that loss (pure). A suite whose verifier has
//! never been seen to fail proves nothing; these runs show it failing where it must.
//!
//! `rollback-control`: a snapshot taken under load, more writes, then the snapshot restored
//! with force. The writes acknowledged between the end of the snapshot and the start of the
//! restore are rolled back for real.

use std::collections::BTreeSet;

use crate::details::{RollbackFindings, RollbackRecord};
use crate::model::{Check, Op, Outcome};
use crate::verify::Verification;
use crate::workload::WorkloadLog;

pub(crate) const ROLLBACK_CHECK: &str = "the verifier reports the rolled-back writes";

/// The rollback control's check: at least one write was certainly rolled back, every such
/// write is reported lost, and every reported loss was acknowledged after the snapshot
/// began (the rollback explains it).
pub(crate) fn rollback_check(
    record: Option<&RollbackRecord>,
    log: &WorkloadLog,
    verification: Option<&Verification>,
) -> (Check, Option<RollbackFindings>) {
    let fail = |detail: String| Check {
        name: ROLLBACK_CHECK.to_owned(),
        passed: false,
        detail,
    };
    let Some(r) = record else {
        return (
            fail("no rollback record: the fault step recorded no snapshot or restore time".into()),
            None,
        );
    };
    let Some(v) = verification else {
        return (
            fail("no verification: the run read nothing back".into()),
            None,
        );
    };
    let keys = &log.keys;
    let mut certain = BTreeSet::new();
    let mut possible = BTreeSet::new();
    for a in &log.attempts {
        if let (Op::Write { seq }, Outcome::Ack { .. }) = (&a.op, &a.outcome) {
            let key = keys.key(a.writer, *seq);
            if a.start >= r.snapshot_done && a.end <= r.restore_started {
                certain.insert(key.clone());
            }
            if a.end >= r.snapshot_started && a.start <= r.restore_done {
                possible.insert(key);
            }
        }
    }
    let reported: BTreeSet<&String> = v.lost_keys.iter().collect();
    let missed: Vec<String> = certain
        .iter()
        .filter(|k| !reported.contains(k))
        .cloned()
        .collect();
    let unexplained: Vec<String> = v
        .lost_keys
        .iter()
        .filter(|k| !possible.contains(*k))
        .cloned()
        .collect();
    let findings = RollbackFindings {
        certainly_lost: certain.len(),
        possibly_lost: possible.len(),
        reported_lost: v.lost_keys.len(),
        missed,
        unexplained,
    };
    let passed = findings.certainly_lost > 0
        && findings.missed.is_empty()
        && findings.unexplained.is_empty();
    let detail = format!(
        "{} writes certainly rolled back ({} possibly), {} reported lost; missed {}, unexplained {}{}",
        findings.certainly_lost,
        findings.possibly_lost,
        findings.reported_lost,
        findings.missed.len(),
        findings.unexplained.len(),
        if findings.certainly_lost == 0 {
            "; nothing was acknowledged between the snapshot and the restore: the control proves nothing"
        } else {
            ""
        }
    );
    (
        Check {
            name: ROLLBACK_CHECK.to_owned(),
            passed,
            detail,
        },
        Some(findings),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Attempt;
    use crate::verify::{check_counter, Verification};
    use crate::workload::{CounterStart, Keyspace, WorkloadLog};
    use std::time::Duration;

    fn s(x: f64) -> Duration {
        Duration::from_secs_f64(x)
    }

    fn log() -> WorkloadLog {
        // w0-0 before the snapshot, w0-1 during it, w0-2 and w0-3 between snapshot and
        // restore, w0-4 after the restore.
        let times = [(1.0, 1.1), (2.0, 2.2), (3.0, 3.1), (4.0, 4.1), (7.0, 7.1)];
        let attempts = times
            .iter()
            .enumerate()
            .map(|(i, (a, b))| Attempt {
                writer: 0,
                node: 0,
                start: s(*a),
                end: s(*b),
                op: Op::Write { seq: i as u64 },
                outcome: Outcome::Ack { version: 1 },
            })
            .collect();
        WorkloadLog {
            keys: Keyspace::new("secret", "t"),
            registers: 0,
            counter_start: CounterStart {
                value: 0,
                version: 1,
            },
            attempts,
            error_samples: Default::default(),
        }
    }

    fn record() -> RollbackRecord {
        RollbackRecord {
            snapshot_started: s(1.9),
            snapshot_done: s(2.5),
            restore_started: s(5.0),
            restore_done: s(6.0),
        }
    }

    fn verified(log: &WorkloadLog, lost: &[u64]) -> Verification {
        let lost_keys: Vec<String> = lost.iter().map(|q| log.keys.key(0, *q)).collect();
        Verification {
            read_from: "n".into(),
            acked_writes: 5,
            verified: 5 - lost.len() as u64,
            lost_writes: lost.len() as u64,
            lost_keys,
            ambiguous_writes: 0,
            ambiguous_present: 0,
            counter: check_counter(log, 0, 1),
            history: None,
            linearizable: None,
            convergence: None,
        }
    }

    fn judge(lost: &[u64]) -> (Check, RollbackFindings) {
        let l = log();
        let v = verified(&l, lost);
        let (c, f) = rollback_check(Some(&record()), &l, Some(&v));
        (c, f.unwrap())
    }

    #[test]
    fn the_control_passes_only_when_the_rollback_is_reported() {
        let (c, f) = judge(&[2, 3]);
        assert!(c.passed, "{c:?}");
        assert_eq!((f.certainly_lost, f.possibly_lost), (2, 3));
        // The write acknowledged during the snapshot may or may not be lost.
        assert!(judge(&[1, 2, 3]).0.passed);
    }

    #[test]
    fn a_verifier_that_misses_the_loss_fails_the_control() {
        let (c, f) = judge(&[]);
        assert!(!c.passed, "{c:?}");
        assert_eq!(f.missed.len(), 2);
        assert!(!judge(&[2]).0.passed);
    }

    #[test]
    fn a_loss_the_rollback_does_not_explain_fails_the_control() {
        let (c, f) = judge(&[0, 2, 3]);
        assert!(!c.passed, "{c:?}");
        assert_eq!(f.unexplained, vec![log().keys.key(0, 0)]);
    }

    #[test]
    fn a_missing_record_or_verification_fails() {
        let l = log();
        let v = verified(&l, &[2, 3]);
        assert!(!rollback_check(Some(&record()), &l, None).0.passed);
        assert!(!rollback_check(None, &l, Some(&v)).0.passed);
    }
}
