//! The linearizability verdict on a run's history (`vaultops-history`'s checker), the check
//! it becomes, and the SVG timelines of the keys it condemns (pure: the caller writes the
//! files).
//!
//! An ordinary scenario passes this check only when every key is proven linearizable (a key
//! whose search ran out of budget is not). A positive control (`Scenario::is_control`) passes
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
pub(crate) fn judge(
    events: &[Event],
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
    let verdict = HistoryVerdict {
        history: None,
        operations: ops.len(),
        keys: report.keys.len(),
        linearizable: report.is_linearizable(),
        violations,
        unknown: report.unknown().map(|k| k.key.clone()).collect(),
        check_ms,
    };
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
        Check {
            name: "history is linearizable".to_owned(),
            passed: v.linearizable,
            detail: if v.linearizable {
                format!("{} operations over {} keys", v.operations, v.keys)
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
        let (v, svgs) = judge(&parse_jsonl(LOST).unwrap()).unwrap();
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
        let (v, svgs) = judge(&parse_jsonl(FINE).unwrap()).unwrap();
        assert!(v.linearizable && svgs.is_empty());
        assert!(history_check(Scenario::KillActive, &v).passed);
        let c = history_check(Scenario::StaleReadsControl, &v);
        assert!(!c.passed, "{c:?}");
        assert!(c.detail.contains("went undetected"), "{c:?}");
    }

    #[test]
    fn file_parts_are_safe() {
        assert_eq!(file_part("read-after-write"), "read-after-write");
        assert_eq!(file_part("a/b c"), "a_b_c");
    }
}
