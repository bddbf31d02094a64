//! `install-bao`: installs (or finds) a pinned, verified `bao` and prints its path on stdout.
//!
//! `.ci/run` and scripts use it as `cargo run -q -p vaultops-install --bin install-bao`; progress
//! goes to stderr (`RUST_LOG` adjusts it), so `BAO=$(cargo run … )` captures only the path.
//!
//! ```text
//! install-bao                    the default release (2.7.2) into target/openbao/2.7.2/
//! install-bao --version 2.6.2    that pinned release into target/openbao/2.6.2/
//! install-bao --list             the pinned versions, one a line, the default marked
//! ```

use std::io::IsTerminal;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: install-bao [--version VERSION | --list]";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    Install(Option<String>),
    List,
    Help,
}

fn parse_args(args: &[String]) -> Result<Request, String> {
    match args {
        [] => Ok(Request::Install(None)),
        [flag] if flag == "--list" => Ok(Request::List),
        [flag] if flag == "--help" || flag == "-h" => Ok(Request::Help),
        [flag, version] if flag == "--version" => Ok(Request::Install(Some(version.clone()))),
        [flag] if flag.starts_with("--version=") => Ok(Request::Install(Some(
            flag["--version=".len()..].to_owned(),
        ))),
        [flag] if flag == "--version" => Err(format!(
            "--version needs a value (pinned: {})\n{USAGE}",
            vaultops_install::pinned_versions()
        )),
        other => Err(format!("unexpected arguments {other:?}\n{USAGE}")),
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let version = match parse_args(&args) {
        Ok(Request::Install(version)) => version,
        Ok(Request::List) => {
            for release in vaultops_install::PINNED_RELEASES {
                let mark = if release.version == vaultops_install::OPENBAO_VERSION {
                    " (default)"
                } else {
                    ""
                };
                println!("{}{mark}", release.version);
            }
            return ExitCode::SUCCESS;
        }
        Ok(Request::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("install-bao: {message}");
            return ExitCode::from(2);
        }
    };
    let opts = vaultops_install::InstallOptions {
        version,
        ..Default::default()
    };
    match vaultops_install::ensure_bao(&opts) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn arguments_choose_the_version() {
        assert_eq!(parse_args(&[]).unwrap(), Request::Install(None));
        assert_eq!(
            parse_args(&args(&["--version", "2.6.2"])).unwrap(),
            Request::Install(Some("2.6.2".into()))
        );
        assert_eq!(
            parse_args(&args(&["--version=2.7.0"])).unwrap(),
            Request::Install(Some("2.7.0".into()))
        );
        assert_eq!(parse_args(&args(&["--list"])).unwrap(), Request::List);
        let err = parse_args(&args(&["--version"])).unwrap_err();
        assert!(err.contains("2.6.1, 2.6.2"), "{err}");
        assert!(parse_args(&args(&["2.6.2"])).is_err());
    }
}
