//! The executor behind `vaultops apply`: reads a server's configuration into a
//! [`CurrentState`], applies a [`Plan`] computed by `vaultops-rollout`, runs the rollout's
//! policy test matrix, and revokes the root token at the end of a rollout.
//!
//! It talks to ONE node, which must be the active one: OpenBao standbys answer reads from
//! their own, possibly stale, copy, so a plan made there could undo a change just applied.
//!
//! An apply changes nothing when the plan is blocked, makes the changes in the plan's order
//! (audit devices → secrets engines → auth methods → policies → roles, then deletes in
//! reverse), stops at the first failure and reports what was applied before it. Every change
//! is safe to repeat, so re-running the same file after a fix converges.

use std::collections::BTreeMap;
use std::fmt;
use vaultops_api::AppRoleSpec;
use vaultops_api::{ApiError, NodeClient, NodeRole, TokenCreateRequest, TokenType, Ttl};
use vaultops_api::{AuditEnableRequest, EnableRequest, MountConfig, MountInfo};
use vaultops_rollout::SYSTEM_SECRETS_ENGINES;
use vaultops_rollout::{
    evaluate, token_groups, AuditState, Change, ChangeKind, CurrentState, MountState, ObjectRef,
    Op, Plan, RoleSettings, Rollout, SecretsEngineType, Tune, VerifyReport,
};
use vaultops_rollout::{BUILTIN_POLICIES, RESERVED_AUTH_PATHS};

/// How long a `--verify` test token lives if revoking it fails.
const VERIFY_TOKEN_TTL: &str = "5m";

/// A step of `vaultops apply` failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The node is not the active node.
    #[error("{node} is {role}, not the active node; point apply at the active node (`vaultops status` shows which): standbys may answer reads from stale data")]
    NotActive { node: String, role: NodeRole },
    /// Reading the server's configuration failed.
    #[error("reading the {what} failed")]
    ReadState {
        what: String,
        /// The API error, naming the node, the HTTP status and the server's messages.
        #[source]
        source: Box<ApiError>,
    },
    /// The plan has blockers or failed checks; nothing was changed.
    #[error("the plan is blocked, nothing was changed:\n{}", problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Blocked { problems: Vec<String> },
    /// A change touches an object vaultops never changes (`root`/`default` policies,
    /// system mounts); nothing was changed.
    #[error("refusing to {change}: it belongs to the server; nothing was changed")]
    Refused { change: String },
    /// A change failed; the ones before it were applied, none after it was attempted.
    #[error("apply stopped at `{change}`. {} Cause", applied_summary(applied))]
    Apply {
        change: String,
        /// The changes that were applied before the failure, in order.
        applied: Vec<String>,
        /// The server's answer (status and messages, e.g. a policy parse error).
        #[source]
        source: Box<ApiError>,
    },
    /// Running the policy test matrix failed (not a failed expectation: those are in the
    /// [`VerifyReport`]).
    #[error("verify: {step} failed")]
    Verify {
        step: String,
        #[source]
        source: Box<ApiError>,
    },
    /// The token given to [`revoke_root`] is not a root token.
    #[error("refusing to revoke the token used on {node}: it is not a root token (policies: [{}]); give the root token, or skip this step (--keep-root-token)", policies.join(", "))]
    NotRoot { node: String, policies: Vec<String> },
    /// Revoking the root token failed.
    #[error("revoking the root token: {step} failed")]
    RevokeRoot {
        step: &'static str,
        #[source]
        source: Box<ApiError>,
    },
    /// The root token still worked after revoke-self answered success.
    #[error("the root token still works on {node} after it was revoked; revoke it by hand (`bao token revoke -self`) and check the audit log")]
    RootStillValid { node: String },
}

fn applied_summary(applied: &[String]) -> String {
    if applied.is_empty() {
        "Nothing was applied before it. Fix the cause and run apply again.".to_owned()
    } else {
        format!(
            "Applied before it: {}. Nothing after it was attempted; fix the cause and run apply again (it resumes where it stopped).",
            applied.join("; ")
        )
    }
}

/// What an apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApplyReport {
    /// The changes made, in order.
    pub applied: Vec<AppliedChange>,
}

/// One change made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppliedChange {
    pub kind: ChangeKind,
    pub object: ObjectRef,
}

impl fmt::Display for AppliedChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.kind {
            ChangeKind::Create => "created",
            ChangeKind::Update => "updated",
            ChangeKind::Delete => "deleted",
        };
        write!(f, "{verb} {}", self.object)
    }
}

impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.applied.is_empty() {
            return f.write_str("Nothing to apply.");
        }
        for a in &self.applied {
            writeln!(f, "{a}")?;
        }
        write!(f, "Applied {} change(s).", self.applied.len())
    }
}

/// What [`revoke_root`] revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedRoot {
    /// The revoked token's accessor (for the audit log).
    pub accessor: String,
}

// ---------------------------------------------------------------------------------------------
// Reading the current state
// ---------------------------------------------------------------------------------------------

/// Reads what `rollout` manages from the server behind `client` (a token that may read
/// `sys/mounts`, `sys/auth`, `sys/policies/acl`, the AppRole roles and, when the file has
/// an `audit` section, `sys/audit`, which needs `sudo`). Fails unless the node is active.
pub async fn read_current(
    client: &NodeClient,
    rollout: &Rollout,
) -> Result<CurrentState, ApplyError> {
    let read = |what: &str| {
        let what = what.to_owned();
        move |source| ApplyError::ReadState {
            what,
            source: Box::new(source),
        }
    };
    let health = client.health().await.map_err(read("health"))?;
    if health.role != NodeRole::Active {
        return Err(ApplyError::NotActive {
            node: client.addr().to_owned(),
            role: health.role,
        });
    }
    let mut state = CurrentState {
        server_version: health.body.version.clone(),
        ..Default::default()
    };
    state.secrets_engines = mounts(
        client
            .mounts_list()
            .await
            .map_err(read("secrets engines"))?,
    );
    state.auth = mounts(client.auth_list().await.map_err(read("auth methods"))?);
    for name in client.policy_list().await.map_err(read("policy list"))? {
        // `root` has no text; it is listed so that nothing ever plans to create it.
        let text = if name == "root" {
            String::new()
        } else {
            client
                .policy_read(&name)
                .await
                .map_err(read(&format!("policy {name}")))?
                .unwrap_or_default()
        };
        state.policies.insert(name, text);
    }
    for mount in approle_mounts(rollout) {
        if state.auth.get(&mount).map(|m| m.mount_type.as_str()) != Some("approle") {
            continue;
        }
        let mut roles = BTreeMap::new();
        let names = client
            .approle_list_roles(&mount)
            .await
            .map_err(read(&format!("AppRole roles on {mount}/")))?;
        for name in names {
            let spec = client
                .approle_read_role(&mount, &name)
                .await
                .map_err(read(&format!("AppRole role {mount}/{name}")))?;
            // A role deleted between the list and the read is simply absent.
            if let Some(spec) = spec {
                roles.insert(name, role_settings(&spec));
            }
        }
        state.approle_roles.insert(mount, roles);
    }
    if rollout.audit.is_some() {
        for (path, dev) in client.audit_list().await.map_err(read("audit devices"))? {
            state.audit.insert(
                path.trim_end_matches('/').to_owned(),
                AuditState {
                    device_type: dev.device_type,
                    description: dev.description,
                    options: dev.options,
                },
            );
        }
    }
    Ok(state)
}

/// The AppRole mounts whose roles the plan needs: declared ones, and those roles name.
fn approle_mounts(rollout: &Rollout) -> Vec<String> {
    let mut out: Vec<String> = rollout
        .auth
        .iter()
        .flatten()
        .filter(|(_, m)| m.method_type.as_str() == "approle")
        .map(|(p, _)| p.to_string())
        .chain(
            rollout
                .approle_roles
                .iter()
                .flatten()
                .map(|(_, r)| r.mount.to_string()),
        )
        .collect();
    out.sort();
    out.dedup();
    out
}

fn mounts(list: BTreeMap<String, MountInfo>) -> BTreeMap<String, MountState> {
    list.into_iter()
        .map(|(path, m)| {
            (
                path.trim_end_matches('/').to_owned(),
                MountState {
                    mount_type: m.mount_type,
                    options: m.options.unwrap_or_default(),
                    description: m.description,
                    default_lease_ttl: m.config.default_lease_ttl,
                    max_lease_ttl: m.config.max_lease_ttl,
                },
            )
        })
        .collect()
}

fn token_type_str(t: TokenType) -> &'static str {
    match t {
        TokenType::Service => "service",
        TokenType::Batch => "batch",
        TokenType::Default => "default",
        TokenType::DefaultService => "default-service",
        TokenType::DefaultBatch => "default-batch",
    }
}

fn token_type_from(s: &str) -> TokenType {
    match s {
        "service" => TokenType::Service,
        "batch" => TokenType::Batch,
        "default-service" => TokenType::DefaultService,
        "default-batch" => TokenType::DefaultBatch,
        _ => TokenType::Default,
    }
}

