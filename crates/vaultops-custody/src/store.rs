//! Writing and reading the bundle file: mode 0600, atomic, never over an existing bundle.

use crate::bundle::{BundleError, InitBundle};
use std::path::{Path, PathBuf};
use vaultops_fs::{write_atomic, AtomicWriteError, WriteOptions};

/// A bundle file problem.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{} already exists: refusing to overwrite an init bundle (it may hold the only copy of the keys); choose another --out", .0.display())]
    Exists(PathBuf),
    #[error("the directory of {} does not exist; create it first", .0.display())]
    NoDir(PathBuf),
    #[error("writing the init bundle {}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: AtomicWriteError,
    },
    #[error("probing whether {} can be created", .path.display())]
    Probe {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", .path.display())]
    Bundle {
        path: PathBuf,
        #[source]
        source: BundleError,
    },
}

/// Checks that `path` can take a new bundle (so init can refuse BEFORE touching the
/// cluster: a cluster initialized with nowhere to put its keys is lost).
pub fn check_writable(path: &Path) -> Result<(), StoreError> {
    if path.exists() {
        return Err(StoreError::Exists(path.to_owned()));
    }
    let dir = parent(path);
    if !dir.is_dir() {
        return Err(StoreError::NoDir(path.to_owned()));
    }
    // Prove we can create a file there (permissions, read-only mounts).
    tempfile::Builder::new()
        .prefix(".vaultops-probe-")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|source| StoreError::Probe {
            path: path.to_owned(),
            source,
        })
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Writes the bundle atomically (mode 0600 before any byte is written, through
/// [`vaultops_fs`]), refusing to replace an existing file, even one that appeared after
/// [`check_writable`], or a symbolic link.
pub fn write_bundle(path: &Path, bundle: &InitBundle) -> Result<(), StoreError> {
    let mut json = bundle.to_json();
    json.push('\n');
    write_atomic(
        path,
        json.as_bytes(),
        WriteOptions::private().refuse_existing(),
    )
    .map_err(|e| match e {
        AtomicWriteError::Exists { .. } => StoreError::Exists(path.to_owned()),
        source => StoreError::Write {
            path: path.to_owned(),
            source,
        },
    })
}

/// Reads and checks a bundle.
pub fn read_bundle(path: &Path) -> Result<InitBundle, StoreError> {
    let text = std::fs::read_to_string(path).map_err(|source| StoreError::Read {
        path: path.to_owned(),
        source,
    })?;
    InitBundle::from_json(&text).map_err(|source| StoreError::Bundle {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn written_0600_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("init.json");
        let b = crate::bundle::sample();
        check_writable(&p).unwrap();
        write_bundle(&p, &b).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(check_writable(&p), Err(StoreError::Exists(_))));
        assert!(matches!(write_bundle(&p, &b), Err(StoreError::Exists(_))));
        assert_eq!(read_bundle(&p).unwrap(), b);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temp files left behind");
        assert!(matches!(
            check_writable(&dir.path().join("missing/x.json")),
            Err(StoreError::NoDir(_))
        ));
    }
}
