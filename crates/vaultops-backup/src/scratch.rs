//! `vaultops backup verify --restore`: restores a backup into a throwaway single node and
//! counts what it holds, so a backup is known to be restorable (and with which keys) before
//! the day it is needed.
//!
//! The throwaway node is a local server process (the `bao` or `vault` binary given) with:
//! raft storage in a private (0700) temporary directory, a TLS listener on 127.0.0.1 with a
//! certificate made for it, no audit device (a restored snapshot's config-managed devices are
//! removed at unseal, as the node's config declares none: measured on OpenBao 2.7.2), and the
//! unauthenticated generate-root endpoints on, because the old cluster's shares are its only
//! source of a token. Steps: start → init (1 share) → unseal → active (`vaultops_bootstrap::bring_up`, the
//! sequence every cluster comes up through) → forced restore → the node seals
//! itself (the snapshot's keyring is not the throwaway one) → restart (the seal configuration,
//! threshold and share count, is only read from storage at start) → unseal with the OLD
//! cluster's keys → generate a root token with them → [`crate::inventory::take`] → the
//! process is killed and the directory removed, on success and on every error.
//!
//! Only Shamir-sealed backups can be checked this way: an auto-unseal cluster's keyring is
//! wrapped by its seal (KMS, transit, static key), which the throwaway node does not have.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use vaultops_api::{ClientConfig, GenerateRootEndpoint, NodeClient, NodeRole, UnsealKey};
use vaultops_bootstrap::{BootstrapError, BringUpOptions, NoHooks, NodeSet};
use vaultops_config::{Listener, NodeConfig, RaftStorage, Storage, TlsFiles};
use vaultops_types::Engine;

use crate::inventory::{self, Inventory};
use crate::{restore_via, verify_file, BackupError, VerifyReport};

/// How to run the throwaway node.
#[derive(Debug, Clone)]
pub struct ScratchOptions {
    /// The server binary (`bao` or `vault`).
    pub server_bin: PathBuf,
    /// Deadline of each wait (start, seal, unseal, active).
    pub deadline: Duration,
    /// Parent of the temporary directory (default: the system's temporary directory). It
    /// holds the restored data, encrypted with the old cluster's keys, until the check ends.
    pub work_dir: Option<PathBuf>,
}

impl ScratchOptions {
    /// `server_bin` with a 60 s deadline per wait, in the system's temporary directory.
    pub fn new(server_bin: impl Into<PathBuf>) -> Self {
        Self {
            server_bin: server_bin.into(),
            deadline: Duration::from_secs(60),
            work_dir: None,
        }
    }
}

/// Seconds spent in each step of [`verify_by_restore`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreTimings {
    /// Start, init and unseal of the throwaway node.
    pub node_ready_s: f64,
    /// The restore call until the node sealed itself.
    pub restore_s: f64,
    /// Restart, unseal with the old keys, until active.
    pub unseal_s: f64,
    /// Root token and inventory.
    pub count_s: f64,
    pub total_s: f64,
}

/// What [`verify_by_restore`] found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreCheck {
    /// The server-free checks, done first.
    pub integrity: VerifyReport,
    /// The server that did the restore (`bao version` / `vault version` first line).
    pub server_version: String,
    /// The backup's cluster's Shamir split, as its restored storage says.
    pub threshold: u8,
    pub shares: u8,
    /// What the restored cluster holds.
    pub inventory: Inventory,
    pub timings: RestoreTimings,
}

/// Checks `file` (decrypted with `identities` when encrypted) by restoring it into a
/// throwaway node and unsealing it with `old_keys`, the unseal keys of the cluster the backup
/// was taken from (at least its threshold). The backup file is only read; nothing is written
/// outside the temporary directory, which is removed at the end.
pub async fn verify_by_restore(
    file: &Path,
    identities: &vaultops_custody::Identities,
    old_keys: &[UnsealKey],
    opts: &ScratchOptions,
) -> Result<RestoreCheck, BackupError> {
    let t0 = Instant::now();
    let (f, ids) = (file.to_owned(), identities.clone());
    let integrity = tokio::task::spawn_blocking(move || verify_file(&f, &ids))
        .await
        .map_err(|_| BackupError::DecryptTask {
            path: file.to_owned(),
        })??;
    if old_keys.is_empty() {
        return Err(BackupError::OldKeys {
            reason: "no unseal key given".into(),
        });
    }
    let engine = detect_engine(&opts.server_bin).await?;
    let mut node = ScratchNode::create(opts, engine.0).await?;
    // Every path, success or error, kills and reaps the process before the directory goes.
    let result = check_in(&mut node, file, identities, old_keys, opts, t0).await;
    node.stop().await;
    let (threshold, shares, inventory, mut timings) = result?;
    timings.total_s = t0.elapsed().as_secs_f64();
    Ok(RestoreCheck {
        integrity,
        server_version: engine.1,
        threshold,
        shares,
        inventory,
        timings,
    })
}

