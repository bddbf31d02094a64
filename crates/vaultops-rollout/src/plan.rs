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

use crate::model::{
    format_secs, AuditDeviceSpec, AuditType, AuthMethod, Engine, Rollout, SecretsEngine,
    SecretsEngineType, Ttl,
};
use crate::state::{AuditState, CurrentState, MountState, RoleSettings};
use crate::validate::{BUILTIN_POLICIES, RESERVED_AUTH_PATHS};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

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

/// Computes what must change on a server in state `current` so that it matches `desired`.
pub fn plan(desired: &Rollout, current: &CurrentState, options: &PlanOptions) -> Plan {
    let mut p = Planner {
        desired,
        current,
        prune: options.prune,
        upserts: Vec::new(),
        deletes: Vec::new(),
        checks: Vec::new(),
        blockers: Vec::new(),
        not_pruned: Vec::new(),
        notes: Vec::new(),
    };
    let (engine, engine_source) = p.engine();
    p.audit(engine);
    p.secrets_engines();
    p.auth();
    p.policies();
    p.roles();
    let mut changes = p.upserts;
    // Deletes run after every create and update, the most dependent kind first.
    p.deletes.sort_by_key(|c| std::cmp::Reverse(c.object.kind));
    changes.extend(p.deletes);
    Plan {
        engine,
        engine_source,
        server_version: current.server_version.clone(),
        prune: options.prune,
        changes,
        checks: p.checks,
        blockers: p.blockers,
        not_pruned: p.not_pruned,
        notes: p.notes,
    }
}

struct Planner<'a> {
    desired: &'a Rollout,
    current: &'a CurrentState,
    prune: bool,
    upserts: Vec<Change>,
    deletes: Vec<Change>,
    checks: Vec<Check>,
    blockers: Vec<Blocker>,
    not_pruned: Vec<ObjectRef>,
    notes: Vec<String>,
}

fn obj(kind: ObjectKind, name: impl Into<String>) -> ObjectRef {
    ObjectRef {
        kind,
        name: name.into(),
    }
}

fn field(name: &str, from: Option<String>, to: Option<String>) -> FieldDiff {
    FieldDiff {
        field: name.to_owned(),
        from,
        to,
    }
}

