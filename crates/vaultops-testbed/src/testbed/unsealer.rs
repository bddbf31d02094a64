//! The transit unsealer of a `--seal transit` testbed: a one-node OpenBao (TLS with the
//! testbed CA, Shamir 1/1) in its own container `vaultops-<name>-unsealer`, reachable by the
//! nodes as `https://unsealer:8200`, prepared the way an operator would (see
//! `docs/auto-unseal.md`, by `vaultops_bootstrap::transit`): transit engine at `transit/`, key
//! `autounseal`, a policy allowing only `update` on `transit/encrypt/autounseal` and
//! `transit/decrypt/autounseal`, and an orphan periodic token with only that policy, which the
//! nodes get in their environment.
//!
//! Also the unsealer's operations for scenarios (stop, kill, start, unseal, restore) and its
//! status. Its init output (its one unseal key and its root token) is kept 0600 in
//! `unsealer-init.json`: after a restart the unsealer is sealed like any Shamir server.

use std::net::Ipv4Addr;
use std::time::Duration;

use vaultops_api::{InitResponse, NodeClient, NodeRole, Token};
use vaultops_bootstrap::NodeStatus;
use vaultops_bootstrap::{
    BootstrapError, BringUpError, BringUpHooks, BringUpOptions, NodeSet, UnsealOutcome,
};

use crate::docker as dk;
use crate::error::TestbedError;
use crate::state::InitFile;
use crate::testbed::{start_container, Testbed};

/// Log lines of the unsealer shown in its errors.
const ERROR_LOG_LINES: usize = 25;

/// The transit unsealer's container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsealerNode {
    pub container: String,
    /// Static address on the testbed network (`.9`).
    pub ip: Ipv4Addr,
    /// Published API port on 127.0.0.1.
    pub host_port: u16,
}

impl UnsealerNode {
    /// `https://127.0.0.1:<port>`.
    pub fn host_addr(&self) -> String {
        format!("https://127.0.0.1:{}", self.host_port)
    }
}

/// The unsealer's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsealerReport {
    pub container: String,
    /// Docker's view: `running`, `exited`, … or `missing`.
    pub container_state: String,
    pub host_addr: String,
    /// The API's view (reachable, sealed, role).
    pub api: NodeStatus,
}

impl Testbed {
    /// The transit unsealer (`None` unless the testbed uses the transit seal).
    pub fn unsealer(&self) -> Option<&UnsealerNode> {
        self.unsealer.as_ref()
    }

    fn require_unsealer(&self) -> Result<&UnsealerNode, TestbedError> {
        self.unsealer
            .as_ref()
            .ok_or_else(|| TestbedError::NoUnsealer {
                name: self.name.to_string(),
                seal: self.seal.as_str(),
            })
    }

    /// A client for the unsealer through its published port, without a token.
    pub fn unsealer_client(&self) -> Result<NodeClient, TestbedError> {
        let u = self.require_unsealer()?;
        NodeClient::new(&u.host_addr(), &self.client_config).map_err(|source| {
            TestbedError::UnsealerClient {
                name: self.name.to_string(),
                source: Box::new(source),
            }
        })
    }

    /// Stops the unsealer (SIGTERM, SIGKILL after `timeout`). Running nodes keep serving; a
    /// node that starts now cannot unseal and exits (Docker restarts it).
    pub async fn stop_unsealer(&self, timeout: Duration) -> Result<(), TestbedError> {
        let c = self.require_unsealer()?.container.clone();
        self.stop_container(&c, timeout).await
    }

    /// Kills the unsealer with SIGKILL.
    pub async fn kill_unsealer(&self) -> Result<(), TestbedError> {
        let c = self.require_unsealer()?.container.clone();
        self.signal_container(&c, "SIGKILL").await
    }

    /// Starts the unsealer's container (no-op when running). It comes back sealed: see
    /// [`Testbed::unseal_unsealer`], or [`Testbed::restore_unsealer`] for both with a wait.
    pub async fn start_unsealer(&self) -> Result<(), TestbedError> {
        let c = self.require_unsealer()?.container.clone();
        start_container(&self.docker, &self.name, &c).await
    }

    /// Unseals the unsealer with its saved key (its listener must be up).
    pub async fn unseal_unsealer(&self) -> Result<UnsealOutcome, TestbedError> {
        let client = self.unsealer_client()?;
        let keys = self
            .unsealer_init
            .as_ref()
            .map(|i| i.keys_base64.clone())
            .ok_or_else(|| TestbedError::Inconsistent {
                name: self.name.to_string(),
                reason: format!("has no {}", self.state.unsealer_init_file().display()),
            })?;
        match vaultops_bootstrap::unseal_node(&client, &keys).await {
            Ok(o) => Ok(o),
            Err(e) => Err(self.unsealer_failed("unsealing", e).await),
        }
    }

