//! The steps every atomic write shares, synchronous and async alike: inspect the target,
//! create the temporary file with its final mode (and owner), and commit it (fsync, rename or
//! no-clobber persist, directory fsync).

use std::ffi::OsString;
use std::fs::{self, File, Permissions};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tempfile::TempPath;

use crate::error::AtomicWriteError;
use crate::options::{IfExists, Owner, WriteOptions};

/// A write in progress: the open temporary file (removed when `temp` is dropped) and where it
/// goes.
#[derive(Debug)]
pub(crate) struct Started {
    pub(crate) file: File,
    pub(crate) temp: TempPath,
    pub(crate) target: Target,
}

/// The target of a write and how it is written.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) path: PathBuf,
    pub(crate) dir: PathBuf,
    pub(crate) options: WriteOptions,
}

/// The directory a file named `path` lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// The target's metadata (not following a link), `None` when it does not exist; a symbolic
/// link is refused, and so is an existing file under [`IfExists::Refuse`].
fn inspect(path: &Path, if_exists: IfExists) -> Result<Option<fs::Metadata>, AtomicWriteError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(AtomicWriteError::Symlink {
            path: path.to_owned(),
        }),
        Ok(_) if if_exists == IfExists::Refuse => Err(AtomicWriteError::Exists {
            path: path.to_owned(),
        }),
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AtomicWriteError::Inspect {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Creates the temporary file for `path`: in the same directory, exclusively, under a hidden
/// unpredictable name, with exactly `options.mode` (and the replaced file's owner when asked)
/// before any content.
pub(crate) fn start(path: &Path, options: WriteOptions) -> Result<Started, AtomicWriteError> {
    let dir = parent_dir(path);
    let create_err = |source| AtomicWriteError::CreateTemp {
        path: path.to_owned(),
        dir: dir.clone(),
        source,
    };
    let Some(name) = path.file_name() else {
        return Err(create_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path names no file",
        )));
    };
    let existing = inspect(path, options.if_exists)?;
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    // `permissions` makes the exclusive create use `mode` (the umask can only narrow it) so
    // the file is never more open than asked, even for an instant.
    let (file, temp) = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .permissions(Permissions::from_mode(options.mode))
        .tempfile_in(&dir)
        .map_err(create_err)?
        .into_parts();
    // Exactly `mode`, whatever the umask took away.
    file.set_permissions(Permissions::from_mode(options.mode))
        .map_err(|source| AtomicWriteError::SetMode {
            path: path.to_owned(),
            mode: options.mode,
            source,
        })?;
    if let (Owner::KeepExisting, Some(prev)) = (options.owner, &existing) {
        let mine = file
            .metadata()
            .map_err(|source| AtomicWriteError::Inspect {
                path: path.to_owned(),
                source,
            })?;
        if (mine.uid(), mine.gid()) != (prev.uid(), prev.gid()) {
            std::os::unix::fs::fchown(&file, Some(prev.uid()), Some(prev.gid())).map_err(
                |source| AtomicWriteError::SetOwner {
                    path: path.to_owned(),
                    uid: prev.uid(),
                    gid: prev.gid(),
                    source,
                },
            )?;
        }
    }
    Ok(Started {
        file,
        temp,
        target: Target {
            path: path.to_owned(),
            dir,
            options,
        },
    })
}

/// Fsyncs `file`, moves `temp` into place as the options say, and fsyncs the directory. On
/// failure before the move the temporary file is removed.
pub(crate) fn commit(file: File, temp: TempPath, target: &Target) -> Result<(), AtomicWriteError> {
    let path = &target.path;
    file.sync_all().map_err(|source| AtomicWriteError::Sync {
        path: path.clone(),
        source,
    })?;
    drop(file);
    // A link may have appeared since the write started. A rename would replace the link
    // itself (never its target), but the caller asked for the file, not the link: refuse.
    // Under `Refuse` the no-clobber move below checks existence atomically.
    inspect(path, IfExists::Replace)?;
    match target.options.if_exists {
        IfExists::Replace => temp.persist(path).map_err(|e| AtomicWriteError::Persist {
            path: path.clone(),
            source: e.error,
        })?,
        IfExists::Refuse => temp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == io::ErrorKind::AlreadyExists {
                AtomicWriteError::Exists { path: path.clone() }
            } else {
                AtomicWriteError::Persist {
                    path: path.clone(),
                    source: e.error,
                }
            }
        })?,
    }
    File::open(&target.dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| AtomicWriteError::SyncDir {
            path: path.clone(),
            dir: target.dir.clone(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_file_name_lives_in_the_current_directory() {
        assert_eq!(parent_dir(Path::new("plain")), Path::new("."));
        assert_eq!(parent_dir(Path::new("d/plain")), Path::new("d"));
        assert_eq!(parent_dir(Path::new("/plain")), Path::new("/"));
    }

    #[test]
    fn a_path_naming_no_file_is_refused_before_anything_is_created() {
        let err = start(Path::new("/"), WriteOptions::private()).unwrap_err();
        assert!(
            matches!(err, AtomicWriteError::CreateTemp { .. }),
            "{err:?}"
        );
    }
}