fn quoted(s: &str) -> String {
    format!("{s:?}")
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

fn ttl_secs(t: Option<Ttl>) -> u64 {
    t.map_or(0, Ttl::secs)
}

fn show_ttl(secs: u64) -> String {
    if secs == 0 {
        "0 (system default)".to_owned()
    } else {
        format_secs(secs)
    }
}

impl Planner<'_> {
    fn engine(&mut self) -> (Option<Engine>, EngineSource) {
        let detected = self
            .current
            .server_version
            .as_deref()
            .and_then(Engine::detect);
        match (self.desired.engine, detected) {
            (Some(declared), Some(found)) if declared != found => {
                self.notes.push(format!(
                    "the file declares {declared}, but server version {} looks like {found}; planning for {declared} as declared",
                    self.current.server_version.as_deref().unwrap_or_default()
                ));
                (Some(declared), EngineSource::Declared)
            }
            (Some(declared), _) => (Some(declared), EngineSource::Declared),
            (None, Some(found)) => (Some(found), EngineSource::Detected),
            (None, None) => (None, EngineSource::Unknown),
        }
    }

    fn push(&mut self, kind: ChangeKind, object: ObjectRef, diff: Vec<FieldDiff>, op: Op) {
        let change = Change {
            kind,
            object,
            diff,
            op,
        };
        match kind {
            ChangeKind::Delete => self.deletes.push(change),
            _ => self.upserts.push(change),
        }
    }

    fn block(&mut self, object: Option<ObjectRef>, message: String) {
        self.blockers.push(Blocker { object, message });
    }

    /// A managed object absent from the file: deleted with `--prune`, listed otherwise.
    fn prune_or_list(&mut self, object: ObjectRef, op: Op) {
        if self.prune {
            self.push(ChangeKind::Delete, object, Vec::new(), op);
        } else {
            self.not_pruned.push(object);
        }
    }

    fn audit(&mut self, engine: Option<Engine>) {
        let Some(declared) = &self.desired.audit else {
            return;
        };
        match engine {
            None => {
                if !declared.is_empty() {
                    self.block(
                        None,
                        format!(
                            "cannot tell whether the server is OpenBao or Vault (version {:?}), which decides how audit devices are managed; set `engine: openbao` or `engine: vault` in the rollout file",
                            self.current.server_version.as_deref().unwrap_or("unknown")
                        ),
                    );
                }
            }
            Some(Engine::OpenBao) => {
                for (path, spec) in declared {
                    let check = openbao_audit_check(
                        path.as_str(),
                        spec,
                        self.current.audit.get(path.as_str()),
                    );
                    self.checks.push(check);
                }
            }
            Some(Engine::Vault) => self.vault_audit(declared),
        }
    }

    fn vault_audit(&mut self, declared: &BTreeMap<crate::model::MountPath, AuditDeviceSpec>) {
        for (path, spec) in declared {
            let o = obj(ObjectKind::AuditDevice, path.as_str());
            match self.current.audit.get(path.as_str()) {
                None => {
                    let mut diff =
                        vec![field("type", None, Some(spec.device_type.as_str().into()))];
                    if !spec.description.is_empty() {
                        diff.push(field("description", None, Some(quoted(&spec.description))));
                    }
                    for (k, v) in &spec.options {
                        diff.push(field(&format!("options.{k}"), None, Some(quoted(v))));
                    }
                    self.push(
                        ChangeKind::Create,
                        o,
                        diff,
                        Op::EnableAudit {
                            path: path.to_string(),
                            device_type: spec.device_type,
                            description: spec.description.clone(),
                            options: spec.options.clone(),
                        },
                    );
                }
                Some(found) => {
                    if let Some(why) = audit_mismatch(spec, found) {
                        self.block(
                            Some(o),
                            format!(
                                "{why}; Vault cannot change an audit device in place: declare the new settings under another path (--prune with `allow_prune.audit` then disables the old one) or replace it by hand"
                            ),
                        );
                    }
                }
            }
        }
        if !self.desired.allow_prune.audit {
            return;
        }
        let extra: Vec<String> = self
            .current
            .audit
            .keys()
            .filter(|p| !declared.contains_key(p.as_str()))
            .cloned()
            .collect();
        if self.prune && declared.is_empty() && !extra.is_empty() {
            self.block(
                None,
                "refusing to disable every audit device: declare at least one under `audit:` (a cluster without audit logging is not production-ready)".to_owned(),
            );
            return;
        }
        for path in extra {
            self.prune_or_list(
                obj(ObjectKind::AuditDevice, path.clone()),
                Op::DisableAudit { path },
            );
        }
    }

    fn secrets_engines(&mut self) {
        if let Some(declared) = &self.desired.secrets_engines {
            let current = &self.current.secrets_engines;
            let prune = self.desired.allow_prune.secrets_engines;
            self.mounts(declared, current, prune, SYSTEM_SECRETS_ENGINES);
        }
    }

    fn auth(&mut self) {
        if let Some(declared) = &self.desired.auth {
            let current = &self.current.auth;
            let prune = self.desired.allow_prune.auth;
            self.mounts(declared, current, prune, RESERVED_AUTH_PATHS);
        }
    }

    /// Secrets engines and auth methods alike: create what is missing, tune what differs,
    /// block a mount of another type, and prune undeclared mounts (never `reserved` ones)
    /// only when the file opts in with `allow_prune`.
    fn mounts<S: MountSpec>(
        &mut self,
        declared: &BTreeMap<crate::model::MountPath, S>,
        current: &BTreeMap<String, MountState>,
        allow_prune: bool,
        reserved: &[&str],
    ) {
        for (path, spec) in declared {
            let o = obj(S::KIND, path.as_str());
            let want_default = ttl_secs(spec.default_lease_ttl());
            let want_max = ttl_secs(spec.max_lease_ttl());
            match current.get(path.as_str()) {
                None => {
                    let mut diff = vec![field("type", None, Some(spec.type_name()))];
                    create_mount_fields(&mut diff, spec.description(), want_default, want_max);
                    let op = spec.enable(path.to_string(), want_default, want_max);
                    self.push(ChangeKind::Create, o, diff, op);
                }
                Some(found) => {
                    if let Some(why) = spec.type_mismatch(found) {
                        self.block(Some(o), why);
                        continue;
                    }
                    let (diff, tune) = tune_diff(found, spec.description(), want_default, want_max);
                    if !diff.is_empty() {
                        self.push(ChangeKind::Update, o, diff, S::tune(path.to_string(), tune));
                    }
                }
            }
        }
        if !allow_prune {
            return;
        }
        let extra: Vec<String> = current
            .keys()
            .filter(|p| !declared.contains_key(p.as_str()) && !reserved.contains(&p.as_str()))
            .cloned()
            .collect();
        for path in extra {
            self.prune_or_list(obj(S::KIND, path.clone()), S::disable(path));
        }
    }

    fn policies(&mut self) {
        let Some(declared) = &self.desired.policies else {
            return;
        };
        for (name, spec) in declared {
            let o = obj(ObjectKind::Policy, name.as_str());
            let Some(hcl) = &spec.hcl else {
                self.block(
                    Some(o),
                    format!(
                        "its file {} was not loaded (the caller must run Rollout::resolve_policy_files)",
                        spec.file.as_deref().unwrap_or("?")
                    ),
                );
                continue;
            };
            match self.current.policies.get(name.as_str()) {
                None => self.push(
                    ChangeKind::Create,
                    o,
                    vec![field("policy", None, Some(hcl.clone()))],
                    Op::WritePolicy {
                        name: name.to_string(),
                        hcl: hcl.clone(),
                    },
                ),
                Some(found) if normalize_hcl(found) != normalize_hcl(hcl) => self.push(
                    ChangeKind::Update,
                    o,
                    vec![field("policy", Some(found.clone()), Some(hcl.clone()))],
                    Op::WritePolicy {
                        name: name.to_string(),
                        hcl: hcl.clone(),
                    },
                ),
                Some(_) => {}
            }
        }
        let extra: Vec<String> = self
            .current
            .policies
            .keys()
            .filter(|n| {
                !declared.contains_key(n.as_str()) && !BUILTIN_POLICIES.contains(&n.as_str())
            })
            .cloned()
            .collect();
        for name in extra {
            self.prune_or_list(
                obj(ObjectKind::Policy, name.clone()),
                Op::DeletePolicy { name },
            );
        }
    }

    fn roles(&mut self) {
        let Some(declared) = &self.desired.approle_roles else {
            return;
        };
        let known_policies: BTreeSet<&str> = self
            .desired
            .policies
            .iter()
            .flat_map(|p| p.keys().map(|n| n.as_str()))
            .chain(self.current.policies.keys().map(String::as_str))
            .chain(["default"])
            .collect();
        for (name, role) in declared {
            let mount = role.mount.as_str();
            let o = obj(ObjectKind::ApproleRole, format!("{mount}/{name}"));
            let want = role.settings();
            for p in &want.token_policies {
                if !known_policies.contains(p.as_str()) {
                    self.notes.push(format!(
                        "{o} hands out policy `{p}`, which is neither declared in the file nor present on the server"
                    ));
                }
            }
            let found = self
                .current
                .approle_roles
                .get(mount)
                .and_then(|roles| roles.get(name.as_str()));
            match found {
                None => {
                    let diff = role_diff(&RoleSettings::default(), &want)
                        .into_iter()
                        .map(|d| FieldDiff { from: None, ..d })
                        .collect();
                    self.push(
                        ChangeKind::Create,
                        o,
                        diff,
                        Op::WriteRole {
                            mount: mount.to_owned(),
                            name: name.to_string(),
                            settings: want,
                            create: true,
                        },
                    );
                }
                Some(found) => {
                    let found = found.clone().normalized();
                    if found.local_secret_ids != want.local_secret_ids {
                        self.block(
                            Some(o),
                            format!(
                                "local_secret_ids is {} on the server and {} in the file, and the server only sets it when a role is created: delete the role (its secret-ids go with it) and apply again",
                                found.local_secret_ids, want.local_secret_ids
                            ),
                        );
                        continue;
                    }
                    let diff = role_diff(&found, &want);
                    if !diff.is_empty() {
                        self.push(
                            ChangeKind::Update,
                            o,
                            diff,
                            Op::WriteRole {
                                mount: mount.to_owned(),
                                name: name.to_string(),
                                settings: want,
                                create: false,
                            },
                        );
                    }
                }
            }
        }
        // Roles are pruned one by one, on the AppRole mounts the file declares.
        let managed_mounts: Vec<&str> = self
            .desired
            .auth
            .iter()
            .flatten()
            .filter(|(_, m)| m.method_type.as_str() == "approle")
            .map(|(p, _)| p.as_str())
            .collect();
        for mount in managed_mounts {
            let Some(on_server) = self.current.approle_roles.get(mount) else {
                continue;
            };
            let extra: Vec<String> = on_server
                .keys()
                .filter(|r| {
                    declared
                        .get(r.as_str())
                        .is_none_or(|role| role.mount.as_str() != mount)
                })
                .cloned()
                .collect();
            for name in extra {
                self.prune_or_list(
                    obj(ObjectKind::ApproleRole, format!("{mount}/{name}")),
                    Op::DeleteRole {
                        mount: mount.to_owned(),
                        name,
                    },
                );
            }
        }
    }
}

