//! The verification stamp next to the cached binary (`bao.sha256-ok`).
//!
//! Hashing the 180 MB binary takes about half a second, and every test that starts a server asks
//! for it. After a successful verification the stamp records the file's size, mtime, ctime, inode
//! and hash; a later call trusts the file without rehashing while all of those are unchanged.
//! ctime cannot be set from user space, so any write to the file (even one that restores the
//! mtime) invalidates the stamp and forces a rehash.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use vaultops_fs::{write_atomic, WriteOptions};

use crate::error::InstallError;
use crate::hash::sha256_file;

/// Identity of a file's current contents as far as metadata can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    inode: u64,
}

impl Fingerprint {
    pub(crate) fn of(metadata: &fs::Metadata) -> Self {
        Self {
            size: metadata.size(),
            mtime_ns: i128::from(metadata.mtime()) * 1_000_000_000
                + i128::from(metadata.mtime_nsec()),
            ctime_ns: i128::from(metadata.ctime()) * 1_000_000_000
                + i128::from(metadata.ctime_nsec()),
            inode: metadata.ino(),
        }
    }
}

/// The stamp's contents: the fingerprint at verification time and the hash that was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    fingerprint: Fingerprint,
    sha256: String,
}

impl Stamp {
    fn render(&self) -> String {
        let f = &self.fingerprint;
        format!(
            "size={}\nmtime_ns={}\nctime_ns={}\ninode={}\nsha256={}\n",
            f.size, f.mtime_ns, f.ctime_ns, f.inode, self.sha256
        )
    }

    /// Parses a stamp; anything unexpected gives `None`, which just means "rehash".
    fn parse(text: &str) -> Option<Self> {
        let mut size = None;
        let mut mtime_ns = None;
        let mut ctime_ns = None;
        let mut inode = None;
        let mut sha256 = None;
        for line in text.lines() {
            let (key, value) = line.split_once('=')?;
            match key {
                "size" => size = Some(value.parse().ok()?),
                "mtime_ns" => mtime_ns = Some(value.parse().ok()?),
                "ctime_ns" => ctime_ns = Some(value.parse().ok()?),
                "inode" => inode = Some(value.parse().ok()?),
                "sha256" => sha256 = Some(value.to_owned()),
                _ => return None,
            }
        }
        Some(Self {
            fingerprint: Fingerprint {
                size: size?,
                mtime_ns: mtime_ns?,
                ctime_ns: ctime_ns?,
                inode: inode?,
            },
            sha256: sha256?,
        })
    }
}

/// Path of the stamp belonging to `binary`.
pub(crate) fn stamp_path(binary: &Path) -> PathBuf {
    let mut name = binary.file_name().unwrap_or_default().to_owned();
    name.push(".sha256-ok");
    binary.with_file_name(name)
}

/// How the cached binary was found to be good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trust {
    /// The stamp matched the file's metadata; no hashing was done.
    Stamp,
    /// The file was hashed (and the stamp rewritten).
    Rehashed,
}

/// State of the cached binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cached {
    Missing,
    Valid(Trust),
    Mismatch { actual: String },
}

/// True when `binary` exists and its stamp vouches for `expected_sha256` with unchanged metadata.
pub(crate) fn trusted_by_stamp(binary: &Path, expected_sha256: &str) -> bool {
    let Ok(metadata) = fs::metadata(binary) else {
        return false;
    };
    let Ok(text) = fs::read_to_string(stamp_path(binary)) else {
        return false;
    };
    match Stamp::parse(&text) {
        Some(stamp) => {
            stamp.sha256 == expected_sha256 && stamp.fingerprint == Fingerprint::of(&metadata)
        }
        None => false,
    }
}

/// Checks the cached binary: by stamp when it is current, else by hashing (and then refreshing
/// the stamp when the hash matches).
pub(crate) fn verify_cached(binary: &Path, expected_sha256: &str) -> Result<Cached, InstallError> {
    if !binary.exists() {
        return Ok(Cached::Missing);
    }
    if trusted_by_stamp(binary, expected_sha256) {
        return Ok(Cached::Valid(Trust::Stamp));
    }
    let actual = sha256_file(binary).map_err(|source| InstallError::Hash {
        path: binary.to_owned(),
        source,
    })?;
    if actual != expected_sha256 {
        return Ok(Cached::Mismatch { actual });
    }
    write_stamp(binary, expected_sha256)?;
    Ok(Cached::Valid(Trust::Rehashed))
}

/// Records that `binary`, as it is now, has been verified to hash to `verified_sha256`.
///
/// Written atomically ([`vaultops_fs`]), so a reader never sees half a stamp.
pub(crate) fn write_stamp(binary: &Path, verified_sha256: &str) -> Result<(), InstallError> {
    let path = stamp_path(binary);
    let write_err = |source: io::Error| InstallError::CacheWrite {
        action: "write the checksum stamp",
        path: path.clone(),
        source,
    };
    let metadata = fs::metadata(binary).map_err(write_err)?;
    let stamp = Stamp {
        fingerprint: Fingerprint::of(&metadata),
        sha256: verified_sha256.to_owned(),
    };
    write_atomic(&path, stamp.render().as_bytes(), WriteOptions::private())
        .map_err(|source| InstallError::CacheFile { path, source })
}

