//! `cargo xtask testbed scenario NAME|all [--repeat N] [--summary FILE]`, `cargo xtask
//! testbed scenario summarize --reports DIR --summary FILE` and `cargo xtask bench`: argument
//! parsing, printing and the figures file over `vaultops-scenarios`.
//!
//! Hook (in main.rs / testbed.rs): `mod scenario;`; a `Scenario(scenario::ScenarioArgs)`
//! variant of `TestbedCommand` dispatched to `scenario::scenario(a).await`, and a top-level
//! `Bench(scenario::BenchArgs)` command dispatched to `scenario::bench(a).await`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use vaultops_scenarios::{
    fault_window, figures_table, median, write_latency, Attempt, MachineFacts, ScenarioReport,
    SuiteOptions, WriteLatency,
};

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// A scenario (see `list`), `all`, `list` to print the names, or `summarize` to write
    /// the figures table (`--summary`) from the reports already in `--reports DIR`.
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
    /// Write the figures table (median, min–max, p95, budget, runs, machine facts) of the
    /// runs to this markdown file (docs/scenario-figures.md is written this way).
    #[arg(long)]
    pub summary: Option<PathBuf>,
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
    if a.name == "summarize" {
        return summarize(&a);
    }
    if a.repeat == 0 {
        anyhow::bail!("--repeat must be at least 1");
    }
    let load_before = load_average();
    let command = command_line(&a);
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
    if let Some(path) = &a.summary {
        let facts = facts(&reports, load_before, load_average(), command);
        write_summary(path, &reports, &facts)?;
    }
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

/// The command line that produced a figures table (named in the table).
fn command_line(a: &ScenarioArgs) -> String {
    let mut c = format!("cargo xtask testbed scenario {}", a.name);
    if a.repeat > 1 {
        c.push_str(&format!(" --repeat {}", a.repeat));
    }
    if let Some(p) = &a.summary {
        c.push_str(&format!(" --summary {}", p.display()));
    }
    c
}

/// `/proc/loadavg`'s first three fields (`unknown` elsewhere).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn facts(
    reports: &[ScenarioReport],
    load_before: String,
    load_after: String,
    command: String,
) -> MachineFacts {
    let first = reports
        .iter()
        .map(|r| r.started_at.as_str())
        .min()
        .unwrap_or("");
    let last = reports
        .iter()
        .map(|r| r.started_at.as_str())
        .max()
        .unwrap_or("");
    MachineFacts {
        cores: std::thread::available_parallelism().map_or(0, usize::from),
        load_before,
        load_after,
        openbao: format!(
            "{} (the pinned wheel, testbed image built locally)",
            vaultops_install::OPENBAO_VERSION
        ),
        date: format!("{first} to {last}"),
        command,
    }
}

fn write_summary(
    path: &std::path::Path,
    reports: &[ScenarioReport],
    facts: &MachineFacts,
) -> anyhow::Result<()> {
    let table = figures_table(reports, facts);
    vaultops_fs::write_atomic(
        path,
        table.as_bytes(),
        vaultops_fs::WriteOptions::new(0o644),
    )
    .with_context(|| format!("writing the figures table {}", path.display()))?;
    println!("figures: {}", path.display());
    Ok(())
}

/// `summarize`: the figures table of the reports saved in `--reports DIR` (every
/// `<run>.json`; a report without write latency gets it from its `<run>.attempts.json`).
fn summarize(a: &ScenarioArgs) -> anyhow::Result<ExitCode> {
    let (Some(dir), Some(out)) = (&a.reports, &a.summary) else {
        anyhow::bail!(
            "summarize needs --reports DIR (a suite's report directory) and --summary FILE"
        );
    };
    let mut reports = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && !p.to_string_lossy().ends_with(".attempts.json")
        })
        .collect();
    names.sort();
    for p in names {
        let text = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        let mut r: ScenarioReport = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a scenario report", p.display()))?;
        if r.measurements.write_latency == WriteLatency::default() {
            let att = dir.join(format!("{}.attempts.json", r.run_id));
            if let Ok(bytes) = std::fs::read(&att) {
                let attempts: Vec<Attempt> = serde_json::from_slice(&bytes)
                    .with_context(|| format!("{} is not an attempts file", att.display()))?;
                r.measurements.write_latency = write_latency(&attempts, fault_window(&r.events));
            }
        }
        reports.push(r);
    }
    if reports.is_empty() {
        anyhow::bail!("no scenario report (<run>.json) in {}", dir.display());
    }
    let command = format!(
        "cargo xtask testbed scenario summarize --reports {} --summary {}",
        dir.display(),
        out.display()
    );
    let unknown = || "not recorded (summarized from saved reports)".to_owned();
    let facts = facts(&reports, unknown(), unknown(), command);
    write_summary(out, &reports, &facts)?;
    Ok(ExitCode::SUCCESS)
}
