//! Restoring a backup, in steps a careful operator can see: [`prepare_restore`] checks the
//! backup completely (checksum file, decryption into a private temporary copy, archive
//! structure and its own checksums, the description of the cluster it came from), before
//! anything touches a server; [`describe_target`] reads what the target node holds (cluster,
//! version, leader, raft index); [`check_cluster`] refuses a backup of another cluster unless
//! forced; [`restore_prepared`] sends the very bytes that were checked.
//!
//! The decrypted copy is a 0600 scratch file removed when the [`PreparedRestore`] is dropped,
//! also when the future preparing it is dropped halfway (Ctrl-C): the decryption then stops
//! within one buffer and removes what it wrote.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use vaultops_api::NodeClient;
use vaultops_custody::Identities;
use vaultops_fs::ScratchFile;

use crate::cancel::{blocking, Cancel};
use crate::meta::{self, BackupMeta};
use crate::{
    check_archive, checksum_state, decrypt_into, parent_dir, scratch_near, BackupError,
    ChecksumState, VerifyReport,
};

/// A backup checked and decrypted, ready to be sent.
#[derive(Debug)]
pub struct PreparedRestore {
    /// The backup file.
    pub file: PathBuf,
    /// What the server-free checks found (its `meta` is the raft snapshot's own: index, term).
    pub report: VerifyReport,
    /// Size of the backup file.
    pub bytes: u64,
    plain: Arc<ScratchFile>,
}

impl PreparedRestore {
    /// The description written with the backup, if it has one.
    pub fn backup_meta(&self) -> Option<&BackupMeta> {
        self.report.backup_meta.as_ref()
    }

    /// The raft index the snapshot was taken at (its `meta.json`).
    pub fn snapshot_index(&self) -> Option<u64> {
        self.report.meta.get("Index").and_then(|v| v.as_u64())
    }
}

/// Checks `file` completely and decrypts it (with `identities` when it is encrypted) into a
/// private temporary file in `temp_dir` (default: the backup's directory). Without
/// `require_checksum` a missing `<file>.sha256` is accepted (a mismatch never is).
pub async fn prepare_restore(
    file: &Path,
    identities: &Identities,
    require_checksum: bool,
    temp_dir: Option<&Path>,
) -> Result<PreparedRestore, BackupError> {
    let cancel = Cancel::default();
    let _stop = cancel.on_drop();
    let dir = temp_dir.unwrap_or_else(|| parent_dir(file));
    let plain = Arc::new(scratch_near(file, dir, "restore")?);
    let (f, ids, held) = (file.to_owned(), identities.clone(), Arc::clone(&plain));
    let lost = || BackupError::DecryptTask {
        path: file.to_owned(),
    };
    let (report, bytes) = blocking(
        move || {
            let (checksum, sha256) = checksum_state(&f, &cancel)?;
            if checksum == ChecksumState::Absent && require_checksum {
                return Err(BackupError::ChecksumMissing {
                    sums: crate::checksum_path(&f),
                    path: f,
                });
            }
            let backup_meta = meta::read(&f, &sha256)?;
            let bytes = std::fs::metadata(&f).map_err(crate::read_err(&f))?.len();
            let encrypted = decrypt_into(&f, &ids, held.path(), &cancel)?;
            cancel.check(&f)?;
            let (entries, meta) = check_archive(held.path(), &f)?;
            drop(held);
            Ok((
                VerifyReport {
                    encrypted,
                    checksum,
                    entries,
                    meta,
                    backup_meta,
                },
                bytes,
            ))
        },
        lost,
    )
    .await?;
    Ok(PreparedRestore {
        file: file.to_owned(),
        report,
        bytes,
        plain,
    })
}

/// [`verify_file`](crate::verify_file) as the restore runs it (the same steps as
/// [`prepare_restore`], the decrypted copy removed at the end), stopping within one buffer
/// and removing what it wrote when the future is dropped (Ctrl-C).
pub async fn verify_backup(
    file: &Path,
    identities: &Identities,
    require_checksum: bool,
) -> Result<VerifyReport, BackupError> {
    prepare_restore(file, identities, require_checksum, None)
        .await
        .map(|p| p.report)
}

/// What the target node says about itself (no token needed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    pub addr: String,
    /// `active`, `standby`, `sealed`, … (`sys/health`).
    pub role: String,
    pub cluster_id: Option<String>,
    pub cluster_name: Option<String>,
    pub server_version: Option<String>,
    /// The active node's address as this node knows it.
    pub leader: Option<String>,
    pub raft_committed_index: Option<u64>,
    pub raft_applied_index: Option<u64>,
}

/// Reads the target's identity and state.
pub async fn describe_target(client: &NodeClient) -> Result<TargetInfo, BackupError> {
    let health = client
        .health()
        .await
        .map_err(|e| BackupError::Target(Box::new(e)))?;
    let leader = client.leader().await.ok();
    let b = health.body;
    Ok(TargetInfo {
        addr: client.addr().to_owned(),
        role: format!("{:?}", health.role).to_lowercase(),
        cluster_id: b.cluster_id,
        cluster_name: b.cluster_name,
        server_version: b.version,
        leader: leader
            .as_ref()
            .map(|l| l.leader_address.clone())
            .filter(|a| !a.is_empty()),
        raft_committed_index: leader.as_ref().and_then(|l| l.raft_committed_index),
        raft_applied_index: leader.as_ref().and_then(|l| l.raft_applied_index),
    })
}