/// The steps on the throwaway node: threshold and share count of the backup's cluster, its
/// inventory, and the timings (`total_s` is filled in by the caller).
async fn check_in(
    node: &mut ScratchNode,
    file: &Path,
    identities: &vaultops_custody::Identities,
    old_keys: &[UnsealKey],
    opts: &ScratchOptions,
    t0: Instant,
) -> Result<(u8, u8, Inventory, RestoreTimings), BackupError> {
    node.spawn()?;
    node.wait_role(
        "the throwaway node's listener",
        &[NodeRole::Uninitialized],
        opts.deadline,
    )
    .await?;
    // Init 1/1, unseal, active: the bring-up sequence every cluster goes through.
    let up = vaultops_bootstrap::bring_up(
        &NodeSet::new(vec![node.client.clone()]),
        &BringUpOptions::single_node(opts.deadline),
        &mut NoHooks,
    )
    .await
    .map_err(|e| node.failed("bringing the throwaway node up (init, unseal)", e))?;
    let init = up.init;
    let node_ready_s = t0.elapsed().as_secs_f64();

    let t = Instant::now();
    let own_root = node.client.with_token(init.root_token.clone());
    restore_via(&own_root, file, identities, true, node.dir.path()).await?;
    node.wait_role(
        "the throwaway node to seal itself after the restore",
        &[NodeRole::Sealed],
        opts.deadline,
    )
    .await?;
    let restore_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    node.restart(opts.deadline).await?;
    let seal = node
        .client
        .seal_status()
        .await
        .map_err(|e| node.failed("reading the restored seal status", e))?;
    if seal.recovery_seal || seal.seal_type != "shamir" {
        return Err(BackupError::AutoUnsealBackup {
            seal_type: seal.seal_type,
        });
    }
    match vaultops_bootstrap::unseal_node(&node.client, old_keys).await {
        Ok(_) => {}
        Err(e @ BootstrapError::UnsealWrongKeys { .. }) => {
            return Err(BackupError::OldKeys {
                reason: format!(
                    "{e} (the backup's cluster needs {} of its {} shares)",
                    seal.t, seal.n
                ),
            })
        }
        Err(e @ BootstrapError::UnsealNotEnoughKeys { .. }) => {
            return Err(BackupError::OldKeys {
                reason: e.to_string(),
            })
        }
        Err(e) => return Err(node.failed("unsealing with the old keys", e)),
    }
    node.wait_role(
        "the restored node to become active",
        &[NodeRole::Active],
        opts.deadline,
    )
    .await?;
    let unseal_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let token = vaultops_bootstrap::generate_root(
        &node.client,
        GenerateRootEndpoint::Unauthenticated,
        old_keys,
    )
    .await
    .map_err(|e| node.failed("generating a root token with the old keys", e))?;
    let root = node.client.with_token(token);
    let inventory = inventory::take(&root)
        .await
        .map_err(|e| node.failed("counting", e))?;
    // The node and its data are destroyed next; revoking is tidiness, not a guarantee.
    let _ = root.token_revoke_self().await;
    let count_s = t.elapsed().as_secs_f64();
    let timings = RestoreTimings {
        node_ready_s,
        restore_s,
        unseal_s,
        count_s,
        total_s: 0.0,
    };
    Ok((seal.t, seal.n, inventory, timings))
}

