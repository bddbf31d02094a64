//! Sinks: the files the application's credentials are delivered to, and read back from
//! for rotation and login checks. This module owns that file I/O and nothing else.
//!
//! - [`EnvFileSink`]: a dotenv file with `VAULT_ADDR`, `VAULT_ROLE_ID`, `VAULT_SECRET_ID`
//!   and (when given) `VAULT_CACERT`. Only those keys are touched: an existing file keeps
//!   every other line byte for byte (other settings, comments, blank lines), and a managed
//!   key that exists is replaced where it stands ([`crate::dotenv::set_keys`]). The
//!   address and CA path are the application's settings, not the pair: [`EnvValue`] says
//!   whether the operator set them explicitly, gives a value only for a file that has none,
//!   or keeps the file's (what rotation does).
//! - [`K8sSecretSink`]: a Kubernetes Secret manifest ([`crate::manifest`]) that this tool
//!   edits: the two credential keys under `data` (and no copy of them under `stringData`,
//!   which would win), its name and namespace and the managed-by label; every other key,
//!   label, annotation and field is kept. Applying it to the cluster is the caller's
//!   business (`kubectl apply`, or the rotation's publish command).
//!
//! Every write is atomic ([`vaultops_fs`]): a temporary file in the same directory, given
//! the previous file's owner and group and its owner and group permission bits when one
//! existed (a `root:app 0640` file stays `root:app 0640`, so the application's group can
//! still read it; bits for others are always dropped), 0600 for a new file, fsynced,
//! renamed over the target, and the directory fsynced. A crash leaves the old file or the new one, never a mix. [`Sink::check`] is the
//! preflight: it proves the directory exists and is writable and that an existing file can
//! be read and edited, so callers run it before a secret-id is issued.

use crate::dotenv::{self, DotenvError};
use crate::manifest::{self, ManifestError, SecretTarget};
use crate::pair::{CredentialPair, StoredCredentials};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use vaultops_api::SecretId;
use vaultops_fs::{write_atomic, AtomicWriteError, WriteOptions};
use zeroize::Zeroizing;

/// The server address the application uses.
pub const ENV_ADDR: &str = "VAULT_ADDR";
/// The role-id.
pub const ENV_ROLE_ID: &str = "VAULT_ROLE_ID";
/// The secret-id.
pub const ENV_SECRET_ID: &str = "VAULT_SECRET_ID";
/// The CA certificate file the application trusts.
pub const ENV_CACERT: &str = "VAULT_CACERT";

const FILE_MODE: u32 = 0o600;

/// What an env-file write does with a setting that is not the credential pair (the
/// application's `VAULT_ADDR` and `VAULT_CACERT`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EnvValue<T> {
    /// Keep what the file says (or nothing, when it says nothing).
    #[default]
    Keep,
    /// Write this only when the file has no value yet (a first delivery: the operator's
    /// own address is a guess at the application's).
    IfAbsent(T),
    /// Write this (the operator asked for it explicitly).
    Set(T),
}

impl<T> EnvValue<T> {
    fn resolve(&self, present: bool) -> Option<&T> {
        match self {
            EnvValue::Keep => None,
            EnvValue::IfAbsent(v) => (!present).then_some(v),
            EnvValue::Set(v) => Some(v),
        }
    }
}

/// A dotenv file holding the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFileSink {
    /// The file.
    pub path: PathBuf,
    /// `VAULT_ADDR`.
    pub vault_addr: EnvValue<String>,
    /// `VAULT_CACERT`.
    pub ca_cert: EnvValue<PathBuf>,
}

impl EnvFileSink {
    /// A sink at `path` that keeps the file's address and CA path.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            vault_addr: EnvValue::Keep,
            ca_cert: EnvValue::Keep,
        }
    }
}

/// A Kubernetes Secret manifest holding the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K8sSecretSink {
    /// The manifest file.
    pub path: PathBuf,
    /// `metadata.namespace`; `None` takes the existing manifest's.
    pub namespace: Option<String>,
    /// `metadata.name`; `None` takes the existing manifest's.
    pub name: Option<String>,
}

