//! `vaultops`: the command-line entry point; a thin shell over the library crates.
//!
//! Parsing and global options live in [`cli`]; each subcommand group in its own module
//! turns arguments into library calls and prints the result as a table or JSON.

mod apply_cmd;
mod approle_args;
mod approle_cmd;
mod backup_cmd;
mod check_cmd;
mod cli;
mod config_cmd;
mod history_cmd;
mod init_cmd;
mod output;
mod raft_args;
mod raft_cmd;
mod rekey_cmd;
mod render_cmd;
mod restore_cmd;
mod root_cmd;
mod seal_args;
mod seal_cmd;
mod status_cmd;
mod tls_cmd;
mod tls_rotate_args;
mod tls_rotate_cmd;
mod unseal_args;
mod unseal_cmd;
mod upgrade_cmd;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VAULTOPS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", vaultops_types::error_report(e.as_ref()));
            ExitCode::from(1)
        }
    }
}

async fn run(args: cli::Cli) -> anyhow::Result<ExitCode> {
    match &args.command {
        cli::Command::Tls(cli::TlsCommand::Rotate(cmd)) => {
            tls_rotate_cmd::run(&args.global, cmd).await
        }
        cli::Command::Tls(cmd) => tls_cmd::run(&args.global, cmd),
        cli::Command::Status(cmd) => status_cmd::run(&args.global, cmd).await,
        cli::Command::Init(cmd) => init_cmd::run(&args.global, cmd).await,
        cli::Command::Unseal(cmd) => unseal_cmd::run(&args.global, cmd).await,
        cli::Command::Root(cli::RootCommand::Generate(cmd)) => {
            root_cmd::generate(&args.global, cmd).await
        }
        cli::Command::Apply(cmd) => apply_cmd::run(&args.global, cmd).await,
        cli::Command::Config(cmd) => config_cmd::run(&args.global, cmd),
        cli::Command::Approle(cmd) => approle_cmd::run(&args.global, cmd).await,
        cli::Command::MigrateEnv(cmd) => approle_cmd::migrate_env(&args.global, cmd).await,
        cli::Command::Check(cmd) => check_cmd::run(&args.global, cmd).await,
        cli::Command::Render { out, check } => render_cmd::run(out, *check),
        cli::Command::Backup(cmd) => backup_cmd::run(&args.global, cmd).await,
        cli::Command::History(cmd) => history_cmd::run(&args.global, cmd),
        cli::Command::Rekey(cmd) => rekey_cmd::run(&args.global, cmd).await,
        cli::Command::RotateEncryptionKey(cmd) => {
            rekey_cmd::rotate_encryption_key(&args.global, cmd).await
        }
        cli::Command::Upgrade(cmd) => upgrade_cmd::run(&args.global, cmd).await,
        // Raft membership (issue 14 item 5).
        cli::Command::Raft(cmd) => raft_cmd::run(&args.global, cmd).await,
        // Seal migration (issue 14 item 4).
        cli::Command::Seal(cmd) => seal_cmd::run(&args.global, cmd).await,
    }
}