/// Trailing whitespace on lines and at the end carries no meaning in HCL.
pub fn normalize_hcl(hcl: &str) -> String {
    let lines: Vec<&str> = hcl.lines().map(str::trim_end).collect();
    lines.join("\n").trim_end().to_owned()
}

fn create_mount_fields(diff: &mut Vec<FieldDiff>, description: &str, default: u64, max: u64) {
    if !description.is_empty() {
        diff.push(field("description", None, Some(quoted(description))));
    }
    if default > 0 {
        diff.push(field("default_lease_ttl", None, Some(format_secs(default))));
    }
    if max > 0 {
        diff.push(field("max_lease_ttl", None, Some(format_secs(max))));
    }
}

fn tune_diff(
    found: &MountState,
    description: &str,
    default: u64,
    max: u64,
) -> (Vec<FieldDiff>, Tune) {
    let mut diff = Vec::new();
    let mut tune = Tune::default();
    if found.description != description {
        diff.push(field(
            "description",
            Some(quoted(&found.description)),
            Some(quoted(description)),
        ));
        tune.description = Some(description.to_owned());
    }
    if found.default_lease_ttl != default {
        diff.push(field(
            "default_lease_ttl",
            Some(show_ttl(found.default_lease_ttl)),
            Some(show_ttl(default)),
        ));
        tune.default_lease_ttl = Some(default);
    }
    if found.max_lease_ttl != max {
        diff.push(field(
            "max_lease_ttl",
            Some(show_ttl(found.max_lease_ttl)),
            Some(show_ttl(max)),
        ));
        tune.max_lease_ttl = Some(max);
    }
    (diff, tune)
}

