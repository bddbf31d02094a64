//! The checks computed after a run from a scenario's typed record ([`crate::details`]), the
//! whole workload log and the verification (pure). A record, or a value in it, that the fault
//! step did not produce makes its check fail with a message naming what is missing: an absent
//! observation never passes.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::analysis;
use crate::catalogue::Scenario;
use crate::details::{
    Details, Outage, PauseRecord, PhaseGap, RekeyRecord, RestartPhase, StaleLeaderAnswers,
    WritesWithoutQuorum,
};
use crate::model::{node_name, Check, Op, Outcome, PROBE_WRITER};
use crate::options::Budgets;
use crate::verify::Verification;
use crate::workload::WorkloadLog;

/// Probe writes `pause-active` queues at the paused active node.
pub(crate) const PAUSE_PROBES: usize = 4;

pub(crate) const PAUSE_CHECK: &str =
    "old leader acknowledged nothing after the new leader was elected";
pub(crate) const ROLLING_CHECK: &str = "writes continue while standbys restart";
pub(crate) const QUORUM_CHECK: &str = "no write acknowledged without quorum";
pub(crate) const REKEY_CHECK: &str = "writes continue while the keys are rotated";

/// What a post-run check needs besides the scenario's record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunFacts<'a> {
    pub log: &'a WorkloadLog,
    pub verification: Option<&'a Verification>,
    /// Nodes of the testbed the scenario ran on.
    pub nodes: usize,
}

/// The scenario's own post-run checks (none for most): their results go to `details`, the
/// checks are returned in report order.
pub(crate) fn post_checks(
    scenario: Scenario,
    details: &mut Details,
    facts: RunFacts<'_>,
    budgets: &Budgets,
) -> Vec<Check> {
    match scenario {
        Scenario::PauseActive => {
            let (check, answers) = pause_check(details.pause.as_ref(), facts);
            details.stale_leader_answers = answers;
            vec![check]
        }
        Scenario::RollingRestart => {
            let (check, gaps) = rolling_check(
                details.phases.as_deref(),
                facts.log,
                budgets.standby_unavailability,
            );
            details.phase_gaps = gaps;
            vec![check]
        }
        Scenario::QuorumLoss => {
            let (check, writes) = quorum_check(details.outage.as_ref(), facts.log);
            details.writes_without_quorum = writes;
            vec![check]
        }
        Scenario::Rekey => {
            let (check, record) = rekey_check(
                details.rekey.take(),
                facts.log,
                budgets.standby_unavailability,
            );
            details.rekey = record;
            vec![check]
        }
        Scenario::RollbackControl => {
            let (check, findings) = crate::control::rollback_check(
                details.rollback.as_ref(),
                facts.log,
                facts.verification,
            );
            details.rollback_findings = findings;
            vec![check]
        }
        _ => Vec::new(),
    }
}

fn failed(name: &str, detail: impl Into<String>) -> Check {
    Check {
        name: name.to_owned(),
        passed: false,
        detail: detail.into(),
    }
}

