//! The testbed's files on the host, under `target/testbed/<name>/`:
//!
//! ```text
//! tls/ca.pem, tls/ca-key.pem, tls/node<i>.pem, tls/node<i>-key.pem
//! nodes/node<i>/config.hcl   the rendered server config (as uploaded into the container)
//! nodes/unsealer/config.hcl  the transit unsealer's config (`--seal transit`)
//! init.json                  unseal keys (or recovery keys) and root token: 0600, atomic
//! unsealer-init.json         the transit unsealer's unseal key and root token: 0600, atomic
//! seal/static.key            the static seal key (`--seal static`): 32 bytes, 0600
//! audit/                     audit logs copied out of the containers on demand
//! env.sh                     VAULT_/BAO_ADDR and _CACERT (and a token only when asked), 0600
//! ```
//!
//! Secret-holding files are written to a temporary file in the same directory with mode 0600
//! and renamed into place, so they are never briefly world-readable or half-written.

use std::fs::{self, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vaultops_api::{Token, UnsealKey};

use crate::error::TestbedError;
use crate::names::{NodeId, TestbedName};
use crate::seal::StaticKey;

/// `<workspace target dir>/testbed`: the default root of every testbed's state. Derived from
/// the directory vaultops-install caches `bao` in (`<target>/openbao/<version>`), so both
/// follow `CARGO_TARGET_DIR` the same way.
pub fn default_state_root() -> Result<PathBuf, TestbedError> {
    let cache = vaultops_install::default_cache_dir().map_err(|e| TestbedError::StateRoot {
        reason: e.to_string(),
    })?;
    let target = cache
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| TestbedError::StateRoot {
            reason: format!(
                "the bao cache directory {} has no grandparent",
                cache.display()
            ),
        })?;
    Ok(target.join("testbed"))
}

/// What init returned, as kept in `init.json`. Debug output is redacted.
///
/// With Shamir, `keys_base64` holds the unseal keys and `shares`/`threshold` their split.
/// With an auto-unseal seal there are no unseal keys: `recovery_keys_base64` holds the
/// recovery keys (for generate-root and rekeying; they unseal nothing) and `shares`/
/// `threshold` are the recovery split.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InitFile {
    pub shares: u8,
    pub threshold: u8,
    pub keys_base64: Vec<UnsealKey>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recovery_keys_base64: Vec<UnsealKey>,
    pub root_token: Token,
}

