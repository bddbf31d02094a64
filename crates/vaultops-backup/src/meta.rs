//! The backup's description, `<file>.meta.json`, written by [`crate::save`] next to the
//! backup and its checksum file: which cluster it was taken from (id, name, server version,
//! the node's address), when, at which raft index, and the size and SHA-256 of the file it
//! describes. A raft snapshot does not say which cluster it belongs to in clear (that is in
//! its encrypted storage), so a restore compares this with the target before anything is
//! sent. It holds no secret (written 0600 like every backup file all the same).
//!
//! A description whose SHA-256 is not the backup's belongs to another file (a stale copy) and
//! is refused; a backup without one (written before it existed, or copied without it) is
//! restored with its cluster unknown, and the server's own check still refuses a snapshot of
//! another cluster without force.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vaultops_api::NodeClient;

use crate::BackupError;

/// What `<file>.meta.json` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupMeta {
    /// The node the snapshot was taken from, as addressed.
    pub source: String,
    pub cluster_id: Option<String>,
    pub cluster_name: Option<String>,
    pub server_version: Option<String>,
    /// When the snapshot was taken (RFC 3339, UTC).
    pub taken_at: String,
    /// The node's committed raft index just before the snapshot.
    pub raft_index: Option<u64>,
    /// Size and SHA-256 of the backup file described.
    pub bytes: u64,
    pub sha256: String,
    pub encrypted: bool,
}

/// `<path>.meta.json`.
pub fn meta_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".meta.json");
    PathBuf::from(p)
}

/// The source node's identity, read before the snapshot (health and leader need no token).
/// Best effort: a field the node does not give stays empty.
pub(crate) async fn source_of(client: &NodeClient) -> BackupMeta {
    let health = client.health().await.ok().map(|h| h.body);
    let leader = client.leader().await.ok();
    BackupMeta {
        source: client.addr().to_owned(),
        cluster_id: health.as_ref().and_then(|h| h.cluster_id.clone()),
        cluster_name: health.as_ref().and_then(|h| h.cluster_name.clone()),
        server_version: health.as_ref().and_then(|h| h.version.clone()),
        taken_at: now_rfc3339(),
        raft_index: leader.and_then(|l| l.raft_committed_index),
        bytes: 0,
        sha256: String::new(),
        encrypted: false,
    }
}

/// The current time, RFC 3339 in UTC.
pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Reads `<file>.meta.json` if there is one; it must describe the file whose SHA-256 is
/// `sha256`.
pub(crate) fn read(file: &Path, sha256: &str) -> Result<Option<BackupMeta>, BackupError> {
    let path = meta_path(file);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(BackupError::Read { path, source }),
    };
    let bad = |reason: String| BackupError::Meta {
        path: path.clone(),
        reason,
    };
    let meta: BackupMeta = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if meta.sha256 != sha256 {
        return Err(bad(format!(
            "it describes a file with SHA-256 {}, not this one ({sha256}): it belongs to another backup; remove it (the cluster check is then left to the server)",
            meta.sha256
        )));
    }
    Ok(Some(meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_of_another_file_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("b.snap");
        assert_eq!(read(&file, "aa").unwrap(), None, "no description");
        let meta = BackupMeta {
            source: "https://v:8200".into(),
            cluster_id: Some("c-1".into()),
            cluster_name: Some("prod".into()),
            server_version: None,
            taken_at: now_rfc3339(),
            raft_index: Some(7),
            bytes: 3,
            sha256: "aa".into(),
            encrypted: false,
        };
        std::fs::write(meta_path(&file), serde_json::to_vec(&meta).unwrap()).unwrap();
        assert_eq!(read(&file, "aa").unwrap(), Some(meta.clone()));
        let e = read(&file, "bb").unwrap_err().to_string();
        assert!(e.contains("belongs to another backup"), "{e}");
        std::fs::write(meta_path(&file), "{").unwrap();
        assert!(matches!(read(&file, "aa"), Err(BackupError::Meta { .. })));
        assert!(meta.taken_at.ends_with('Z'), "{}", meta.taken_at);
    }
}