/// Runs `<bin> version` and tells OpenBao from Vault by its first line.
async fn detect_engine(bin: &Path) -> Result<(Engine, String), BackupError> {
    let start_err = |reason: String| BackupError::ScratchStart {
        bin: bin.to_owned(),
        reason,
    };
    let out = tokio::process::Command::new(bin)
        .arg("version")
        .env_clear()
        .envs(vaultops_types::without_tokens(std::env::vars_os()))
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| start_err(e.to_string()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default().trim().to_owned();
    let engine = if first.starts_with("OpenBao") {
        Engine::OpenBao
    } else if first.starts_with("Vault") {
        Engine::Vault
    } else {
        return Err(start_err(format!(
            "`version` printed {first:?}, not an OpenBao or Vault version"
        )));
    };
    Ok((engine, first))
}

/// The throwaway node's configuration (pure; see the module doc for its choices).
pub fn scratch_config(
    engine: Engine,
    api_port: u16,
    cluster_port: u16,
    data_dir: &Path,
    tls: TlsFiles,
) -> NodeConfig {
    let mut listener = Listener::tls(
        format!("127.0.0.1:{api_port}"),
        format!("127.0.0.1:{cluster_port}"),
        tls,
    );
    listener.unauthenticated_generate_root = true;
    let mut raft = RaftStorage::new(data_dir.to_string_lossy().into_owned());
    // A lone node on loopback: the fastest raft timing (init took 8 s with the default).
    raft.performance_multiplier = Some(1);
    let mut cfg = NodeConfig::new(
        engine,
        "verify",
        "vaultops-backup-verify",
        format!("https://127.0.0.1:{api_port}"),
        format!("https://127.0.0.1:{cluster_port}"),
        listener,
        Storage::Raft(raft),
    );
    if engine == Engine::Vault {
        // HashiCorp recommends it with integrated storage; a throwaway node has no swap
        // concern worth a failed mlock.
        cfg.vault_disable_mlock = true;
    }
    cfg
}

/// A local server process killed (and its directory removed) when dropped.
struct ScratchNode {
    dir: tempfile::TempDir,
    bin: PathBuf,
    config: PathBuf,
    log: PathBuf,
    child: Option<tokio::process::Child>,
    client: NodeClient,
}

impl ScratchNode {
    async fn create(opts: &ScratchOptions, engine: Engine) -> Result<Self, BackupError> {
        let io_err = |path: &Path| {
            let path = path.to_owned();
            move |source| BackupError::Io { path, source }
        };
        let parent = opts.work_dir.clone().unwrap_or_else(std::env::temp_dir);
        let dir = tempfile::Builder::new()
            .prefix("vaultops-verify-")
            .tempdir_in(&parent)
            .map_err(io_err(&parent))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
                .map_err(io_err(dir.path()))?;
        }
        let cert_err = |reason: String| BackupError::ScratchStart {
            bin: opts.server_bin.clone(),
            reason: format!("making the throwaway node's certificate: {reason}"),
        };
        let ca = vaultops_tls::create_ca(&vaultops_tls::CaParams {
            common_name: "vaultops backup verify (throwaway)".into(),
            days: 2,
            ..Default::default()
        })
        .map_err(|e| cert_err(e.to_string()))?;
        let tls_dir = dir.path().join("tls");
        vaultops_tls::write_ca(&tls_dir, &ca, vaultops_tls::Overwrite::Refuse)
            .map_err(|e| cert_err(e.to_string()))?;
        let ca_handle = vaultops_tls::Ca::from_bundle(&ca).map_err(|e| cert_err(e.to_string()))?;
        let cert = vaultops_tls::create_node_cert(
            &ca_handle,
            &vaultops_tls::NodeParams {
                name: "verify".into(),
                dns: vec!["localhost".into()],
                ips: vec![std::net::Ipv4Addr::LOCALHOST.into()],
                days: 1,
                ..Default::default()
            },
        )
        .map_err(|e| cert_err(e.to_string()))?;
        let files = vaultops_tls::write_node(&tls_dir, "verify", &cert)
            .map_err(|e| cert_err(e.to_string()))?;
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).map_err(io_err(&data))?;
        let (api_port, cluster_port) = (free_port()?, free_port()?);
        let cfg = scratch_config(
            engine,
            api_port,
            cluster_port,
            &data,
            TlsFiles::new(
                files.cert.to_string_lossy().into_owned(),
                files.key.to_string_lossy().into_owned(),
            ),
        );
        let rendered = cfg.render().map_err(|e| BackupError::ScratchStart {
            bin: opts.server_bin.clone(),
            reason: format!("rendering the throwaway node's configuration: {e}"),
        })?;
        let config = dir.path().join("server.hcl");
        vaultops_fs::write_atomic(
            &config,
            rendered.hcl.as_bytes(),
            vaultops_fs::WriteOptions::new(rendered.file_mode()),
        )
        .map_err(|source| BackupError::Write {
            path: config.clone(),
            source,
        })?;
        let client = NodeClient::new(
            &format!("https://127.0.0.1:{api_port}"),
            &ClientConfig {
                ca_pem: Some(ca.cert_pem.clone().into_bytes()),
                timeout: Duration::from_secs(30),
                connect_timeout: Duration::from_secs(2),
                ..Default::default()
            },
        )
        .map_err(|e| BackupError::ScratchStart {
            bin: opts.server_bin.clone(),
            reason: format!("a client for the throwaway node: {e}"),
        })?;
        Ok(Self {
            log: dir.path().join("server.log"),
            dir,
            bin: opts.server_bin.clone(),
            config,
            child: None,
            client,
        })
    }

    fn spawn(&mut self) -> Result<(), BackupError> {
        let start_err = |reason: String| BackupError::ScratchStart {
            bin: self.bin.clone(),
            reason,
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| start_err(format!("{}: {e}", self.log.display())))?;
        let err_log = log.try_clone().map_err(|e| start_err(e.to_string()))?;
        let child = tokio::process::Command::new(&self.bin)
            .arg("server")
            .env_clear()
            .envs(vaultops_types::without_tokens(std::env::vars_os()))
            .arg(format!("-config={}", self.config.display()))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            // The operator's own settings are for the real cluster, not this node.
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_TOKEN")
            .env_remove("BAO_TOKEN")
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| start_err(e.to_string()))?;
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL and reap.
    async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
    }

    async fn restart(&mut self, deadline: Duration) -> Result<(), BackupError> {
        self.stop().await;
        self.spawn()?;
        self.wait_role(
            "the restarted throwaway node's listener",
            &[NodeRole::Sealed],
            deadline,
        )
        .await
    }

    /// Polls health until the role is one of `roles`; a process that exits ends the wait at
    /// once with its log.
    async fn wait_role(
        &mut self,
        what: &'static str,
        roles: &[NodeRole],
        deadline: Duration,
    ) -> Result<(), BackupError> {
        let start = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(self.failed(
                        what,
                        std::io::Error::other(format!("the server exited ({status})")),
                    ));
                }
            }
            let last = match self.client.health().await {
                Ok(h) if roles.contains(&h.role) => return Ok(()),
                Ok(h) => format!("role {}", h.role),
                Err(e) => e.to_string(),
            };
            if start.elapsed() >= deadline {
                let e = vaultops_bootstrap::WaitTimeout {
                    what: what.to_owned(),
                    waited: start.elapsed(),
                    last,
                };
                return Err(self.failed(what, e));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// An error for `step`, with the end of the server's log.
    fn failed(
        &self,
        step: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> BackupError {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        BackupError::Scratch {
            step,
            source: Box::new(source),
            log_tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        }
    }
}

impl Drop for ScratchNode {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.start_kill();
        }
    }
}