/// The state directory of one testbed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// `<root>/<name>`.
    pub fn new(root: &Path, name: &TestbedName) -> Self {
        Self {
            dir: root.join(name.as_str()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn tls_dir(&self) -> PathBuf {
        self.dir.join("tls")
    }

    /// The CA certificate clients trust (`VAULT_CACERT`).
    pub fn ca_cert(&self) -> PathBuf {
        self.tls_dir().join(vaultops_tls::CA_CERT_FILE)
    }

    pub fn node_config(&self, node: NodeId) -> PathBuf {
        self.dir
            .join("nodes")
            .join(node.to_string())
            .join("config.hcl")
    }

    /// The nodes that have a config here (`nodes/<id>/config.hcl`), sorted: the testbed's
    /// node set. Empty when there is none.
    pub fn node_ids(&self) -> Result<Vec<NodeId>, TestbedError> {
        let dir = self.dir.join("nodes");
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(TestbedError::state(&dir, e)),
        };
        let mut ids = Vec::new();
        for e in entries {
            let e = e.map_err(|e| TestbedError::state(&dir, e))?;
            if let Ok(id) = e.file_name().to_string_lossy().parse::<NodeId>() {
                if self.node_config(id).is_file() {
                    ids.push(id);
                }
            }
        }
        ids.sort();
        Ok(ids)
    }

    pub fn init_file(&self) -> PathBuf {
        self.dir.join("init.json")
    }

    /// The transit unsealer's rendered config.
    pub fn unsealer_config(&self) -> PathBuf {
        self.dir.join("nodes").join("unsealer").join("config.hcl")
    }

    /// The transit unsealer's init output (its one unseal key and its root token).
    pub fn unsealer_init_file(&self) -> PathBuf {
        self.dir.join("unsealer-init.json")
    }

    /// The static seal key, as uploaded into every node.
    pub fn static_key_file(&self) -> PathBuf {
        self.dir.join("seal").join("static.key")
    }

    pub fn audit_dir(&self) -> PathBuf {
        self.dir.join("audit")
    }

    pub fn env_file(&self) -> PathBuf {
        self.dir.join("env.sh")
    }

    /// Removes the directory (a previous incarnation's keys and certificates) if it exists.
    pub fn reset(&self) -> Result<(), TestbedError> {
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(TestbedError::state(&self.dir, e)),
        }
    }

    /// Writes `init.json` (0600, atomically).
    pub fn write_init(&self, init: &InitFile) -> Result<(), TestbedError> {
        write_init_at(&self.init_file(), init)
    }

    /// Reads `init.json`; `None` when it does not exist.
    pub fn read_init(&self) -> Result<Option<InitFile>, TestbedError> {
        read_init_at(&self.init_file())
    }

    /// Writes `unsealer-init.json` (0600, atomically).
    pub fn write_unsealer_init(&self, init: &InitFile) -> Result<(), TestbedError> {
        write_init_at(&self.unsealer_init_file(), init)
    }

    /// Reads `unsealer-init.json`; `None` when it does not exist.
    pub fn read_unsealer_init(&self) -> Result<Option<InitFile>, TestbedError> {
        read_init_at(&self.unsealer_init_file())
    }

    /// Writes the static seal key (0600, atomically; its directory 0700).
    pub fn write_static_key(&self, key: &StaticKey) -> Result<(), TestbedError> {
        let path = self.static_key_file();
        let dir = path.parent().expect("the key file has a directory");
        fs::create_dir_all(dir).map_err(|e| TestbedError::state(dir, e))?;
        fs::set_permissions(dir, Permissions::from_mode(0o700))
            .map_err(|e| TestbedError::state(dir, e))?;
        write_atomic(&path, key.expose(), 0o600)
    }

    /// Reads the static seal key; `None` when it does not exist.
    pub fn read_static_key(&self) -> Result<Option<StaticKey>, TestbedError> {
        let path = self.static_key_file();
        match fs::read(&path) {
            Ok(b) => {
                let b = zeroize::Zeroizing::new(b);
                StaticKey::from_bytes(&b).map(Some).map_err(|e| {
                    TestbedError::state(
                        &path,
                        std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                    )
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(TestbedError::state(&path, e)),
        }
    }
}

fn write_init_at(path: &Path, init: &InitFile) -> Result<(), TestbedError> {
    let json = zeroize::Zeroizing::new(
        serde_json::to_vec_pretty(init)
            .map_err(|e| TestbedError::state(path, std::io::Error::from(e)))?,
    );
    write_atomic(path, &json, 0o600)
}

fn read_init_at(path: &Path) -> Result<Option<InitFile>, TestbedError> {
    match fs::read(path) {
        Ok(b) => {
            let b = zeroize::Zeroizing::new(b);
            serde_json::from_slice(&b).map(Some).map_err(|e| {
                TestbedError::state(
                    path,
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                )
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(TestbedError::state(path, e)),
    }
}

impl StateDir {
    /// Writes `env.sh` (0600, atomically) pointing at `addr`.
    pub fn write_env(&self, addr: &str, token: Option<&Token>) -> Result<(), TestbedError> {
        let text = env_sh(addr, &self.ca_cert(), token);
        write_atomic(&self.env_file(), text.as_bytes(), 0o600)
    }

    /// Writes a non-secret file (0644, atomically), creating its directory.
    pub fn write_file(&self, path: &Path, data: &[u8]) -> Result<(), TestbedError> {
        write_atomic(path, data, 0o644)
    }
}

/// The text of `env.sh`: addresses and CA for both CLIs, and a token only when given.
pub fn env_sh(addr: &str, ca: &Path, token: Option<&Token>) -> String {
    let ca = shell_quote(&ca.to_string_lossy());
    let addr = shell_quote(addr);
    let mut s =
        String::from("# Generated by `cargo xtask testbed up`; source it: `source env.sh`.\n");
    s.push_str(&format!("export VAULT_ADDR={addr} VAULT_CACERT={ca}\n"));
    s.push_str(&format!("export BAO_ADDR={addr} BAO_CACERT={ca}\n"));
    if let Some(t) = token {
        let t = shell_quote(t.expose());
        s.push_str("# Root token (written because of --with-token).\n");
        s.push_str(&format!("export VAULT_TOKEN={t} BAO_TOKEN={t}\n"));
    }
    s
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:+=@,".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Writes `data` to `path` with `mode` through [`vaultops_fs::write_atomic`] (the one atomic
/// write), creating the directory first.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), TestbedError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| TestbedError::state(path, e))?;
    vaultops_fs::write_atomic(path, data, vaultops_fs::WriteOptions::new(mode)).map_err(|source| {
        TestbedError::WriteState {
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_node_set_is_the_node_configs() {
        let root = tempfile::tempdir().unwrap();
        let s = StateDir::new(root.path(), &TestbedName::new("dev").unwrap());
        assert!(s.node_ids().unwrap().is_empty());
        for n in [4, 1, 3] {
            s.write_file(&s.node_config(NodeId::new(n).unwrap()), b"x")
                .unwrap();
        }
        // A directory without a config, and the unsealer's, are not nodes.
        fs::create_dir_all(s.dir().join("nodes").join("node2")).unwrap();
        s.write_file(&s.unsealer_config(), b"x").unwrap();
        let ids: Vec<String> = s
            .node_ids()
            .unwrap()
            .iter()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(ids, ["node1", "node3", "node4"]);
    }

    #[test]
    fn layout() {
        let s = StateDir::new(Path::new("/t/testbed"), &TestbedName::new("dev").unwrap());
        let n2 = NodeId::new(2).unwrap();
        assert_eq!(s.dir(), Path::new("/t/testbed/dev"));
        assert_eq!(s.ca_cert(), Path::new("/t/testbed/dev/tls/ca.pem"));
        assert_eq!(
            s.node_config(n2),
            Path::new("/t/testbed/dev/nodes/node2/config.hcl")
        );
        assert_eq!(s.init_file(), Path::new("/t/testbed/dev/init.json"));
        assert_eq!(s.audit_dir(), Path::new("/t/testbed/dev/audit"));
        assert_eq!(s.env_file(), Path::new("/t/testbed/dev/env.sh"));
        assert_eq!(
            s.unsealer_init_file(),
            Path::new("/t/testbed/dev/unsealer-init.json")
        );
        assert_eq!(
            s.static_key_file(),
            Path::new("/t/testbed/dev/seal/static.key")
        );
        assert_eq!(
            s.unsealer_config(),
            Path::new("/t/testbed/dev/nodes/unsealer/config.hcl")
        );
    }

    #[test]
    fn init_file_round_trips_with_mode_0600_and_redacted_debug() {
        let tmp = tempfile::tempdir().unwrap();
        let s = StateDir::new(tmp.path(), &TestbedName::new("t").unwrap());
        assert!(s.read_init().unwrap().is_none());
        let init = InitFile {
            shares: 5,
            threshold: 3,
            keys_base64: vec![UnsealKey::new("k1-secret"), UnsealKey::new("k2-secret")],
            recovery_keys_base64: Vec::new(),
            root_token: Token::new("s.root-secret"),
        };
        s.write_init(&init).unwrap();
        assert_eq!(mode(&s.init_file()), 0o600);
        let back = s.read_init().unwrap().unwrap();
        assert_eq!(back.keys_base64, init.keys_base64);
        assert_eq!(back.root_token, init.root_token);
        let dbg = format!("{back:?}");
        assert!(!dbg.contains("secret"), "{dbg}");
        // Nothing but init.json in the directory: no temporary files left.
        let names: Vec<_> = fs::read_dir(s.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["init.json"]);
        // A Shamir init.json has no recovery keys field at all; one from an auto-unseal
        // testbed round-trips them.
        let text = fs::read_to_string(s.init_file()).unwrap();
        assert!(!text.contains("recovery"), "{text}");
        let auto = InitFile {
            keys_base64: Vec::new(),
            recovery_keys_base64: vec![UnsealKey::new("r1-secret")],
            ..init
        };
        s.write_unsealer_init(&auto).unwrap();
        assert_eq!(mode(&s.unsealer_init_file()), 0o600);
        let back = s.read_unsealer_init().unwrap().unwrap();
        assert_eq!(back.recovery_keys_base64, auto.recovery_keys_base64);
        assert!(back.keys_base64.is_empty());
        s.reset().unwrap();
        assert!(!s.dir().exists());
        s.reset().unwrap();
    }

    #[test]
    fn static_key_is_written_0600_in_a_0700_dir_and_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        let s = StateDir::new(tmp.path(), &TestbedName::new("t").unwrap());
        assert!(s.read_static_key().unwrap().is_none());
        let key = StaticKey::generate().unwrap();
        s.write_static_key(&key).unwrap();
        assert_eq!(mode(&s.static_key_file()), 0o600);
        assert_eq!(mode(s.static_key_file().parent().unwrap()), 0o700);
        assert_eq!(fs::read(s.static_key_file()).unwrap(), key.expose());
        assert_eq!(s.read_static_key().unwrap().unwrap().expose(), key.expose());
        fs::write(s.static_key_file(), b"short").unwrap();
        let e = s.read_static_key().unwrap_err();
        // The whole chain: the cause is the error's source, not its message.
        let chain = format!(
            "{e}: {}",
            std::error::Error::source(&e).map_or(String::new(), |c| c.to_string())
        );
        assert!(chain.contains("32 bytes"), "{chain}");
    }

    #[test]
    fn env_sh_has_a_token_only_when_asked() {
        let ca = Path::new("/w/target/testbed/default/tls/ca.pem");
        let without = env_sh("https://127.0.0.1:18201", ca, None);
        assert!(without.contains(
            "export VAULT_ADDR=https://127.0.0.1:18201 VAULT_CACERT=/w/target/testbed/default/tls/ca.pem"
        ), "{without}");
        assert!(
            without.contains("export BAO_ADDR=https://127.0.0.1:18201 BAO_CACERT="),
            "{without}"
        );
        assert!(!without.contains("TOKEN"), "{without}");
        let with = env_sh("https://127.0.0.1:18201", ca, Some(&Token::new("s.abc")));
        assert!(
            with.contains("export VAULT_TOKEN=s.abc BAO_TOKEN=s.abc"),
            "{with}"
        );
        let odd = env_sh("https://x", Path::new("/a b/ca.pem"), None);
        assert!(odd.contains("VAULT_CACERT='/a b/ca.pem'"), "{odd}");

        let tmp = tempfile::tempdir().unwrap();
        let s = StateDir::new(tmp.path(), &TestbedName::new("t").unwrap());
        s.write_env("https://127.0.0.1:1", Some(&Token::new("s.x")))
            .unwrap();
        assert_eq!(mode(&s.env_file()), 0o600);
    }
}
