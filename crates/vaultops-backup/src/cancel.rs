//! Stopping the blocking half of a save or restore when the future that started it is dropped
//! (Ctrl-C or SIGTERM in the CLI drops it): the async function holds a [`CancelOnDrop`]; the
//! blocking task reads through a [`Cancellable`] reader, which fails once the flag is set, so
//! the task ends within one buffer and its temporary files are removed; a commit checks the
//! flag just before it starts and, once started, runs to its end (the runtime waits for
//! blocking tasks before the process exits), so a file and its checksum always match.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::BackupError;

/// Set when the operation is abandoned.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// A guard that sets the flag when it is dropped (with the future holding it).
    pub(crate) fn on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(self.clone())
    }

    /// `Err(Interrupted)` once the operation is abandoned.
    pub(crate) fn check(&self, path: &Path) -> Result<(), BackupError> {
        if self.is_set() {
            return Err(BackupError::Interrupted {
                path: path.to_owned(),
            });
        }
        Ok(())
    }

    /// `inner`, failing its next read once the operation is abandoned.
    pub(crate) fn reader<R: Read>(&self, inner: R) -> Cancellable<R> {
        Cancellable {
            inner,
            cancel: self.clone(),
        }
    }
}

/// Sets its [`Cancel`] when dropped.
#[derive(Debug)]
pub(crate) struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0 .0.store(true, Ordering::SeqCst);
    }
}

/// A reader that stops (with an error, not `Interrupted`, which `io::copy` would retry) once
/// its [`Cancel`] is set.
#[derive(Debug)]
pub(crate) struct Cancellable<R> {
    inner: R,
    cancel: Cancel,
}

impl<R: Read> Read for Cancellable<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.is_set() {
            return Err(std::io::Error::other("interrupted"));
        }
        self.inner.read(buf)
    }
}

/// Runs `f` on the blocking pool; a task that did not finish (a panic, a runtime shutting
/// down) is reported as `lost`.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
    lost: impl FnOnce() -> BackupError,
) -> Result<T, BackupError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(lost()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_guard_stops_the_reader() {
        let cancel = Cancel::default();
        let guard = cancel.on_drop();
        let mut r = cancel.reader(&b"abcdef"[..]);
        let mut buf = [0u8; 3];
        assert_eq!(r.read(&mut buf).unwrap(), 3);
        assert!(cancel.check(Path::new("x")).is_ok());
        drop(guard);
        let e = r.read(&mut buf).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::Other);
        assert!(matches!(
            cancel.check(Path::new("x")),
            Err(BackupError::Interrupted { .. })
        ));
    }
}
