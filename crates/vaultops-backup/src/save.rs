//! [`save`]: a snapshot streamed from a node into a file, encrypted to age recipients when
//! any are given, with `<file>.sha256` and `<file>.meta.json` beside it.
//!
//! Interrupted (the future dropped: Ctrl-C in the CLI) or failed at any point, it leaves no
//! temporary, plaintext or partial file, and the previous backup at that path with its
//! checksum and description as they were: the snapshot streams into temporary files; the
//! final step (move the backup into place, write its checksum and description) runs as one
//! blocking task that checks for an interruption first and, once started, completes, so the
//! three files always describe each other.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vaultops_api::NodeClient;
use vaultops_custody::{AgeError, AgeRecipient, AgeWriter};
use vaultops_fs::{AtomicFile, WriteOptions};

use crate::cancel::{blocking, Cancel};
use crate::meta::{meta_path, source_of, BackupMeta};
use crate::{
    checksum_path, copy_err, parent_dir, read_err, scratch_near, write_err, write_private,
    BackupError,
};

/// What [`save`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupInfo {
    pub path: PathBuf,
    /// The `sha256sum`-format checksum file (`<path>.sha256`).
    pub checksum_file: PathBuf,
    /// The description (`<path>.meta.json`: cluster, time, raft index).
    pub meta_file: PathBuf,
    /// Size and SHA-256 of the file written (encrypted when `encrypted`).
    pub bytes: u64,
    pub sha256: String,
    /// Size and SHA-256 of the raw snapshot as the server sent it.
    pub snapshot_bytes: u64,
    pub snapshot_sha256: String,
    pub encrypted: bool,
    /// The cluster it was taken from, as the node said.
    pub cluster_id: Option<String>,
    pub cluster_name: Option<String>,
}

/// A writer that hashes and counts what goes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Streams a snapshot from `client` (the active node or a standby; a root or `sys/storage/raft/
/// snapshot` read token) into `out`, encrypted to `recipients` when any are given, and writes
/// `<out>.sha256` and `<out>.meta.json`. An existing `out` is replaced only once the new backup
/// is complete (see the module documentation for an interruption).
pub async fn save(
    client: &NodeClient,
    out: &Path,
    recipients: &[AgeRecipient],
) -> Result<BackupInfo, BackupError> {
    let cancel = Cancel::default();
    let _stop = cancel.on_drop();
    let mut meta = source_of(client).await;
    let snapshot_err = |e| BackupError::Snapshot(Box::new(e));
    let out_buf = out.to_owned();
    let lost = || BackupError::EncryptTask {
        path: out.to_owned(),
    };
    if recipients.is_empty() {
        let (file, snap) = client.snapshot_stream(out).await.map_err(snapshot_err)?;
        let file = file.into_blocking().await.map_err(write_err(out))?;
        return blocking(
            move || {
                cancel.check(&out_buf)?;
                file.commit().map_err(write_err(&out_buf))?;
                meta.bytes = snap.bytes;
                meta.sha256 = snap.sha256.clone();
                finish(&out_buf, meta, snap.bytes, snap.sha256)
            },
            lost,
        )
        .await;
    }
    // The plain snapshot goes to a scratch file that is removed on every path, once both this
    // future and the blocking task below have let go of it.
    let scratch = Arc::new(scratch_near(out, parent_dir(out), "plain")?);
    let (file, snap) = client
        .snapshot_stream(scratch.path())
        .await
        .map_err(snapshot_err)?;
    let file = file.into_blocking().await.map_err(write_err(out))?;
    let recips = recipients.to_vec();
    let held = Arc::clone(&scratch);
    blocking(
        move || {
            let plain = held.to_path_buf();
            file.commit().map_err(write_err(&out_buf))?;
            let (enc, bytes, sha256) = encrypt_into(&plain, &out_buf, &recips, &cancel)?;
            cancel.check(&out_buf)?;
            enc.commit().map_err(write_err(&out_buf))?;
            drop(held);
            meta.bytes = bytes;
            meta.sha256 = sha256.clone();
            meta.encrypted = true;
            finish(&out_buf, meta, snap.bytes, snap.sha256).map(|info| BackupInfo {
                bytes,
                sha256,
                ..info
            })
        },
        lost,
    )
    .await
}

/// Writes the checksum file and the description of the backup just moved into place.
fn finish(
    out: &Path,
    meta: BackupMeta,
    snapshot_bytes: u64,
    snapshot_sha256: String,
) -> Result<BackupInfo, BackupError> {
    let sums = checksum_path(out);
    let file_name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    write_private(&sums, format!("{}  {file_name}\n", meta.sha256).as_bytes())?;
    let meta_file = meta_path(out);
    let text = serde_json::to_vec_pretty(&meta).unwrap_or_default();
    write_private(&meta_file, &text)?;
    Ok(BackupInfo {
        path: out.to_owned(),
        checksum_file: sums,
        meta_file,
        bytes: meta.bytes,
        sha256: meta.sha256,
        snapshot_bytes,
        snapshot_sha256,
        encrypted: meta.encrypted,
        cluster_id: meta.cluster_id,
        cluster_name: meta.cluster_name,
    })
}

/// Encrypts `plain` into `out` (0600, atomically); returns size and SHA-256 of the encrypted
/// file.
#[cfg(test)]
pub(crate) fn encrypt_file(
    plain: &Path,
    out: &Path,
    recipients: &[AgeRecipient],
) -> Result<(u64, String), BackupError> {
    let (file, bytes, sha) = encrypt_into(plain, out, recipients, &Cancel::default())?;
    file.commit().map_err(write_err(out))?;
    Ok((bytes, sha))
}

/// Encrypts `plain` into a new 0600 temporary file for `out`, not yet committed (dropped, it
/// is removed); returns it with the size and SHA-256 of what it holds.
fn encrypt_into(
    plain: &Path,
    out: &Path,
    recipients: &[AgeRecipient],
    cancel: &Cancel,
) -> Result<(AtomicFile, u64, String), BackupError> {
    let enc_err = |source: AgeError| BackupError::Encrypt {
        path: out.to_owned(),
        source,
    };
    let file = AtomicFile::create(out, WriteOptions::private()).map_err(write_err(out))?;
    let mut hashing = Hashing {
        inner: std::io::BufWriter::new(file),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let mut writer = AgeWriter::new(recipients, &mut hashing).map_err(enc_err)?;
    let input = std::fs::File::open(plain).map_err(read_err(plain))?;
    std::io::copy(&mut cancel.reader(input), &mut writer).map_err(copy_err(plain, out))?;
    writer.finish().map_err(copy_err(plain, out))?;
    hashing.flush().map_err(copy_err(plain, out))?;
    let Hashing {
        inner,
        hasher,
        bytes,
    } = hashing;
    let file = inner
        .into_inner()
        .map_err(|e| copy_err(plain, out)(e.into_error()))?;
    Ok((file, bytes, hex::encode(hasher.finalize())))
}
