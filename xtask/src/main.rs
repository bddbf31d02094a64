//! `cargo xtask`: developer and CI tasks; a thin shell over the library crates.
//!
//! `cargo xtask testbed up|status|down|logs|audit` drive `vaultops-testbed`: this file only
//! parses arguments, prints progress and summaries, and maps errors to exit codes.

mod scenario;
mod testbed;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "vaultops developer tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A real N-node TLS OpenBao cluster in Docker.
    Testbed {
        #[command(subcommand)]
        command: testbed::TestbedCommand,
    },
    /// `testbed up` warm and the kill-active scenario, 3 times each; prints medians.
    Bench(scenario::BenchArgs),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Testbed { command } => testbed::run(command).await,
            Command::Bench(a) => scenario::bench(a).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", report(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes, `: `-separated like `{:#}`, but without a cause whose text the
/// message already holds: the testbed's errors quote their source before the nodes' log
/// lines, and repeating it after the logs would bury them.
fn report(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("inner failure")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("step failed: {source}\n--- node1 logs ---")]
    struct Outer {
        source: Inner,
    }

    #[test]
    fn report_keeps_every_cause_once() {
        let e = anyhow::Error::new(Outer { source: Inner }).context("while bringing testbed x up");
        assert_eq!(
            report(&e),
            "while bringing testbed x up: step failed: inner failure\n--- node1 logs ---"
        );
        let plain = anyhow::Error::new(Inner).context("while reading");
        assert_eq!(report(&plain), "while reading: inner failure");
    }
}
