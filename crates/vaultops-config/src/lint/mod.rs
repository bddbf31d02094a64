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

use crate::model::Engine;
use crate::render::is_go_duration;

mod fields;
pub use fields::supported_fields;
use fields::*;

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

// ---------------------------------------------------------------------------------------------
// The parsed file, normalised: HCL v1 reads `name = { … }` and `name { … }` the same way.
// ---------------------------------------------------------------------------------------------

struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    /// 1-based line of byte `offset`.
    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }

    fn line_of(&self, span: Option<std::ops::Range<usize>>) -> usize {
        span.map_or(0, |r| self.line(r.start))
    }
}

/// An attribute or a block (an attribute whose value is an object counts as a block).
struct Node<'a> {
    name: String,
    labels: Vec<String>,
    line: usize,
    kind: NodeKind<'a>,
}

enum NodeKind<'a> {
    Value(&'a Expression),
    Body(Vec<Node<'a>>),
}

impl Node<'_> {
    fn is_block(&self) -> bool {
        matches!(self.kind, NodeKind::Body(_))
    }

    fn children(&self) -> &[Self] {
        match &self.kind {
            NodeKind::Body(nodes) => nodes,
            NodeKind::Value(_) => &[],
        }
    }

    fn expr(&self) -> Option<&Expression> {
        match self.kind {
            NodeKind::Value(e) => Some(e),
            NodeKind::Body(_) => None,
        }
    }
}

fn body_nodes<'a>(body: &'a Body, lines: &LineIndex) -> Vec<Node<'a>> {
    body.iter()
        .map(|structure| match structure {
            Structure::Attribute(attr) => Node {
                name: attr.key.as_str().to_owned(),
                labels: Vec::new(),
                line: lines.line_of(attr.span()),
                kind: value_kind(&attr.value, lines),
            },
            Structure::Block(block) => Node {
                name: block.ident.as_str().to_owned(),
                labels: block.labels.iter().map(|l| l.as_str().to_owned()).collect(),
                line: lines.line_of(block.span()),
                kind: NodeKind::Body(body_nodes(&block.body, lines)),
            },
        })
        .collect()
}

fn value_kind<'a>(expr: &'a Expression, lines: &LineIndex) -> NodeKind<'a> {
    match expr {
        Expression::Object(object) => NodeKind::Body(object_nodes(object, lines)),
        other => NodeKind::Value(other),
    }
}

fn object_nodes<'a>(object: &'a Object, lines: &LineIndex) -> Vec<Node<'a>> {
    object
        .iter()
        .map(|(key, value)| {
            let name = match key.as_ident() {
                Some(ident) => ident.as_str().to_owned(),
                None => key
                    .as_expr()
                    .and_then(Expression::as_str)
                    .unwrap_or("<expression>")
                    .to_owned(),
            };
            Node {
                name,
                labels: Vec::new(),
                line: lines.line_of(key.span()),
                kind: value_kind(value.expr(), lines),
            }
        })
        .collect()
}

/// The value as text when it is a plain string, number or bool (HCL v1 decodes those weakly
/// into each other).
fn scalar(expr: &Expression) -> Option<String> {
    match expr {
        Expression::String(s) => Some(s.value().clone()),
        Expression::Number(n) => Some(n.value().to_string()),
        Expression::Bool(b) => Some(b.value().to_string()),
        _ => None,
    }
}

fn is_true(node: &Node<'_>) -> bool {
    node.expr()
        .and_then(scalar)
        .and_then(|s| parse_bool(&s))
        .unwrap_or(false)
}

/// Go's `strconv.ParseBool`, which the servers use for string booleans.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// A duration as the servers parse it (`parseutil.ParseDurationSecond`): a Go duration, a
/// number of seconds, or a number of days with `d`.
fn is_duration(s: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    is_go_duration(s) || digits(s) || s.strip_suffix('d').is_some_and(digits)
}

// ---------------------------------------------------------------------------------------------
// The walk
// ---------------------------------------------------------------------------------------------

/// How the engine treats an unknown field at the place being checked; used in messages.
#[derive(Clone, Copy)]
enum Unknown {
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

    fn unknown_field(&mut self, node: &Node<'_>, path: &str, known: &[Fields], how: Unknown) {
        let what = if node.is_block() { "block" } else { "field" };
        let effect = match (self.engine, how) {
            (Engine::OpenBao, Unknown::Warned) => {
                "OpenBao only logs `unknown or unsupported field` and starts without it"
            }
            (Engine::OpenBao, Unknown::Silent) => {
                "OpenBao does not report it and the setting silently has no effect"
            }
            (Engine::Vault, _) => "the server ignores it or refuses to start",
        };
        let mut names: Vec<&str> = known
            .iter()
            .flat_map(|l| l.iter())
            .map(|(n, _)| *n)
            .collect();
        names.sort_unstable();
        let hint = match closest(&node.name, &names) {
            Some(near) => format!(
                "did you mean `{near}`? Supported here: {}",
                names.join(", ")
            ),
            None => format!("remove it; supported here: {}", names.join(", ")),
        };
        self.error(
            node,
            path,
            format!(
                "unknown {what} `{}` for {}: {effect}",
                node.name, self.engine
            ),
            hint,
        );
    }