/// Where credentials go. Sinks given together are one consumer: they receive the same pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// A dotenv file.
    EnvFile(EnvFileSink),
    /// A Kubernetes Secret manifest.
    K8sSecret(K8sSecretSink),
}

/// Why a sink could not be checked, read or written. Never contains a credential.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The directory of the sink's file does not exist.
    #[error("{sink}: directory {} does not exist; create it (mkdir -p, owned by the application's user) or choose another path", .dir.display())]
    DirMissing {
        /// The sink.
        sink: String,
        /// The missing directory.
        dir: PathBuf,
    },
    /// The "directory" is something else.
    #[error("{sink}: {} is not a directory", .dir.display())]
    NotADirectory {
        /// The sink.
        sink: String,
        /// The path.
        dir: PathBuf,
    },
    /// A file cannot be created in the directory.
    #[error("{sink}: cannot create files in {}; fix the directory's permissions or run as its owner", .dir.display())]
    DirNotWritable {
        /// The sink.
        sink: String,
        /// The directory.
        dir: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The path is a directory or a symbolic link.
    #[error("{sink}: the path is {what}; give the path of a regular file")]
    NotAFile {
        /// The sink.
        sink: String,
        /// `"a directory"` or `"a symbolic link"`.
        what: &'static str,
    },
    /// The existing file cannot be read.
    #[error("{sink}: cannot read it")]
    Read {
        /// The sink.
        sink: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The existing env file is not valid dotenv: editing it could corrupt it.
    #[error("{sink}: not a dotenv file this tool can edit (fix it or move it away, and retry)")]
    Dotenv {
        /// The sink.
        sink: String,
        /// The parse error (with its line number).
        #[source]
        source: DotenvError,
    },
    /// The existing manifest cannot be read, or a name is invalid.
    #[error("{sink}: unusable Secret manifest")]
    Manifest {
        /// The sink.
        sink: String,
        /// What is wrong.
        #[source]
        source: ManifestError,
    },
    /// The sink holds no (complete) credentials.
    #[error("{sink} holds no credentials ({detail}); deliver them first with `vaultops approle credentials`")]
    NoCredentials {
        /// The sink.
        sink: String,
        /// What is missing.
        detail: String,
    },
    /// The Secret's namespace or name is neither given nor in the existing manifest.
    #[error("{sink}: the Secret's {missing} is not known: give it (--namespace / --name) or start from a manifest that has it")]
    K8sTargetUnknown {
        /// The sink.
        sink: String,
        /// `"namespace"` or `"name"`.
        missing: &'static str,
    },
    /// The existing file's owner cannot be kept.
    #[error("{sink}: cannot give the new file the owner of the old one ({uid}:{gid}); run as that user or as root, so the application can still read it")]
    Owner {
        /// The sink.
        sink: String,
        /// The previous owner.
        uid: u32,
        /// The previous group.
        gid: u32,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Writing failed.
    #[error("{sink}: cannot write it")]
    Write {
        /// The sink.
        sink: String,
        /// Which step failed, and the OS error.
        #[source]
        source: AtomicWriteError,
    },
}

impl fmt::Display for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sink::EnvFile(s) => write!(f, "env file {}", s.path.display()),
            Sink::K8sSecret(s) => write!(f, "Secret manifest {}", s.path.display()),
        }
    }
}

impl Sink {
    /// The sink's file.
    pub fn path(&self) -> &Path {
        match self {
            Sink::EnvFile(s) => &s.path,
            Sink::K8sSecret(s) => &s.path,
        }
    }