/// What differs between a declared secrets engine and a declared auth method when they are
/// planned as mounts.
trait MountSpec {
    const KIND: ObjectKind;
    fn type_name(&self) -> String;
    fn description(&self) -> &str;
    fn default_lease_ttl(&self) -> Option<Ttl>;
    fn max_lease_ttl(&self) -> Option<Ttl>;
    /// Why the mount found at the path cannot be this one, if it cannot.
    fn type_mismatch(&self, found: &MountState) -> Option<String>;
    fn enable(&self, path: String, default_lease_ttl: u64, max_lease_ttl: u64) -> Op;
    fn tune(path: String, tune: Tune) -> Op;
    fn disable(path: String) -> Op;
}

impl MountSpec for SecretsEngine {
    const KIND: ObjectKind = ObjectKind::SecretsEngine;
    fn type_name(&self) -> String {
        self.engine_type.as_str().into()
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn default_lease_ttl(&self) -> Option<Ttl> {
        self.default_lease_ttl
    }
    fn max_lease_ttl(&self) -> Option<Ttl> {
        self.max_lease_ttl
    }
    fn type_mismatch(&self, found: &MountState) -> Option<String> {
        engine_type_mismatch(self.engine_type, found)
    }
    fn enable(&self, path: String, default_lease_ttl: u64, max_lease_ttl: u64) -> Op {
        Op::EnableSecretsEngine {
            path,
            engine_type: self.engine_type,
            description: self.description.clone(),
            default_lease_ttl,
            max_lease_ttl,
        }
    }
    fn tune(path: String, tune: Tune) -> Op {
        Op::TuneSecretsEngine { path, tune }
    }
    fn disable(path: String) -> Op {
        Op::DisableSecretsEngine { path }
    }
}

impl MountSpec for AuthMethod {
    const KIND: ObjectKind = ObjectKind::AuthMethod;
    fn type_name(&self) -> String {
        self.method_type.to_string()
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn default_lease_ttl(&self) -> Option<Ttl> {
        self.default_lease_ttl
    }
    fn max_lease_ttl(&self) -> Option<Ttl> {
        self.max_lease_ttl
    }
    fn type_mismatch(&self, found: &MountState) -> Option<String> {
        (found.mount_type != self.method_type.as_str()).then(|| {
            format!(
                "a `{}` auth method is mounted here, the file declares `{}`; vaultops never replaces a mounted method (its roles and tokens would be lost): choose another path or disable it by hand",
                found.mount_type, self.method_type
            )
        })
    }
    fn enable(&self, path: String, default_lease_ttl: u64, max_lease_ttl: u64) -> Op {
        Op::EnableAuth {
            path,
            method_type: self.method_type.to_string(),
            description: self.description.clone(),
            default_lease_ttl,
            max_lease_ttl,
        }
    }
    fn tune(path: String, tune: Tune) -> Op {
        Op::TuneAuth { path, tune }
    }
    fn disable(path: String) -> Op {
        Op::DisableAuth { path }
    }
}

fn engine_type_mismatch(want: SecretsEngineType, found: &MountState) -> Option<String> {
    match want {
        SecretsEngineType::KvV2 => {
            let version = found.options.get("version").map(String::as_str);
            if found.mount_type != "kv" {
                Some(format!(
                    "a `{}` engine is mounted here, the file declares kv-v2; vaultops never replaces a mounted engine (its data would be lost): choose another path or move the engine by hand",
                    found.mount_type
                ))
            } else if version != Some("2") {
                Some(
                    "a KV version 1 engine is mounted here, the file declares kv-v2; upgrade it with `bao kv enable-versioning <path>` (one-way, check your clients first) and apply again"
                        .to_owned(),
                )
            } else {
                None
            }
        }
    }
}

/// Why a server's audit device does not match the file, if it does not: another type, a
/// different description (when the file gives one), or an option with another value.
fn audit_mismatch(spec: &AuditDeviceSpec, found: &AuditState) -> Option<String> {
    if found.device_type != spec.device_type.as_str() {
        return Some(format!(
            "the server has a `{}` device at this path, the file declares `{}`",
            found.device_type,
            spec.device_type.as_str()
        ));
    }
    if !spec.description.is_empty() && spec.description != found.description {
        return Some(format!(
            "its description is {:?} on the server, {:?} in the file",
            found.description, spec.description
        ));
    }
    for (k, v) in &spec.options {
        match found.options.get(k) {
            Some(have) if have == v => {}
            Some(have) => {
                return Some(format!(
                    "option `{k}` is {have:?} on the server, {v:?} in the file"
                ))
            }
            None => {
                return Some(format!(
                    "option `{k}` is not set on the server ({v:?} in the file)"
                ))
            }
        }
    }
    None
}

fn openbao_audit_check(path: &str, spec: &AuditDeviceSpec, found: Option<&AuditState>) -> Check {
    let object = obj(ObjectKind::AuditDevice, path);
    match found {
        None => Check {
            object,
            status: CheckStatus::Missing,
            detail: format!(
                "missing; OpenBao refuses to create audit devices through the API: declare `audit \"{}\" \"{path}\" {{ options {{ … }} }}` in every node's server configuration and reload the servers (SIGHUP)",
                spec.device_type.as_str()
            ),
        },
        Some(found) => match audit_mismatch(spec, found) {
            Some(why) => Check {
                object,
                status: CheckStatus::Mismatch,
                detail: format!("{why}; fix the `audit` stanza in the server configuration and reload the servers (SIGHUP)"),
            },
            None => Check {
                object,
                status: CheckStatus::Present,
                detail: "present".to_owned(),
            },
        },
    }
}

/// The fields of a role that differ between `from` and `to`.
fn role_diff(from: &RoleSettings, to: &RoleSettings) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    let mut cmp = |name: &str, a: String, b: String| {
        if a != b {
            out.push(field(name, Some(a), Some(b)));
        }
    };
    cmp(
        "token_policies",
        list(&from.token_policies),
        list(&to.token_policies),
    );
    cmp(
        "token_ttl",
        show_ttl(from.token_ttl),
        show_ttl(to.token_ttl),
    );
    cmp(
        "token_max_ttl",
        show_ttl(from.token_max_ttl),
        show_ttl(to.token_max_ttl),
    );
    cmp(
        "token_explicit_max_ttl",
        show_ttl(from.token_explicit_max_ttl),
        show_ttl(to.token_explicit_max_ttl),
    );
    cmp(
        "token_period",
        show_ttl(from.token_period),
        show_ttl(to.token_period),
    );
    cmp("token_type", from.token_type.clone(), to.token_type.clone());
    cmp(
        "token_num_uses",
        from.token_num_uses.to_string(),
        to.token_num_uses.to_string(),
    );
    cmp(
        "token_bound_cidrs",
        list(&from.token_bound_cidrs),
        list(&to.token_bound_cidrs),
    );
    cmp(
        "token_no_default_policy",
        from.token_no_default_policy.to_string(),
        to.token_no_default_policy.to_string(),
    );
    cmp(
        "secret_id_ttl",
        show_ttl(from.secret_id_ttl),
        show_ttl(to.secret_id_ttl),
    );
    cmp(
        "secret_id_num_uses",
        from.secret_id_num_uses.to_string(),
        to.secret_id_num_uses.to_string(),
    );
    cmp(
        "secret_id_bound_cidrs",
        list(&from.secret_id_bound_cidrs),
        list(&to.secret_id_bound_cidrs),
    );
    cmp(
        "bind_secret_id",
        from.bind_secret_id.to_string(),
        to.bind_secret_id.to_string(),
    );
    cmp(
        "local_secret_ids",
        from.local_secret_ids.to_string(),
        to.local_secret_ids.to_string(),
    );
    out
}

// ---------------------------------------------------------------------------------------------
// Human rendering
// ---------------------------------------------------------------------------------------------

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let version = self.server_version.as_deref().unwrap_or("unknown");
        match (self.engine, self.engine_source) {
            (Some(e), EngineSource::Declared) => writeln!(
                f,
                "Engine: {e} (declared in the rollout file; server version {version})"
            )?,
            (Some(e), _) => writeln!(f, "Engine: {e} (detected from server version {version})")?,
            (None, _) => writeln!(f, "Engine: unknown (server version {version})")?,
        }
        for c in &self.changes {
            let sign = match c.kind {
                ChangeKind::Create => "+ create",
                ChangeKind::Update => "~ update",
                ChangeKind::Delete => "- delete",
            };
            writeln!(f, "{sign} {}", c.object)?;
            for d in &c.diff {
                render_field(f, d)?;
            }
        }
        for c in &self.checks {
            let (sign, status) = match c.status {
                CheckStatus::Present => ("=", "present"),
                CheckStatus::Missing => ("!", "MISSING"),
                CheckStatus::Mismatch => ("!", "DIFFERENT"),
            };
            writeln!(
                f,
                "{sign} check {} (server-config managed on OpenBao: check only): {status}",
                c.object
            )?;
        }
        if !self.not_pruned.is_empty() {
            let names: Vec<String> = self.not_pruned.iter().map(ToString::to_string).collect();
            writeln!(
                f,
                "Kept (absent from the file; --prune would delete): {}",
                names.join(", ")
            )?;
        }
        for n in &self.notes {
            writeln!(f, "Note: {n}")?;
        }
        let problems = self.problems();
        if !problems.is_empty() {
            writeln!(
                f,
                "Blocked: apply changes nothing until these {} problem(s) are fixed:",
                problems.len()
            )?;
            for p in &problems {
                writeln!(f, "  - {p}")?;
            }
        }
        if self.changes.is_empty() {
            write!(f, "No changes: the server matches the rollout file.")
        } else {
            write!(
                f,
                "Plan: {} to create, {} to update, {} to delete.",
                self.count(ChangeKind::Create),
                self.count(ChangeKind::Update),
                self.count(ChangeKind::Delete)
            )
        }
    }
}