/// Where the safety snapshot of `target` goes in `dir`:
/// `<cluster name>-before-restore-<UTC time>.snap` (`.snap.age` when `encrypted`).
pub fn safety_snapshot_path(dir: &Path, target: &TargetInfo, encrypted: bool) -> PathBuf {
    let name: String = target
        .cluster_name
        .as_deref()
        .unwrap_or("target")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default();
    let ext = if encrypted { "snap.age" } else { "snap" };
    let marker = vaultops_bootstrap::SAFETY_SNAPSHOT_MARKER;
    dir.join(format!("{name}{marker}{stamp}.{ext}"))
}

/// Whether the backup comes from the target's cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterMatch {
    Same,
    /// Another cluster: restoring replaces the target's data AND keys with that cluster's.
    Other,
    /// The backup has no description, or one side gave no cluster id: the server's own
    /// check (the snapshot's keyring) still refuses another cluster's snapshot without force.
    Unknown,
}

/// Compares the backup's cluster with the target's; [`ClusterMatch::Other`] is an error
/// unless `force`.
pub fn check_cluster(
    prepared: &PreparedRestore,
    target: &TargetInfo,
    force: bool,
) -> Result<ClusterMatch, BackupError> {
    let theirs = prepared.backup_meta().and_then(|m| m.cluster_id.as_deref());
    let found = match (theirs, target.cluster_id.as_deref()) {
        (Some(a), Some(b)) if a == b => ClusterMatch::Same,
        (Some(_), Some(_)) => ClusterMatch::Other,
        _ => ClusterMatch::Unknown,
    };
    if found == ClusterMatch::Other && !force {
        let name = |n: Option<&str>, id: Option<&str>| {
            format!("{} (id {})", n.unwrap_or("unnamed"), id.unwrap_or("?"))
        };
        let m = prepared.backup_meta();
        return Err(BackupError::OtherCluster {
            backup: name(m.and_then(|m| m.cluster_name.as_deref()), theirs),
            target: name(target.cluster_name.as_deref(), target.cluster_id.as_deref()),
        });
    }
    Ok(found)
}

/// Sends the checked copy to `client`, which must be the active node.
pub async fn restore_prepared(
    client: &NodeClient,
    prepared: &PreparedRestore,
    force: bool,
) -> Result<(), BackupError> {
    client
        .snapshot_restore(prepared.plain.path(), force)
        .await
        .map_err(|e| BackupError::Restore(Box::new(e)))
}

/// Restores `file` (checked completely, its checksum file required, decrypted with
/// `identities` if it is encrypted) through `client`, which must be the active node. `force`
/// is needed for a snapshot of another cluster (then that cluster's unseal keys and root token
/// apply, and the nodes seal themselves: see `docs/runbooks/disaster-recovery.md`). No
/// confirmation, no safety snapshot: the CLI's `backup restore` adds those.
pub async fn restore(
    client: &NodeClient,
    file: &Path,
    identities: &Identities,
    force: bool,
) -> Result<(), BackupError> {
    let prepared = prepare_restore(file, identities, true, None).await?;
    restore_prepared(client, &prepared, force).await
}

/// [`restore`], with the decrypted temporary copy in `temp_dir` and a missing checksum file
/// accepted (the caller has checked the file already).
pub(crate) async fn restore_via(
    client: &NodeClient,
    file: &Path,
    identities: &Identities,
    force: bool,
    temp_dir: &Path,
) -> Result<(), BackupError> {
    let prepared = prepare_restore(file, identities, false, Some(temp_dir)).await?;
    restore_prepared(client, &prepared, force).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(dir: &Path, cluster_id: Option<&str>) -> PreparedRestore {
        let backup_meta = cluster_id.map(|id| BackupMeta {
            source: "https://old:8200".into(),
            cluster_id: Some(id.into()),
            cluster_name: Some("old".into()),
            server_version: None,
            taken_at: String::new(),
            raft_index: None,
            bytes: 0,
            sha256: String::new(),
            encrypted: false,
        });
        PreparedRestore {
            file: dir.join("b.snap"),
            report: VerifyReport {
                encrypted: false,
                checksum: ChecksumState::Matches,
                entries: Vec::new(),
                meta: serde_json::json!({"Index": 9}),
                backup_meta,
            },
            bytes: 0,
            plain: Arc::new(ScratchFile::create_in(dir, "t").unwrap()),
        }
    }

    fn target(cluster_id: Option<&str>) -> TargetInfo {
        TargetInfo {
            addr: "https://new:8200".into(),
            role: "active".into(),
            cluster_id: cluster_id.map(Into::into),
            cluster_name: Some("new".into()),
            server_version: None,
            leader: None,
            raft_committed_index: None,
            raft_applied_index: None,
        }
    }

    #[test]
    fn another_clusters_backup_needs_force_an_unknown_one_is_left_to_the_server() {
        let d = tempfile::tempdir().unwrap();
        let same = check_cluster(&prepared(d.path(), Some("c1")), &target(Some("c1")), false);
        assert_eq!(same.unwrap(), ClusterMatch::Same);
        let other = prepared(d.path(), Some("c1"));
        let e = check_cluster(&other, &target(Some("c2")), false).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("old (id c1)")
                && text.contains("new (id c2)")
                && text.contains("--force"),
            "{text}"
        );
        assert_eq!(
            check_cluster(&other, &target(Some("c2")), true).unwrap(),
            ClusterMatch::Other
        );
        for (p, t) in [(None, Some("c2")), (Some("c1"), None)] {
            let r = check_cluster(&prepared(d.path(), p), &target(t), false).unwrap();
            assert_eq!(r, ClusterMatch::Unknown);
        }
        assert_eq!(other.snapshot_index(), Some(9));
    }
}
