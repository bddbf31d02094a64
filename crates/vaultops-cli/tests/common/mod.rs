//! Shared scaffolding of the backup tests of the `vaultops` binary: running it, a one-node
//! cluster with the rollout baseline, the value they back up and restore (`secret/atmr/db`),
//! and what a directory holds (names and SHA-256), to prove nothing was added or changed.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use vaultops_api::NodeClient;
use vaultops_testkit::{Cluster, ClusterOptions};

/// Runs the `vaultops` binary with `args`, no token in the environment, stdin closed.
pub fn vaultops(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .env_remove("VAULT_TOKEN")
        .stdin(Stdio::null())
        .args(args)
        .output()
        .unwrap()
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A one-node cluster with the baseline applied; its root client and active index.
pub async fn one_node_with_baseline() -> (Cluster, NodeClient, usize) {
    let c = Cluster::start(ClusterOptions {
        nodes: 1,
        wait_voters: false,
        ..Default::default()
    })
    .await;
    let active = c.wait_active(Duration::from_secs(30)).await;
    let root = c.root_client(active);
    vaultops_bootstrap::apply_baseline(&root).await.unwrap();
    (c, root, active)
}

/// The value of `secret/atmr/db` (`""` when absent).
pub async fn value(root: &NodeClient) -> String {
    root.kv_read("secret", "atmr/db")
        .await
        .unwrap()
        .map(|s| s.data["v"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

/// Writes `v` to `secret/atmr/db`.
pub async fn set_value(root: &NodeClient, v: &str) {
    root.kv_write("secret", "atmr/db", &serde_json::json!({ "v": v }), None)
        .await
        .unwrap();
}

/// Waits (deadline 30 s) until `secret/atmr/db` reads `v` (a restore has taken effect).
pub async fn wait_value(root: &NodeClient, v: &str) {
    let back = vaultops_bootstrap::wait_until(
        "the restored value",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || {
            let r = root.clone();
            async move {
                match r.kv_read("secret", "atmr/db").await {
                    Ok(Some(s)) if s.data["v"] == v => Ok(Some(())),
                    Ok(other) => Err(format!("{:?}", other.map(|s| s.data))),
                    Err(e) => Err(e.to_string()),
                }
            }
        },
    )
    .await;
    assert!(back.is_ok(), "{back:?}");
}

/// Every file of `dir` with the SHA-256 of its content, sorted by name.
pub fn dir_digests(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                sha256_hex(&std::fs::read(&p).unwrap()),
            )
        })
        .collect();
    v.sort();
    v
}

/// The names of the files of `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    dir_digests(dir).into_iter().map(|(n, _)| n).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
