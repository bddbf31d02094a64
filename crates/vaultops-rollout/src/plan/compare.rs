//! Per-object comparisons the planner uses: a declared mount, audit device or AppRole role
//! against what the server has, as field diffs, tune requests and mismatch reasons.

use super::*;
use crate::model::{AuditDeviceSpec, AuthMethod, SecretsEngine, TtlSecs};
use crate::state::{AuditState, MountState};
use vaultops_types::format_secs;

pub(super) fn obj(kind: ObjectKind, name: impl Into<String>) -> ObjectRef {
    ObjectRef {
        kind,
        name: name.into(),
    }
}

pub(super) fn field(name: &str, from: Option<String>, to: Option<String>) -> FieldDiff {
    FieldDiff {
        field: name.to_owned(),
        from,
        to,
    }
}

pub(super) fn quoted(s: &str) -> String {
    format!("{s:?}")
}

pub(super) fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

pub(super) fn ttl_secs(t: Option<TtlSecs>) -> u64 {
    t.map_or(0, TtlSecs::secs)
}

pub(super) fn show_ttl(secs: u64) -> String {
    if secs == 0 {
        "0 (system default)".to_owned()
    } else {
        format_secs(secs)
    }
}

pub(super) fn create_mount_fields(
    diff: &mut Vec<FieldDiff>,
    description: &str,
    default: u64,
    max: u64,
) {
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

pub(super) fn tune_diff(
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
pub(super) trait MountSpec {
    const KIND: ObjectKind;
    fn type_name(&self) -> String;
    fn description(&self) -> &str;
    fn default_lease_ttl(&self) -> Option<TtlSecs>;
    fn max_lease_ttl(&self) -> Option<TtlSecs>;
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
    fn default_lease_ttl(&self) -> Option<TtlSecs> {
        self.default_lease_ttl
    }
    fn max_lease_ttl(&self) -> Option<TtlSecs> {
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
    fn default_lease_ttl(&self) -> Option<TtlSecs> {
        self.default_lease_ttl
    }
    fn max_lease_ttl(&self) -> Option<TtlSecs> {
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

pub(super) fn engine_type_mismatch(want: SecretsEngineType, found: &MountState) -> Option<String> {
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
pub(super) fn audit_mismatch(spec: &AuditDeviceSpec, found: &AuditState) -> Option<String> {
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

pub(super) fn openbao_audit_check(
    path: &str,
    spec: &AuditDeviceSpec,
    found: Option<&AuditState>,
) -> Check {
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
pub(super) fn role_diff(from: &RoleSettings, to: &RoleSettings) -> Vec<FieldDiff> {
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
