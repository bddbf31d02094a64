//! `vaultops config lint`: checks a server configuration file against what the chosen engine
//! supports, and against the failures measured with OpenBao 2.7.2. Pure: the caller reads the
//! file and fills [`HostFacts`] (e.g. whether `/dev/log` exists).
//!
//! Why a linter: OpenBao only *warns* about unknown fields at top level, in `listener`,
//! `telemetry` and at `audit` stanza level, and says nothing at all about unknown fields in
//! `storage`, `retry_join`, `seal` and audit `options`: the server starts without them. The
//! seed's `audit_device` block is ignored without even a warning (measured), so the cluster runs
//! with no audit log while its operators believe it has one. Here every field the engine does
//! not support is an [`Severity::Error`].
//!
//! The file is parsed with `hcl-edit`, an HCL parser that keeps source positions. Both servers
//! read HCL **v1**; the syntax server configs use (attributes, labelled blocks, `key = { … }`
//! objects, lists, comments) is common to both versions, and HCL v1 treats `options = { … }` and
//! `options { … }` alike, so the walker does too.
//!
//! The field lists are per engine. The OpenBao lists are checked against the real 2.7.2 server
//! by an integration test (a file with every listed top-level, listener and telemetry field
//! starts without an "unknown or unsupported field" warning); the Vault lists follow
//! HashiCorp's documentation and are not tested here (no Vault binary).

use std::fmt;

use hcl_edit::expr::{Expression, Object};
use hcl_edit::structure::{Body, Structure};
use hcl_edit::Span;

use vaultops_types::is_server_duration;
use vaultops_types::{split_host_port, Engine};

mod audit;
mod check;
mod fields;
mod listener;
mod seal;
mod storage;
mod top;
mod tree;

pub use fields::supported_fields;
use fields::*;
use tree::{body_nodes, LineIndex, Node};

/// Facts about the host the configuration is meant for, gathered by the caller (the linter
/// itself does no I/O).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostFacts {
    /// Whether a syslog socket (`/dev/log`) exists. Without one a `syslog` audit device fails.
    pub syslog_socket_present: bool,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The server refuses the file, ignores the setting, or the setting is known to break the
    /// cluster.
    Error,
    /// Allowed, but unsafe or probably not what was meant.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// 1-based line of the field or block the finding is about.
    pub line: usize,
    /// Dotted path of the field: `disable_mlock`, `storage.raft.foo`, `listener.tcp.tls_min_version`,
    /// `audit.file.NAME.options.file_path`. Empty for a parse error.
    pub path: String,
    /// What is wrong, and what the server does with it.
    pub message: String,
    /// What to do instead.
    pub hint: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: ", self.line, self.severity)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.message)?;
        for (i, line) in self.hint.lines().enumerate() {
            if i == 0 {
                write!(f, "\n  hint: {line}")?;
            } else {
                write!(f, "\n        {line}")?;
            }
        }
        Ok(())
    }
}

/// Everything [`lint`] found, ordered by line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LintReport {
    pub findings: Vec<Finding>,
}

impl LintReport {
    /// The findings of severity [`Severity::Error`].
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    /// The findings of severity [`Severity::Warning`].
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
    }

    /// True when there is at least one error (the CLI exits non-zero then).
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// True when there is nothing to report at all.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

impl fmt::Display for LintReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            writeln!(f, "{finding}")?;
        }
        let errors = self.errors().count();
        let warnings = self.warnings().count();
        write!(f, "{errors} error(s), {warnings} warning(s)")
    }
}

/// Lints one server configuration file's text for `engine`.
///
/// Never fails: a file that does not parse gives one error finding with the parser's position.
pub fn lint(hcl: &str, engine: Engine, host: &HostFacts) -> LintReport {
    let lines = LineIndex::new(hcl);
    let mut linter = Linter {
        engine,
        host: *host,
        findings: Vec::new(),
    };
    match hcl_edit::parser::parse_body(hcl) {
        Ok(body) => {
            let nodes = body_nodes(&body, &lines);
            linter.top(&nodes);
        }
        Err(e) => {
            let loc = e.location();
            linter.findings.push(Finding {
                severity: Severity::Error,
                line: loc.line(),
                path: String::new(),
                message: format!(
                    "the file does not parse (column {}): {}",
                    loc.column(),
                    e.message()
                ),
                hint: "fix the syntax; the servers read HCL v1, which accepts the same \
                       attributes, labelled blocks, objects and lists as checked here"
                    .into(),
            });
        }
    }
    linter.findings.sort_by_key(|f| f.line);
    LintReport {
        findings: linter.findings,
    }
}

// The walk: one `Linter` collects findings; its methods live in the child modules, one per
// part of the file (top level, storage, listener and telemetry, seals, audit), with the
// shared field checks in `check`.

/// How the engine treats an unknown field at the place being checked; used in messages.
#[derive(Clone, Copy)]
pub(super) enum Unknown {
    /// OpenBao logs `unknown or unsupported field` and starts without it.
    Warned,
    /// OpenBao does not report it at all.
    Silent,
}

struct Linter {
    engine: Engine,
    host: HostFacts,
    findings: Vec<Finding>,
}

impl Linter {
    fn push(
        &mut self,
        severity: Severity,
        line: usize,
        path: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.findings.push(Finding {
            severity,
            line,
            path: path.to_owned(),
            message: message.into(),
            hint: hint.into(),
        });
    }

    fn error(
        &mut self,
        node: &Node<'_>,
        path: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(Severity::Error, node.line, path, message, hint);
    }

    fn warning(
        &mut self,
        node: &Node<'_>,
        path: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(Severity::Warning, node.line, path, message, hint);
    }
}
