//! Scenario reports: the JSON document and the human table (one row per run, and medians over
//! repeats). The files a run leaves are written by `files`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::analysis::median;
use crate::details::Details;
use crate::latency::WriteLatency;
use crate::linearizability::HistoryVerdict;
use crate::model::{secs, Check, ErrorClass, Event, NodeTimeline};
use crate::verify::Verification;

/// The measured figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    /// When the first fault was injected (run clock).
    #[serde(with = "secs::opt")]
    pub fault_at: Option<Duration>,
    /// The active node at the fault.
    pub active_at_fault: Option<String>,
    /// Fault → a new active node (see `analysis`); `None`: the active node never changed.
    #[serde(with = "secs::opt")]
    pub new_active_after: Option<Duration>,
    pub new_active_node: Option<String>,
    /// Last acknowledged write before the fault → first after it (the longest gap after the
    /// fault); `None` with `recovered == false` when writes never came back.
    #[serde(with = "secs::opt")]
    pub unavailability: Option<Duration>,
    #[serde(with = "secs::opt")]
    pub unavailable_from: Option<Duration>,
    #[serde(with = "secs::opt")]
    pub unavailable_to: Option<Duration>,
    /// Writes were acknowledged again after the fault.
    pub recovered: bool,
    /// Time after the fault with no node seen active.
    #[serde(with = "secs::opt")]
    pub without_active: Option<Duration>,
    /// Acknowledged writes (keys and counter increments) missing after recovery.
    pub lost_acked_writes: u64,
    /// Write latency before, during and after the fault window.
    #[serde(default)]
    pub write_latency: WriteLatency,
}

/// What the workload did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadSummary {
    pub writers: u16,
    pub requests: u64,
    /// Acknowledged unique-key writes.
    pub key_acks: u64,
    /// Acknowledged counter increments.
    pub counter_acks: u64,
    pub cas_conflicts: u64,
    /// Failed requests by kind (check-and-set conflicts excluded).
    pub errors_by_kind: BTreeMap<ErrorClass, u64>,
    /// The first message seen for each kind.
    pub error_samples: BTreeMap<ErrorClass, String>,
}

impl WorkloadSummary {
    pub fn errors(&self) -> u64 {
        self.errors_by_kind.values().sum()
    }
}

/// The report of one scenario run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    pub scenario: String,
    /// Unique per run; also names the keyspace `scenario/<run_id>` and the report files.
    pub run_id: String,
    pub testbed: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    #[serde(with = "secs")]
    pub duration: Duration,
    /// Every check passed.
    pub passed: bool,
    pub checks: Vec<Check>,
    pub measurements: Measurements,
    pub workload: WorkloadSummary,
    pub verification: Option<Verification>,
    /// The checker's verdict on the run's history (runs that recorded one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linearizability: Option<HistoryVerdict>,
    pub events: Vec<Event>,
    pub roles: Vec<NodeTimeline>,
    /// Scenario-specific figures (stale-read rates, unseal checks, snapshot sizes, …).
    pub details: Details,
    /// Files written for this run (empty until written).
    pub files: Vec<PathBuf>,
}

impl ScenarioReport {
    /// The failed checks, one line each.
    pub fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect()
    }
}

fn opt_s(d: Option<Duration>) -> String {
    d.map_or("-".to_owned(), |d| format!("{:.2}", d.as_secs_f64()))
}

