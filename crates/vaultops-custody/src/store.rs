//! Writing and reading the bundle file: mode 0600, atomic, never over an existing bundle.

use crate::bundle::{BundleError, InitBundle};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A bundle file problem.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{} already exists: refusing to overwrite an init bundle (it may hold the only copy of the keys); choose another --out", .0.display())]
    Exists(PathBuf),
    #[error("the directory of {} does not exist; create it first", .0.display())]
    NoDir(PathBuf),
    #[error("writing {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", .path.display())]
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
        .map_err(|source| StoreError::Write {
            path: path.to_owned(),
            source,
        })
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Writes the bundle: temp file (0600 before any byte is written) in the same directory,
/// fsync, then a rename that refuses to replace an existing file.
pub fn write_bundle(path: &Path, bundle: &InitBundle) -> Result<(), StoreError> {
    let fail = |source| StoreError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = parent(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".vaultops-bundle-")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.write_all(bundle.to_json().as_bytes()).map_err(fail)?;
    tmp.write_all(b"\n").map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            StoreError::Exists(path.to_owned())
        } else {
            fail(e.error)
        }
    })?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
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
