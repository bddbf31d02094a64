//! The planner: walks the rollout file against the server's [`CurrentState`] and collects
//! creates, updates and deletes (in apply order), checks, blockers and notes into a [`Plan`].

use super::compare::{
    audit_mismatch, create_mount_fields, field, obj, openbao_audit_check, quoted, role_diff,
    ttl_secs, tune_diff, MountSpec,
};
use super::*;
use crate::model::AuditDeviceSpec;
use crate::state::MountState;
use crate::validate::{BUILTIN_POLICIES, RESERVED_AUTH_PATHS};
use std::collections::{BTreeMap, BTreeSet};

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
