//! `cargo xtask testbed scenario NAME|all [--repeat N]` and `cargo xtask bench`: argument
//! parsing and printing over `vaultops-scenarios`.
//!
//! Hook (in main.rs / testbed.rs): `mod scenario;`; a `Scenario(scenario::ScenarioArgs)`
//! variant of `TestbedCommand` dispatched to `scenario::scenario(a).await`, and a top-level
//! `Bench(scenario::BenchArgs)` command dispatched to `scenario::bench(a).await`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use vaultops_scenarios::{median, ScenarioReport, SuiteOptions};

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// A scenario (kill-active, stop-active, kill-standby, step-down, pause-active,
    /// partition-active, seal-active, rolling-restart, restart-all, restart-all-auto,
    /// quorum-loss, stale-reads, stale-reads-forwarded, backup-restore), `all`, or `list` to
    /// print the names.
    pub name: String,
    /// Run it (or the whole suite) this many times and print medians.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Where the reports go (default: target/scenario-reports/<UTC time>-<pid>/).
    #[arg(long)]
    pub reports: Option<PathBuf>,
    /// Print only the tables, not each step.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// How many times to create a testbed and run kill-active on it.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Where the kill-active reports go (default: target/scenario-reports/<UTC time>-<pid>/).
    #[arg(long)]
    pub reports: Option<PathBuf>,
    /// Print only the results, not each step.
    #[arg(long)]
    pub quiet: bool,
}

fn options(reports: Option<PathBuf>, quiet: bool) -> anyhow::Result<SuiteOptions> {
    let root = vaultops_testbed::default_state_root().context("locating target/testbed")?;
    let mut opts = SuiteOptions::new(root);
    if let Some(r) = reports {
        opts.reports_dir = r;
    }
    opts.verbose = !quiet;
    Ok(opts)
}

/// `cargo xtask testbed scenario NAME|all|list [--repeat N]`.
pub async fn scenario(a: ScenarioArgs) -> anyhow::Result<ExitCode> {
    if a.name == "list" {
        for n in vaultops_scenarios::Scenario::names() {
            println!("{n}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if a.repeat == 0 {
        anyhow::bail!("--repeat must be at least 1");
    }
    let opts = options(a.reports, a.quiet)?;
    let mut reports: Vec<ScenarioReport> = Vec::new();
    let mut errors: Vec<(String, String)> = Vec::new();
    for round in 1..=a.repeat {
        if a.repeat > 1 {
            eprintln!("=== round {round} of {} ===", a.repeat);
        }
        if a.name == "all" {
            let suite = vaultops_scenarios::run_all(None, &opts)
                .await
                .context("while running the scenario suite")?;
            println!(
                "suite round {round}: {} scenarios in {:.1} s ({:.1} s creating testbeds)",
                suite.reports.len(),
                suite.duration.as_secs_f64(),
                suite.testbed_up.as_secs_f64()
            );
            reports.extend(suite.reports);
            errors.extend(suite.errors);
        } else {
            let s: vaultops_scenarios::Scenario = a.name.parse()?;
            match vaultops_scenarios::run_scenario(s, &opts).await {
                Ok(r) => reports.push(r),
                Err(e) => {
                    let text = e.report();
                    eprintln!("error: {text}");
                    errors.push((s.to_string(), text));
                }
            }
        }
    }
    println!("\n{}", vaultops_scenarios::table(&reports));
    if a.repeat > 1 {
        println!("{}", vaultops_scenarios::medians(&reports));
    }
    for (s, e) in &errors {
        println!("ERROR {s}: {}", e.lines().next().unwrap_or_default());
    }
    println!("reports: {}", opts.reports_dir.display());
    let ok = errors.is_empty() && reports.iter().all(|r| r.passed);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `cargo xtask bench`: `testbed up` (warm) and kill-active, `--runs` times each; medians.
pub async fn bench(a: BenchArgs) -> anyhow::Result<ExitCode> {
    if a.runs == 0 {
        anyhow::bail!("--runs must be at least 1");
    }
    let opts = options(a.reports, a.quiet)?;
    let b = vaultops_scenarios::bench(a.runs as usize, &opts)
        .await
        .context("while running the benchmark")?;
    let secs = |v: &[f64]| {
        v.iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let up: Vec<f64> = b.up.iter().map(|d| d.as_secs_f64()).collect();
    let pick = |f: &dyn Fn(&ScenarioReport) -> Option<std::time::Duration>| -> Vec<f64> {
        b.kill_active
            .iter()
            .filter_map(f)
            .map(|d| d.as_secs_f64())
            .collect()
    };
    let new_active = pick(&|r| r.measurements.new_active_after);
    let unavail = pick(&|r| r.measurements.unavailability);
    let med = |v: &[f64]| median(v).map_or("-".to_owned(), |m| format!("{m:.2}"));
    println!("image: {} (present before timing: warm)", b.image);
    println!("{:<38} {:>8}   runs", "measurement (seconds)", "median");
    println!(
        "{:<38} {:>8}   {}",
        "testbed up (3 nodes, bootstrap)",
        med(&up),
        secs(&up)
    );
    println!(
        "{:<38} {:>8}   {}",
        "kill -9 active: new active node",
        med(&new_active),
        secs(&new_active)
    );
    println!(
        "{:<38} {:>8}   {}",
        "kill -9 active: unavailability",
        med(&unavail),
        secs(&unavail)
    );
    let lost: u64 = b
        .kill_active
        .iter()
        .map(|r| r.measurements.lost_acked_writes)
        .sum();
    println!("acknowledged writes lost: {lost}; budget: unavailability <= 5 s (goal 2 s)");
    println!("reports: {}", opts.reports_dir.display());
    let ok = b.kill_active.iter().all(|r| r.passed);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