    /// Preflight, before any secret-id is issued: the directory exists and accepts new
    /// files, the path is not a directory or symlink, an existing file can be read and
    /// edited, and (manifests) the Secret's namespace and name are known and valid.
    pub fn check(&self) -> Result<(), SinkError> {
        let path = self.path();
        let dir = parent_dir(path);
        match fs::metadata(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(SinkError::DirMissing {
                    sink: self.to_string(),
                    dir: dir.to_owned(),
                })
            }
            Err(source) => {
                return Err(SinkError::DirNotWritable {
                    sink: self.to_string(),
                    dir: dir.to_owned(),
                    source,
                })
            }
            Ok(m) if !m.is_dir() => {
                return Err(SinkError::NotADirectory {
                    sink: self.to_string(),
                    dir: dir.to_owned(),
                })
            }
            Ok(_) => {}
        }
        // Creating (and dropping) a file is the only reliable writability test: access(2)
        // answers for the real uid and ignores read-only mounts and ACL subtleties.
        tempfile::Builder::new()
            .prefix(".vaultops-check-")
            .tempfile_in(dir)
            .map_err(|source| SinkError::DirNotWritable {
                sink: self.to_string(),
                dir: dir.to_owned(),
                source,
            })?;
        let existing = self.read_existing()?;
        match self {
            Sink::EnvFile(_) => {
                if let Some(text) = &existing {
                    dotenv::parse(text).map_err(|source| SinkError::Dotenv {
                        sink: self.to_string(),
                        source,
                    })?;
                }
            }
            Sink::K8sSecret(s) => {
                self.k8s_target(s, existing.as_ref().map(|t| t.as_str()))?;
            }
        }
        Ok(())
    }

    /// Writes `pair` atomically. See the module docs for the mode, owner and what is kept.
    pub fn write(&self, pair: &CredentialPair) -> Result<(), SinkError> {
        let existing = self.read_existing()?;
        let text = match self {
            Sink::EnvFile(s) => {
                let old = existing.as_deref().map_or("", |t| t.as_str());
                let entries = dotenv::parse(old).map_err(|source| SinkError::Dotenv {
                    sink: self.to_string(),
                    source,
                })?;
                let present = |k: &str| entries.iter().any(|e| e.key == k);
                let ca = s
                    .ca_cert
                    .resolve(present(ENV_CACERT))
                    .map(|p| p.to_string_lossy().into_owned());
                let mut updates: Vec<(&str, &str)> = Vec::with_capacity(4);
                if let Some(addr) = s.vault_addr.resolve(present(ENV_ADDR)) {
                    updates.push((ENV_ADDR, addr));
                }
                updates.push((ENV_ROLE_ID, &pair.role_id));
                updates.push((ENV_SECRET_ID, pair.secret_id.expose()));
                if let Some(ca) = &ca {
                    updates.push((ENV_CACERT, ca));
                }
                dotenv::set_keys(old, &updates).map_err(|source| SinkError::Dotenv {
                    sink: self.to_string(),
                    source,
                })?
            }
            Sink::K8sSecret(s) => {
                let old = existing.as_ref().map(|t| t.as_str());
                let target = self.k8s_target(s, old)?;
                manifest::update(old, &target, pair).map_err(|source| SinkError::Manifest {
                    sink: self.to_string(),
                    source,
                })?
            }
        };
        let options = WriteOptions::new(self.mode_to_write()).keep_owner();
        write_atomic(self.path(), text.as_bytes(), options).map_err(|e| match e {
            AtomicWriteError::SetOwner {
                uid, gid, source, ..
            } => SinkError::Owner {
                sink: self.to_string(),
                uid,
                gid,
                source,
            },
            source => SinkError::Write {
                sink: self.to_string(),
                source,
            },
        })
    }

    /// The mode of the file to write: the existing file's owner and group bits (owner
    /// read-write at least), never any bit for others; 0600 for a new file.
    fn mode_to_write(&self) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        match fs::metadata(self.path()) {
            Ok(m) => (m.permissions().mode() & 0o770) | FILE_MODE,
            Err(_) => FILE_MODE,
        }
    }

    /// Reads the credentials the sink holds now.
    pub fn read_pair(&self) -> Result<StoredCredentials, SinkError> {
        let no_creds = |detail: String| SinkError::NoCredentials {
            sink: self.to_string(),
            detail,
        };
        let Some(text) = self.read_existing()? else {
            return Err(no_creds("the file does not exist".into()));
        };
        match self {
            Sink::EnvFile(_) => {
                let entries = dotenv::parse(&text).map_err(|source| SinkError::Dotenv {
                    sink: self.to_string(),
                    source,
                })?;
                let get = |k: &str| entries.iter().find(|e| e.key == k);
                let (role_id, secret_id) = match (get(ENV_ROLE_ID), get(ENV_SECRET_ID)) {
                    (Some(r), Some(s)) => (r, s),
                    (r, s) => {
                        let missing: Vec<&str> =
                            [(ENV_ROLE_ID, r.is_none()), (ENV_SECRET_ID, s.is_none())]
                                .iter()
                                .filter(|(_, m)| *m)
                                .map(|(k, _)| *k)
                                .collect();
                        return Err(no_creds(format!("no {}", missing.join(" or "))));
                    }
                };
                Ok(StoredCredentials {
                    pair: CredentialPair {
                        role_id: role_id.expose_value().to_owned(),
                        secret_id: SecretId::new(secret_id.expose_value()),
                    },
                    vault_addr: get(ENV_ADDR).map(|e| e.expose_value().to_owned()),
                    ca_cert: get(ENV_CACERT).map(|e| PathBuf::from(e.expose_value())),
                })
            }
            Sink::K8sSecret(_) => {
                let parsed = manifest::parse(&text).map_err(|source| SinkError::Manifest {
                    sink: self.to_string(),
                    source,
                })?;
                match parsed.pair {
                    Some(pair) => Ok(StoredCredentials {
                        pair,
                        vault_addr: None,
                        ca_cert: None,
                    }),
                    None => Err(no_creds(format!("no {}", parsed.missing.join(" or ")))),
                }
            }
        }
    }

    /// The file's text, `None` when it does not exist; a directory or symlink is refused.
    fn read_existing(&self) -> Result<Option<Zeroizing<String>>, SinkError> {
        let path = self.path();
        match fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(SinkError::Read {
                    sink: self.to_string(),
                    source,
                })
            }
            Ok(m) if m.file_type().is_symlink() => {
                // Renaming over a symlink would replace the link, not what it points to.
                return Err(SinkError::NotAFile {
                    sink: self.to_string(),
                    what: "a symbolic link",
                });
            }
            Ok(m) if m.is_dir() => {
                return Err(SinkError::NotAFile {
                    sink: self.to_string(),
                    what: "a directory",
                })
            }
            Ok(_) => {}
        }
        fs::read_to_string(path)
            .map(|t| Some(Zeroizing::new(t)))
            .map_err(|source| SinkError::Read {
                sink: self.to_string(),
                source,
            })
    }

    /// The Secret's namespace and name: given ones win, else the existing manifest's.
    fn k8s_target(
        &self,
        s: &K8sSecretSink,
        existing: Option<&str>,
    ) -> Result<SecretTarget, SinkError> {
        let parsed = existing
            .map(manifest::parse)
            .transpose()
            .map_err(|source| SinkError::Manifest {
                sink: self.to_string(),
                source,
            })?;
        let from_file =
            |f: fn(&manifest::ParsedManifest) -> Option<String>| parsed.as_ref().and_then(f);
        let namespace = s
            .namespace
            .clone()
            .or_else(|| from_file(|p| p.namespace.clone()))
            .ok_or_else(|| SinkError::K8sTargetUnknown {
                sink: self.to_string(),
                missing: "namespace",
            })?;
        let name = s
            .name
            .clone()
            .or_else(|| from_file(|p| p.name.clone()))
            .ok_or_else(|| SinkError::K8sTargetUnknown {
                sink: self.to_string(),
                missing: "name",
            })?;
        for (what, v) in [("namespace", &namespace), ("Secret name", &name)] {
            manifest::validate_name(what, v).map_err(|source| SinkError::Manifest {
                sink: self.to_string(),
                source,
            })?;
        }
        Ok(SecretTarget { namespace, name })
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::Permissions;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn pair(secret: &str) -> CredentialPair {
        CredentialPair {
            role_id: "role-1".into(),
            secret_id: SecretId::new(secret),
        }
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn env_sink(path: PathBuf) -> Sink {
        Sink::EnvFile(EnvFileSink {
            path,
            vault_addr: EnvValue::Set("https://vault.example.com:8200".into()),
            ca_cert: EnvValue::Set("/etc/atmr/vault ca.pem".into()),
        })
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn env_file_is_written_0600_and_keeps_unrelated_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("vault-secrets.env");
        fs::write(
            &path,
            "# atmr\nFLASK_ENV=production\nVAULT_SECRET_ID=old\nUSE_VAULT=true\n",
        )
        .unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        let sink = env_sink(path.clone());
        sink.check().unwrap();
        sink.write(&pair("s-1")).unwrap();
        // The group keeps reading it; others lose their bits.
        assert_eq!(mode(&path), 0o640);
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "# atmr\nFLASK_ENV=production\nVAULT_SECRET_ID=s-1\nUSE_VAULT=true\nVAULT_ADDR=https://vault.example.com:8200\nVAULT_ROLE_ID=role-1\nVAULT_CACERT='/etc/atmr/vault ca.pem'\n"
        );
        let back = sink.read_pair().unwrap();
        assert_eq!(back.pair, pair("s-1"));
        assert_eq!(
            back.vault_addr.as_deref(),
            Some("https://vault.example.com:8200")
        );
        assert_eq!(back.ca_cert, Some(PathBuf::from("/etc/atmr/vault ca.pem")));
        // A sink without address or CA keeps the file's values (what rotation does).
        let rotate_sink = Sink::EnvFile(EnvFileSink::new(path.clone()));
        rotate_sink.write(&pair("s-2")).unwrap();
        let back = rotate_sink.read_pair().unwrap();
        assert_eq!(back.pair, pair("s-2"));
        assert_eq!(
            back.vault_addr.as_deref(),
            Some("https://vault.example.com:8200")
        );
        assert_eq!(
            names(tmp.path()),
            ["vault-secrets.env"],
            "no temp files left"
        );
    }

    #[test]
    fn address_and_ca_are_the_applications_settings() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("app.env");
        fs::write(
            &path,
            "VAULT_ADDR=https://vault.internal:8200\nVAULT_CACERT=/etc/atmr/ca.pem\n",
        )
        .unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
        // The operator's own address and CA are only a default for a file that has none.
        let guess = Sink::EnvFile(EnvFileSink {
            path: path.clone(),
            vault_addr: EnvValue::IfAbsent("https://127.0.0.1:8200".into()),
            ca_cert: EnvValue::IfAbsent("/home/op/ca.pem".into()),
        });
        guess.write(&pair("s-1")).unwrap();
        let back = guess.read_pair().unwrap();
        assert_eq!(
            back.vault_addr.as_deref(),
            Some("https://vault.internal:8200")
        );
        assert_eq!(back.ca_cert, Some(PathBuf::from("/etc/atmr/ca.pem")));
        assert_eq!(
            mode(&path),
            0o640,
            "the application's group keeps reading it"
        );
        // A new file gets the default, 0600.
        let fresh_path = tmp.path().join("new.env");
        let fresh = Sink::EnvFile(EnvFileSink {
            path: fresh_path.clone(),
            ..match guess {
                Sink::EnvFile(s) => s,
                Sink::K8sSecret(_) => unreachable!(),
            }
        });
        fresh.write(&pair("s-2")).unwrap();
        let back = fresh.read_pair().unwrap();
        assert_eq!(back.vault_addr.as_deref(), Some("https://127.0.0.1:8200"));
        assert_eq!(mode(&fresh_path), 0o600);
        // An explicit value wins (positive control: the default above was really kept back).
        let set = Sink::EnvFile(EnvFileSink {
            path: path.clone(),
            vault_addr: EnvValue::Set("https://vault-2.internal:8200".into()),
            ca_cert: EnvValue::Keep,
        });
        set.write(&pair("s-3")).unwrap();
        let back = set.read_pair().unwrap();
        assert_eq!(
            back.vault_addr.as_deref(),
            Some("https://vault-2.internal:8200")
        );
        assert_eq!(back.ca_cert, Some(PathBuf::from("/etc/atmr/ca.pem")));
    }

    #[test]
    fn preflight_names_missing_or_unwritable_directories_and_bad_files() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = env_sink(tmp.path().join("nope/x.env"));
        let e = missing.check().unwrap_err();
        assert!(matches!(e, SinkError::DirMissing { .. }), "{e}");
        assert!(
            e.to_string().contains("nope") && e.to_string().contains("does not exist"),
            "{e}"
        );

        let ro = tmp.path().join("ro");
        fs::create_dir(&ro).unwrap();
        fs::set_permissions(&ro, Permissions::from_mode(0o500)).unwrap();
        let e = env_sink(ro.join("x.env")).check();
        // root ignores directory permissions; the check is meaningful only for other users.
        if !is_root() {
            assert!(matches!(e, Err(SinkError::DirNotWritable { .. })), "{e:?}");
        }
        fs::set_permissions(&ro, Permissions::from_mode(0o700)).unwrap();

        let file_as_dir = tmp.path().join("plain");
        fs::write(&file_as_dir, "").unwrap();
        let e = env_sink(file_as_dir.join("x.env")).check().unwrap_err();
        assert!(matches!(e, SinkError::NotADirectory { .. }), "{e}");

        let e = env_sink(tmp.path().to_owned()).check().unwrap_err();
        assert!(
            matches!(
                e,
                SinkError::NotAFile {
                    what: "a directory",
                    ..
                }
            ),
            "{e}"
        );

        let broken = tmp.path().join("broken.env");
        fs::write(&broken, "A=1\nnot a line\n").unwrap();
        let e = env_sink(broken).check().unwrap_err();
        assert!(vaultops_types::error_report(&e).contains("line 2"), "{e}");

        let link = tmp.path().join("link.env");
        std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
        let e = env_sink(link).check().unwrap_err();
        assert!(
            matches!(
                e,
                SinkError::NotAFile {
                    what: "a symbolic link",
                    ..
                }
            ),
            "{e}"
        );
    }

    fn is_root() -> bool {
        fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false)
    }

    #[test]
    fn reading_an_empty_sink_says_what_is_missing() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a.env");
        let sink = env_sink(path.clone());
        let e = sink.read_pair().unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        fs::write(&path, "VAULT_ROLE_ID=r\n").unwrap();
        let e = sink.read_pair().unwrap_err();
        assert!(e.to_string().contains("no VAULT_SECRET_ID"), "{e}");
    }

    #[test]
    fn k8s_sink_takes_namespace_and_name_from_the_existing_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("secret.yaml");
        let bare = Sink::K8sSecret(K8sSecretSink {
            path: path.clone(),
            namespace: None,
            name: None,
        });
        let e = bare.check().unwrap_err();
        assert!(
            matches!(
                e,
                SinkError::K8sTargetUnknown {
                    missing: "namespace",
                    ..
                }
            ),
            "{e}"
        );
        let full = Sink::K8sSecret(K8sSecretSink {
            path: path.clone(),
            namespace: Some("atmr".into()),
            name: Some("vault-credentials".into()),
        });
        full.check().unwrap();
        full.write(&pair("s-1")).unwrap();
        assert_eq!(mode(&path), 0o600);
        bare.check().unwrap();
        bare.write(&pair("s-2")).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("namespace: atmr") && text.contains("name: vault-credentials"));
        assert_eq!(bare.read_pair().unwrap().pair, pair("s-2"));
    }
}
