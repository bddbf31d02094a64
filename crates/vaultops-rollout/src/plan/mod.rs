//! The plan: what must change on a server so that it matches a rollout file, computed from
//! the file and the server's [`CurrentState`] without any I/O, shown as a diff (`+ create`,
//! `~ update` with the changed fields, `- delete`) or as JSON.
//!
//! Rules a careful operator can rely on:
//! - Order: audit devices (Vault) → secrets engines → auth methods → policies → AppRole roles
//!   for creates and updates, then deletes in the reverse order. An apply stops at the
//!   first failure, so nothing that depends on a failed step is attempted.
//! - Comparison is semantic: TTLs by seconds (`24h` == `86400`), policies after trimming
//!   trailing whitespace, lists of policies and CIDRs as sets.
//! - `--prune` deletes only objects of kinds the file manages: policies when the file has a
//!   `policies:` section (never `root` or `default`); AppRole roles on the AppRole mounts
//!   declared under `auth:` when the file has an `approle_roles:` section (single roles, not
//!   the mount); secrets engines, auth methods and audit devices only with the explicit
//!   `allow_prune:` opt-in, and never `sys/`, `identity/`, `cubbyhole/` or `token/`.
//!   Without `--prune` the plan lists what it would delete.
//! - What the plan cannot do safely is a blocker that stops the whole apply: an engine of
//!   another type at a declared path, a KV v1 where KV v2 is declared, a role's
//!   `local_secret_ids` change, an audit device that would need replacing, a missing
//!   OpenBao audit device.

//!
//! This module holds the plan's types; [`planner`] computes a plan, [`compare`] holds the
//! per-object comparisons it uses, and [`display`] renders it for humans.

mod compare;
mod display;
mod planner;

use crate::model::{AuditType, Rollout, SecretsEngineType};
use crate::state::{CurrentState, RoleSettings};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use vaultops_types::Engine;

pub use planner::plan;

/// Secrets engine paths that belong to the server and are never deleted.
pub const SYSTEM_SECRETS_ENGINES: &[&str] = &["sys", "identity", "cubbyhole"];

/// How to plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Delete managed objects that the file does not declare.
    pub prune: bool,
}

/// Everything a rollout would do, and what stops it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The engine the plan was made for; `None` when it could not be told.
    pub engine: Option<Engine>,
    /// Where [`Plan::engine`] came from.
    pub engine_source: EngineSource,
    /// The server's version, as read.
    pub server_version: Option<String>,
    /// Whether deletes of undeclared objects were planned.
    pub prune: bool,
    /// The changes, in the order an apply makes them.
    pub changes: Vec<Change>,
    /// Objects the plan only checks (audit devices on OpenBao).
    pub checks: Vec<Check>,
    /// Problems that stop an apply; an apply of a blocked plan changes nothing.
    pub blockers: Vec<Blocker>,
    /// Objects that are absent from the file and would be deleted with `--prune`.
    pub not_pruned: Vec<ObjectRef>,
    /// Things worth knowing that change nothing.
    pub notes: Vec<String>,
}

/// Where the plan's engine came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineSource {
    /// `engine:` in the rollout file.
    Declared,
    /// The server's version.
    Detected,
    /// Neither: not declared, and the version did not tell.
    Unknown,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    pub object: ObjectRef,
    /// The fields that change (for a create: the settings that are not server defaults).
    pub diff: Vec<FieldDiff>,
    /// What the executor sends.
    #[serde(skip)]
    pub op: Op,
}

/// Create, update or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Create,
    Update,
    Delete,
}

/// A managed object: its kind and name (a mount path, a policy name, `mount/role`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ObjectRef {
    pub kind: ObjectKind,
    pub name: String,
}

/// The kinds of managed objects, in apply order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    AuditDevice,
    SecretsEngine,
    AuthMethod,
    Policy,
    ApproleRole,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ObjectKind::AuditDevice => write!(f, "audit device {}/", self.name),
            ObjectKind::SecretsEngine => write!(f, "secrets engine {}/", self.name),
            ObjectKind::AuthMethod => write!(f, "auth method {}/", self.name),
            ObjectKind::Policy => write!(f, "policy {}", self.name),
            ObjectKind::ApproleRole => write!(f, "AppRole role {}", self.name),
        }
    }
}

/// One field of a change: its value on the server (`from`) and in the file (`to`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDiff {
    pub field: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A check of an object the rollout does not change (audit devices on OpenBao).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub object: ObjectRef,
    pub status: CheckStatus,
    /// What was found, and what to do when it is not right.
    pub detail: String,
}

/// The outcome of a [`Check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Present,
    Missing,
    Mismatch,
}

/// A problem that stops an apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    pub object: Option<ObjectRef>,
    pub message: String,
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.object {
            Some(o) => write!(f, "{o}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Mount settings to change; `None` leaves a setting alone. A TTL of 0 means "back to the
/// system default".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tune {
    pub description: Option<String>,
    pub default_lease_ttl: Option<u64>,
    pub max_lease_ttl: Option<u64>,
}

/// What the executor sends for a change. Paths have no trailing `/`; TTLs are seconds
/// (0: the system default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    EnableSecretsEngine {
        path: String,
        engine_type: SecretsEngineType,
        description: String,
        default_lease_ttl: u64,
        max_lease_ttl: u64,
    },
    TuneSecretsEngine {
        path: String,
        tune: Tune,
    },
    DisableSecretsEngine {
        path: String,
    },
    EnableAuth {
        path: String,
        method_type: String,
        description: String,
        default_lease_ttl: u64,
        max_lease_ttl: u64,
    },
    TuneAuth {
        path: String,
        tune: Tune,
    },
    DisableAuth {
        path: String,
    },
    WritePolicy {
        name: String,
        hcl: String,
    },
    DeletePolicy {
        name: String,
    },
    /// Creates the role (`create: true`, the only time `local_secret_ids` is sent) or
    /// rewrites every setting of an existing one.
    WriteRole {
        mount: String,
        name: String,
        settings: RoleSettings,
        create: bool,
    },
    DeleteRole {
        mount: String,
        name: String,
    },
    EnableAudit {
        path: String,
        device_type: AuditType,
        description: String,
        options: BTreeMap<String, String>,
    },
    DisableAudit {
        path: String,
    },
}

impl Plan {
    /// True when nothing would change (checks and blockers aside).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// True when an apply must not start: a blocker, or a failed check.
    pub fn is_blocked(&self) -> bool {
        !self.problems().is_empty()
    }

    /// Everything that stops an apply, as sentences: blockers, then failed checks.
    pub fn problems(&self) -> Vec<String> {
        self.blockers
            .iter()
            .map(ToString::to_string)
            .chain(
                self.checks
                    .iter()
                    .filter(|c| c.status != CheckStatus::Present)
                    .map(|c| format!("{}: {}", c.object, c.detail)),
            )
            .collect()
    }

    /// How many changes of `kind` the plan has.
    pub fn count(&self, kind: ChangeKind) -> usize {
        self.changes.iter().filter(|c| c.kind == kind).count()
    }
}

/// Trailing whitespace on lines and at the end carries no meaning in HCL.
pub fn normalize_hcl(hcl: &str) -> String {
    let lines: Vec<&str> = hcl.lines().map(str::trim_end).collect();
    lines.join("\n").trim_end().to_owned()
}
