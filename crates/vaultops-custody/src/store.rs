//! Writing and reading the bundle file: mode 0600, atomic, never over an existing bundle;
//! the one later change is [`record_cluster_id`], which fills in the cluster id once it is
//! known (an atomic replace, digest recomputed).

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
    #[error("{} records cluster {recorded}, but its shares just opened cluster {seen}: the bundle was not changed; check which cluster this bundle belongs to", .path.display())]
    OtherClusterRecorded {
        path: PathBuf,
        recorded: String,
        seen: String,
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

/// What [`record_cluster_id`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterIdRecord {
    /// The bundle had no cluster id; it has now.
    Recorded,
    /// The bundle already recorded this id: nothing written.
    AlreadyKnown,
}

/// Records in the bundle at `path` the id (and name) of the cluster that its shares were just
/// seen to open. A Shamir cluster has no id before its first unseal, so `vaultops init` cannot
/// record it; this fills it in afterwards, so that later unseals can refuse the bundle on a
/// node of another cluster before any share is sent. Only an empty id is filled in: a bundle
/// that records another id is refused and left unchanged. The bundle is read and checked
/// (digest) first, then replaced atomically with the digest recomputed.
pub fn record_cluster_id(
    path: &Path,
    cluster_id: &str,
    cluster_name: Option<&str>,
) -> Result<ClusterIdRecord, StoreError> {
    let mut bundle = read_bundle(path)?;
    match bundle.cluster_id.as_deref() {
        Some(id) if id == cluster_id => return Ok(ClusterIdRecord::AlreadyKnown),
        Some(id) => {
            return Err(StoreError::OtherClusterRecorded {
                path: path.to_owned(),
                recorded: id.to_owned(),
                seen: cluster_id.to_owned(),
            })
        }
        None => {}
    }
    bundle.cluster_id = Some(cluster_id.to_owned());
    if bundle.cluster_name.is_none() {
        bundle.cluster_name = cluster_name.map(str::to_owned);
    }
    bundle.seal_integrity();
    let mut json = bundle.to_json();
    json.push('\n');
    write_atomic(path, json.as_bytes(), WriteOptions::private()).map_err(|source| {
        StoreError::Write {
            path: path.to_owned(),
            source,
        }
    })?;
    Ok(ClusterIdRecord::Recorded)
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

    #[test]
    fn the_cluster_id_is_filled_in_once_and_never_changed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("init.json");
        write_bundle(&p, &crate::bundle::sample()).unwrap();
        assert_eq!(
            record_cluster_id(&p, "c-1", Some("vault-cluster-x")).unwrap(),
            ClusterIdRecord::Recorded
        );
        let b = read_bundle(&p).expect("the digest was recomputed");
        assert_eq!(b.cluster_id.as_deref(), Some("c-1"));
        assert_eq!(b.cluster_name.as_deref(), Some("vault-cluster-x"));
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            record_cluster_id(&p, "c-1", None).unwrap(),
            ClusterIdRecord::AlreadyKnown
        );
        let before = std::fs::read(&p).unwrap();
        let e = record_cluster_id(&p, "c-2", None).unwrap_err();
        assert!(
            matches!(e, StoreError::OtherClusterRecorded { .. }),
            "{e:?}"
        );
        assert!(
            e.to_string().contains("c-1") && e.to_string().contains("c-2"),
            "{e}"
        );
        assert_eq!(std::fs::read(&p).unwrap(), before, "left unchanged");
        // A tampered bundle is not rewritten (its digest would be made valid again).
        let tampered = dir.path().join("tampered.json");
        std::fs::write(
            &tampered,
            String::from_utf8(before).unwrap().replace("c-1", "c-9"),
        )
        .unwrap();
        assert!(matches!(
            record_cluster_id(&tampered, "c-9", None),
            Err(StoreError::Bundle { .. })
        ));
    }
}