/// The pause scenario's check on the requests the paused node answered. Definition: a
/// request sent to the paused node P, started before P resumed and answered after the new
/// leader was first seen, is a "stale-leader answer". Each acknowledged one must be present
/// on the new active node (the general lost-write check covers every write; this one
/// reports them separately).
pub(crate) fn pause_check(
    record: Option<&PauseRecord>,
    facts: RunFacts<'_>,
) -> (Check, Option<StaleLeaderAnswers>) {
    let Some(p) = record else {
        return (
            failed(
                PAUSE_CHECK,
                "no pause record: the fault step recorded no paused node, election time or resume time",
            ),
            None,
        );
    };
    let node = node_name(p.paused_node);
    if p.paused_node >= facts.nodes {
        return (
            failed(
                PAUSE_CHECK,
                format!(
                    "the pause record names {node}, not one of the {} nodes",
                    facts.nodes
                ),
            ),
            None,
        );
    }
    let (Some(elected), Some(resumed)) = (p.new_active_seen_at, p.resumed_at) else {
        let missing: Vec<&str> = [
            ("new_active_seen_at_s", p.new_active_seen_at.is_none()),
            ("resumed_at_s", p.resumed_at.is_none()),
        ]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(n, _)| *n)
        .collect();
        return (
            failed(
                PAUSE_CHECK,
                format!(
                    "the pause record of {node} has no {}",
                    missing.join(" and no ")
                ),
            ),
            None,
        );
    };
    if resumed < elected {
        return (
            failed(
                PAUSE_CHECK,
                format!(
                    "the pause record of {node} says it resumed at {:.3} s, before the new leader was seen at {:.3} s: no window to check",
                    resumed.as_secs_f64(),
                    elected.as_secs_f64()
                ),
            ),
            None,
        );
    }
    let log = facts.log;
    let stale: Vec<_> = log
        .attempts
        .iter()
        .filter(|a| {
            a.op.is_write() && a.node == p.paused_node && a.start < resumed && a.end > elected
        })
        .collect();
    let acked: Vec<_> = stale
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Ack { .. }))
        .collect();
    let probes_acked = acked.iter().filter(|a| a.writer == PROBE_WRITER).count();
    let probe_errors: Vec<String> = stale
        .iter()
        .filter(|a| a.writer == PROBE_WRITER)
        .filter_map(|a| match a.outcome {
            Outcome::Error { class } => Some(class.to_string()),
            Outcome::Ack { .. } => None,
        })
        .collect();
    let lost = facts.verification.map_or(0, |v| {
        acked
            .iter()
            .filter(|a| match a.op {
                Op::Write { seq } => v.lost_keys.contains(&log.keys.key(a.writer, seq)),
                _ => false,
            })
            .count()
    });
    let counter_ok = facts.verification.is_some_and(|v| v.counter.consistent);
    let check = Check {
        name: PAUSE_CHECK.into(),
        passed: lost == 0 && counter_ok,
        detail: format!(
            "{} requests to paused {node} answered after the new leader appeared: {} acknowledged (probes {probes_acked} of {PAUSE_PROBES}; probe errors: {}), {lost} of them missing",
            stale.len(),
            acked.len(),
            if probe_errors.is_empty() { "none".to_owned() } else { probe_errors.join(", ") }
        ),
    };
    let answers = StaleLeaderAnswers {
        requests: stale.len(),
        acknowledged: acked.len(),
        probes_acknowledged: probes_acked,
        probe_errors,
        acknowledged_but_missing: lost,
    };
    (check, Some(answers))
}

/// The rolling restart's check that writes continued while standbys restarted.
pub(crate) fn rolling_check(
    phases: Option<&[RestartPhase]>,
    log: &WorkloadLog,
    standby_budget: Duration,
) -> (Check, Option<Vec<PhaseGap>>) {
    let Some(phases) = phases.filter(|p| !p.is_empty()) else {
        return (failed(ROLLING_CHECK, "no restart phases recorded"), None);
    };
    if let Some(p) = phases.iter().find(|p| p.to < p.from) {
        return (
            failed(
                ROLLING_CHECK,
                format!(
                    "the restart phase of {} ends at {:.3} s, before it began at {:.3} s",
                    node_name(p.node),
                    p.to.as_secs_f64(),
                    p.from.as_secs_f64()
                ),
            ),
            None,
        );
    }
    if phases.iter().all(|p| p.was_active) {
        return (
            failed(
                ROLLING_CHECK,
                "no standby restart phase recorded: nothing to measure",
            ),
            None,
        );
    }
    let acks = analysis::ack_times(&log.attempts);
    let mut worst = Duration::ZERO;
    let mut gaps = Vec::new();
    for p in phases {
        let gap = analysis::largest_gap_within(&acks, p.from, p.to);
        if !p.was_active {
            worst = worst.max(gap);
        }
        gaps.push(PhaseGap {
            node: p.node,
            was_active: p.was_active,
            largest_write_gap: gap,
        });
    }
    let check = Check {
        name: ROLLING_CHECK.into(),
        passed: worst <= standby_budget,
        detail: format!(
            "largest write gap during a standby's restart {:.2} s (budget {:.1} s)",
            worst.as_secs_f64(),
            standby_budget.as_secs_f64()
        ),
    };
    (check, Some(gaps))
}

