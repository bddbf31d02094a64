//! The crate's only I/O: writing CA and node PEM files and loading a CA back.
//!
//! Every write goes through [`vaultops_fs`]: the content goes to a temporary file in the
//! target directory, whose mode is set (0600 for private keys, 0644 for certificates) before
//! anything is written, and is then renamed over the target. A crash therefore leaves either
//! the old file or the new one, never a half-written or briefly world-readable key.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use vaultops_fs::{AtomicWriteError, WriteOptions};

use crate::build::{Ca, CaBundle, NodeCert, ParseCaError};

/// File name of the CA certificate inside a CA directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// File name of the CA private key inside a CA directory.
pub const CA_KEY_FILE: &str = "ca-key.pem";

const CERT_MODE: u32 = 0o644;
const KEY_MODE: u32 = 0o600;

/// Whether [`write_ca`] may replace an existing CA private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse with [`WriteError::CaKeyExists`] (the default, and what `--force` absent means).
    Refuse,
    /// Replace it (`--force`).
    Force,
}

/// Paths written by [`write_ca`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFiles {
    /// `<dir>/ca.pem`, mode 0644.
    pub cert: PathBuf,
    /// `<dir>/ca-key.pem`, mode 0600.
    pub key: PathBuf,
}

/// Paths of a node's certificate and key, as written by [`write_node`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFiles {
    /// `<dir>/<name>.pem`, mode 0644.
    pub cert: PathBuf,
    /// `<dir>/<name>-key.pem`, mode 0600.
    pub key: PathBuf,
}

/// Why writing PEM files failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The output directory could not be created.
    #[error("cannot create directory {}", .dir.display())]
    CreateDir {
        /// The directory.
        dir: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A CA private key already exists and overwriting was not allowed.
    #[error("{} already exists: refusing to overwrite the CA private key; pass --force to replace it (certificates issued by the old CA will stop verifying)", .path.display())]
    CaKeyExists {
        /// The existing key file.
        path: PathBuf,
    },
    /// The node name cannot be used as a file name.
    #[error("node name {name:?} cannot be used as a file name: use letters, digits, '.', '-' or '_' (e.g. node1)")]
    InvalidNodeName {
        /// The rejected name.
        name: String,
    },
    /// Writing one file failed.
    #[error("cannot write {}", .path.display())]
    Write {
        /// The target file.
        path: PathBuf,
        /// Which step failed, and the OS error.
        #[source]
        source: AtomicWriteError,
    },
}

/// Why loading a CA from a directory failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadCaError {
    /// One of the two files does not exist.
    #[error("{what} {} not found: pass the directory that holds {CA_CERT_FILE} and {CA_KEY_FILE} (created by `vaultops tls ca --out DIR`)", .path.display())]
    Missing {
        /// `"CA certificate"` or `"CA private key"`.
        what: &'static str,
        /// The missing file.
        path: PathBuf,
    },
    /// A file exists but could not be read.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The files were read but do not form a usable CA.
    #[error("invalid CA in {}", .dir.display())]
    Invalid {
        /// The CA directory.
        dir: PathBuf,
        /// What is wrong.
        #[source]
        source: ParseCaError,
    },
}

/// Writes `ca.pem` (0644) and `ca-key.pem` (0600) into `dir`, creating `dir` if needed.
///
/// With [`Overwrite::Refuse`] an existing `ca-key.pem` is never replaced, even if it appears
/// while this runs: the final rename refuses to clobber it.
pub fn write_ca(dir: &Path, ca: &CaBundle, overwrite: Overwrite) -> Result<CaFiles, WriteError> {
    let files = CaFiles {
        cert: dir.join(CA_CERT_FILE),
        key: dir.join(CA_KEY_FILE),
    };
    let key_options = match overwrite {
        Overwrite::Force => WriteOptions::new(KEY_MODE),
        Overwrite::Refuse => WriteOptions::new(KEY_MODE).refuse_existing(),
    };
    // Checked up front as well so that nothing at all is written when refusing.
    if overwrite == Overwrite::Refuse && files.key.symlink_metadata().is_ok() {
        return Err(WriteError::CaKeyExists { path: files.key });
    }
    create_dir(dir)?;
    // The key goes first: if the certificate's rename then fails, the next run without
    // --force stops at the existing key instead of silently pairing a new key with an old
    // certificate.
    write_pair(
        (
            &files.key,
            ca.key_pem.expose_secret().as_bytes(),
            key_options,
        ),
        (
            &files.cert,
            ca.cert_pem.as_bytes(),
            WriteOptions::new(CERT_MODE),
        ),
    )?;
    Ok(files)
}

/// The paths [`write_node`] uses for node `name` in `dir`: `<name>.pem` and `<name>-key.pem`.
pub fn node_files(dir: &Path, name: &str) -> NodeFiles {
    NodeFiles {
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}-key.pem")),
    }
}

