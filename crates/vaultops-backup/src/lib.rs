//! Raft snapshot backups for production use (`vaultops backup save|restore|verify`), the same
//! code the `backup-restore` drill runs: a snapshot streamed to a file, optionally encrypted
//! to age recipients while it is written, a `sha256sum`-compatible checksum file next to it,
//! an integrity check that needs no server, a restore that decrypts to a private temporary
//! file and streams it to the active node, a check that restores into a throwaway node
//! (`scratch`) and counts what the backup holds (`inventory`), and the job's Prometheus
//! textfile (`metrics`).
//!
//! A raft snapshot is a gzip'd tar holding `meta.json`, `state.bin` and `SHA256SUMS` (the
//! hashes of the other two); [`verify_file`] checks all of it. It cannot count secrets: the
//! values in `state.bin` are encrypted with the cluster's keys; [`verify_by_restore`] counts
//! them after a real restore, with the old cluster's unseal keys.
//!
//! Files: the backup, its checksum file and every decrypted copy are written mode 0600 through
//! [`vaultops_fs`] (an exclusive temporary file in the same directory with its mode set before
//! the first byte, then a rename), so a failed or interrupted save never leaves a partial backup
//! under the final name, and a file or symbolic link planted at the target in a shared backup
//! directory never receives a snapshot: the link is refused, the file replaced by a new private
//! one. An unencrypted snapshot never touches the disk when recipients are given, except as a
//! 0600 [`vaultops_fs::ScratchFile`] that is removed afterwards.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vaultops_api::ApiError;
use vaultops_custody::{AgeError, Identities};
use vaultops_fs::{write_atomic, AtomicFile, AtomicWriteError, ScratchFile, WriteOptions};

mod cancel;
mod inventory;
mod meta;
mod metrics;
mod restore;
mod save;
mod scratch;

use cancel::Cancel;
#[cfg(test)]
use save::encrypt_file;
#[cfg(test)]
use vaultops_custody::AgeRecipient;

pub use meta::{meta_path, BackupMeta};
pub(crate) use restore::restore_via;
pub use restore::{
    check_cluster, describe_target, prepare_restore, restore, restore_prepared,
    safety_snapshot_path, verify_backup, ClusterMatch, PreparedRestore, TargetInfo,
};
pub use save::{save, BackupInfo};

pub use inventory::{take as take_inventory, Inventory, InventoryError};
pub use metrics::{
    render as render_metrics, write as write_metrics, SNAPSHOT_METRIC, SNAPSHOT_SIZE_METRIC,
};
pub use scratch::{verify_by_restore, RestoreCheck, ScratchOptions};