/// A free TCP port on 127.0.0.1, never one this process handed out before
/// ([`vaultops_fs::free_loopback_ports`]).
fn free_port() -> Result<u16, BackupError> {
    vaultops_fs::free_loopback_port().map_err(|source| BackupError::Io {
        path: PathBuf::from("127.0.0.1 (a free port)"),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls() -> TlsFiles {
        TlsFiles::new("/t/verify.pem", "/t/verify-key.pem")
    }

    #[test]
    fn scratch_config_renders_for_both_engines() {
        let bao = scratch_config(Engine::OpenBao, 18200, 18201, Path::new("/t/data"), tls())
            .render()
            .unwrap()
            .hcl;
        assert!(
            bao.contains("disable_unauthed_generate_root_endpoints = false"),
            "{bao}"
        );
        assert!(bao.contains("127.0.0.1:18200"), "{bao}");
        assert!(!bao.contains("audit"), "no audit device: {bao}");
        assert!(!bao.contains("retry_join"), "a single node: {bao}");
        let vault = scratch_config(Engine::Vault, 18200, 18201, Path::new("/t/data"), tls())
            .render()
            .unwrap()
            .hcl;
        assert!(!vault.contains("disable_unauthed"), "{vault}");
        assert!(vault.contains("disable_mlock"), "{vault}");
    }
}
