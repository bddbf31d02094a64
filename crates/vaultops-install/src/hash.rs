//! Streaming SHA-256: files are hashed through a fixed buffer, never read into memory whole
//! (the wheel is 75 MB, the binary 180 MB).

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

/// SHA-256 of the file at `path`, as lowercase hex.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut writer = HashingWriter::new(io::sink());
    io::copy(&mut file, &mut writer)?;
    Ok(writer.finish().1)
}

/// A writer that hashes everything passed through it on the way to `inner`, so extraction and
/// verification are one pass over the data.
#[derive(Debug)]
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// Returns the inner writer and the hex digest of everything written.
    pub(crate) fn finish(self) -> (W, String) {
        (self.inner, hex::encode(self.hasher.finalize()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        // Only the bytes the inner writer accepted count; io::copy retries the rest.
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_a_small_file_like_sha256sum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        // FIPS 180-2 test vector for "abc".
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hashes_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hashing_writer_passes_data_through_and_hashes_it() {
        let mut writer = HashingWriter::new(Vec::new());
        // Larger than io::copy's buffer, so several writes are hashed in sequence.
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        io::copy(&mut data.as_slice(), &mut writer).unwrap();
        let (inner, digest) = writer.finish();
        assert_eq!(inner, data);
        assert_eq!(digest, hex::encode(Sha256::digest(&data)));
    }

    #[test]
    fn missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = sha256_file(&dir.path().join("nope")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
