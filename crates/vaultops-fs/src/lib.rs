//! The one way a file is written in vaultops: atomically, privately, and never through a
//! symbolic link. It is the lowest layer of the workspace (no workspace dependency), so the
//! API client, the libraries and the binaries all write files through it.
//!
//! Every write goes the same way:
//! 1. the target is inspected without following links: a symbolic link is refused (the file
//!    it points to is left alone), and with [`IfExists::Refuse`] an existing file is too;
//! 2. a temporary file is created in the target's directory, exclusively (`O_EXCL`) under an
//!    unpredictable name, and given its final mode explicitly (`fchmod`) before the first
//!    byte is written, so neither the umask nor a file that was there before decides the mode;
//! 3. the content is written and the file fsynced;
//! 4. the file is renamed over the target ([`IfExists::Replace`]) or moved into place only if
//!    nothing is there ([`IfExists::Refuse`], atomic: of two concurrent writers exactly one
//!    wins), and the directory is fsynced so the rename survives a crash.
//!
//! A write that fails or is abandoned (the [`AtomicFile`] dropped, or the future holding an
//! [`AsyncAtomicFile`] cancelled) removes its temporary file and leaves the target as it was.
//!
//! Whole buffers go through [`write_atomic`]; streamed content (downloads, encryption,
//! extraction) through [`AtomicFile`] (a `std::io::Write`) or [`AsyncAtomicFile`] (a tokio
//! `AsyncWrite`), finished with `commit`. An intermediate plaintext that is only a step
//! towards a result lives in a [`ScratchFile`].
//!
//! The other local resource vaultops takes is a loopback port for a server it starts itself
//! (a restore check's scratch server, test clusters, the testbed): [`free_loopback_ports`] is the one way
//! such a port is chosen.

mod async_file;
mod error;
mod file;
mod options;
mod ports;
mod scratch;
mod steps;

pub use async_file::AsyncAtomicFile;
pub use error::AtomicWriteError;
pub use file::{write_atomic, AtomicFile};
pub use options::{IfExists, Owner, WriteOptions};
pub use ports::{free_loopback_port, free_loopback_ports};
pub use scratch::ScratchFile;
