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
            eprintln!("error: {}", vaultops_types::error_report(e.as_ref()));
            std::process::ExitCode::FAILURE
        }
    }
}