/// A role as the server reports it, with the server's defaults for anything it leaves out.
pub(crate) fn role_settings(spec: &AppRoleSpec) -> RoleSettings {
    let d = RoleSettings::default();
    let secs = |t: &Option<Ttl>| t.as_ref().and_then(Ttl::as_secs).unwrap_or(0);
    RoleSettings {
        token_policies: spec.token_policies.clone().unwrap_or_default(),
        token_ttl: secs(&spec.token_ttl),
        token_max_ttl: secs(&spec.token_max_ttl),
        token_explicit_max_ttl: secs(&spec.token_explicit_max_ttl),
        token_period: secs(&spec.token_period),
        token_type: spec
            .token_type
            .map_or(d.token_type, |t| token_type_str(t).to_owned()),
        token_num_uses: spec.token_num_uses.unwrap_or(d.token_num_uses),
        token_bound_cidrs: spec.token_bound_cidrs.clone().unwrap_or_default(),
        token_no_default_policy: spec
            .token_no_default_policy
            .unwrap_or(d.token_no_default_policy),
        secret_id_ttl: secs(&spec.secret_id_ttl),
        secret_id_num_uses: spec.secret_id_num_uses.unwrap_or(d.secret_id_num_uses),
        secret_id_bound_cidrs: spec.secret_id_bound_cidrs.clone().unwrap_or_default(),
        bind_secret_id: spec.bind_secret_id.unwrap_or(d.bind_secret_id),
        local_secret_ids: spec.local_secret_ids.unwrap_or(d.local_secret_ids),
    }
    .normalized()
}

/// Every setting written, so the role ends up exactly as the file says;
/// `local_secret_ids` only at creation (the server refuses it later).
pub(crate) fn role_spec(s: &RoleSettings, create: bool) -> AppRoleSpec {
    AppRoleSpec {
        token_policies: Some(s.token_policies.clone()),
        token_ttl: Some(Ttl::Secs(s.token_ttl)),
        token_max_ttl: Some(Ttl::Secs(s.token_max_ttl)),
        token_explicit_max_ttl: Some(Ttl::Secs(s.token_explicit_max_ttl)),
        token_period: Some(Ttl::Secs(s.token_period)),
        token_type: Some(token_type_from(&s.token_type)),
        token_num_uses: Some(s.token_num_uses),
        token_bound_cidrs: Some(s.token_bound_cidrs.clone()),
        token_no_default_policy: Some(s.token_no_default_policy),
        secret_id_ttl: Some(Ttl::Secs(s.secret_id_ttl)),
        secret_id_num_uses: Some(s.secret_id_num_uses),
        secret_id_bound_cidrs: Some(s.secret_id_bound_cidrs.clone()),
        bind_secret_id: Some(s.bind_secret_id),
        local_secret_ids: create.then_some(s.local_secret_ids),
    }
}

// ---------------------------------------------------------------------------------------------
// Applying a plan
// ---------------------------------------------------------------------------------------------

/// Applies `plan` through `client`, in the plan's order. A blocked plan changes nothing;
/// on the first failure the error lists what was applied before it.
pub async fn apply(client: &NodeClient, plan: &Plan) -> Result<ApplyReport, ApplyError> {
    if plan.is_blocked() {
        return Err(ApplyError::Blocked {
            problems: plan.problems(),
        });
    }
    // Checked before anything is sent, so a hand-made plan cannot half-apply either.
    for change in &plan.changes {
        refuse_server_owned(change)?;
    }
    let mut report = ApplyReport::default();
    for change in &plan.changes {
        if let Err(source) = execute(client, &change.op).await {
            return Err(ApplyError::Apply {
                change: describe(change),
                applied: report.applied.iter().map(ToString::to_string).collect(),
                source: Box::new(source),
            });
        }
        report.applied.push(AppliedChange {
            kind: change.kind,
            object: change.object.clone(),
        });
    }
    Ok(report)
}

fn describe(change: &Change) -> String {
    let verb = match change.kind {
        ChangeKind::Create => "create",
        ChangeKind::Update => "update",
        ChangeKind::Delete => "delete",
    };
    format!("{verb} {}", change.object)
}

/// Defence in depth: whatever a plan says, the built-in policies and the server's own
/// mounts are never written or deleted.
fn refuse_server_owned(change: &Change) -> Result<(), ApplyError> {
    let owned = match &change.op {
        Op::WritePolicy { name, .. } | Op::DeletePolicy { name } => {
            BUILTIN_POLICIES.contains(&name.as_str())
        }
        Op::EnableSecretsEngine { path, .. }
        | Op::TuneSecretsEngine { path, .. }
        | Op::DisableSecretsEngine { path } => SYSTEM_SECRETS_ENGINES.contains(&path.as_str()),
        Op::EnableAuth { path, .. } | Op::TuneAuth { path, .. } | Op::DisableAuth { path } => {
            RESERVED_AUTH_PATHS.contains(&path.as_str())
        }
        _ => false,
    };
    if owned {
        return Err(ApplyError::Refused {
            change: describe(change),
        });
    }
    Ok(())
}

