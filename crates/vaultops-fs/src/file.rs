//! The synchronous write path: [`write_atomic`] for a whole buffer, [`AtomicFile`] for content
//! that is streamed into the file (extraction, encryption).

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use tempfile::TempPath;

use crate::error::AtomicWriteError;
use crate::options::WriteOptions;
use crate::steps::{self, Target};

/// Writes `contents` to `path` atomically (see the crate docs for the steps and guarantees).
pub fn write_atomic(
    path: impl AsRef<Path>,
    contents: &[u8],
    options: WriteOptions,
) -> Result<(), AtomicWriteError> {
    let mut file = AtomicFile::create(path, options)?;
    file.file
        .write_all(contents)
        .map_err(|source| AtomicWriteError::Write {
            path: file.target.path.clone(),
            source,
        })?;
    file.commit()
}

/// A file being written atomically: write to it (it is a [`Write`], and [`AtomicFile::as_file`]
/// gives the open [`File`]), then [`AtomicFile::commit`]. Dropped without a commit, it removes
/// its temporary file and the target stays as it was.
#[derive(Debug)]
pub struct AtomicFile {
    file: File,
    temp: TempPath,
    target: Target,
}

impl AtomicFile {
    /// Starts writing `path`: checks the target (no symbolic link; no existing file under
    /// [`crate::IfExists::Refuse`]) and creates the temporary file with its final mode.
    pub fn create(path: impl AsRef<Path>, options: WriteOptions) -> Result<Self, AtomicWriteError> {
        let started = steps::start(path.as_ref(), options)?;
        Ok(Self {
            file: started.file,
            temp: started.temp,
            target: started.target,
        })
    }

    /// A write started elsewhere (the async path handing over to this one).
    pub(crate) fn from_parts(file: File, temp: TempPath, target: Target) -> Self {
        Self { file, temp, target }
    }

    /// The open temporary file.
    pub fn as_file(&self) -> &File {
        &self.file
    }

    /// The open temporary file, mutably (for writers that take `&mut File`).
    pub fn as_file_mut(&mut self) -> &mut File {
        &mut self.file
    }

    /// The file this write will replace or create.
    pub fn target(&self) -> &Path {
        &self.target.path
    }

    /// The temporary file's path (for messages about a failure while streaming into it).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Fsyncs the content, moves it into place (rename, or no-clobber persist) and fsyncs the
    /// directory.
    pub fn commit(self) -> Result<(), AtomicWriteError> {
        steps::commit(self.file, self.temp, &self.target)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests;
