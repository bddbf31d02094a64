//! What a write may do: the file's mode, whether an existing file is replaced, and whose the
//! new file is.

/// What to do when the target already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfExists {
    /// Replace it atomically (rename over it). Readers see the old file or the new one.
    Replace,
    /// Refuse with [`crate::AtomicWriteError::Exists`] and leave it untouched. Checked when
    /// the write starts and again, atomically, when it is committed.
    Refuse,
}

/// Who owns the new file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The writing process (the usual outcome of creating a file).
    Writer,
    /// The owner and group of the file being replaced, when there is one (so an application
    /// running as that user can still read a file an operator rewrote as root). Changing the
    /// owner needs the privilege to do so; without it the write fails before any content is
    /// written.
    KeepExisting,
}

/// How [`crate::write_atomic`], [`crate::AtomicFile`] and [`crate::AsyncAtomicFile`] write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// The permission bits of the new file (e.g. `0o600`), set exactly: the umask cannot
    /// narrow or widen them, and a file that was there before does not lend its mode.
    pub mode: u32,
    /// Replace an existing file, or refuse.
    pub if_exists: IfExists,
    /// Whose the new file is.
    pub owner: Owner,
}

impl WriteOptions {
    /// Mode `mode`, replacing an existing file, owned by the writer.
    pub const fn new(mode: u32) -> Self {
        Self {
            mode,
            if_exists: IfExists::Replace,
            owner: Owner::Writer,
        }
    }

    /// Mode 0600 (secrets: keys, tokens, snapshots), replacing an existing file.
    pub const fn private() -> Self {
        Self::new(0o600)
    }

    /// The same options, refusing to replace an existing file.
    pub const fn refuse_existing(self) -> Self {
        Self {
            if_exists: IfExists::Refuse,
            ..self
        }
    }

    /// The same options, keeping the owner of the file being replaced.
    pub const fn keep_owner(self) -> Self {
        Self {
            owner: Owner::KeepExisting,
            ..self
        }
    }
}
