//! Entry points: [`run_scenario`] (one scenario on its own fresh testbed), [`run_all`] (every
//! scenario on one shared testbed, `backup-restore` last) and [`bench`]. The testbeds
//! themselves are made, checked and removed by `lifecycle`.
//!
//! Sharing one testbed keeps the whole suite within its CI budget (a testbed takes ~10–15 s to
//! create on a 2-core machine). It is sound because every scenario ends with the cluster
//! restored, and the next one starts only after the testbed is verified healthy (every node
//! running, unsealed, one active, all voters, autopilot healthy) and repaired if not
//! (`Testbed::up` on an existing testbed starts, unpauses, reconnects and unseals what needs
//! it); each scenario writes under its own keyspace. If the repair fails, the suite replaces
//! the testbed with a fresh one.
//!
//! Invariant: every testbed created here is removed at the end, also when a scenario fails or
//! panics, unless `TESTBED_KEEP=1` ([`SuiteOptions::keep`]).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use serde::{Deserialize, Serialize};
use vaultops_testbed::{Testbed, TestbedName};

use crate::catalogue::Scenario;
use crate::error::{testbed, ScenarioError};
use crate::lifecycle::{
    ensure_healthy, next_serial, node_logs, teardown, testbed_name, up, up_variant,
};
use crate::options::SuiteOptions;
use crate::report::ScenarioReport;
use crate::run::Run;
use crate::scenarios::run_fault_scenario;

/// The result of [`run_all`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteReport {
    pub reports: Vec<ScenarioReport>,
    /// Scenarios that could not run to their end: (scenario, error).
    pub errors: Vec<(String, String)>,
    #[serde(with = "crate::model::secs")]
    pub duration: Duration,
    /// Time spent creating testbeds.
    #[serde(with = "crate::model::secs")]
    pub testbed_up: Duration,
    pub reports_dir: PathBuf,
}

impl SuiteReport {
    /// Every scenario ran and passed.
    pub fn passed(&self) -> bool {
        self.errors.is_empty() && self.reports.iter().all(|r| r.passed)
    }
}

fn run_id(s: Scenario) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{s}-{secs}-{}", next_serial())
}

/// Runs one (non-backup) scenario on `tb`, which must be healthy.
async fn run_on(
    scenario: Scenario,
    tb: &Testbed,
    opts: &SuiteOptions,
) -> Result<ScenarioReport, ScenarioError> {
    let mut run = Run::new(tb.clone(), opts, scenario, run_id(scenario));
    run.say(&format!("start on testbed {}", tb.name()));
    match run_fault_scenario(&mut run).await {
        Ok(()) => {
            let (r, _) = run.finish().await?;
            Ok(r)
        }
        Err(e) => {
            drop(run);
            Err(ScenarioError::InScenario {
                scenario: scenario.to_string(),
                logs: node_logs(tb, 30).await,
                source: Box::new(e),
            })
        }
    }
}

