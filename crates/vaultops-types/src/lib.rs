//! Domain vocabulary shared by the vaultops crates; pure, no I/O, no dependency beyond serde
//! and thiserror.
//!
//! It sits below every other crate so that each domain notion is defined once:
//! - [`Engine`]: which server product (OpenBao or Vault) a configuration, a rollout or a
//!   command is about;
//! - [`duration`]: the one parser for the duration spellings the tree meets (Go durations in
//!   server configuration, the servers' `ParseDurationSecond`, whole-second TTLs, Prometheus
//!   durations), each dialect a predicate over the same parse;
//! - [`split_host_port`] / [`is_host_port`]: the one `host:port` check;
//! - [`error_report`]: how an error and its causes are shown to a person (both binaries).

pub mod duration;
mod engine;
mod host_port;
mod report;

pub use engine::{Engine, ParseEngineError};
pub use host_port::{is_host_port, split_host_port};
pub use report::error_report;
