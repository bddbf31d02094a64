//! Serializing the writers of one sink: an exclusive advisory lock (`flock`) on a lock file
//! next to each sink file, `.<file name>.vaultops-lock` (0600, empty, left in place), held
//! from the preflight until the previous secret-ids are destroyed. Two rotations (or a
//! rotation and a delivery) of the same sink on one host therefore run one after the other:
//! neither can destroy the secret-id the other just delivered. The lock dies with the
//! process (a killed rotation never leaves it held). Writers on other hosts are not seen
//! by a local lock: [`crate::rotate`] also re-reads its sinks before destroying anything
//! and spares secret-ids created after its own.

use crate::sink::Sink;
use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a held lock is tried again.
const POLL: Duration = Duration::from_millis(200);

/// The locks of a set of sinks; dropping it releases them.
#[derive(Debug)]
pub struct SinkLocks {
    _files: Vec<File>,
}

/// Why the sinks could not be locked. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The lock file cannot be opened or created.
    #[error("cannot open the lock file {}; fix the directory's permissions or run as its owner", .path.display())]
    Open {
        /// The lock file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Locking failed for another reason than contention.
    #[error("cannot lock {}", .path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Another process held the lock past the deadline.
    #[error("another vaultops process has been writing this sink for {waited_secs} s (it holds the lock {}); let it finish (a rotation holds it through its grace period), or raise the lock wait", .path.display())]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// How long this process waited.
        waited_secs: u64,
    },
}

/// The lock file of the sink at `path`.
pub fn lock_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.vaultops-lock"))
}

/// Locks every sink (in path order, so that two processes never wait for each other),
/// waiting up to `wait` in all; `on_wait` is called once per lock found held.
pub async fn lock_sinks(
    sinks: &[Sink],
    wait: Duration,
    on_wait: &(dyn Fn(&Path) + Sync),
) -> Result<SinkLocks, LockError> {
    let mut paths: Vec<PathBuf> = sinks.iter().map(|s| lock_path(s.path())).collect();
    paths.sort();
    paths.dedup();
    let deadline = Instant::now() + wait;
    let started = Instant::now();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(O_NOFOLLOW)
            .open(&path)
            .map_err(|source| LockError::Open {
                path: path.clone(),
                source,
            })?;
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if !told {
                        on_wait(&path);
                        told = true;
                    }
                    if Instant::now() >= deadline {
                        return Err(LockError::Busy {
                            path,
                            waited_secs: started.elapsed().as_secs(),
                        });
                    }
                    tokio::time::sleep(POLL).await;
                }
                Err(TryLockError::Error(source)) => return Err(LockError::Lock { path, source }),
            }
        }
        files.push(file);
    }
    Ok(SinkLocks { _files: files })
}

/// `O_NOFOLLOW` on Linux: a lock file planted as a symlink is refused, not followed.
const O_NOFOLLOW: i32 = 0o400000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::EnvFileSink;

    #[tokio::test]
    async fn a_second_writer_waits_and_gives_up_at_its_deadline() {
        let tmp = tempfile::tempdir().unwrap();
        let sinks = [Sink::EnvFile(EnvFileSink::new(tmp.path().join("a.env")))];
        let held = lock_sinks(&sinks, Duration::from_secs(1), &|_| {})
            .await
            .unwrap();
        let waited = std::sync::atomic::AtomicUsize::new(0);
        let e = lock_sinks(&sinks, Duration::from_millis(500), &|_| {
            waited.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
        .await
        .unwrap_err();
        assert!(matches!(e, LockError::Busy { .. }), "{e}");
        assert_eq!(waited.load(std::sync::atomic::Ordering::SeqCst), 1);
        drop(held);
        // Released: the next writer gets it at once.
        lock_sinks(&sinks, Duration::ZERO, &|_| panic!("must not wait"))
            .await
            .unwrap();
        assert!(tmp.path().join(".a.env.vaultops-lock").exists());
    }

    #[tokio::test]
    async fn a_symlinked_lock_file_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("elsewhere");
        std::fs::write(&target, "x").unwrap();
        std::os::unix::fs::symlink(&target, tmp.path().join(".a.env.vaultops-lock")).unwrap();
        let sinks = [Sink::EnvFile(EnvFileSink::new(tmp.path().join("a.env")))];
        let e = lock_sinks(&sinks, Duration::ZERO, &|_| {})
            .await
            .unwrap_err();
        assert!(matches!(e, LockError::Open { .. }), "{e}");
    }
}