    /// Checks every child of a block against `known`; returns the known children for the
    /// caller's specific checks. Unknown children are reported.
    fn fields<'n, 'a>(
        &mut self,
        path: &str,
        children: &'n [Node<'a>],
        known: &[Fields],
        how: Unknown,
    ) -> Vec<&'n Node<'a>> {
        let mut ok = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for child in children {
            let child_path = join(path, &child.name);
            match find(known, &child.name) {
                Some(kind) => {
                    if kind != Kind::Map && seen.contains(&child.name.as_str()) {
                        self.warning(
                            child,
                            &child_path,
                            format!("`{}` is set more than once", child.name),
                            "keep one; which one the server uses is not defined",
                        );
                    }
                    seen.push(&child.name);
                    if self.kind(child, &child_path, kind) {
                        ok.push(child);
                    }
                }
                None => self.unknown_field(child, &child_path, known, how),
            }
        }
        ok
    }

    /// Checks a value against its kind; false when reported.
    fn kind(&mut self, node: &Node<'_>, path: &str, kind: Kind) -> bool {
        let expr = match (&node.kind, kind) {
            (NodeKind::Body(_), Kind::Map | Kind::Any) => return true,
            (NodeKind::Body(_), _) => {
                self.error(
                    node,
                    path,
                    "expected a value, found a block or object",
                    format!("write `{} = <value>`", node.name),
                );
                return false;
            }
            (NodeKind::Value(_), Kind::Map) => {
                self.error(
                    node,
                    path,
                    "expected a block",
                    format!("write `{} {{ … }}`", node.name),
                );
                return false;
            }
            (NodeKind::Value(e), _) => *e,
        };
        let text = scalar(expr);
        let bad = match kind {
            Kind::Any | Kind::Map => None,
            Kind::Str => match expr {
                Expression::Array(_) => Some("expected a string, found a list"),
                _ => None,
            },
            Kind::List => None,
            Kind::Bool => match text.as_deref().map(parse_bool) {
                Some(Some(_)) => None,
                Some(None) => Some("expected true or false"),
                None => Some("expected true or false"),
            },
            Kind::Int => match &text {
                Some(t) if t.parse::<i64>().is_ok() => None,
                _ => Some("expected a whole number"),
            },
            Kind::Duration => match (&text, expr) {
                (_, Expression::Number(_)) => None,
                (Some(t), _) if is_duration(t) => None,
                _ => Some("expected a duration such as \"30s\", \"24h\" or a number of seconds"),
            },
        };
        match bad {
            Some(msg) => {
                let shown = text.map(|t| format!(" (got {t:?})")).unwrap_or_default();
                self.error(node, path, format!("{msg}{shown}"), "fix the value's type");
                false
            }
            None => true,
        }
    }

    fn str_of(node: &Node<'_>) -> Option<String> {
        node.expr().and_then(scalar)
    }

    // --- top level ---------------------------------------------------------------------------

    fn top(&mut self, nodes: &[Node<'_>]) {
        let engine = self.engine;
        let (top_extra, unchecked_extra): (Fields, &[&str]) = match engine {
            Engine::OpenBao => (TOP_OPENBAO, BLOCKS_UNCHECKED_OPENBAO),
            Engine::Vault => (TOP_VAULT, BLOCKS_UNCHECKED_VAULT),
        };
        let mut storage: Vec<&Node<'_>> = Vec::new();
        let mut ha_storage: Vec<&Node<'_>> = Vec::new();
        let mut seals: Vec<&Node<'_>> = Vec::new();
        let mut telemetry = 0;
        let mut listeners = 0;
        let mut attrs: Vec<&Node<'_>> = Vec::new();
        let mut seen_attrs: Vec<&str> = Vec::new();

        for node in nodes {
            let name = node.name.as_str();
            match name {
                "storage" | "backend" => storage.push(node),
                "ha_storage" | "ha_backend" => ha_storage.push(node),
                "listener" => {
                    listeners += 1;
                    self.listener(node);
                }
                "seal" | "kms" => seals.push(node),
                "telemetry" => {
                    telemetry += 1;
                    if telemetry == 2 {
                        self.error(
                            node,
                            "telemetry",
                            "a second `telemetry` block: the server refuses to start \
                             (\"only one 'telemetry' block is permitted\")",
                            "merge the two blocks",
                        );
                    }
                    self.telemetry(node);
                }
                "audit" => self.audit(node),
                "audit_device" => self.audit_device(node),
                "disable_mlock" if engine == Engine::OpenBao => self.openbao_mlock(node),
                "disable_standby_reads" if engine == Engine::Vault => self.error(
                    node,
                    name,
                    "`disable_standby_reads` is an OpenBao setting; Vault does not know it",
                    "remove it (Vault community edition standbys do not serve reads)",
                ),
                _ if BLOCKS_UNCHECKED_COMMON.contains(&name) || unchecked_extra.contains(&name) => {
                    if !node.is_block() {
                        self.error(
                            node,
                            name,
                            "expected a block",
                            format!("write `{name} {{ … }}`"),
                        );
                    }
                }
                _ => match find(&[TOP_COMMON, top_extra], name) {
                    Some(kind) => {
                        if seen_attrs.contains(&name) {
                            self.warning(
                                node,
                                name,
                                format!("`{name}` is set more than once"),
                                "keep one; which one the server uses is not defined",
                            );
                        }
                        seen_attrs.push(name);
                        if self.kind(node, name, kind) {
                            attrs.push(node);
                        }
                    }
                    None => {
                        let mut known = vec![TOP_COMMON, top_extra];
                        known.push(&[
                            ("storage", Kind::Map),
                            ("listener", Kind::Map),
                            ("seal", Kind::Map),
                            ("telemetry", Kind::Map),
                        ]);
                        if engine == Engine::OpenBao {
                            known.push(&[("audit", Kind::Map)]);
                        }
                        self.unknown_field(node, name, &known, Unknown::Warned);
                    }
                },
            }
        }

        for attr in &attrs {
            self.top_attr(attr);
        }

        let raft = self.storage_blocks(&storage, &ha_storage);
        if storage.is_empty() {
            self.push(
                Severity::Error,
                1,
                "storage",
                "no `storage` block: the server refuses to start without one",
                "add `storage \"raft\" { path = \"…\" node_id = \"…\" }`",
            );
        }
        if listeners == 0 {
            self.push(
                Severity::Error,
                1,
                "listener",
                "no `listener` block: the API would not be reachable",
                "add `listener \"tcp\" { address = \"0.0.0.0:8200\" … }` with TLS",
            );
        }
        if raft {
            for field in ["api_addr", "cluster_addr"] {
                if !nodes.iter().any(|n| n.name == field) {
                    let example = if field == "api_addr" {
                        "api_addr = \"https://node1.example.internal:8200\""
                    } else {
                        "cluster_addr = \"https://node1.example.internal:8201\""
                    };
                    self.push(
                        Severity::Error,
                        1,
                        field,
                        format!(
                            "`{field}` is missing: with raft storage every node must advertise \
                             the address other nodes reach it on (request forwarding and \
                             `retry_join` depend on it)"
                        ),
                        format!("add `{example}` with this node's own name"),
                    );
                }
            }
        }
        self.seals(&seals);
    }

    fn top_attr(&mut self, node: &Node<'_>) {
        let name = node.name.as_str();
        let Some(value) = Self::str_of(node) else {
            return;
        };
        match name {
            "log_level" => {
                let v = value.trim().to_ascii_lowercase();
                if !["trace", "debug", "info", "warn", "warning", "error", "err"]
                    .contains(&v.as_str())
                {
                    self.error(
                        node,
                        name,
                        format!("log level {value:?} is not one the server knows"),
                        "use trace, debug, info, warn or error",
                    );
                }
            }
            "log_format"
                if !["standard", "json"].contains(&value.trim().to_ascii_lowercase().as_str()) =>
            {
                self.error(
                    node,
                    name,
                    format!("log format {value:?} is not one the server knows"),
                    "use \"standard\" or \"json\"",
                );
            }
            "api_addr" | "cluster_addr" => {
                let ok = ["https://", "http://"]
                    .iter()
                    .any(|s| value.strip_prefix(s).is_some_and(|r| !r.is_empty()));
                if !ok {
                    self.error(
                        node,
                        name,
                        format!("{value:?} is not a URL"),
                        format!(
                            "write it as https://HOST:{}",
                            if name == "api_addr" { 8200 } else { 8201 }
                        ),
                    );
                } else if name == "cluster_addr" && value.starts_with("http://") {
                    self.warning(
                        node,
                        name,
                        "the cluster port always speaks TLS; `http://` here is misleading",
                        "write https://HOST:8201",
                    );
                }
            }
            "unsafe_allow_api_audit_creation" if is_true(node) => self.warning(
                node,
                name,
                "re-enables audit devices created through the API, which OpenBao disables by \
                 default",
                "declare audit devices in the file (`audit \"file\" \"NAME\" { options { … } }`) \
                 and leave this off",
            ),
            "raw_storage_endpoint" if is_true(node) => self.warning(
                node,
                name,
                "exposes sys/raw, which reads and writes storage below every access check",
                "leave it off in production",
            ),
            _ => {}
        }
    }

    fn openbao_mlock(&mut self, node: &Node<'_>) {
        let value = Self::str_of(node).and_then(|s| parse_bool(&s));
        let (message, hint) = match value {
            Some(false) => (
                "`disable_mlock = false` makes OpenBao refuse to start (\"OpenBao has dropped \
                 support for mlock. Please remove the line\"; measured with 2.7.2)",
                "remove the line; disable or encrypt swap on the host instead",
            ),
            _ => (
                "`disable_mlock` is a Vault setting: OpenBao 2.7.2 only logs `unknown or \
                 unsupported field disable_mlock` and starts without it (it has no mlock)",
                "remove the line; disable or encrypt swap on the host instead",
            ),
        };
        self.error(node, "disable_mlock", message, hint);
    }

    // --- storage -----------------------------------------------------------------------------

    /// Checks the storage blocks; returns true when the storage is raft.
    fn storage_blocks(&mut self, storage: &[&Node<'_>], ha: &[&Node<'_>]) -> bool {
        let mut raft = false;
        for (i, node) in storage.iter().enumerate() {
            if i == 1 {
                self.error(
                    node,
                    "storage",
                    "a second `storage` block: the server refuses to start (\"only one \
                     \"storage\" block is permitted\")",
                    "keep exactly one storage block",
                );
            }
            if let Some(kind) = self.one_label(node, "storage", "raft") {
                raft |= kind == "raft";
                self.storage(node, &kind);
            }
        }
        for node in ha {
            if let Some(kind) = self.one_label(node, &node.name, "raft") {
                if kind == "raft" && raft {
                    self.error(
                        node,
                        &format!("{}.raft", node.name),
                        "raft cannot be both `storage` and `ha_storage`: the server refuses to \
                         start (measured: \"Raft cannot be set both as 'storage' and \
                         'ha_storage'\")",
                        "remove the ha_storage block: raft storage is already highly available",
                    );
                }
            }
        }
        raft
    }

    /// The single label of a block (`storage "raft"`), or a finding.
    fn one_label(&mut self, node: &Node<'_>, what: &str, example: &str) -> Option<String> {
        if !node.is_block() {
            self.error(
                node,
                what,
                "expected a block",
                format!("write `{what} \"{example}\" {{ … }}`"),
            );
            return None;
        }
        match node.labels.as_slice() {
            [label] => Some(label.to_ascii_lowercase()),
            [] => {
                self.error(
                    node,
                    what,
                    format!("`{what}` needs its type as a label"),
                    format!("write `{what} \"{example}\" {{ … }}`"),
                );
                None
            }
            more => {
                self.error(
                    node,
                    what,
                    format!("`{what}` takes one label, found {}", more.len()),
                    format!("write `{what} \"{example}\" {{ … }}`"),
                );
                None
            }
        }
    }

    fn storage(&mut self, node: &Node<'_>, kind: &str) {
        let path = format!("storage.{kind}");
        match (kind, self.engine) {
            ("raft", engine) => {
                let extra: Fields = if engine == Engine::Vault {
                    RAFT_VAULT
                } else {
                    &[]
                };
                let known = self.fields(
                    &path,
                    node.children(),
                    &[RAFT_COMMON, extra],
                    Unknown::Silent,
                );
                if !node.children().iter().any(|c| c.name == "path") {
                    self.error(
                        node,
                        &format!("{path}.path"),
                        "raft storage needs `path`, the data directory",
                        "add `path = \"/openbao/data\"` (a directory owned by the server user)",
                    );
                }
                for child in known {
                    let child_path = join(&path, &child.name);
                    match child.name.as_str() {
                        "retry_join" => self.retry_join(child, &child_path),
                        "performance_multiplier" => {
                            let v = Self::str_of(child).and_then(|s| s.parse::<i64>().ok());
                            if v.is_some_and(|v| !(0..=10).contains(&v)) {
                                self.error(
                                    child,
                                    &child_path,
                                    "performance_multiplier must be 1 (fastest) to 10",
                                    "use 1 on low-latency networks (measured kill -9 failover \
                                     1.3–2.6 s instead of 8–23 s with the default)",
                                );
                            }
                        }
                        _ => {}
                    }
                }
            }
            ("consul", Engine::Vault) => {
                let known = self.fields(&path, node.children(), &[CONSUL], Unknown::Silent);
                for child in known {
                    if child.name == "token" {
                        self.warning(
                            child,
                            &join(&path, "token"),
                            "the Consul ACL token is written in the configuration file",
                            "leave it out and give the server CONSUL_HTTP_TOKEN in its \
                             environment, or at least keep the file mode 0600",
                        );
                    }
                }
            }
            ("consul", Engine::OpenBao) => self.error(
                node,
                &path,
                "OpenBao has no consul storage: it refuses to start (\"unknown storage type \
                 consul\", measured with 2.7.2)",
                "use integrated storage: `storage \"raft\" { path = \"…\" node_id = \"…\" }` with \
                 `retry_join` blocks for the other nodes",
            ),
            ("file", Engine::OpenBao) => self.error(
                node,
                &path,
                "OpenBao 2.7 removed file storage: it refuses to start (\"unknown storage type \
                 file\", measured)",
                "use `storage \"raft\"`",
            ),
            ("inmem", _) => self.warning(
                node,
                &path,
                "in-memory storage loses every secret when the process stops",
                "use `storage \"raft\"` for anything but throw-away tests",
            ),
            ("postgresql", Engine::OpenBao) => self.warning(
                node,
                &path,
                "postgresql storage is recognised, but its fields are not checked by this linter",
                "check the fields against the OpenBao documentation; raft is what vaultops \
                 tests",
            ),
            (other, Engine::OpenBao) => self.error(
                node,
                &path,
                format!(
                    "OpenBao 2.7.2 has no `{other}` storage: it refuses to start (\"unknown \
                         storage type {other}\")"
                ),
                "use `storage \"raft\"`",
            ),
            (_, Engine::Vault) => self.warning(
                node,
                &path,
                format!("`{kind}` storage is not checked by this linter"),
                "check its fields against the Vault documentation; raft and consul are checked",
            ),
        }
    }

    fn retry_join(&mut self, node: &Node<'_>, path: &str) {
        let known = self.fields(path, node.children(), &[RETRY_JOIN], Unknown::Silent);
        let has = |n: &str| known.iter().any(|c| c.name == n);
        if !has("leader_api_addr") && !has("auto_join") {
            self.error(
                node,
                path,
                "retry_join names no peer: it needs `leader_api_addr` (or `auto_join`)",
                "add `leader_api_addr = \"https://node2:8200\"` and `leader_ca_cert_file`",
            );
        }
        if has("leader_client_cert_file") != has("leader_client_key_file") {
            self.error(
                node,
                path,
                "a client certificate needs both `leader_client_cert_file` and \
                 `leader_client_key_file`",
                "give both, or neither",
            );
        }
    }

    // --- listener ----------------------------------------------------------------------------

    fn listener(&mut self, node: &Node<'_>) {
        let Some(kind) = self.one_label(node, "listener", "tcp") else {
            return;
        };
        let path = format!("listener.{kind}");
        let extra: Fields = match self.engine {
            Engine::OpenBao => LISTENER_OPENBAO,
            Engine::Vault => LISTENER_VAULT,
        };
        let known = match kind.as_str() {
            "tcp" => self.fields(
                &path,
                node.children(),
                &[LISTENER_COMMON, extra],
                Unknown::Warned,
            ),
            "unix" => self.fields(&path, node.children(), &[LISTENER_UNIX], Unknown::Warned),
            other => {
                self.error(
                    node,
                    &path,
                    format!("unsupported listener type {other:?}: the server refuses to start"),
                    "use `listener \"tcp\"`",
                );
                return;
            }
        };
        for child in &known {
            let child_path = join(&path, &child.name);
            let nested: Option<Fields> = match child.name.as_str() {
                "telemetry" => Some(LISTENER_TELEMETRY),
                "profiling" => Some(LISTENER_PROFILING),
                "inflight_requests_logging" => Some(LISTENER_INFLIGHT),
                _ => None,
            };
            if let Some(fields) = nested {
                self.fields(&child_path, child.children(), &[fields], Unknown::Warned);
            }
            if child.name == "tls_min_version" || child.name == "tls_max_version" {
                self.tls_version(child, &child_path);
            }
        }
        if kind != "tcp" {
            return;
        }
        let get = |n: &str| known.iter().find(|c| c.name == n).copied();
        let tls_disabled = get("tls_disable").is_some_and(is_true);
        if tls_disabled {
            let address = get("address")
                .and_then(Self::str_of)
                .unwrap_or_else(|| "127.0.0.1:8200".into());
            if !is_loopback(&address) {
                self.warning(
                    get("tls_disable").unwrap_or(node),
                    &join(&path, "tls_disable"),
                    format!(
                        "TLS is off on {address}, which is reachable from other hosts: tokens \
                         and secrets cross the network in clear text"
                    ),
                    "set tls_cert_file and tls_key_file and remove tls_disable; plain HTTP is \
                     only for loopback tests",
                );
            }
        } else {
            for field in ["tls_cert_file", "tls_key_file"] {
                if get(field).is_none() {
                    self.error(
                        node,
                        &join(&path, field),
                        format!(
                            "TLS is on (the default) but `{field}` is missing: the server \
                                 refuses to start"
                        ),
                        format!("add `{field} = \"…\"`, e.g. made with `vaultops tls`"),
                    );
                }
            }
        }
    }

    fn tls_version(&mut self, node: &Node<'_>, path: &str) {
        let Some(v) = Self::str_of(node) else {
            return;
        };
        match v.as_str() {
            "tls12" | "tls13" => {}
            "tls10" | "tls11" => self.error(
                node,
                path,
                format!("{v} is below TLS 1.2: TLS 1.0 and 1.1 are deprecated (RFC 8996)"),
                "use \"tls12\" (or \"tls13\" when every client supports it)",
            ),
            other => {
                let near = match other {
                    "1.2" | "TLS1.2" | "tls1.2" | "TLSv1.2" | "tlsv1.2" | "1_2" => "\"tls12\"",
                    "1.3" | "TLS1.3" | "tls1.3" | "TLSv1.3" | "tlsv1.3" => "\"tls13\"",
                    _ => "\"tls12\" or \"tls13\"",
                };
                self.error(
                    node,
                    path,
                    format!(
                        "{other:?} is not a TLS version the server knows: it refuses to start \
                         (measured with OpenBao 2.7.2: \"'{}' value \\\"{other}\\\" not \
                         supported, please specify one of [tls10,tls11,tls12,tls13]\")",
                        node.name
                    ),
                    format!("write {near}"),
                );
            }
        }
    }

    // --- telemetry ---------------------------------------------------------------------------

    fn telemetry(&mut self, node: &Node<'_>) {
        if !node.is_block() {
            self.error(
                node,
                "telemetry",
                "expected a block",
                "write `telemetry { … }`",
            );
            return;
        }
        if !node.labels.is_empty() {
            self.error(
                node,
                "telemetry",
                "`telemetry` takes no label",
                "write `telemetry { … }`",
            );
        }
        let extra: Fields = if self.engine == Engine::Vault {
            TELEMETRY_VAULT
        } else {
            &[]
        };
        self.fields(
            "telemetry",
            node.children(),
            &[TELEMETRY, extra],
            Unknown::Warned,
        );
    }

    // --- seals -------------------------------------------------------------------------------

    fn seals(&mut self, seals: &[&Node<'_>]) {
        let mut enabled = 0;
        for (i, node) in seals.iter().enumerate() {
            if i == 2 {
                self.error(
                    node,
                    "seal",
                    "more than two `seal` blocks: the server refuses to start",
                    "keep one seal, or two during a seal migration (one with `disabled = true`)",
                );
            }
            let disabled = node
                .children()
                .iter()
                .any(|c| c.name == "disabled" && is_true(c));
            if !disabled {
                enabled += 1;
            }
            if let Some(kind) = self.one_label(node, "seal", "transit") {
                self.seal(node, &kind);
            }
        }
        if seals.len() == 2 && enabled != 1 {
            self.error(
                seals[1],
                "seal",
                "two `seal` blocks need exactly one with `disabled = true` (a seal migration); \
                 the server refuses to start otherwise",
                "remove one, or mark the old seal `disabled = true` while migrating",
            );
        }
    }

    fn seal(&mut self, node: &Node<'_>, kind: &str) {
        let path = format!("seal.{kind}");
        let engine = self.engine;
        let fields: Fields = match (kind, engine) {
            ("transit", _) => SEAL_TRANSIT,
            ("shamir", _) => SEAL_SHAMIR,
            ("static", Engine::OpenBao) => SEAL_STATIC,
            ("static", Engine::Vault) => {
                self.error(
                    node,
                    &path,
                    "the static seal is OpenBao-only; Vault does not know it",
                    "with Vault use `seal \"transit\"` or a cloud KMS seal (awskms, gcpckms, \
                     azurekeyvault)",
                );
                return;
            }
            (
                "awskms" | "gcpckms" | "azurekeyvault" | "alicloudkms" | "ocikms" | "pkcs11",
                Engine::OpenBao,
            ) => {
                self.error(
                    node,
                    &path,
                    format!(
                        "`{kind}` is not built into OpenBao: it refuses to start (\"Error \
                         configuring seal \\\"{kind}\\\": unknown wrapper: {kind}\", measured \
                         with 2.7.2)"
                    ),
                    "use `seal \"transit\"` (another OpenBao as unsealer) or `seal \"static\"`, \
                     or install and configure OpenBao's external KMS plugin yourself",
                );
                return;
            }
            ("awskms", Engine::Vault) => SEAL_AWSKMS,
            ("gcpckms", Engine::Vault) => SEAL_GCPCKMS,
            ("azurekeyvault", Engine::Vault) => SEAL_AZUREKEYVAULT,
            ("alicloudkms" | "ocikms" | "pkcs11", Engine::Vault) => {
                self.warning(
                    node,
                    &path,
                    format!("the `{kind}` seal's fields are not checked by this linter"),
                    "check them against the Vault documentation (pkcs11 needs Vault Enterprise)",
                );
                return;
            }
            (other, _) => {
                self.error(
                    node,
                    &path,
                    format!("unknown seal type {other:?}: the server refuses to start"),
                    match engine {
                        Engine::OpenBao => "use transit or static (or no seal block for Shamir)",
                        Engine::Vault => {
                            "use transit, awskms, gcpckms or azurekeyvault (or no seal block for \
                             Shamir)"
                        }
                    },
                );
                return;
            }
        };
        let known = self.fields(&path, node.children(), &[fields], Unknown::Silent);
        let has = |n: &str| known.iter().any(|c| c.name == n);
        for child in &known {
            if SEAL_SECRETS.contains(&child.name.as_str()) {
                let env = match (kind, engine) {
                    ("transit", Engine::OpenBao) => "BAO_TOKEN (or VAULT_TOKEN)".to_owned(),
                    ("transit", Engine::Vault) => "VAULT_TOKEN".to_owned(),
                    _ => "the provider's environment variables or instance identity".to_owned(),
                };
                self.warning(
                    child,
                    &join(&path, &child.name),
                    format!(
                        "the credential `{}` is written in the configuration file",
                        child.name
                    ),
                    format!(
                        "leave it out and give it to the server through {env}; if it must stay, \
                         keep the file mode 0600"
                    ),
                );
            }
            if child.name == "tls_skip_verify" && is_true(child) {
                self.warning(
                    child,
                    &join(&path, "tls_skip_verify"),
                    "the unsealer's certificate is not verified: anyone on the path can \
                     impersonate it",
                    "set tls_ca_cert to the CA that signed the unsealer's certificate",
                );
            }
        }
        match kind {
            "transit" => {
                for field in ["address", "key_name"] {
                    if !has(field) {
                        self.warning(
                            node,
                            &join(&path, field),
                            format!(
                                "`{field}` is not set: the server then needs it from its \
                                     environment"
                            ),
                            format!("add `{field} = \"…\"` so the file says where the key is"),
                        );
                    }
                }
            }
            "static" => {
                for field in ["current_key_id", "current_key"] {
                    if !has(field) {
                        self.error(
                            node,
                            &join(&path, field),
                            format!("the static seal needs `{field}`"),
                            "add current_key_id = \"20260101-1\" and current_key = \
                             \"file:///path/to/32-byte.key\"",
                        );
                    }
                }
                if has("previous_key") != has("previous_key_id") {
                    self.error(
                        node,
                        &path,
                        "`previous_key` and `previous_key_id` go together",
                        "give both (during a key rotation), or neither",
                    );
                }
                for child in &known {
                    if child.name == "current_key" || child.name == "previous_key" {
                        let v = Self::str_of(child).unwrap_or_default();
                        if !(v.starts_with("file://") || v.starts_with("env://")) {
                            // The value may be key material: it is not echoed.
                            self.error(
                                child,
                                &join(&path, &child.name),
                                "the key is written inline in the configuration file",
                                "put the 32-byte key in a file (mode 0600) and write \
                                 `file:///path/to/key`, or use `env://VARIABLE`",
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }

    // --- audit -------------------------------------------------------------------------------

    fn audit(&mut self, node: &Node<'_>) {
        if self.engine == Engine::Vault {
            self.error(
                node,
                "audit",
                "Vault has no audit devices declared in the configuration file",
                "enable the device through the API after unseal (`vaultops apply`, or `vault \
                 audit enable file file_path=…`)",
            );
            return;
        }
        if !node.is_block() {
            self.error(
                node,
                "audit",
                "expected a block",
                "write `audit \"file\" \"NAME\" { options { file_path = \"…\" } }`",
            );
            return;
        }
        let (kind, name) = match node.labels.as_slice() {
            [kind, name] => (kind.to_ascii_lowercase(), name.clone()),
            [kind] => {
                self.error(
                    node,
                    &format!("audit.{kind}"),
                    "an audit block needs two labels, its type and its name: with one label \
                     OpenBao refuses to start (\"error parsing 'audit': audit.0: audit type must \
                     be specified\", measured)",
                    format!(
                        "write `audit \"{kind}\" \"{kind}\" {{ … }}` (the second label is the \
                             device's path)"
                    ),
                );
                return;
            }
            _ => {
                self.error(
                    node,
                    "audit",
                    format!(
                        "an audit block needs two labels (type and name), found {}",
                        node.labels.len()
                    ),
                    "write `audit \"file\" \"NAME\" { options { file_path = \"…\" } }`",
                );
                return;
            }
        };
        let path = format!("audit.{kind}.{name}");
        let options_fields: Fields = match kind.as_str() {
            "file" => AUDIT_OPTIONS_FILE,
            "socket" => AUDIT_OPTIONS_SOCKET,
            "syslog" => AUDIT_OPTIONS_SYSLOG,
            other => {
                self.error(
                    node,
                    &path,
                    format!("unknown audit device type {other:?}"),
                    "use file, socket or syslog",
                );
                return;
            }
        };
        let mut known: Vec<&Node<'_>> = Vec::new();
        for child in node.children() {
            let child_path = join(&path, &child.name);
            if let Some(k) = find(&[AUDIT_STANZA], &child.name) {
                if self.kind(child, &child_path, k) {
                    known.push(child);
                }
            } else if find(&[options_fields, AUDIT_OPTIONS_COMMON], &child.name).is_some() {
                // A device option written at stanza level instead of inside `options { }`.
                self.error(
                    child,
                    &child_path,
                    format!(
                        "`{}` is a device option but sits at stanza level: OpenBao ignores it \
                         (only a warning \"unknown or unsupported field {}\", measured), so the \
                         device is created without it",
                        child.name, child.name
                    ),
                    format!(
                        "move it into the options block: `options {{ {} = … }}`",
                        child.name
                    ),
                );
            } else {
                self.unknown_field(child, &child_path, &[AUDIT_STANZA], Unknown::Warned);
            }
        }
        let options = known.iter().find(|c| c.name == "options");
        let option_names: Vec<String> = match options {
            Some(opts) => {
                let opt_path = join(&path, "options");
                self.fields(
                    &opt_path,
                    opts.children(),
                    &[options_fields, AUDIT_OPTIONS_COMMON],
                    Unknown::Silent,
                )
                .iter()
                .map(|c| c.name.clone())
                .collect()
            }
            None => Vec::new(),
        };
        let required = match kind.as_str() {
            "file" => Some(("file_path", "file_path = \"/openbao/audit/audit.log\"")),
            "socket" => Some(("address", "address = \"127.0.0.1:9090\"")),
            _ => None,
        };
        if let Some((field, example)) = required {
            if !option_names.iter().any(|n| n == field) {
                self.error(
                    node,
                    &format!("{path}.options.{field}"),
                    format!("a {kind} audit device needs `{field}` in its options block"),
                    format!("add `options {{ {example} }}`"),
                );
            }
        }
        if kind == "syslog" && !self.host.syslog_socket_present {
            self.error(
                node,
                &path,
                "a syslog audit device on a host without a syslog socket (/dev/log): every write \
                 fails (\"Unix syslog delivery error\"), and measured with OpenBao 2.7.2, after a \
                 leader change no node could become active (\"post-unseal setup failed\", all \
                 nodes 429 for 20 s) until the stanza was removed",
                "use a file or socket audit device, or run a syslog daemon that provides /dev/log \
                 on every node before declaring it",
            );
        }
    }

    fn audit_device(&mut self, node: &Node<'_>) {
        let kind = node
            .labels
            .first()
            .cloned()
            .unwrap_or_else(|| "file".into());
        let name = node
            .children()
            .iter()
            .find(|c| c.name == "path")
            .and_then(Self::str_of)
            .map(|p| p.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| kind.clone());
        let options: Vec<(String, String)> = node
            .children()
            .iter()
            .find(|c| c.name == "options")
            .map(|o| {
                o.children()
                    .iter()
                    .map(|c| {
                        let v = Self::str_of(c).unwrap_or_default();
                        (c.name.clone(), crate::hcl::quote(&v))
                    })
                    .collect()
            })
            .unwrap_or_default();
        match self.engine {
            Engine::OpenBao => {
                let mut example = format!(
                    "audit {} {} {{\n  options {{\n",
                    crate::hcl::quote(&kind),
                    crate::hcl::quote(&name)
                );
                if options.is_empty() {
                    example.push_str("    file_path = \"/openbao/audit/audit.log\"\n");
                }
                for (k, v) in &options {
                    example.push_str(&format!("    {k} = {v}\n"));
                }
                example.push_str("  }\n}");
                self.error(
                    node,
                    "audit_device",
                    "`audit_device` is not a configuration block: OpenBao ignores it without \
                     even a warning (measured with 2.7.2), so the server runs with NO audit log",
                    format!("declare the device with two labels and its options in a nested block:\n{example}"),
                );
            }
            Engine::Vault => self.error(
                node,
                "audit_device",
                "`audit_device` is not a configuration block, and Vault has no audit devices \
                 declared in the file: the server runs with no audit log",
                format!(
                    "enable it through the API after unseal: `vaultops apply` (audit section) or \
                     `vault audit enable -path={name} {kind} {}`",
                    options
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v.trim_matches('"')))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            ),
        }
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// Whether a listener address (`host:port`) is on the loopback interface.
fn is_loopback(address: &str) -> bool {
    if let Ok(ip) = address.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    let host = match address.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => h,
        _ => address,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// The known name closest to `name` (a likely typo), if any is close enough.
fn closest<'a>(name: &str, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .map(|n| (edit_distance(name, n), *n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 5) && *d > 0)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based() {
        let idx = LineIndex::new("a\nbb\n\nc");
        assert_eq!(idx.line(0), 1);
        assert_eq!(idx.line(1), 1);
        assert_eq!(idx.line(2), 2);
        assert_eq!(idx.line(5), 3);
        assert_eq!(idx.line(6), 4);
    }

    #[test]
    fn loopback_addresses() {
        for a in [
            "127.0.0.1:8200",
            "127.9.9.9:1",
            "[::1]:8200",
            "localhost:8200",
            "::1",
        ] {
            assert!(is_loopback(a), "{a}");
        }
        for a in [
            "0.0.0.0:8200",
            "[::]:8200",
            "10.0.0.1:8200",
            "node1:8200",
            "",
        ] {
            assert!(!is_loopback(a), "{a}");
        }
    }

    #[test]
    fn durations_as_the_servers_parse_them() {
        for ok in ["10s", "24h", "1h30m", "3600", "7d", "0"] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in ["", "1 week", "d", "10x", "-1s"] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn go_booleans() {
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }

    #[test]
    fn typo_suggestions() {
        let names = ["cluster_name", "cluster_addr", "api_addr"];
        assert_eq!(closest("clustr_name", &names), Some("cluster_name"));
        assert_eq!(closest("api_adr", &names), Some("api_addr"));
        assert_eq!(closest("completely_different", &names), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