/// A TTL for the API: seconds with a unit; 0 on enable means "not set".
fn ttl_text(secs: u64) -> Option<String> {
    (secs > 0).then(|| format!("{secs}s"))
}

/// A TTL for a tune: 0 puts the mount back on the system default.
fn tune_ttl(secs: u64) -> String {
    if secs == 0 {
        "system".to_owned()
    } else {
        format!("{secs}s")
    }
}

fn mount_config(tune: &Tune) -> MountConfig {
    MountConfig {
        description: tune.description.clone(),
        default_lease_ttl: tune.default_lease_ttl.map(tune_ttl),
        max_lease_ttl: tune.max_lease_ttl.map(tune_ttl),
        ..Default::default()
    }
}

async fn execute(c: &NodeClient, op: &Op) -> Result<(), ApiError> {
    match op {
        Op::EnableSecretsEngine {
            path,
            engine_type,
            description,
            default_lease_ttl,
            max_lease_ttl,
        } => {
            let base = match engine_type {
                SecretsEngineType::KvV2 => EnableRequest::kv_v2(),
            };
            let req = EnableRequest {
                description: description.clone(),
                config: MountConfig {
                    default_lease_ttl: ttl_text(*default_lease_ttl),
                    max_lease_ttl: ttl_text(*max_lease_ttl),
                    ..Default::default()
                },
                ..base
            };
            c.mount_enable(path, &req).await
        }
        Op::TuneSecretsEngine { path, tune } => c.mount_tune(path, &mount_config(tune)).await,
        Op::DisableSecretsEngine { path } => c.mount_disable(path).await,
        Op::EnableAuth {
            path,
            method_type,
            description,
            default_lease_ttl,
            max_lease_ttl,
        } => {
            let req = EnableRequest {
                description: description.clone(),
                config: MountConfig {
                    default_lease_ttl: ttl_text(*default_lease_ttl),
                    max_lease_ttl: ttl_text(*max_lease_ttl),
                    ..Default::default()
                },
                ..EnableRequest::new(method_type.clone())
            };
            c.auth_enable(path, &req).await
        }
        Op::TuneAuth { path, tune } => c.auth_tune(path, &mount_config(tune)).await,
        Op::DisableAuth { path } => c.auth_disable(path).await,
        Op::WritePolicy { name, hcl } => c.policy_write(name, hcl).await,
        Op::DeletePolicy { name } => c.policy_delete(name).await,
        Op::WriteRole {
            mount,
            name,
            settings,
            create,
        } => {
            c.approle_write_role(mount, name, &role_spec(settings, *create))
                .await
        }
        Op::DeleteRole { mount, name } => c.approle_delete_role(mount, name).await,
        Op::EnableAudit {
            path,
            device_type,
            description,
            options,
        } => {
            let req = AuditEnableRequest {
                device_type: device_type.as_str().to_owned(),
                description: description.clone(),
                options: options.clone(),
                local: false,
            };
            c.audit_enable(path, &req).await
        }
        Op::DisableAudit { path } => c.audit_disable(path).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Verify: the policy test matrix
// ---------------------------------------------------------------------------------------------

/// Checks every expectation of `rollout` on the server behind `client` (a token that may
/// create orphan tokens with any policy and call `sys/capabilities`, e.g. root). For each
/// distinct policy set it creates a short-lived orphan token holding exactly those policies
/// (`default` only when listed), asks `sys/capabilities` for the paths, and revokes the
/// token afterwards, also when a step fails. Failed expectations are in the report
/// ([`VerifyReport::passed`]); an error means the matrix could not be run.
pub async fn verify(client: &NodeClient, rollout: &Rollout) -> Result<VerifyReport, ApplyError> {
    let mut accessors = Vec::new();
    let outcome = run_matrix(client, rollout, &mut accessors).await;
    let mut revoke_error = None;
    for accessor in &accessors {
        if let Err(source) = client.token_revoke_accessor(accessor).await {
            revoke_error.get_or_insert(ApplyError::Verify {
                step: "revoking a test token".to_owned(),
                source: Box::new(source),
            });
        }
    }
    let report = outcome?;
    match revoke_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

async fn run_matrix(
    client: &NodeClient,
    rollout: &Rollout,
    accessors: &mut Vec<String>,
) -> Result<VerifyReport, ApplyError> {
    let fail = |step: String| {
        move |source| ApplyError::Verify {
            step,
            source: Box::new(source),
        }
    };
    let mut results = Vec::new();
    for (policies, items) in token_groups(&rollout.expectations) {
        let req = TokenCreateRequest {
            policies: policies.clone(),
            ttl: Some(Ttl::from(VERIFY_TOKEN_TTL)),
            renewable: Some(false),
            no_default_policy: Some(!policies.iter().any(|p| p == "default")),
            display_name: Some("vaultops-verify".to_owned()),
            meta: BTreeMap::from([("purpose".to_owned(), "vaultops apply --verify".to_owned())]),
            ..Default::default()
        };
        let auth = client
            .token_create_orphan(&req)
            .await
            .map_err(fail(format!(
                "creating a test token with policies [{}]",
                policies.join(", ")
            )))?;
        accessors.push(auth.accessor.clone());
        let paths: Vec<&str> = items.iter().map(|(_, p)| p.as_str()).collect();
        let caps = client
            .capabilities(&auth.client_token, &paths)
            .await
            .map_err(fail(format!(
                "sys/capabilities for policies [{}]",
                policies.join(", ")
            )))?;
        for (index, path) in &items {
            let actual = caps.get(path).cloned().unwrap_or_default();
            results.push(evaluate(*index, &rollout.expectations[*index], &actual));
        }
    }
    results.sort_by_key(|r| r.index);
    Ok(VerifyReport { results })
}

// ---------------------------------------------------------------------------------------------
// Revoking the root token
// ---------------------------------------------------------------------------------------------

/// Revokes the token `client` holds, after checking that it IS a root token (its policies
/// include `root`), and confirms that it no longer works. The last step of a rollout: from
/// here on, operators use their own tokens, and `vaultops root generate` makes a new root
/// token with the unseal (or recovery) shares when one is needed again.
pub async fn revoke_root(client: &NodeClient) -> Result<RevokedRoot, ApplyError> {
    let node = client.addr().to_owned();
    let fail = |step: &'static str| {
        move |source| ApplyError::RevokeRoot {
            step,
            source: Box::new(source),
        }
    };
    let info = client
        .token_lookup_self()
        .await
        .map_err(fail("looking up the token"))?;
    if !info.policies.iter().any(|p| p == "root") {
        return Err(ApplyError::NotRoot {
            node,
            policies: info.policies,
        });
    }
    client
        .token_revoke_self()
        .await
        .map_err(fail("revoke-self"))?;
    match client.token_lookup_self().await {
        Err(e) if e.is_permission_denied() => Ok(RevokedRoot {
            accessor: info.accessor,
        }),
        Ok(_) => Err(ApplyError::RootStillValid { node }),
        Err(source) => Err(ApplyError::RevokeRoot {
            step: "confirming the revocation",
            source: Box::new(source),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vaultops_rollout::{plan, PlanOptions};

    #[test]
    fn role_settings_round_trip_through_the_api_type() {
        let s = RoleSettings {
            token_policies: vec!["a".into(), "b".into()],
            token_ttl: 3600,
            token_type: "batch".into(),
            secret_id_bound_cidrs: vec!["10.0.0.0/8".into()],
            local_secret_ids: true,
            ..Default::default()
        };
        let spec = role_spec(&s, true);
        assert_eq!(role_settings(&spec), s);
        // On update `local_secret_ids` is not sent: the server refuses it after creation.
        let update = serde_json::to_value(role_spec(&s, false)).unwrap();
        assert!(update.get("local_secret_ids").is_none());
        assert_eq!(update["token_ttl"], 3600);
    }

    #[test]
    fn a_hand_made_plan_touching_builtins_is_refused_before_anything_is_sent() {
        let r = Rollout::from_yaml("version: 1\n", "t").unwrap();
        let mut p = plan(&r, &CurrentState::default(), &PlanOptions::default());
        p.changes.push(Change {
            kind: ChangeKind::Delete,
            object: ObjectRef {
                kind: vaultops_rollout::ObjectKind::Policy,
                name: "root".into(),
            },
            diff: Vec::new(),
            op: Op::DeletePolicy {
                name: "root".into(),
            },
        });
        let err = refuse_server_owned(&p.changes[0]).unwrap_err();
        assert!(
            err.to_string().contains("refusing to delete policy root"),
            "{err}"
        );
        assert_eq!(tune_ttl(0), "system");
        assert_eq!(ttl_text(0), None);
    }
}