/// The first bytes of an age file (binary format).
const AGE_MAGIC: &[u8] = b"age-encryption.org/v1";
/// The first bytes of a gzip stream (a raw raft snapshot).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A backup step failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("taking the snapshot")]
    Snapshot(#[source] Box<ApiError>),
    #[error("restoring the snapshot")]
    Restore(#[source] Box<ApiError>),
    #[error("reading the target node's state")]
    Target(#[source] Box<ApiError>),
    #[error("{}: interrupted before it was complete; its temporary files were removed", .path.display())]
    Interrupted { path: PathBuf },
    #[error("{} has no checksum file ({}): its integrity cannot be checked before it is used; use a backup written by `vaultops backup save` (it writes the checksum file), or, if you checked the file another way, pass --no-checksum", .path.display(), .sums.display())]
    ChecksumMissing { path: PathBuf, sums: PathBuf },
    #[error("the backup's description {}: {reason}", .path.display())]
    Meta { path: PathBuf, reason: String },
    #[error("the backup was taken from cluster {backup}, the target is cluster {target}: restoring it replaces the target's data AND its keys with the other cluster's (its unseal keys and root token apply afterwards, the nodes seal themselves); pass --force if that is what you want (docs/runbooks/disaster-recovery.md)")]
    OtherCluster { backup: String, target: String },
    /// A local file or resource of the throwaway node.
    #[error("local file {}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: vaultops_fs::AtomicWriteError,
    },
    #[error("copying {} into {}", .from.display(), .to.display())]
    Copy {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("encrypting {}", .path.display())]
    Encrypt {
        path: PathBuf,
        #[source]
        source: AgeError,
    },
    #[error("encrypting {}: the encryption task stopped before it finished", .path.display())]
    EncryptTask { path: PathBuf },
    #[error("checking {}: the decryption task stopped before it finished", .path.display())]
    DecryptTask { path: PathBuf },
    #[error("decrypting {} (give the age identity file of a recipient the backup was encrypted to)", .path.display())]
    Decrypt {
        path: PathBuf,
        #[source]
        source: AgeError,
    },
    #[error("{} cannot be decrypted to its end ({reason}): the file is truncated or damaged (a checksum file that matches it was written for these bytes); use another backup", .path.display())]
    Damaged { path: PathBuf, reason: String },
    #[error("{path} is encrypted (age): give the identity (-i FILE) that can decrypt it")]
    NeedsIdentity { path: PathBuf },
    #[error("checksum of {path} does not match {sums}: expected {expected}, got {actual}; the file is damaged or not the one the checksum was written for")]
    Checksum {
        path: PathBuf,
        sums: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{path} is not a usable raft snapshot: {reason}")]
    Archive { path: PathBuf, reason: String },
    #[error("the backup's cluster keys: {reason}; give the unseal keys of the cluster the backup was taken from (--bundle with --key-identity, or --prompt)")]
    OldKeys { reason: String },
    #[error("the backup comes from a cluster with an auto-unseal seal ({seal_type}): its keyring is wrapped by that seal, which a throwaway node does not have; check it by restoring into a cluster with the same seal (docs/runbooks/disaster-recovery.md)")]
    AutoUnsealBackup { seal_type: String },
    #[error("starting the throwaway node with {bin}: {reason}; give the path of an OpenBao (bao) or Vault server binary with --server-bin")]
    ScratchStart { bin: PathBuf, reason: String },
    #[error("throwaway node: {step} (its server log ends with:\n{log_tail}\n)")]
    Scratch {
        step: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
        log_tail: String,
    },
}

pub(crate) fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Read {
        path: path.to_owned(),
        source,
    }
}

pub(crate) fn write_err(path: &Path) -> impl FnOnce(AtomicWriteError) -> BackupError + '_ {
    move |source| BackupError::Write {
        path: path.to_owned(),
        source,
    }
}

pub(crate) fn copy_err<'a>(
    from: &'a Path,
    to: &'a Path,
) -> impl FnOnce(std::io::Error) -> BackupError + 'a {
    move |source| BackupError::Copy {
        from: from.to_owned(),
        to: to.to_owned(),
        source,
    }
}

/// `<path>.sha256`.
pub fn checksum_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".sha256");
    PathBuf::from(p)
}

/// Writes `data` to `path` (0600) atomically.
pub(crate) fn write_private(path: &Path, data: &[u8]) -> Result<(), BackupError> {
    write_atomic(path, data, WriteOptions::private()).map_err(write_err(path))
}

/// The directory `path` is in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A private scratch file next to `near` (for a decrypted or not yet encrypted snapshot).
pub(crate) fn scratch_near(near: &Path, dir: &Path, tag: &str) -> Result<ScratchFile, BackupError> {
    let name = near
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    ScratchFile::create_in(dir, &format!("{name}.{tag}")).map_err(write_err(near))
}

/// Whether `path` starts like an age file.
fn is_age(path: &Path) -> Result<bool, BackupError> {
    let mut head = [0u8; AGE_MAGIC.len()];
    let mut f = std::fs::File::open(path).map_err(read_err(path))?;
    let n = read_up_to(&mut f, &mut head).map_err(read_err(path))?;
    Ok(n == head.len() && head == AGE_MAGIC)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = r.read(&mut buf[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

#[cfg(test)]
fn sha256_file(path: &Path) -> Result<String, BackupError> {
    sha256_file_with(path, &Cancel::default())
}

fn sha256_file_with(path: &Path, cancel: &Cancel) -> Result<String, BackupError> {
    let f = std::fs::File::open(path).map_err(read_err(path))?;
    let mut h = Sha256::new();
    let copied = std::io::copy(&mut cancel.reader(f), &mut h);
    cancel.check(path)?;
    copied.map_err(read_err(path))?;
    Ok(hex::encode(h.finalize()))
}

/// How the checksum file compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumState {
    /// `<file>.sha256` exists and matches.
    Matches,
    /// There is no `<file>.sha256`.
    Absent,
}

/// Checks `<file>.sha256` if present; a mismatch is an error.
pub fn check_checksum(file: &Path) -> Result<ChecksumState, BackupError> {
    checksum_state(file, &Cancel::default()).map(|(state, _)| state)
}

/// [`check_checksum`] when the checksum file is required: its absence is an error too.
pub fn require_checksum(file: &Path) -> Result<(), BackupError> {
    match check_checksum(file)? {
        ChecksumState::Matches => Ok(()),
        ChecksumState::Absent => Err(BackupError::ChecksumMissing {
            path: file.to_owned(),
            sums: checksum_path(file),
        }),
    }
}

/// [`check_checksum`], with the file's SHA-256.
pub(crate) fn checksum_state(
    file: &Path,
    cancel: &Cancel,
) -> Result<(ChecksumState, String), BackupError> {
    let sums = checksum_path(file);
    let text = match std::fs::read_to_string(&sums) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((ChecksumState::Absent, sha256_file_with(file, cancel)?))
        }
        Err(e) => return Err(read_err(&sums)(e)),
    };
    let expected = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    let actual = sha256_file_with(file, cancel)?;
    if expected != actual {
        return Err(BackupError::Checksum {
            path: file.to_owned(),
            sums,
            expected,
            actual,
        });
    }
    Ok((ChecksumState::Matches, actual))
}