fn render_field(f: &mut fmt::Formatter<'_>, d: &FieldDiff) -> fmt::Result {
    if d.field == "policy" {
        writeln!(f, "    policy:")?;
        let from = d.from.as_deref().map(normalize_hcl).unwrap_or_default();
        let to = d.to.as_deref().map(normalize_hcl).unwrap_or_default();
        for line in line_diff(&from, &to) {
            writeln!(f, "      {line}")?;
        }
        return Ok(());
    }
    match (&d.from, &d.to) {
        (Some(a), Some(b)) => writeln!(f, "    {}: {a} -> {b}", d.field),
        (None, Some(b)) => writeln!(f, "    {}: {b}", d.field),
        (Some(a), None) => writeln!(f, "    {}: {a} -> (removed)", d.field),
        (None, None) => Ok(()),
    }
}

/// A line diff (longest common subsequence): `  same`, `- removed`, `+ added`.
fn line_diff(from: &str, to: &str) -> Vec<String> {
    let a: Vec<&str> = if from.is_empty() {
        Vec::new()
    } else {
        from.lines().collect()
    };
    let b: Vec<&str> = if to.is_empty() {
        Vec::new()
    } else {
        to.lines().collect()
    };
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(format!("  {}", a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals first, as in a unified diff.
            out.push(format!("- {}", a[i]));
            i += 1;
        } else {
            out.push(format!("+ {}", b[j]));
            j += 1;
        }
    }
    out
}