/// Deletes a cached binary that failed verification, and its stamp.
pub(crate) fn remove_cached(binary: &Path) -> Result<(), InstallError> {
    for path in [stamp_path(binary), binary.to_owned()] {
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(InstallError::CacheWrite {
                    action: "delete the bad cached file",
                    path,
                    source,
                })
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::io::{Seek, SeekFrom};

    fn file_with(dir: &Path, content: &[u8]) -> (PathBuf, String) {
        let path = dir.join("bao");
        fs::write(&path, content).unwrap();
        let sha = sha256_file(&path).unwrap();
        (path, sha)
    }

    #[test]
    fn stamp_round_trips() {
        let stamp = Stamp {
            fingerprint: Fingerprint {
                size: 12,
                mtime_ns: 1_700_000_000_123_456_789,
                ctime_ns: 1_700_000_001_000_000_000,
                inode: 42,
            },
            sha256: "ab".repeat(32),
        };
        assert_eq!(Stamp::parse(&stamp.render()), Some(stamp));
    }

    #[test]
    fn garbage_stamp_is_not_trusted() {
        assert_eq!(Stamp::parse("size=1\nsha256=x\n"), None);
        assert_eq!(Stamp::parse("hello"), None);
        assert_eq!(Stamp::parse("size=notanumber\n"), None);
    }

    #[test]
    fn stamp_path_is_next_to_the_binary() {
        assert_eq!(
            stamp_path(Path::new("/c/openbao/2.7.2/bao")),
            Path::new("/c/openbao/2.7.2/bao.sha256-ok")
        );
    }

    #[test]
    fn missing_binary_is_reported_missing() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("bao");
        assert_eq!(verify_cached(&binary, "00").unwrap(), Cached::Missing);
        assert!(!trusted_by_stamp(&binary, "00"));
    }

    #[test]
    fn first_check_hashes_then_the_stamp_is_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let (binary, sha) = file_with(dir.path(), b"pretend this is bao");
        assert!(!trusted_by_stamp(&binary, &sha));
        assert_eq!(
            verify_cached(&binary, &sha).unwrap(),
            Cached::Valid(Trust::Rehashed)
        );
        assert!(stamp_path(&binary).exists());
        assert_eq!(
            verify_cached(&binary, &sha).unwrap(),
            Cached::Valid(Trust::Stamp)
        );
    }

    #[test]
    fn stamp_for_another_hash_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let (binary, sha) = file_with(dir.path(), b"content");
        write_stamp(&binary, &sha).unwrap();
        assert!(trusted_by_stamp(&binary, &sha));
        assert!(!trusted_by_stamp(&binary, &"0".repeat(64)));
    }

    #[test]
    fn same_size_overwrite_invalidates_the_stamp_and_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let (binary, sha) = file_with(dir.path(), b"0123456789abcdef");
        write_stamp(&binary, &sha).unwrap();
        let before = fs::metadata(&binary).unwrap();

        // Flip one byte in place and restore the mtime: size and mtime match the stamp, only
        // ctime betrays the write.
        let mut f = fs::OpenOptions::new().write(true).open(&binary).unwrap();
        f.seek(SeekFrom::Start(3)).unwrap();
        f.write_all(b"X").unwrap();
        f.set_modified(before.modified().unwrap()).unwrap();
        drop(f);
        let after = fs::metadata(&binary).unwrap();
        assert_eq!(after.len(), before.len());
        assert_eq!(after.modified().unwrap(), before.modified().unwrap());

        assert!(!trusted_by_stamp(&binary, &sha));
        match verify_cached(&binary, &sha).unwrap() {
            Cached::Mismatch { actual } => assert_ne!(actual, sha),
            other => panic!("expected a mismatch, got {other:?}"),
        }
    }

    #[test]
    fn stale_stamp_with_intact_file_is_rehashed_and_refreshed() {
        let dir = tempfile::tempdir().unwrap();
        let (binary, sha) = file_with(dir.path(), b"content");
        fs::write(
            stamp_path(&binary),
            "size=1\nmtime_ns=1\nctime_ns=1\ninode=1\nsha256=aa\n",
        )
        .unwrap();
        assert_eq!(
            verify_cached(&binary, &sha).unwrap(),
            Cached::Valid(Trust::Rehashed)
        );
        assert!(trusted_by_stamp(&binary, &sha));
    }

    #[test]
    fn remove_cached_deletes_binary_and_stamp_and_tolerates_absence() {
        let dir = tempfile::tempdir().unwrap();
        let (binary, sha) = file_with(dir.path(), b"content");
        write_stamp(&binary, &sha).unwrap();
        remove_cached(&binary).unwrap();
        assert!(!binary.exists());
        assert!(!stamp_path(&binary).exists());
        remove_cached(&binary).unwrap();
    }
}