/// Writes `<name>.pem` (0644) and `<name>-key.pem` (0600) into `dir`, creating `dir` if needed.
/// Existing files are replaced, which is what renewal wants.
pub fn write_node(dir: &Path, name: &str, node: &NodeCert) -> Result<NodeFiles, WriteError> {
    let valid = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !valid {
        return Err(WriteError::InvalidNodeName {
            name: name.to_owned(),
        });
    }
    let files = node_files(dir, name);
    create_dir(dir)?;
    write_pair(
        (
            &files.key,
            node.key_pem.expose_secret().as_bytes(),
            WriteOptions::new(KEY_MODE),
        ),
        (
            &files.cert,
            node.cert_pem.as_bytes(),
            WriteOptions::new(CERT_MODE),
        ),
    )?;
    Ok(files)
}

/// Writes a trust bundle (CA certificates, public) to `path`, atomically, mode 0644.
pub fn write_bundle(path: &Path, pem: &str) -> Result<(), WriteError> {
    write_file(path, pem.as_bytes(), WriteOptions::new(CERT_MODE))
}

/// Loads the CA written by [`write_ca`] from `dir`.
pub fn load_ca(dir: &Path) -> Result<Ca, LoadCaError> {
    let cert_pem = read(&dir.join(CA_CERT_FILE), "CA certificate")?;
    let key_pem = SecretString::from(read(&dir.join(CA_KEY_FILE), "CA private key")?);
    Ca::from_pem(&cert_pem, &key_pem).map_err(|source| LoadCaError::Invalid {
        dir: dir.to_owned(),
        source,
    })
}

fn read(path: &Path, what: &'static str) -> Result<String, LoadCaError> {
    fs::read_to_string(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => LoadCaError::Missing {
            what,
            path: path.to_owned(),
        },
        _ => LoadCaError::Read {
            path: path.to_owned(),
            source,
        },
    })
}

fn create_dir(dir: &Path) -> Result<(), WriteError> {
    fs::create_dir_all(dir).map_err(|source| WriteError::CreateDir {
        dir: dir.to_owned(),
        source,
    })
}

/// Writes a key and its certificate: both contents are written to their temporary files
/// first, and only then are both moved into place, key first. A full disk or any write error
/// therefore leaves the old key AND the old certificate (never a new key beside an old
/// certificate, which would lose the old key); only a failure between the two renames
/// (fsync, rename) can split them, and then the key is the new one.
fn write_pair(
    key: (&Path, &[u8], WriteOptions),
    cert: (&Path, &[u8], WriteOptions),
) -> Result<(), WriteError> {
    let (key_path, key_file) = (key.0, stage(key)?);
    let (cert_path, cert_file) = (cert.0, stage(cert)?);
    key_file.commit().map_err(|e| map(key_path, e))?;
    cert_file.commit().map_err(|e| map(cert_path, e))
}

/// Writes `contents` to the temporary file of an atomic write of `path`, not yet committed.
fn stage(
    (path, contents, options): (&Path, &[u8], WriteOptions),
) -> Result<vaultops_fs::AtomicFile, WriteError> {
    use std::io::Write as _;
    let mut file = vaultops_fs::AtomicFile::create(path, options).map_err(|e| map(path, e))?;
    file.write_all(contents).map_err(|source| {
        map(
            path,
            AtomicWriteError::Write {
                path: path.to_owned(),
                source,
            },
        )
    })?;
    Ok(file)
}
fn map(path: &Path, e: AtomicWriteError) -> WriteError {
    match e {
        AtomicWriteError::Exists { .. } => WriteError::CaKeyExists {
            path: path.to_owned(),
        },
        source => WriteError::Write {
            path: path.to_owned(),
            source,
        },
    }
}