/// Decrypts (or copies, when not encrypted) `file` into `out`: a new 0600 file, written
/// atomically; a symbolic link at `out` is refused, a file there replaced.
pub fn decrypt_to(file: &Path, identities: &Identities, out: &Path) -> Result<(), BackupError> {
    decrypt_into(file, identities, out, &Cancel::default()).map(|_| ())
}

/// [`decrypt_to`], stopping (and removing what it wrote) once `cancel` is set; returns whether
/// the file was encrypted.
pub(crate) fn decrypt_into(
    file: &Path,
    identities: &Identities,
    out: &Path,
    cancel: &Cancel,
) -> Result<bool, BackupError> {
    let src = std::fs::File::open(file).map_err(read_err(file))?;
    let mut src = cancel.reader(src);
    if !is_age(file)? {
        let mut dst = AtomicFile::create(out, WriteOptions::private()).map_err(write_err(out))?;
        std::io::copy(&mut src, &mut dst).map_err(copy_err(file, out))?;
        cancel.check(file)?;
        dst.commit().map_err(write_err(out))?;
        return Ok(false);
    }
    if identities.is_empty() {
        return Err(BackupError::NeedsIdentity {
            path: file.to_owned(),
        });
    }
    let mut reader = identities
        .decrypt_stream(src)
        .map_err(|source| BackupError::Decrypt {
            path: file.to_owned(),
            source,
        })?;
    let mut dst = AtomicFile::create(out, WriteOptions::private()).map_err(write_err(out))?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // A failed read past the header is the ciphertext (cut short or altered); a failed
        // write is the local disk.
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                cancel.check(file)?;
                return Err(BackupError::Damaged {
                    path: file.to_owned(),
                    reason: e.to_string(),
                });
            }
        };
        dst.write_all(&buf[..n]).map_err(copy_err(file, out))?;
    }
    cancel.check(file)?;
    dst.commit().map_err(write_err(out))?;
    Ok(true)
}

/// What [`verify_file`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub encrypted: bool,
    pub checksum: ChecksumState,
    /// The archive's files and their sizes.
    pub entries: Vec<(String, u64)>,
    /// `meta.json` (raft index, term, …).
    pub meta: serde_json::Value,
    /// `<file>.meta.json`, written by [`save`] (cluster, time), if the backup has one.
    #[serde(default)]
    pub backup_meta: Option<BackupMeta>,
}

/// Checks a backup without a server: the checksum file (if any), decryption (if encrypted),
/// the gzip and tar structure, and the archive's own `SHA256SUMS` over `meta.json` and
/// `state.bin`.
pub fn verify_file(file: &Path, identities: &Identities) -> Result<VerifyReport, BackupError> {
    let (checksum, sha256) = checksum_state(file, &Cancel::default())?;
    let backup_meta = meta::read(file, &sha256)?;
    let encrypted = is_age(file)?;
    let plain = if encrypted {
        let scratch = scratch_near(file, parent_dir(file), "verify")?;
        decrypt_to(file, identities, scratch.path())?;
        Some(scratch)
    } else {
        None
    };
    let path = plain.as_ref().map_or(file, ScratchFile::path);
    let (entries, meta) = check_archive(path, file)?;
    Ok(VerifyReport {
        encrypted,
        checksum,
        entries,
        meta,
        backup_meta,
    })
}

/// The archive's files with their sizes, and its `meta.json`
type ArchiveContents = (Vec<(String, u64)>, serde_json::Value);

