//! What a cluster holds, counted through the API: the secrets of every KV engine (version 1
//! and 2, every folder walked), the other secrets engines, the auth methods and the policies.
//!
//! `vaultops backup verify --restore` reports it for the restored copy, and the
//! `backup-restore` drill compares the source's inventory with the restored one. Counting
//! needs a token that may list `sys/mounts`, `sys/auth`, `sys/policies/acl` and every KV
//! mount's keys (a root token on the throwaway node). A KV v2 key counts once, whatever its
//! number of versions, and also while its latest version is soft-deleted (it is still listed).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use vaultops_api::{ApiError, NodeClient};

/// Engine types that belong to the server itself, not to the operator: not reported.
const SYSTEM_ENGINES: [&str; 3] = ["system", "cubbyhole", "identity"];

/// One KV engine's count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvCount {
    /// Mount path without the trailing `/`, e.g. `secret`.
    pub mount: String,
    /// 1 or 2.
    pub version: u8,
    /// Keys holding a secret (folders are walked, not counted).
    pub secrets: u64,
}

/// A mounted engine or auth method other than KV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mounted {
    /// Path without the trailing `/`.
    pub path: String,
    /// Engine or method type, e.g. `transit`, `approle`.
    pub kind: String,
}

/// What [`take`] counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// KV engines by mount path.
    pub kv: Vec<KvCount>,
    /// Sum of `kv[].secrets`.
    pub secrets: u64,
    /// Other secrets engines (system engines left out).
    pub engines: Vec<Mounted>,
    /// Auth methods (the built-in `token` method left out).
    pub auth_methods: Vec<Mounted>,
    /// ACL policy names (`root` and `default` included, as the server lists them).
    pub policies: Vec<String>,
}

/// An inventory step failed.
#[derive(Debug, thiserror::Error)]
#[error("counting what the cluster holds: {step}")]
pub struct InventoryError {
    pub step: String,
    #[source]
    pub source: ApiError,
}

fn step(what: impl Into<String>) -> impl FnOnce(ApiError) -> InventoryError {
    let step = what.into();
    move |source| InventoryError { step, source }
}

/// Counts what the cluster behind `client` holds (see the module doc for the token needed).
pub async fn take(client: &NodeClient) -> Result<Inventory, InventoryError> {
    let mounts = client
        .mounts_list()
        .await
        .map_err(step("listing secrets engines"))?;
    let mut kv = Vec::new();
    let mut engines = Vec::new();
    for (path, info) in &mounts {
        let path = path.trim_end_matches('/').to_owned();
        match info.mount_type.as_str() {
            "kv" | "generic" => {
                let version = if info.is_kv_v2() { 2 } else { 1 };
                let secrets = count_kv(client, &path, version).await?;
                kv.push(KvCount {
                    mount: path,
                    version,
                    secrets,
                });
            }
            t if SYSTEM_ENGINES.contains(&t) => {}
            t => engines.push(Mounted {
                path,
                kind: t.to_owned(),
            }),
        }
    }
    let auth_methods = client
        .auth_list()
        .await
        .map_err(step("listing auth methods"))?
        .into_iter()
        .filter(|(_, m)| m.mount_type != "token")
        .map(|(p, m)| Mounted {
            path: p.trim_end_matches('/').to_owned(),
            kind: m.mount_type,
        })
        .collect();
    let mut policies = client
        .policy_list()
        .await
        .map_err(step("listing policies"))?;
    policies.sort();
    Ok(Inventory {
        secrets: kv.iter().map(|k| k.secrets).sum(),
        kv,
        engines,
        auth_methods,
        policies,
    })
}

/// Walks every folder of one KV mount and counts the keys that are not folders.
async fn count_kv(client: &NodeClient, mount: &str, version: u8) -> Result<u64, InventoryError> {
    let mut folders = VecDeque::from([String::new()]);
    let mut count = 0;
    while let Some(folder) = folders.pop_front() {
        let keys = if version == 2 {
            client.kv_list(mount, &folder).await
        } else {
            client.kv1_list(mount, &folder).await
        }
        .map_err(step(format!("listing {mount}/{folder}")))?;
        for key in keys {
            if key.ends_with('/') {
                folders.push_back(format!("{folder}{key}"));
            } else {
                count += 1;
            }
        }
    }
    Ok(count)
}

impl Inventory {
    /// The count for one KV mount (path without `/`), if it is a KV mount.
    pub fn secrets_in(&self, mount: &str) -> Option<u64> {
        self.kv
            .iter()
            .find(|k| k.mount == mount.trim_end_matches('/'))
            .map(|k| k.secrets)
    }
}
