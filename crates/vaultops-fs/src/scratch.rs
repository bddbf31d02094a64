//! [`ScratchFile`]: a private intermediate file (a decrypted snapshot on its way to the
//! server, a plaintext snapshot on its way to encryption) that is never a result, only a
//! step, and is removed when dropped.

use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::TempPath;

use crate::error::AtomicWriteError;

/// Mode of every scratch file: it holds what the results are made from (plaintext).
const SCRATCH_MODE: u32 = 0o600;

/// An empty file, mode 0600, created exclusively under an unpredictable hidden name in a
/// directory, and removed (whatever it holds by then) when dropped. Fill it through its path
/// with [`crate::write_atomic`], [`crate::AtomicFile`] or [`crate::AsyncAtomicFile`], which
/// replace it atomically and keep its mode private.
#[derive(Debug)]
pub struct ScratchFile {
    path: TempPath,
}

impl ScratchFile {
    /// Creates the file in `dir`; `purpose` (e.g. `backup.snap.plain`) goes into its name so
    /// a leftover after a crash says what it was.
    pub fn create_in(dir: &Path, purpose: &str) -> Result<Self, AtomicWriteError> {
        let prefix = format!(".{purpose}.");
        let target = dir.join(&prefix);
        let file = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .permissions(Permissions::from_mode(SCRATCH_MODE))
            .tempfile_in(dir)
            .map_err(|source| AtomicWriteError::CreateTemp {
                path: target.clone(),
                dir: dir.to_owned(),
                source,
            })?;
        file.as_file()
            .set_permissions(Permissions::from_mode(SCRATCH_MODE))
            .map_err(|source| AtomicWriteError::SetMode {
                path: target,
                mode: SCRATCH_MODE,
                source,
            })?;
        Ok(Self {
            path: file.into_temp_path(),
        })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path, for moving into a blocking task (the file is still removed when `self` is
    /// dropped).
    pub fn to_path_buf(&self) -> PathBuf {
        self.path.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{write_atomic, WriteOptions};

    #[test]
    fn a_scratch_file_is_private_replaceable_and_removed_on_drop() {
        let d = tempfile::tempdir().unwrap();
        let s = ScratchFile::create_in(d.path(), "x.snap.plain").unwrap();
        let p = s.to_path_buf();
        assert_eq!(p.parent(), Some(d.path()));
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".x.snap.plain.") && name.ends_with(".tmp"),
            "{name}"
        );
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        write_atomic(s.path(), b"plaintext", WriteOptions::private()).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"plaintext");
        drop(s);
        assert!(!p.exists());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }

    #[test]
    fn two_scratch_files_never_share_a_name() {
        let d = tempfile::tempdir().unwrap();
        let a = ScratchFile::create_in(d.path(), "same").unwrap();
        let b = ScratchFile::create_in(d.path(), "same").unwrap();
        assert_ne!(a.path(), b.path());
    }
}