/// Checks the plain raft snapshot at `path` (messages name `file`, the backup): gzip and tar
/// structure, `SHA256SUMS` over `meta.json` and `state.bin`.
pub(crate) fn check_archive(path: &Path, file: &Path) -> Result<ArchiveContents, BackupError> {
    let bad = |reason: String| BackupError::Archive {
        path: file.to_owned(),
        reason,
    };
    let mut f = std::fs::File::open(path).map_err(read_err(path))?;
    let mut head = [0u8; 2];
    if read_up_to(&mut f, &mut head).map_err(read_err(path))? < 2 || head != GZIP_MAGIC {
        return Err(bad("no gzip header (not written by snapshot save?)".into()));
    }
    let f = std::fs::File::open(path).map_err(read_err(path))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut entries = Vec::new();
    let mut hashes: Vec<(String, String)> = Vec::new();
    let mut sums = String::new();
    let mut meta = serde_json::Value::Null;
    for e in archive.entries().map_err(|e| bad(e.to_string()))? {
        let mut e = e.map_err(|e| bad(format!("damaged archive: {e}")))?;
        let name = e
            .path()
            .map_err(|e| bad(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let mut h = Sha256::new();
        let mut data = Vec::new();
        let n = if name == "SHA256SUMS" || name == "meta.json" {
            e.read_to_end(&mut data)
                .map_err(|e| bad(format!("damaged archive: {e}")))? as u64
        } else {
            std::io::copy(&mut e, &mut h).map_err(|e| bad(format!("damaged archive: {e}")))?
        };
        if !data.is_empty() {
            h.update(&data);
        }
        match name.as_str() {
            "SHA256SUMS" => sums = String::from_utf8_lossy(&data).into_owned(),
            "meta.json" => {
                meta = serde_json::from_slice(&data).map_err(|e| bad(format!("meta.json: {e}")))?;
            }
            _ => {}
        }
        if name != "SHA256SUMS" {
            hashes.push((name.clone(), hex::encode(h.finalize())));
        }
        entries.push((name, n));
    }
    if sums.is_empty() {
        return Err(bad("no SHA256SUMS in the archive".into()));
    }
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.split_whitespace();
        let (Some(want), Some(name)) = (parts.next(), parts.next()) else {
            return Err(bad(format!("unreadable SHA256SUMS line {line:?}")));
        };
        match hashes.iter().find(|(n, _)| n == name) {
            Some((_, got)) if got == want => {}
            Some((_, got)) => {
                return Err(bad(format!(
                    "{name} has SHA-256 {got}, SHA256SUMS says {want}"
                )))
            }
            None => return Err(bad(format!("{name} is listed in SHA256SUMS but missing"))),
        }
    }
    for required in ["meta.json", "state.bin"] {
        if !entries.iter().any(|(n, _)| n == required) {
            return Err(bad(format!("no {required} in the archive")));
        }
    }
    Ok((entries, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    fn recipient(id: &age::x25519::Identity) -> AgeRecipient {
        id.to_public().to_string().parse().unwrap()
    }

    fn ids(id: &age::x25519::Identity) -> Identities {
        Identities::from_text(id.to_string().expose_secret()).unwrap()
    }

    /// A raft-snapshot-shaped archive: gzip'd tar of meta.json, state.bin, SHA256SUMS.
    fn snapshot(state: &[u8], tamper: bool) -> Vec<u8> {
        let meta = br#"{"Version":1,"ID":"2-15-1","Index":15,"Term":2}"#;
        let sum = |b: &[u8]| hex::encode(Sha256::digest(b));
        let sums = format!(
            "{}  meta.json\n{}  state.bin\n",
            sum(meta),
            if tamper { sum(b"other") } else { sum(state) }
        );
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut t = tar::Builder::new(gz);
        for (name, data) in [
            ("meta.json", &meta[..]),
            ("state.bin", state),
            ("SHA256SUMS", sums.as_bytes()),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o600);
            h.set_cksum();
            t.append_data(&mut h, name, data).unwrap();
        }
        t.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn verifies_a_plain_snapshot_and_names_a_tampered_one() {
        let d = tempfile::tempdir().unwrap();
        let ok = d.path().join("ok.snap");
        std::fs::write(&ok, snapshot(b"state-bytes", false)).unwrap();
        let r = verify_file(&ok, &Identities::default()).unwrap();
        assert!(!r.encrypted);
        assert_eq!(r.checksum, ChecksumState::Absent);
        assert_eq!(r.meta["Index"], 15);
        assert!(r.entries.iter().any(|(n, b)| n == "state.bin" && *b == 11));

        let bad = d.path().join("bad.snap");
        std::fs::write(&bad, snapshot(b"state-bytes", true)).unwrap();
        let e = verify_file(&bad, &Identities::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("state.bin has SHA-256"), "{e}");

        let full = snapshot(b"state-bytes", false);
        let cut = d.path().join("cut.snap");
        std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
        let e = verify_file(&cut, &Identities::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a usable raft snapshot"), "{e}");
    }

    #[test]
    fn encrypted_round_trip_checksum_and_wrong_identity() {
        let d = tempfile::tempdir().unwrap();
        let plain = d.path().join("plain.snap");
        std::fs::write(&plain, snapshot(b"secret-state", false)).unwrap();
        let id = age::x25519::Identity::generate();
        let out = d.path().join("backup.snap.age");
        let (bytes, sha) = encrypt_file(&plain, &out, &[recipient(&id)]).unwrap();
        assert_eq!(std::fs::metadata(&out).unwrap().len(), bytes);
        assert_eq!(sha256_file(&out).unwrap(), sha);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let raw = std::fs::read(&out).unwrap();
        assert!(raw.starts_with(AGE_MAGIC));
        assert!(!raw.windows(12).any(|w| w == b"secret-state"));
        write_private(
            &checksum_path(&out),
            format!("{sha}  backup.snap.age\n").as_bytes(),
        )
        .unwrap();

        let r = verify_file(&out, &ids(&id)).unwrap();
        assert!(r.encrypted);
        assert_eq!(r.checksum, ChecksumState::Matches);

        let e = verify_file(&out, &Identities::default()).unwrap_err();
        assert!(matches!(e, BackupError::NeedsIdentity { .. }), "{e}");
        let other = age::x25519::Identity::generate();
        let e = verify_file(&out, &ids(&other)).unwrap_err().to_string();
        assert!(e.starts_with("decrypting"), "{e}");

        // A damaged file fails its checksum before anything else.
        let mut damaged = raw.clone();
        let n = damaged.len();
        damaged[n - 10] ^= 0xff;
        std::fs::write(&out, &damaged).unwrap();
        let e = verify_file(&out, &ids(&id)).unwrap_err().to_string();
        assert!(e.contains("checksum of"), "{e}");
    }

    /// Before `vaultops_fs`, the decrypted copy was opened with `O_CREAT|O_TRUNC` and no
    /// `O_NOFOLLOW`: a symbolic link planted at the output in a shared backup directory sent the
    /// plaintext snapshot to its target, and a planted world-readable file kept its mode (and
    /// its owner's open descriptor) while receiving it.
    #[test]
    fn a_planted_file_or_symlink_never_receives_the_decrypted_snapshot() {
        use std::io::Read as _;
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let plain = d.path().join("plain.snap");
        let snap = snapshot(b"secret-state", false);
        std::fs::write(&plain, &snap).unwrap();
        let id = age::x25519::Identity::generate();
        let enc = d.path().join("backup.snap.age");
        encrypt_file(&plain, &enc, &[recipient(&id)]).unwrap();

        let pointee = d.path().join("someone-elses");
        std::fs::write(&pointee, "mine").unwrap();
        std::fs::set_permissions(&pointee, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = d.path().join("restore.snap");
        std::os::unix::fs::symlink(&pointee, &out).unwrap();
        let e = decrypt_to(&enc, &ids(&id), &out).unwrap_err();
        assert!(matches!(e, BackupError::Write { .. }), "{e:?}");
        let enc_link = d.path().join("new.snap.age");
        std::os::unix::fs::symlink(&pointee, &enc_link).unwrap();
        let e = encrypt_file(&plain, &enc_link, &[recipient(&id)]).unwrap_err();
        assert!(matches!(e, BackupError::Write { .. }), "{e:?}");
        assert_eq!(std::fs::read(&pointee).unwrap(), b"mine");

        std::fs::remove_file(&out).unwrap();
        std::fs::write(&out, "planted").unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o666)).unwrap();
        let mut planted = std::fs::File::open(&out).unwrap();
        decrypt_to(&enc, &ids(&id), &out).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), snap);
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mut seen = String::new();
        planted.read_to_string(&mut seen).unwrap();
        assert_eq!(seen, "planted", "the planted file never held the snapshot");

        let mut names: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "backup.snap.age",
                "new.snap.age",
                "plain.snap",
                "restore.snap",
                "someone-elses"
            ],
            "no scratch or temporary file left"
        );
    }
}
