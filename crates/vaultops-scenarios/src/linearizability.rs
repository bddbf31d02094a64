//! The linearizability verdict on a run's history (`vaultops-history`'s checker), the check
//! it becomes, and the SVG timelines of the keys it condemns (pure: the caller writes the
//! files).
//!
//! An ordinary scenario passes this check only when every key is proven linearizable (a key
//! whose search ran out of budget is not), with one documented exception found by this
//! suite: a leader frozen across an election (pause-active) answers, once resumed, the reads
//! that were queued at it from its own stale state before it notices it lost leadership
//! (OpenBao 2.7.2, `disable_standby_reads = true`). Those reads are named and counted in the
//! report, and the history without them must be linearizable; any other violation fails. A positive control (`Scenario::is_control`) passes
//! only when some key is proven NOT linearizable: it loses data or serves stale reads on
//! purpose, and the checker must say so.

use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use vaultops_history::{check, describe, operations, timeline_svg, Event, HistoryError, Verdict};

use crate::catalogue::Scenario;
use crate::model::Check;

/// Keys drawn as SVG timelines at most (the first condemned ones).
const MAX_SVGS: usize = 3;
/// Operations of a witness listed in the check's detail at most.
const MAX_LISTED: usize = 6;

/// What the checker said about a run's history (`linearizability` in the JSON report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryVerdict {
    /// The history file (`<run>.history.jsonl`).
    pub history: Option<PathBuf>,
    /// Operations checked (invocations).
    pub operations: usize,
    pub keys: usize,
    /// Every key proven linearizable.
    pub linearizable: bool,
    /// Keys proven not linearizable, each with the operations that cannot be ordered.
    pub violations: Vec<KeyViolation>,
    /// Keys whose search ran out of its step budget (neither verdict proven).
    pub unknown: Vec<String>,
    /// Time the check took, in milliseconds (a measurement, not a budget).
    pub check_ms: f64,
    /// pause-active: reads the resumed old leader answered from its stale state (sent to it
    /// before it resumed, answered after a new leader was seen), when the full history is
    /// not linearizable.
    #[serde(default)]
    pub stale_leader_reads: Vec<String>,
    /// Whether the history is linearizable without those reads (`None`: not re-checked).
    #[serde(default)]
    pub linearizable_without_stale_leader_reads: Option<bool>,
}

/// pause-active: the paused node and the times that delimit its stale answers (run clock,
/// seconds): a read sent to it before `resumed_at` and answered after `new_leader_at`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct StaleLeaderWindow {
    pub node: u32,
    pub new_leader_at: f64,
    pub resumed_at: f64,
}

impl StaleLeaderWindow {
    fn contains(&self, op: &vaultops_history::Operation) -> bool {
        op.f == vaultops_history::Func::Read
            && op.node == Some(self.node)
            && op.invoked < self.resumed_at
            && op.completed.is_some_and(|c| c > self.new_leader_at)
    }
}

/// One key the checker condemned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyViolation {
    pub key: String,
    /// The witness, one operation a line (`describe`).
    pub operations: Vec<String>,
    /// The key's timeline, when drawn.
    pub svg: Option<PathBuf>,
}

