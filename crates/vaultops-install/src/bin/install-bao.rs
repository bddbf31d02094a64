//! `install-bao`: installs (or finds) the pinned, verified `bao` and prints its path on stdout.
//!
//! `.ci/run` and scripts use it as `cargo run -q -p vaultops-install --bin install-bao`; progress
//! goes to stderr (`RUST_LOG` adjusts it), so `BAO=$(cargo run … )` captures only the path.

use std::io::IsTerminal;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match vaultops_install::ensure_bao(&vaultops_install::InstallOptions::default()) {
        Ok(path) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            let mut message = format!("install-bao: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