/// The rekey's check that writes went on while the unseal shares and the barrier key were
/// rotated (every node up): the largest gap between acknowledgements in that phase.
pub(crate) fn rekey_check(
    record: Option<RekeyRecord>,
    log: &WorkloadLog,
    budget: Duration,
) -> (Check, Option<RekeyRecord>) {
    let Some(mut r) = record else {
        return (failed(REKEY_CHECK, "no rotation phase recorded"), None);
    };
    if r.to < r.from {
        return (
            failed(REKEY_CHECK, "the rotation phase ends before it began"),
            Some(r),
        );
    }
    let gap = analysis::largest_gap_within(&analysis::ack_times(&log.attempts), r.from, r.to);
    r.largest_write_gap = Some(gap);
    let check = Check {
        name: REKEY_CHECK.into(),
        passed: gap <= budget,
        detail: format!(
            "largest write gap from the rekey plan to the new key term ({:.2} s long) {:.2} s \
             (budget {:.1} s)",
            r.to.saturating_sub(r.from).as_secs_f64(),
            gap.as_secs_f64(),
            budget.as_secs_f64()
        ),
    };
    (check, Some(r))
}

/// Quorum loss must refuse writes with clear errors while it lasts.
pub(crate) fn quorum_check(
    outage: Option<&Outage>,
    log: &WorkloadLog,
) -> (Check, Option<WritesWithoutQuorum>) {
    let Some(o) = outage else {
        return (
            failed(
                QUORUM_CHECK,
                "no outage record: the fault step recorded no time without a leader",
            ),
            None,
        );
    };
    let (from, to) = (o.no_leader_from, o.recovery_from);
    if to <= from {
        return (
            failed(
                QUORUM_CHECK,
                format!(
                    "the outage record's recovery ({:.3} s) does not follow the loss of the leader ({:.3} s)",
                    to.as_secs_f64(),
                    from.as_secs_f64()
                ),
            ),
            None,
        );
    }
    let during: Vec<_> = log
        .attempts
        .iter()
        .filter(|a| a.op.is_write() && a.start >= from && a.end <= to)
        .collect();
    let acked = during.iter().filter(|a| a.is_write_ack()).count();
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for a in &during {
        if let Outcome::Error { class } = a.outcome {
            *kinds.entry(class.to_string()).or_insert(0) += 1;
        }
    }
    let samples: BTreeMap<String, String> = log
        .error_samples
        .iter()
        .filter(|(k, _)| kinds.contains_key(&k.to_string()))
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let check = Check {
        name: QUORUM_CHECK.into(),
        passed: acked == 0 && !during.is_empty(),
        detail: format!(
            "{} writes sent while no leader could exist: {acked} acknowledged; errors {:?}",
            during.len(),
            kinds
        ),
    };
    let writes = WritesWithoutQuorum {
        requests: during.len(),
        acknowledged: acked,
        errors_by_kind: kinds,
        error_messages: samples,
    };
    (check, Some(writes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attempt, ErrorClass};
    use crate::verify::CounterCheck;
    use crate::workload::{CounterStart, Keyspace};

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn write(writer: u16, seq: u64, node: usize, start: f64, end: f64, ack: bool) -> Attempt {
        Attempt {
            writer,
            node,
            start: secs(start),
            end: secs(end),
            op: Op::Write { seq },
            outcome: if ack {
                Outcome::Ack { version: 1 }
            } else {
                Outcome::Error {
                    class: ErrorClass::NoLeader500,
                }
            },
        }
    }

    fn log(attempts: Vec<Attempt>) -> WorkloadLog {
        WorkloadLog {
            registers: 0,
            keys: Keyspace::new("secret", "t"),
            counter_start: CounterStart {
                value: 0,
                version: 1,
            },
            attempts,
            error_samples: Default::default(),
        }
    }

    fn verification(lost_keys: Vec<String>, consistent: bool) -> Verification {
        Verification {
            read_from: "node2".into(),
            acked_writes: 10,
            verified: 10 - lost_keys.len() as u64,
            lost_writes: lost_keys.len() as u64,
            lost_keys,
            ambiguous_writes: 0,
            ambiguous_present: 0,
            counter: CounterCheck {
                initial_value: 0,
                initial_version: 1,
                final_value: 0,
                final_version: 1,
                acked_increments: 0,
                ambiguous_increments: 0,
                unexplained_versions: vec![],
                duplicate_versions: vec![],
                lost_increments: 0,
                consistent,
            },
            history: None,
            linearizable: None,
            convergence: None,
        }
    }

    fn pause(node: usize, elected: Option<f64>, resumed: Option<f64>) -> PauseRecord {
        PauseRecord {
            paused_node: node,
            held: Some(secs(4.5)),
            new_active_seen_at: elected.map(secs),
            resumed_at: resumed.map(secs),
        }
    }

    /// Node 0 paused from 2 s; node 1 seen active at 4 s; node 0 resumed at 7 s. A probe
    /// queued at 2.5 s is answered (acknowledged) at 7.1 s.
    fn pause_log() -> WorkloadLog {
        log(vec![
            write(0, 1, 0, 1.0, 1.1, true),
            write(PROBE_WRITER, 0, 0, 2.5, 7.1, true),
            write(PROBE_WRITER, 1, 0, 2.5, 7.1, false),
            write(1, 1, 1, 5.0, 5.1, true),
        ])
    }

    #[test]
    fn rekey_check_measures_the_rotation_phase_and_fails_on_a_stall_or_no_record() {
        let rec = |from: f64, to: f64| RekeyRecord {
            from: secs(from),
            to: secs(to),
            term_before: 1,
            term_after: 2,
            largest_write_gap: None,
        };
        let acks = |ts: &[f64]| {
            log(ts
                .iter()
                .enumerate()
                .map(|(i, t)| write(0, i as u64, 0, t - 0.01, *t, true))
                .collect())
        };
        let budget = secs(2.5);
        // Writes every 0.5 s through the phase 1 s .. 4 s: the gap is 0.5 s.
        let l = acks(&[0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5]);
        let (c, r) = rekey_check(Some(rec(1.0, 4.0)), &l, budget);
        assert!(c.passed, "{c:?}");
        assert_eq!(r.unwrap().largest_write_gap, Some(secs(0.5)));
        // Forged stall: no acknowledgement from 1 s to 4.5 s.
        let l = acks(&[0.5, 1.0, 4.5]);
        let (c, r) = rekey_check(Some(rec(1.0, 4.0)), &l, budget);
        assert!(!c.passed && c.detail.contains("3.00 s (budget"), "{c:?}");
        assert_eq!(r.unwrap().largest_write_gap, Some(secs(3.0)));
        let (c, _) = rekey_check(None, &l, budget);
        assert!(!c.passed && c.detail.contains("no rotation phase"), "{c:?}");
    }

    #[test]
    fn pause_check_counts_stale_leader_answers() {
        let l = pause_log();
        let v = verification(vec![], true);
        let facts = RunFacts {
            log: &l,
            verification: Some(&v),
            nodes: 3,
        };
        let (c, a) = pause_check(Some(&pause(0, Some(4.0), Some(7.0))), facts);
        assert!(c.passed, "{c:?}");
        assert_eq!(c.name, PAUSE_CHECK);
        let a = a.unwrap();
        assert_eq!(
            (a.requests, a.acknowledged, a.probes_acknowledged),
            (2, 1, 1)
        );
        assert_eq!(a.probe_errors, vec!["no-leader-500".to_owned()]);
        assert!(
            c.detail.contains("2 requests to paused node1"),
            "{}",
            c.detail
        );

        // The acknowledged probe is missing on the new leader: the check fails.
        let key = l.keys.key(PROBE_WRITER, 0);
        let v = verification(vec![key], true);
        let facts = RunFacts {
            verification: Some(&v),
            ..facts
        };
        let (c, a) = pause_check(Some(&pause(0, Some(4.0), Some(7.0))), facts);
        assert!(!c.passed, "{c:?}");
        assert_eq!(a.unwrap().acknowledged_but_missing, 1);
    }

    #[test]
    fn pause_check_fails_without_a_record_or_a_value() {
        let l = pause_log();
        let v = verification(vec![], true);
        let facts = RunFacts {
            log: &l,
            verification: Some(&v),
            nodes: 3,
        };
        let (c, a) = pause_check(None, facts);
        assert!(!c.passed && a.is_none(), "{c:?}");
        assert!(c.detail.contains("no pause record"), "{}", c.detail);

        let (c, _) = pause_check(Some(&pause(0, None, Some(7.0))), facts);
        assert!(!c.passed, "{c:?}");
        assert!(c.detail.contains("new_active_seen_at_s"), "{}", c.detail);

        let (c, _) = pause_check(Some(&pause(0, Some(4.0), None)), facts);
        assert!(!c.passed, "{c:?}");
        assert!(c.detail.contains("resumed_at_s"), "{}", c.detail);

        let (c, _) = pause_check(Some(&pause(0, None, None)), facts);
        assert!(
            c.detail
                .contains("no new_active_seen_at_s and no resumed_at_s"),
            "{}",
            c.detail
        );
    }

    #[test]
    fn pause_check_fails_on_bad_values() {
        let l = pause_log();
        let v = verification(vec![], true);
        let facts = RunFacts {
            log: &l,
            verification: Some(&v),
            nodes: 3,
        };
        // A node that is not in the testbed (the old parser turned it into "no request").
        let (c, _) = pause_check(Some(&pause(7, Some(4.0), Some(7.0))), facts);
        assert!(!c.passed, "{c:?}");
        assert!(
            c.detail.contains("node8, not one of the 3 nodes"),
            "{}",
            c.detail
        );
        // Resumed before the new leader was seen: an empty window would check nothing.
        let (c, _) = pause_check(Some(&pause(0, Some(7.0), Some(4.0))), facts);
        assert!(!c.passed, "{c:?}");
        assert!(c.detail.contains("no window to check"), "{}", c.detail);
        // No verification: the counter cannot be shown consistent.
        let facts = RunFacts {
            verification: None,
            ..facts
        };
        let (c, _) = pause_check(Some(&pause(0, Some(4.0), Some(7.0))), facts);
        assert!(!c.passed, "{c:?}");
    }

    fn phase(node: usize, was_active: bool, from: f64, to: f64) -> RestartPhase {
        RestartPhase {
            node,
            was_active,
            from: secs(from),
            to: secs(to),
        }
    }

    /// Acks every 0.1 s from 0 to 10 s, except none between 3 and 4.5 s.
    fn steady_log() -> WorkloadLog {
        let mut a = Vec::new();
        for i in 0..100u64 {
            let t = i as f64 / 10.0;
            if !(3.0..4.5).contains(&t) {
                a.push(write(0, i, 1, t, t, true));
            }
        }
        log(a)
    }

    #[test]
    fn rolling_check_measures_standby_phases_only() {
        let l = steady_log();
        let phases = [phase(1, false, 0.0, 2.0), phase(0, true, 2.5, 5.0)];
        let (c, gaps) = rolling_check(Some(&phases), &l, Duration::from_millis(2500));
        assert!(c.passed, "{c:?}");
        let gaps = gaps.unwrap();
        assert_eq!(gaps.len(), 2);
        assert!(gaps[1].largest_write_gap >= secs(1.5), "{gaps:?}");
        // The same gap in a standby's phase breaks a 1 s budget.
        let phases = [phase(1, false, 2.5, 5.0)];
        let (c, _) = rolling_check(Some(&phases), &l, Duration::from_secs(1));
        assert!(!c.passed, "{c:?}");
    }

    #[test]
    fn rolling_check_fails_without_phases_or_with_bad_ones() {
        let l = steady_log();
        let budget = Duration::from_millis(2500);
        for phases in [None, Some(&[][..])] {
            let (c, g) = rolling_check(phases, &l, budget);
            assert!(!c.passed && g.is_none(), "{c:?}");
            assert!(c.detail.contains("no restart phases"), "{}", c.detail);
        }
        let backwards = [phase(1, false, 5.0, 2.0)];
        let (c, _) = rolling_check(Some(&backwards), &l, budget);
        assert!(!c.passed, "{c:?}");
        assert!(c.detail.contains("before it began"), "{}", c.detail);
        let only_active = [phase(0, true, 0.0, 2.0)];
        let (c, _) = rolling_check(Some(&only_active), &l, budget);
        assert!(!c.passed, "{c:?}");
        assert!(
            c.detail.contains("no standby restart phase"),
            "{}",
            c.detail
        );
    }

    fn outage(from: f64, to: f64) -> Outage {
        Outage {
            no_leader_from: secs(from),
            recovery_from: secs(to),
        }
    }

    #[test]
    fn quorum_check_wants_refused_writes_only() {
        let mut l = log(vec![
            write(0, 1, 0, 2.1, 2.5, false),
            write(1, 1, 0, 2.2, 3.0, false),
        ]);
        l.error_samples
            .insert(ErrorClass::NoLeader500, "no leader".into());
        let (c, w) = quorum_check(Some(&outage(2.0, 6.0)), &l);
        assert!(c.passed, "{c:?}");
        let w = w.unwrap();
        assert_eq!((w.requests, w.acknowledged), (2, 0));
        assert_eq!(w.errors_by_kind["no-leader-500"], 2);
        assert_eq!(w.error_messages["no-leader-500"], "no leader");
        // One write acknowledged without quorum: fails.
        l.attempts.push(write(2, 1, 0, 3.0, 3.5, true));
        let (c, _) = quorum_check(Some(&outage(2.0, 6.0)), &l);
        assert!(!c.passed, "{c:?}");
        // No write sent during the outage: nothing shown, fails.
        let (c, _) = quorum_check(Some(&outage(7.0, 9.0)), &l);
        assert!(!c.passed, "{c:?}");
    }

    #[test]
    fn quorum_check_fails_without_an_outage_or_with_a_bad_one() {
        let l = log(vec![write(0, 1, 0, 2.1, 2.5, false)]);
        let (c, w) = quorum_check(None, &l);
        assert!(!c.passed && w.is_none(), "{c:?}");
        assert!(c.detail.contains("no outage record"), "{}", c.detail);
        let (c, _) = quorum_check(Some(&outage(6.0, 2.0)), &l);
        assert!(!c.passed, "{c:?}");
        assert!(c.detail.contains("does not follow"), "{}", c.detail);
    }

    #[test]
    fn post_checks_fail_a_scenario_whose_record_is_missing() {
        let l = log(vec![]);
        let facts = RunFacts {
            log: &l,
            verification: None,
            nodes: 3,
        };
        for s in [
            Scenario::PauseActive,
            Scenario::RollingRestart,
            Scenario::QuorumLoss,
        ] {
            let mut d = Details::default();
            let checks = post_checks(s, &mut d, facts, &Budgets::default());
            assert_eq!(checks.len(), 1, "{s}");
            assert!(!checks[0].passed, "{s}: {:?}", checks[0]);
        }
        let mut d = Details::default();
        assert!(post_checks(Scenario::KillActive, &mut d, facts, &Budgets::default()).is_empty());
    }
}