    /// Brings the unsealer back to serving, waiting up to `deadline` for each step: starts
    /// (or unpauses) its container, waits for its listener, unseals it, waits until it is
    /// active. Returns what it did (empty when it was fine, or there is no unsealer).
    pub async fn restore_unsealer(&self, deadline: Duration) -> Result<Vec<String>, TestbedError> {
        let Some(u) = &self.unsealer else {
            return Ok(Vec::new());
        };
        let mut actions = Vec::new();
        match self.state_of(&u.container).await?.as_str() {
            "running" => {}
            "paused" => {
                self.docker
                    .unpause_container(&u.container)
                    .await
                    .map_err(|e| TestbedError::docker("unpausing container", &u.container, e))?;
                actions.push("unpaused the unsealer".to_owned());
            }
            _ => {
                self.start_unsealer().await?;
                actions.push("started the unsealer".to_owned());
            }
        }
        let set = NodeSet::new(vec![self.unsealer_client()?]);
        if let Err(e) = set
            .wait_all(
                "the unsealer's API listener",
                &[NodeRole::Sealed, NodeRole::Active, NodeRole::Standby],
                deadline,
            )
            .await
        {
            return Err(self
                .unsealer_failed("waiting for its API listener", e)
                .await);
        }
        if let UnsealOutcome::Unsealed { .. } = self.unseal_unsealer().await? {
            actions.push("unsealed the unsealer".to_owned());
        }
        if let Err(e) = set.wait_active(deadline).await {
            return Err(self.unsealer_failed("waiting for it to be active", e).await);
        }
        Ok(actions)
    }

    /// The last `tail` lines of the unsealer's server log (`None` without an unsealer).
    pub async fn unsealer_logs(&self, tail: usize) -> Result<Option<String>, TestbedError> {
        match &self.unsealer {
            Some(u) => dk::logs(&self.docker, &u.container, tail).await.map(Some),
            None => Ok(None),
        }
    }

    pub(crate) async fn unsealer_report(&self) -> Result<Option<UnsealerReport>, TestbedError> {
        let Some(u) = &self.unsealer else {
            return Ok(None);
        };
        let container_state = self.state_of(&u.container).await?;
        let api = vaultops_bootstrap::node_status(&self.unsealer_client()?).await;
        Ok(Some(UnsealerReport {
            container: u.container.clone(),
            container_state,
            host_addr: u.host_addr(),
            api,
        }))
    }

    async fn unsealer_failed(&self, step: &'static str, source: BootstrapError) -> TestbedError {
        let logs = match &self.unsealer {
            Some(u) => {
                self.container_log_tail("unsealer", &u.container, ERROR_LOG_LINES)
                    .await
            }
            None => String::new(),
        };
        TestbedError::Unsealer {
            name: self.name.to_string(),
            step,
            source: Box::new(source),
            logs,
        }
    }

    /// Prepares the freshly started unsealer: brought up 1/1 by `vaultops_bootstrap::bring_up`
    /// (its init output saved 0600 before anything else), then prepared the operator's way by
    /// `vaultops_bootstrap::transit`; returns the nodes' orphan periodic token.
    pub(crate) async fn prepare_unsealer(
        &mut self,
        deadline: Duration,
    ) -> Result<Token, TestbedError> {
        let client = self.unsealer_client()?;
        let set = NodeSet::new(vec![client.clone()]);
        let mut hooks = UnsealerHooks { tb: self };
        let up =
            vaultops_bootstrap::bring_up(&set, &BringUpOptions::single_node(deadline), &mut hooks)
                .await;
        let up = match up {
            Ok(up) => up,
            Err(BringUpError::Hook { source, .. }) => return Err(source),
            Err(BringUpError::Step { step, source }) => {
                return Err(self.unsealer_failed(step, source).await)
            }
        };
        let root = client.with_token(up.init.root_token.clone());
        match vaultops_bootstrap::prepare_unsealer(&root).await {
            Ok(token) => Ok(token),
            Err(e) => Err(self.unsealer_failed("preparing transit", e).await),
        }
    }
}

/// Keeps the unsealer's init output (`unsealer-init.json`, 0600) as soon as init answers.
struct UnsealerHooks<'a> {
    tb: &'a mut Testbed,
}

impl BringUpHooks for UnsealerHooks<'_> {
    type Error = TestbedError;

    async fn initialized(&mut self, init: &InitResponse) -> Result<(), TestbedError> {
        let init = InitFile {
            shares: 1,
            threshold: 1,
            keys_base64: init.keys_base64.clone(),
            recovery_keys_base64: Vec::new(),
            root_token: init.root_token.clone(),
        };
        self.tb.state.write_unsealer_init(&init)?;
        self.tb.unsealer_init = Some(init);
        Ok(())
    }
}
