//! What a server currently has, as plain data: filled by the executor
//! (`vaultops_bootstrap::read_current`) from the API, compared by the `plan` module.
//!
//! Paths are kept without their trailing `/`; TTLs in seconds (0: the system default), as
//! the server reports them.

use crate::model::AppRole;
use serde::Serialize;
use std::collections::BTreeMap;

/// A server's configuration, as far as a rollout manages it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CurrentState {
    /// `version` from `sys/health` (e.g. `2.7.2`), for engine detection.
    pub server_version: Option<String>,
    /// Mounted secrets engines by path (including `sys`, `identity`, `cubbyhole`).
    pub secrets_engines: BTreeMap<String, MountState>,
    /// Enabled auth methods by path (including `token`).
    pub auth: BTreeMap<String, MountState>,
    /// ACL policies: name → HCL (`root` has no text; it is listed with an empty one).
    pub policies: BTreeMap<String, String>,
    /// AppRole roles by mount, then by name. Only mounts the rollout declares (and that
    /// exist) need to be read.
    pub approle_roles: BTreeMap<String, BTreeMap<String, RoleSettings>>,
    /// Audit devices by path.
    pub audit: BTreeMap<String, AuditState>,
}

/// A secrets engine or auth method mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MountState {
    /// `kv`, `approle`, `system`, …
    pub mount_type: String,
    /// Engine options (`version: "2"` for KV v2).
    pub options: BTreeMap<String, String>,
    pub description: String,
    /// Seconds; 0 means the system default.
    pub default_lease_ttl: u64,
    /// Seconds; 0 means the system default.
    pub max_lease_ttl: u64,
}

/// An audit device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditState {
    /// `file`, `socket`, `syslog`.
    pub device_type: String,
    pub description: String,
    pub options: BTreeMap<String, String>,
}

/// Every setting of an AppRole role, with concrete values: the server's answer on read,
/// the file's values (defaults filled in) on the desired side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleSettings {
    /// Sorted, without duplicates (the server's order carries no meaning).
    pub token_policies: Vec<String>,
    pub token_ttl: u64,
    pub token_max_ttl: u64,
    pub token_explicit_max_ttl: u64,
    pub token_period: u64,
    /// `service`, `batch`, `default`, `default-service`, `default-batch`.
    pub token_type: String,
    pub token_num_uses: u64,
    /// Sorted, without duplicates.
    pub token_bound_cidrs: Vec<String>,
    pub token_no_default_policy: bool,
    pub secret_id_ttl: u64,
    pub secret_id_num_uses: u64,
    /// Sorted, without duplicates.
    pub secret_id_bound_cidrs: Vec<String>,
    pub bind_secret_id: bool,
    /// Only settable when the role is created.
    pub local_secret_ids: bool,
}

impl Default for RoleSettings {
    /// A role created with no parameters, as OpenBao 2.7.2 reports it (measured).
    fn default() -> Self {
        Self {
            token_policies: Vec::new(),
            token_ttl: 0,
            token_max_ttl: 0,
            token_explicit_max_ttl: 0,
            token_period: 0,
            token_type: "default".to_owned(),
            token_num_uses: 0,
            token_bound_cidrs: Vec::new(),
            token_no_default_policy: false,
            secret_id_ttl: 0,
            secret_id_num_uses: 0,
            secret_id_bound_cidrs: Vec::new(),
            bind_secret_id: true,
            local_secret_ids: false,
        }
    }
}

impl RoleSettings {
    /// Sorts and deduplicates the list settings, so two equal roles compare equal whatever
    /// order the server or the file lists them in.
    pub fn normalized(mut self) -> Self {
        for list in [
            &mut self.token_policies,
            &mut self.token_bound_cidrs,
            &mut self.secret_id_bound_cidrs,
        ] {
            list.sort();
            list.dedup();
        }
        self
    }
}

impl AppRole {
    /// The role's complete settings: what the file says, the server defaults for the rest.
    pub fn settings(&self) -> RoleSettings {
        let d = RoleSettings::default();
        let secs = |t: Option<crate::model::TtlSecs>| t.map_or(0, |t| t.secs());
        RoleSettings {
            token_policies: self.token_policies.iter().map(|p| p.to_string()).collect(),
            token_ttl: secs(self.token_ttl),
            token_max_ttl: secs(self.token_max_ttl),
            token_explicit_max_ttl: secs(self.token_explicit_max_ttl),
            token_period: secs(self.token_period),
            token_type: self
                .token_type
                .map_or(d.token_type, |t| t.as_str().to_owned()),
            token_num_uses: self.token_num_uses.unwrap_or(d.token_num_uses),
            token_bound_cidrs: self
                .token_bound_cidrs
                .iter()
                .map(|c| c.to_string())
                .collect(),
            token_no_default_policy: self
                .token_no_default_policy
                .unwrap_or(d.token_no_default_policy),
            secret_id_ttl: secs(self.secret_id_ttl),
            secret_id_num_uses: self.secret_id_num_uses.unwrap_or(d.secret_id_num_uses),
            secret_id_bound_cidrs: self
                .secret_id_bound_cidrs
                .iter()
                .map(|c| c.to_string())
                .collect(),
            bind_secret_id: self.bind_secret_id.unwrap_or(d.bind_secret_id),
            local_secret_ids: self.local_secret_ids.unwrap_or(d.local_secret_ids),
        }
        .normalized()
    }
}
