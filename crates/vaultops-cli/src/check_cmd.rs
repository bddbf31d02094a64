//! `vaultops check`: the production checklist, as a table or JSON.

use crate::cli::{CheckArgs, Global};
use crate::output::{emit, table};
use std::process::ExitCode;
use std::time::Duration;
use vaultops_bootstrap::NodeSet;
use vaultops_bootstrap::{run_checks, CheckOptions, Verdict};

pub async fn run(global: &Global, args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let nodes = NodeSet::new(global.clients()?);
    let opts = CheckOptions {
        snapshot_dir: args.snapshot_dir.clone(),
        snapshot_max_age: Some(Duration::from_secs(args.snapshot_max_age_hours * 3600)),
        cert_warn_days: Some(args.cert_warn_days),
    };
    let report = run_checks(&nodes, &opts).await;
    emit(global.format, &report, || {
        let rows: Vec<Vec<String>> = report
            .items
            .iter()
            .map(|i| {
                let v = match i.verdict {
                    Verdict::Pass => "PASS",
                    Verdict::Warn => "WARN",
                    Verdict::Fail => "FAIL",
                };
                vec![i.id.to_string(), v.to_string(), i.detail.clone()]
            })
            .collect();
        table(&["CHECK", "RESULT", "DETAIL"], &rows)
    })?;
    if report.passed() {
        return Ok(ExitCode::SUCCESS);
    }
    // The report above may be JSON for a machine; standard error names what failed for
    // the person or the log reading it (an unreachable node, a rejected certificate, …).
    for i in report.items.iter().filter(|i| i.verdict == Verdict::Fail) {
        eprintln!("check failed: {}: {}", i.id, i.detail);
    }
    Ok(ExitCode::from(1))
}
