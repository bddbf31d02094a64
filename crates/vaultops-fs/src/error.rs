//! [`AtomicWriteError`]: which step of an atomic write failed, for which target. The cause
//! (an `io::Error`) is only the error's `source()`, never part of its message.

use std::io;
use std::path::{Path, PathBuf};

/// An atomic write failed; the target is as it was before (except after
/// [`AtomicWriteError::SyncDir`], where the new file is in place but the rename may not
/// survive a crash). Every variant names the target.
#[derive(Debug, thiserror::Error)]
pub enum AtomicWriteError {
    /// The target is a symbolic link.
    #[error("{} is a symbolic link: refusing to write through it (the file it points to is left alone); remove the link or give the real path", .path.display())]
    Symlink {
        /// The target.
        path: PathBuf,
    },
    /// The target exists and the write was asked not to replace it.
    #[error("{} already exists: refusing to replace it; move it away first or choose another path", .path.display())]
    Exists {
        /// The target.
        path: PathBuf,
    },
    /// The target could not be inspected (permissions on its directory, an I/O error).
    #[error("inspecting {} before writing it", .path.display())]
    Inspect {
        /// The target.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// No temporary file could be created in the target's directory (missing directory,
    /// permissions, read-only file system, disk full).
    #[error("creating a temporary file in {} to write {}", .dir.display(), .path.display())]
    CreateTemp {
        /// The target.
        path: PathBuf,
        /// The target's directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The temporary file could not be given its mode.
    #[error("setting mode {mode:04o} on the new {}", .path.display())]
    SetMode {
        /// The target.
        path: PathBuf,
        /// The mode asked for.
        mode: u32,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The temporary file could not be given the replaced file's owner.
    #[error("giving the new {} the owner {uid}:{gid} of the file it replaces; run as that user or as root", .path.display())]
    SetOwner {
        /// The target.
        path: PathBuf,
        /// The owner asked for.
        uid: u32,
        /// The group asked for.
        gid: u32,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Writing the content failed (disk full, I/O error).
    #[error("writing {}", .path.display())]
    Write {
        /// The target.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The content could not be flushed to disk.
    #[error("syncing the new {} to disk", .path.display())]
    Sync {
        /// The target.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The new file could not be moved into place.
    #[error("moving the new {} into place", .path.display())]
    Persist {
        /// The target.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The new file is in place, but the directory could not be synced.
    #[error("syncing directory {} after writing {} (the new file is in place)", .dir.display(), .path.display())]
    SyncDir {
        /// The target.
        path: PathBuf,
        /// The target's directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl AtomicWriteError {
    /// The file that was being written.
    pub fn path(&self) -> &Path {
        match self {
            Self::Symlink { path }
            | Self::Exists { path }
            | Self::Inspect { path, .. }
            | Self::CreateTemp { path, .. }
            | Self::SetMode { path, .. }
            | Self::SetOwner { path, .. }
            | Self::Write { path, .. }
            | Self::Sync { path, .. }
            | Self::Persist { path, .. }
            | Self::SyncDir { path, .. } => path,
        }
    }
}