/// Runs `scenario` on its own fresh testbed (`<prefix>-<scenario>-<pid>-<n>`, free ports),
/// removed at the end even on failure (unless `opts.keep`). Writes its report files under
/// `opts.reports_dir`.
pub async fn run_scenario(
    scenario: Scenario,
    opts: &SuiteOptions,
) -> Result<ScenarioReport, ScenarioError> {
    let name = testbed_name(opts, scenario.name())?;
    let target = testbed_name(opts, "restore")?;
    let result = std::panic::AssertUnwindSafe(async {
        let tb = up_variant(opts, &name, scenario.own_testbed().unwrap_or_default()).await?;
        if scenario == Scenario::BackupRestore {
            crate::drill::drill(tb, opts, &target, run_id(scenario)).await
        } else {
            ensure_healthy(&tb, opts).await?;
            run_on(scenario, &tb, opts).await
        }
    })
    .catch_unwind()
    .await;
    teardown(opts, &name).await;
    if scenario == Scenario::BackupRestore {
        teardown(opts, &target).await;
    }
    match result {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// [`run_scenario`] by name (`kill-active`, …).
pub async fn run_named(name: &str, opts: &SuiteOptions) -> Result<ScenarioReport, ScenarioError> {
    run_scenario(name.parse()?, opts).await
}

/// Runs `scenarios` (every one with `None`) on one shared testbed, `backup-restore` last;
/// errors of one scenario are recorded and the suite goes on (with a repaired or fresh
/// testbed). Every testbed is removed at the end unless `opts.keep`.
pub async fn run_all(
    scenarios: Option<&[Scenario]>,
    opts: &SuiteOptions,
) -> Result<SuiteReport, ScenarioError> {
    let started = Instant::now();
    let list: Vec<Scenario> = scenarios.map_or_else(|| Scenario::ALL.to_vec(), <[_]>::to_vec);
    let mut names: Vec<TestbedName> = Vec::new();
    let mut report = SuiteReport {
        reports: Vec::new(),
        errors: Vec::new(),
        duration: Duration::ZERO,
        testbed_up: Duration::ZERO,
        reports_dir: opts.reports_dir.clone(),
    };
    let result = std::panic::AssertUnwindSafe(suite_body(&list, opts, &mut names, &mut report))
        .catch_unwind()
        .await;
    for n in &names {
        teardown(opts, n).await;
    }
    report.duration = started.elapsed();
    match result {
        Ok(Ok(())) => Ok(report),
        Ok(Err(e)) => Err(e),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Minimum spacing after a step-down: the node that stepped down waits 10 s before it can
/// take the HA lock again (shared facts), so a fault right after would measure that wait.
const STEP_DOWN_SPACING: Duration = Duration::from_secs(12);

async fn suite_body(
    list: &[Scenario],
    opts: &SuiteOptions,
    names: &mut Vec<TestbedName>,
    report: &mut SuiteReport,
) -> Result<(), ScenarioError> {
    let mut tb: Option<Testbed> = None;
    let mut last_step_down: Option<Instant> = None;
    let mut ordered: Vec<Scenario> = list
        .iter()
        .copied()
        .filter(|s| *s != Scenario::BackupRestore)
        .collect();
    if list.contains(&Scenario::BackupRestore) {
        ordered.push(Scenario::BackupRestore);
    }
    for s in ordered {
        if let Some(variant) = s.own_testbed() {
            // A scenario that needs another seal or config gets its own testbed, removed
            // right after.
            let own = testbed_name(opts, s.name())?;
            names.push(own.clone());
            let t0 = Instant::now();
            let r = match up_variant(opts, &own, variant).await {
                Ok(t) => {
                    report.testbed_up += t0.elapsed();
                    match ensure_healthy(&t, opts).await {
                        Ok(()) => run_on(s, &t, opts).await,
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            teardown(opts, &own).await;
            record(s, r, opts, report);
            continue;
        }
        // A healthy testbed: the shared one if it is (or can be repaired), else a fresh one.
        let healthy = match &tb {
            Some(t) => match ensure_healthy(t, opts).await {
                Ok(()) => true,
                Err(e) => {
                    eprintln!(
                        "testbed {} could not be repaired ({e}); replacing it",
                        t.name()
                    );
                    teardown(opts, t.name()).await;
                    false
                }
            },
            None => false,
        };
        if !healthy {
            let name = testbed_name(opts, "suite")?;
            names.push(name.clone());
            let t0 = Instant::now();
            let t = up(opts, &name).await?;
            report.testbed_up += t0.elapsed();
            ensure_healthy(&t, opts).await?;
            tb = Some(t);
        }
        let current = tb.clone().expect("a testbed is up");
        if let Some(at) = last_step_down {
            let since = at.elapsed();
            if since < STEP_DOWN_SPACING {
                // No observable signal exists for the end of that hold-off: a timed wait.
                tokio::time::sleep(STEP_DOWN_SPACING - since).await;
            }
        }
        let r = if s == Scenario::BackupRestore {
            let target = testbed_name(opts, "restore")?;
            names.push(target.clone());
            tb = None;
            let t0 = Instant::now();
            let r = crate::drill::drill(current, opts, &target, run_id(s)).await;
            // The drill's own testbed up is part of its figures; count it for the suite too.
            report.testbed_up += r
                .as_ref()
                .ok()
                .and_then(|r| r.details.target_up_s)
                .map_or(Duration::ZERO, Duration::from_secs_f64)
                .min(t0.elapsed());
            r
        } else {
            run_on(s, &current, opts).await
        };
        if s == Scenario::StepDown {
            last_step_down = Some(Instant::now());
        }
        record(s, r, opts, report);
    }
    Ok(())
}

fn record(
    s: Scenario,
    r: Result<ScenarioReport, ScenarioError>,
    opts: &SuiteOptions,
    report: &mut SuiteReport,
) {
    match r {
        Ok(r) => {
            if opts.verbose {
                eprint!("{}", crate::report::table(std::slice::from_ref(&r)));
            }
            report.reports.push(r);
        }
        Err(e) => {
            let text = e.report();
            eprintln!("scenario {s} failed: {text}");
            report.errors.push((s.to_string(), text));
        }
    }
}

/// The result of [`bench`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// The server image (present before the first timed `up`: a warm start).
    pub image: String,
    /// Time of each `testbed up` (fresh testbed, image cached).
    #[serde(with = "secs_vec")]
    pub up: Vec<Duration>,
    /// The kill-active scenario, once on each of those testbeds.
    pub kill_active: Vec<ScenarioReport>,
}

mod secs_vec {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(v: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            v.iter()
                .map(|d| crate::model::secs::round_us(d.as_secs_f64())),
        )
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        Vec::<f64>::deserialize(d)?
            .into_iter()
            .map(|f| Duration::try_from_secs_f64(f).map_err(serde::de::Error::custom))
            .collect()
    }
}

/// `runs` times: create a fresh testbed (timed; the image is made present first, so the
/// start is warm), run `kill-active` on it, remove it.
pub async fn bench(runs: usize, opts: &SuiteOptions) -> Result<BenchReport, ScenarioError> {
    let image = vaultops_testbed::ensure_image(vaultops_types::Engine::OpenBao, None)
        .await
        .map_err(testbed("making the server image present"))?
        .reference;
    let mut out = BenchReport {
        image,
        up: Vec::new(),
        kill_active: Vec::new(),
    };
    for _ in 0..runs {
        let name = testbed_name(opts, "bench")?;
        let result = std::panic::AssertUnwindSafe(async {
            let t = Instant::now();
            let tb = up(opts, &name).await?;
            let up_time = t.elapsed();
            ensure_healthy(&tb, opts).await?;
            let r = run_on(Scenario::KillActive, &tb, opts).await?;
            Ok::<_, ScenarioError>((up_time, r))
        })
        .catch_unwind()
        .await;
        teardown(opts, &name).await;
        match result {
            Ok(Ok((u, r))) => {
                out.up.push(u);
                out.kill_active.push(r);
            }
            Ok(Err(e)) => return Err(e),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    Ok(out)
}