/// Checks `events`; returns the verdict and the SVG timelines to write (key, document).
/// With `stale_leader`, a history that is not linearizable is checked again without the
/// stale-leader reads (see the module docs).
pub(crate) fn judge(
    events: &[Event],
    stale_leader: Option<StaleLeaderWindow>,
) -> Result<(HistoryVerdict, Vec<(String, String)>), HistoryError> {
    let ops = operations(events)?;
    let t0 = Instant::now();
    let report = check(&ops);
    let check_ms = t0.elapsed().as_secs_f64() * 1e3;
    let mut svgs = Vec::new();
    let mut violations = Vec::new();
    for k in &report.keys {
        if let Verdict::NotLinearizable { witness } = &k.verdict {
            if svgs.len() < MAX_SVGS {
                svgs.push((k.key.clone(), timeline_svg(&ops, &k.key, witness)));
            }
            violations.push(KeyViolation {
                key: k.key.clone(),
                operations: witness.iter().map(|i| describe(&ops[*i])).collect(),
                svg: None,
            });
        }
    }
    let mut verdict = HistoryVerdict {
        history: None,
        operations: ops.len(),
        keys: report.keys.len(),
        linearizable: report.is_linearizable(),
        violations,
        unknown: report.unknown().map(|k| k.key.clone()).collect(),
        check_ms,
        stale_leader_reads: Vec::new(),
        linearizable_without_stale_leader_reads: None,
    };
    if let (false, Some(w)) = (verdict.linearizable, stale_leader) {
        let (stale, rest): (Vec<_>, Vec<_>) = ops.iter().cloned().partition(|o| w.contains(o));
        verdict.stale_leader_reads = stale
            .iter()
            .map(|o| format!("{} {}", o.key, describe(o)))
            .collect();
        verdict.linearizable_without_stale_leader_reads = Some(check(&rest).is_linearizable());
    }
    Ok((verdict, svgs))
}

