//! The async write path: [`AsyncAtomicFile`], a tokio `AsyncWrite` for content streamed from
//! the network (snapshot downloads). Creating and committing run on tokio's blocking pool.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use tempfile::TempPath;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::error::AtomicWriteError;
use crate::file::AtomicFile;
use crate::options::WriteOptions;
use crate::steps::{self, Target};

/// A file being written atomically from async code: write to it through
/// [`tokio::io::AsyncWriteExt`], then [`AsyncAtomicFile::commit`]. Dropped without a commit
/// (including when the future holding it is cancelled), it removes its temporary file and the
/// target stays as it was.
#[derive(Debug)]
pub struct AsyncAtomicFile {
    file: tokio::fs::File,
    temp: TempPath,
    target: Target,
}

/// Runs `f` on the blocking pool; a panic there is resumed here, a shut-down runtime is
/// reported through `on_cancel`.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AtomicWriteError> + Send + 'static,
    on_cancel: impl FnOnce(io::Error) -> AtomicWriteError,
) -> Result<T, AtomicWriteError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(on_cancel(io::Error::other(e))),
    }
}

impl AsyncAtomicFile {
    /// Starts writing `path`; see [`crate::AtomicFile::create`].
    pub async fn create(
        path: impl AsRef<Path>,
        options: WriteOptions,
    ) -> Result<Self, AtomicWriteError> {
        let path = path.as_ref().to_owned();
        let p = path.clone();
        let started = blocking(
            move || steps::start(&p, options),
            |source| AtomicWriteError::CreateTemp {
                dir: path.parent().unwrap_or(Path::new(".")).to_owned(),
                path: path.clone(),
                source,
            },
        )
        .await?;
        Ok(Self {
            file: tokio::fs::File::from_std(started.file),
            temp: started.temp,
            target: started.target,
        })
    }

    /// The file this write will replace or create.
    pub fn target(&self) -> &Path {
        &self.target.path
    }

    /// The temporary file's path (for messages about a failure while streaming into it).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Flushes what was written, fsyncs it, moves it into place (rename, or no-clobber
    /// persist) and fsyncs the directory.
    pub async fn commit(mut self) -> Result<(), AtomicWriteError> {
        let path = self.target.path.clone();
        self.file
            .flush()
            .await
            .map_err(|source| AtomicWriteError::Write {
                path: path.clone(),
                source,
            })?;
        let file = self.file.into_std().await;
        let (temp, target) = (self.temp, self.target);
        blocking(
            move || steps::commit(file, temp, &target),
            |source| AtomicWriteError::Persist { path, source },
        )
        .await
    }
}

impl AsyncAtomicFile {
    /// Flushes what was written and hands the write over to the synchronous [`AtomicFile`],
    /// for a commit that must run to its end on the blocking pool even when the future
    /// that streamed the content is cancelled meanwhile (a commit followed by a second file
    /// that must match it, such as a checksum). Dropped without a commit, the returned file
    /// still removes its temporary file.
    pub async fn into_blocking(mut self) -> Result<AtomicFile, AtomicWriteError> {
        self.file
            .flush()
            .await
            .map_err(|source| AtomicWriteError::Write {
                path: self.target.path.clone(),
                source,
            })?;
        let file = self.file.into_std().await;
        Ok(AtomicFile::from_parts(file, self.temp, self.target))
    }
}

impl AsyncWrite for AsyncAtomicFile {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.file).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    #[tokio::test]
    async fn streamed_write_replaces_the_target_with_the_mode_asked_for() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("snap");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut f = AsyncAtomicFile::create(&p, WriteOptions::private())
            .await
            .unwrap();
        for chunk in [&b"new "[..], b"content"] {
            f.write_all(chunk).await.unwrap();
        }
        assert_eq!(
            std::fs::read(&p).unwrap(),
            b"old",
            "not visible before commit"
        );
        f.commit().await.unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new content");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
        assert_eq!(names(d.path()), ["snap"]);
    }

    #[tokio::test]
    async fn a_cancelled_write_leaves_no_temporary_file_and_the_old_content() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("snap");
        std::fs::write(&p, "old").unwrap();
        let (written, wait) = tokio::sync::oneshot::channel();
        let write = async {
            let mut f = AsyncAtomicFile::create(&p, WriteOptions::private())
                .await
                .unwrap();
            f.write_all(b"partial").await.unwrap();
            f.flush().await.unwrap();
            assert_eq!(
                names(d.path()).len(),
                2,
                "the temporary file exists meanwhile"
            );
            written.send(()).unwrap();
            std::future::pending::<()>().await;
        };
        // The write future is dropped (cancelled) once it has written.
        tokio::select! {
            () = write => unreachable!(),
            r = wait => r.unwrap(),
        }
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(names(d.path()), ["snap"]);
    }

    #[tokio::test]
    async fn a_handed_over_write_commits_or_is_removed_on_drop() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("snap");
        std::fs::write(&p, "old").unwrap();
        let mut f = AsyncAtomicFile::create(&p, WriteOptions::private())
            .await
            .unwrap();
        f.write_all(b"dropped").await.unwrap();
        let sync = f.into_blocking().await.unwrap();
        assert_eq!(
            names(d.path()).len(),
            2,
            "the temporary file is still there"
        );
        drop(sync);
        assert_eq!(names(d.path()), ["snap"]);
        assert_eq!(std::fs::read(&p).unwrap(), b"old");

        let mut f = AsyncAtomicFile::create(&p, WriteOptions::private())
            .await
            .unwrap();
        f.write_all(b"new").await.unwrap();
        let sync = f.into_blocking().await.unwrap();
        tokio::task::spawn_blocking(move || sync.commit())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(names(d.path()), ["snap"]);
    }

    #[tokio::test]
    async fn no_clobber_refuses_a_file_that_appeared_during_the_stream() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("bundle.json");
        let mut f = AsyncAtomicFile::create(&p, WriteOptions::private().refuse_existing())
            .await
            .unwrap();
        f.write_all(b"mine").await.unwrap();
        std::fs::write(&p, "theirs").unwrap();
        let err = f.commit().await.unwrap_err();
        assert!(matches!(err, AtomicWriteError::Exists { .. }), "{err:?}");
        assert_eq!(std::fs::read(&p).unwrap(), b"theirs");
        assert_eq!(names(d.path()), ["bundle.json"]);
    }
}
