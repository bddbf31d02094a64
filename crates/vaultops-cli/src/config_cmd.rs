//! `vaultops config lint`: checks a server configuration file and prints the findings.

use crate::cli::{ConfigCommand, Format, Global};
use anyhow::Context;
use std::process::ExitCode;

pub fn run(global: &Global, cmd: &ConfigCommand) -> anyhow::Result<ExitCode> {
    let ConfigCommand::Lint { file, engine } = cmd;
    let engine = vaultops_types::Engine::from(*engine);
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    // The one host fact the linter needs: a syslog audit device without a syslog socket
    // left a measured cluster with no active node after a leader change.
    let host = vaultops_config::HostFacts {
        syslog_socket_present: std::path::Path::new("/dev/log").exists(),
    };
    let report = vaultops_config::lint(&text, engine, &host);
    match global.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report.findings.iter().map(|f| serde_json::json!({
            "severity": f.severity.to_string(), "line": f.line, "path": f.path, "message": f.message, "hint": f.hint,
        })).collect::<Vec<_>>())?),
        Format::Table => println!("{}: {report}", file.display()),
    }
    Ok(if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