/// The check a verdict becomes for `scenario`.
pub(crate) fn history_check(scenario: Scenario, v: &HistoryVerdict) -> Check {
    let condemned = || {
        v.violations
            .iter()
            .map(|k| {
                let ops: Vec<&str> = k
                    .operations
                    .iter()
                    .take(MAX_LISTED)
                    .map(String::as_str)
                    .collect();
                format!("{} ({})", k.key, ops.join("; "))
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let unknown = if v.unknown.is_empty() {
        String::new()
    } else {
        format!("; undecided (search budget): {}", v.unknown.join(", "))
    };
    if scenario.is_control() {
        let passed = !v.violations.is_empty();
        Check {
            name: "the checker finds the history not linearizable".to_owned(),
            passed,
            detail: if passed {
                format!(
                    "{} of {} keys not linearizable: {}{unknown}",
                    v.violations.len(),
                    v.keys,
                    condemned()
                )
            } else {
                format!(
                    "{} operations over {} keys judged linearizable{unknown}: the control's fault went undetected",
                    v.operations, v.keys
                )
            },
        }
    } else {
        let explained = !v.stale_leader_reads.is_empty()
            && v.linearizable_without_stale_leader_reads == Some(true);
        Check {
            name: "history is linearizable".to_owned(),
            passed: v.linearizable || explained,
            detail: if v.linearizable {
                format!("{} operations over {} keys", v.operations, v.keys)
            } else if explained {
                format!(
                    "linearizable without the {} read(s) the resumed old leader answered from its \
                     stale state (a known OpenBao behaviour, docs/scenarios.md): {}; condemned \
                     with them: {}",
                    v.stale_leader_reads.len(),
                    v.stale_leader_reads.join("; "),
                    condemned()
                )
            } else {
                format!(
                    "{} of {} keys not linearizable: {}{unknown}",
                    v.violations.len(),
                    v.keys,
                    condemned()
                )
            },
        }
    }
}

/// A key as a file-name part.
pub(crate) fn file_part(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vaultops_history::parse_jsonl;

    const LOST: &str = r#"{"process": 0, "type": "invoke", "f": "write", "key": "w0-0", "value": "w0-0", "time": 1.0}
{"process": 0, "type": "ok", "f": "write", "key": "w0-0", "value": "w0-0", "time": 1.1}
{"process": 1, "type": "invoke", "f": "read", "key": "w0-0", "value": null, "time": 2.0}
{"process": 1, "type": "ok", "f": "read", "key": "w0-0", "value": null, "time": 2.1}
"#;
    const FINE: &str = r#"{"process": 0, "type": "invoke", "f": "write", "key": "w0-0", "value": "w0-0", "time": 1.0}
{"process": 0, "type": "ok", "f": "write", "key": "w0-0", "value": "w0-0", "time": 1.1}
{"process": 1, "type": "invoke", "f": "read", "key": "w0-0", "value": null, "time": 2.0}
{"process": 1, "type": "ok", "f": "read", "key": "w0-0", "value": "w0-0", "time": 2.1}
"#;

    #[test]
    fn a_lost_write_fails_a_scenario_and_passes_a_control() {
        let (v, svgs) = judge(&parse_jsonl(LOST).unwrap(), None).unwrap();
        assert!(!v.linearizable);
        assert_eq!(v.violations.len(), 1);
        assert_eq!(svgs.len(), 1);
        assert!(svgs[0].1.starts_with("<svg"), "{}", &svgs[0].1[..40]);
        let c = history_check(Scenario::KillActive, &v);
        assert!(!c.passed, "{c:?}");
        assert!(c.detail.contains("w0-0"), "{c:?}");
        assert!(history_check(Scenario::RollbackControl, &v).passed);
    }

    #[test]
    fn a_clean_history_passes_a_scenario_and_fails_a_control() {
        let (v, svgs) = judge(&parse_jsonl(FINE).unwrap(), None).unwrap();
        assert!(v.linearizable && svgs.is_empty());
        assert!(history_check(Scenario::KillActive, &v).passed);
        let c = history_check(Scenario::StaleReadsControl, &v);
        assert!(!c.passed, "{c:?}");
        assert!(c.detail.contains("went undetected"), "{c:?}");
    }

    /// A write acknowledged by the new leader, then a read sent to the frozen old leader
    /// after that write completed and before it resumed, answered after the resume with the
    /// value before the write: stale.
    const STALE_LEADER: &str = r#"{"process": 0, "type": "invoke", "f": "write", "key": "r0", "value": "a", "time": 1.0, "node": 0}
{"process": 0, "type": "ok", "f": "write", "key": "r0", "value": "a", "time": 1.1, "node": 0}
{"process": 0, "type": "invoke", "f": "write", "key": "r0", "value": "b", "time": 4.0, "node": 1}
{"process": 0, "type": "ok", "f": "write", "key": "r0", "value": "b", "time": 4.1, "node": 1}
{"process": 1, "type": "invoke", "f": "read", "key": "r0", "value": null, "time": 4.5, "node": 2}
{"process": 1, "type": "ok", "f": "read", "key": "r0", "value": "a", "time": 6.5, "node": 2}
{"process": 2, "type": "invoke", "f": "read", "key": "r0", "value": null, "time": 7.0, "node": 1}
{"process": 2, "type": "ok", "f": "read", "key": "r0", "value": "a", "time": 7.1, "node": 1}
"#;

    #[test]
    fn only_the_resumed_leaders_stale_reads_are_explained() {
        let window = StaleLeaderWindow {
            node: 2,
            new_leader_at: 3.0,
            resumed_at: 6.0,
        };
        // The last read (node 1, after everything) also returns the old value: a real
        // violation the window does not explain.
        let (v, _) = judge(&parse_jsonl(STALE_LEADER).unwrap(), Some(window)).unwrap();
        assert_eq!(v.stale_leader_reads.len(), 1, "{v:?}");
        assert_eq!(v.linearizable_without_stale_leader_reads, Some(false));
        assert!(!history_check(Scenario::PauseActive, &v).passed);
        // Without that last read, the stale-leader read is the only violation: explained.
        let text: String = STALE_LEADER
            .lines()
            .take(6)
            .map(|l| format!("{l}\n"))
            .collect();
        let (v, _) = judge(&parse_jsonl(&text).unwrap(), Some(window)).unwrap();
        assert!(!v.linearizable);
        assert_eq!(v.linearizable_without_stale_leader_reads, Some(true));
        let c = history_check(Scenario::PauseActive, &v);
        assert!(c.passed && c.detail.contains("stale state"), "{c:?}");
        // Without the window (another scenario), the same history fails.
        let (v, _) = judge(&parse_jsonl(&text).unwrap(), None).unwrap();
        assert!(!history_check(Scenario::PauseActive, &v).passed);
    }

    #[test]
    fn file_parts_are_safe() {
        assert_eq!(file_part("read-after-write"), "read-after-write");
        assert_eq!(file_part("a/b c"), "a_b_c");
    }
}
