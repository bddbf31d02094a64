//! Domain vocabulary shared by the vaultops crates; pure, no I/O, no dependency beyond serde
//! and thiserror.
//!
//! It sits below every other crate so that each domain notion is defined once:
//! - [`Engine`]: which server product (OpenBao or Vault) a configuration, a rollout or a
//!   command is about;
//! - [`Cause`]: a foreign library's error kept as the cause of one of ours, so that no public
//!   signature names the library's type;
//! - durations ([`whole_secs`], [`format_secs`], the `is_*_duration` dialects): the one parser for the duration spellings the tree meets (Go durations in
//!   server configuration, the servers' `ParseDurationSecond`, whole-second TTLs, Prometheus
//!   durations), each dialect a predicate over the same parse;
//! - [`split_host_port`] / [`is_host_port`]: the one `host:port` check;
//! - [`without_tokens`]: a child process's environment without the token variables;
//! - [`error_report`]: how an error and its causes are shown to a person (both binaries).

mod cause;
mod child_env;
mod duration;
mod engine;
mod host_port;
mod report;

pub use cause::Cause;
pub use child_env::{without_tokens, TOKEN_ENV_VARS};
pub use duration::{
    format_secs, is_go_duration, is_prometheus_duration, is_server_duration, whole_secs,
};
pub use engine::{Engine, ParseEngineError};
pub use host_port::{is_host_port, split_host_port};
pub use report::error_report;