fn errors_compact(e: &BTreeMap<ErrorClass, u64>) -> String {
    if e.is_empty() {
        return "-".to_owned();
    }
    e.iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The human table: one row per report.
pub fn table(reports: &[ScenarioReport]) -> String {
    let mut out = format!(
        "{:<17} {:<6} {:>10} {:>9} {:>7} {:>5} {:>6}  {}\n",
        "scenario", "result", "new-active", "unavail", "acked", "lost", "errors", "errors by kind"
    );
    for r in reports {
        let m = &r.measurements;
        let acked = r.workload.key_acks + r.workload.counter_acks;
        out.push_str(&format!(
            "{:<17} {:<6} {:>10} {:>9} {:>7} {:>5} {:>6}  {}\n",
            r.scenario,
            if r.passed { "PASS" } else { "FAIL" },
            opt_s(m.new_active_after),
            if r.workload.requests == 0 || m.fault_at.is_none() || m.recovered {
                opt_s(m.unavailability)
            } else {
                "never".to_owned()
            },
            acked,
            m.lost_acked_writes,
            r.workload.errors(),
            errors_compact(&r.workload.errors_by_kind),
        ));
    }
    for r in reports {
        for f in r.failures() {
            out.push_str(&format!("  FAILED {} ({}): {f}\n", r.scenario, r.run_id));
        }
    }
    out
}

/// Medians (and min–max) over repeated runs, per scenario, in first-seen order.
pub fn medians(reports: &[ScenarioReport]) -> String {
    let mut order: Vec<&str> = Vec::new();
    let mut by: BTreeMap<&str, Vec<&ScenarioReport>> = BTreeMap::new();
    for r in reports {
        if !by.contains_key(r.scenario.as_str()) {
            order.push(&r.scenario);
        }
        by.entry(&r.scenario).or_default().push(r);
    }
    let mut out = format!(
        "{:<17} {:>4} {:>6} {:>22} {:>22} {:>8}\n",
        "scenario",
        "runs",
        "passed",
        "new-active s med (min-max)",
        "unavail s med (min-max)",
        "lost max"
    );
    for s in order {
        let rs = &by[s];
        let stat = |f: &dyn Fn(&ScenarioReport) -> Option<Duration>| {
            let v: Vec<f64> = rs
                .iter()
                .filter_map(|r| f(r))
                .map(|d| d.as_secs_f64())
                .collect();
            match median(&v) {
                Some(m) => format!(
                    "{m:.2} ({:.2}-{:.2})",
                    v.iter().copied().fold(f64::INFINITY, f64::min),
                    v.iter().copied().fold(0.0, f64::max)
                ),
                None => "-".to_owned(),
            }
        };
        out.push_str(&format!(
            "{:<17} {:>4} {:>6} {:>22} {:>22} {:>8}\n",
            s,
            rs.len(),
            rs.iter().filter(|r| r.passed).count(),
            stat(&|r| r.measurements.new_active_after),
            stat(&|r| r.measurements.unavailability),
            rs.iter()
                .map(|r| r.measurements.lost_acked_writes)
                .max()
                .unwrap_or(0),
        ));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample(scenario: &str, unavail_ms: u64, passed: bool) -> ScenarioReport {
        ScenarioReport {
            scenario: scenario.into(),
            run_id: format!("{scenario}-1"),
            testbed: "scn-test".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            duration: Duration::from_secs(20),
            passed,
            checks: vec![Check {
                name: "lost acknowledged writes".into(),
                passed,
                detail: "0 (budget 0)".into(),
            }],
            measurements: Measurements {
                fault_at: Some(Duration::from_secs(3)),
                new_active_after: Some(Duration::from_millis(1900)),
                unavailability: Some(Duration::from_millis(unavail_ms)),
                recovered: true,
                ..Default::default()
            },
            workload: WorkloadSummary {
                writers: 4,
                requests: 100,
                key_acks: 70,
                counter_acks: 5,
                errors_by_kind: BTreeMap::from([(ErrorClass::Standby307, 3)]),
                ..Default::default()
            },
            verification: None,
            linearizability: None,
            events: vec![],
            roles: vec![],
            details: Default::default(),
            files: vec![],
        }
    }

    #[test]
    fn table_has_one_row_per_report_and_names_failures() {
        let t = table(&[
            sample("kill-active", 2100, true),
            sample("stop-active", 900, false),
        ]);
        assert!(t.contains("kill-active       PASS"), "{t}");
        assert!(t.contains("2.10"), "{t}");
        assert!(t.contains("standby-307:3"), "{t}");
        assert!(t.contains("FAILED stop-active"), "{t}");
    }

    #[test]
    fn medians_over_repeats() {
        let rs = [
            sample("kill-active", 2000, true),
            sample("kill-active", 1000, true),
            sample("kill-active", 3000, true),
        ];
        let m = medians(&rs);
        assert!(m.contains("2.00 (1.00-3.00)"), "{m}");
        assert!(m.contains("   3      3"), "{m}");
    }

    #[test]
    fn report_round_trips_through_json() {
        let r = sample("kill-active", 2100, true);
        let j = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<ScenarioReport>(&j).unwrap(), r);
    }
}
