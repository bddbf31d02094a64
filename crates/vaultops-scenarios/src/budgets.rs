//! The one table of per-scenario budgets the suite asserts ([`budget`]), and the checks they
//! become (pure).
//!
//! Every scenario has a budget on its wall time; every scenario whose fault can stop writes
//! also has one on its unavailability: the longest silence between consecutive acknowledged
//! writes across the fault window, measured by the client. The figures come from measured
//! distributions, `cargo xtask testbed scenario all --repeat 10 --summary
//! docs/scenario-figures.md`: the budget is the p95 of those runs with a stated margin
//! ([`MARGIN`]), rounded up to the next half second. The measured value is printed next to
//! the budget in every check.

use std::time::Duration;

use crate::catalogue::Scenario;
use crate::model::Check;
use crate::report::Measurements;

/// The margin over the measured p95: the suite shares two cores with the Docker engine and
/// three servers, and CI machines are not quieter than the one measured.
pub const MARGIN: f64 = 1.5;

/// What one scenario is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Longest silence between acknowledged writes across the fault; `None`: the scenario
    /// has no fault that may stop writes (reads, controls, the backup drill).
    pub unavailability: Option<Duration>,
    /// Wall time of the scenario run (testbed creation excluded).
    pub duration: Duration,
}

const fn s(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// The budget of `scenario`. kill-active's unavailability budget is 3 s whatever the
/// measurement (the goal: p50 at most 2 s).
pub fn budget(scenario: Scenario) -> Budget {
    let (unavailability, duration) = match scenario {
        Scenario::KillActive => (Some(s(3_000)), s(20_000)),
        Scenario::StopActive => (Some(s(3_000)), s(20_000)),
        Scenario::KillStandby => (Some(s(2_500)), s(25_000)),
        Scenario::StepDown => (Some(s(3_000)), s(20_000)),
        Scenario::PauseActive => (Some(s(8_000)), s(30_000)),
        Scenario::PartitionActive => (Some(s(8_000)), s(30_000)),
        Scenario::IsolateActive => (Some(s(8_000)), s(30_000)),
        Scenario::SealActive => (Some(s(5_000)), s(25_000)),
        Scenario::RollingRestart => (Some(s(5_000)), s(40_000)),
        Scenario::RestartAll => (Some(s(15_000)), s(40_000)),
        Scenario::RestartAllAuto => (Some(s(15_000)), s(40_000)),
        Scenario::QuorumLoss => (Some(s(15_000)), s(40_000)),
        Scenario::StaleReadsControl => (None, s(20_000)),
        Scenario::StaleReadsForwarded => (None, s(15_000)),
        Scenario::BackupRestore => (None, s(60_000)),
        Scenario::RollbackControl => (None, s(30_000)),
    };
    Budget {
        unavailability,
        duration,
    }
}

/// The budget checks of one run: unavailability (when budgeted) and wall time, each with
/// the measured value.
pub fn budget_checks(scenario: Scenario, m: &Measurements, duration: Duration) -> Vec<Check> {
    let b = budget(scenario);
    let mut checks = Vec::new();
    if let Some(limit) = b.unavailability {
        checks.push(match m.unavailability {
            Some(u) => Check {
                name: "unavailability budget".into(),
                passed: u <= limit,
                detail: format!(
                    "{:.2} s (budget {:.1} s)",
                    u.as_secs_f64(),
                    limit.as_secs_f64()
                ),
            },
            None => Check {
                name: "unavailability budget".into(),
                passed: false,
                detail: "no measurement: no write acknowledged around the fault".into(),
            },
        });
    }
    checks.push(Check {
        name: "duration budget".into(),
        passed: duration <= b.duration,
        detail: format!(
            "{:.1} s (budget {:.0} s)",
            duration.as_secs_f64(),
            b.duration.as_secs_f64()
        ),
    });
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_has_a_budget_and_kill_active_holds_three_seconds() {
        for s in Scenario::ALL {
            assert!(budget(s).duration > Duration::ZERO, "{s}");
        }
        assert_eq!(budget(Scenario::KillActive).unavailability, Some(s(3_000)));
    }

    #[test]
    fn a_missing_or_long_unavailability_fails_and_the_figure_is_printed() {
        let mut m = Measurements::default();
        let c = budget_checks(Scenario::KillActive, &m, s(10_000));
        assert!(
            !c[0].passed && c[0].detail.contains("no measurement"),
            "{c:?}"
        );
        m.unavailability = Some(s(3_100));
        let c = budget_checks(Scenario::KillActive, &m, s(10_000));
        assert!(!c[0].passed && c[0].detail.starts_with("3.10 s"), "{c:?}");
        m.unavailability = Some(s(1_900));
        let c = budget_checks(Scenario::KillActive, &m, s(10_000));
        assert!(c.iter().all(|c| c.passed), "{c:?}");
        let c = budget_checks(Scenario::StaleReadsForwarded, &m, s(99_000));
        assert_eq!(c.len(), 1);
        assert!(!c[0].passed, "{c:?}");
    }
}