/// Writes one PEM file through [`vaultops_fs`] (mode exact from the start, atomic, never
/// through a symlink).
fn write_file(path: &Path, contents: &[u8], options: WriteOptions) -> Result<(), WriteError> {
    vaultops_fs::write_atomic(path, contents, options).map_err(|e| map(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{create_ca, create_node_cert, CaParams, NodeParams};
    use std::fs::Permissions;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn bundle() -> CaBundle {
        create_ca(&CaParams::default()).unwrap()
    }

    #[test]
    fn ca_and_node_files_have_the_right_modes_and_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tls");
        let ca_bundle = bundle();
        let files = write_ca(&dir, &ca_bundle, Overwrite::Refuse).unwrap();
        assert_eq!(files.cert, dir.join("ca.pem"));
        assert_eq!(files.key, dir.join("ca-key.pem"));
        assert_eq!(mode(&files.cert), 0o644);
        assert_eq!(mode(&files.key), 0o600);
        assert_eq!(fs::read_to_string(&files.cert).unwrap(), ca_bundle.cert_pem);
        assert_eq!(
            fs::read_to_string(&files.key).unwrap(),
            ca_bundle.key_pem.expose_secret()
        );

        let ca = load_ca(&dir).unwrap();
        assert_eq!(ca.cert_pem(), ca_bundle.cert_pem);
        let node = create_node_cert(
            &ca,
            &NodeParams {
                name: "node1".into(),
                dns: vec!["node1".into()],
                ..NodeParams::default()
            },
        )
        .unwrap();
        let nf = write_node(&dir, "node1", &node).unwrap();
        assert_eq!(nf, node_files(&dir, "node1"));
        assert_eq!(nf.cert, dir.join("node1.pem"));
        assert_eq!(nf.key, dir.join("node1-key.pem"));
        assert_eq!(mode(&nf.cert), 0o644);
        assert_eq!(mode(&nf.key), 0o600);
        crate::inspect::verify(&fs::read_to_string(&nf.cert).unwrap(), ca.cert_pem()).unwrap();

        // Only the four PEM files remain: no temporary files left behind.
        let mut names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["ca-key.pem", "ca.pem", "node1-key.pem", "node1.pem"]
        );
    }

    #[test]
    fn a_failed_certificate_write_leaves_the_old_key() {
        let dir = tempfile::tempdir().unwrap();
        let old = write_ca(dir.path(), &bundle(), Overwrite::Refuse).unwrap();
        let old_key = fs::read(&old.key).unwrap();
        // The certificate cannot be written (a symlink is refused before anything is written):
        // the new key must not have replaced the old one.
        fs::remove_file(&old.cert).unwrap();
        std::os::unix::fs::symlink("/dev/null", &old.cert).unwrap();
        write_ca(dir.path(), &bundle(), Overwrite::Force).unwrap_err();
        assert_eq!(
            fs::read(&old.key).unwrap(),
            old_key,
            "the old CA key is intact"
        );
        // Positive control: with a writable certificate path the key is replaced.
        fs::remove_file(&old.cert).unwrap();
        write_ca(dir.path(), &bundle(), Overwrite::Force).unwrap();
        assert_ne!(fs::read(&old.key).unwrap(), old_key);
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "no temporary file left: {left:?}");
    }

    #[test]
    fn existing_ca_key_is_not_overwritten_without_force() {
        let tmp = tempfile::tempdir().unwrap();
        let first = bundle();
        write_ca(tmp.path(), &first, Overwrite::Refuse).unwrap();
        let second = bundle();
        let err = write_ca(tmp.path(), &second, Overwrite::Refuse).unwrap_err();
        assert!(matches!(&err, WriteError::CaKeyExists { path } if path.ends_with("ca-key.pem")));
        assert!(err.to_string().contains("--force"), "{err}");
        // Neither file changed.
        let key = fs::read_to_string(tmp.path().join(CA_KEY_FILE)).unwrap();
        assert_eq!(key, first.key_pem.expose_secret());
        let cert = fs::read_to_string(tmp.path().join(CA_CERT_FILE)).unwrap();
        assert_eq!(cert, first.cert_pem);

        write_ca(tmp.path(), &second, Overwrite::Force).unwrap();
        let key = fs::read_to_string(tmp.path().join(CA_KEY_FILE)).unwrap();
        assert_eq!(key, second.key_pem.expose_secret());
        assert_eq!(mode(&tmp.path().join(CA_KEY_FILE)), 0o600);
    }

    #[test]
    fn no_clobber_rename_refuses_a_key_that_appeared_meanwhile() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(CA_KEY_FILE);
        fs::write(&path, "old").unwrap();
        let err =
            write_file(&path, b"new", WriteOptions::new(KEY_MODE).refuse_existing()).unwrap_err();
        assert!(matches!(err, WriteError::CaKeyExists { .. }), "{err:?}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
    }

    #[test]
    fn overwrite_replaces_file_with_exact_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x-key.pem");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o666)).unwrap();
        write_file(&path, b"new", WriteOptions::new(KEY_MODE)).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn load_ca_names_the_missing_file() {
        let tmp = tempfile::tempdir().unwrap();
        let err = load_ca(tmp.path()).unwrap_err();
        assert!(
            matches!(&err, LoadCaError::Missing { path, .. } if path.ends_with("ca.pem")),
            "{err:?}"
        );
        assert!(err.to_string().contains("ca.pem"), "{err}");

        fs::write(tmp.path().join(CA_CERT_FILE), bundle().cert_pem).unwrap();
        let err = load_ca(tmp.path()).unwrap_err();
        assert!(
            matches!(&err, LoadCaError::Missing { path, what } if path.ends_with("ca-key.pem") && *what == "CA private key"),
            "{err:?}"
        );

        fs::write(
            tmp.path().join(CA_KEY_FILE),
            bundle().key_pem.expose_secret(),
        )
        .unwrap();
        let err = load_ca(tmp.path()).unwrap_err();
        assert!(
            matches!(
                err,
                LoadCaError::Invalid {
                    source: ParseCaError::KeyMismatch { .. },
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn bad_node_file_names_are_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        let bundle = bundle();
        let node = NodeCert {
            cert_pem: bundle.cert_pem.clone(),
            key_pem: bundle.key_pem.clone(),
        };
        for bad in ["", ".", "..", "a/b", "../x", "a b"] {
            let err = write_node(tmp.path(), bad, &node).unwrap_err();
            assert!(matches!(err, WriteError::InvalidNodeName { .. }), "{bad}");
        }
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}
