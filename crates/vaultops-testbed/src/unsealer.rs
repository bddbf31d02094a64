//! The transit unsealer of a `--seal transit` testbed: a one-node OpenBao (TLS with the
//! testbed CA, Shamir 1/1) in its own container `vaultops-<name>-unsealer`, reachable by the
//! nodes as `https://unsealer:8200`, prepared the way an operator would (see
//! `docs/auto-unseal.md`): transit engine at `transit/`, key `autounseal`, a policy allowing
//! only `update` on `transit/encrypt/autounseal` and `transit/decrypt/autounseal`, and an
//! orphan periodic token with only that policy, which the nodes get in their environment.
//!
//! Also the unsealer's operations for scenarios (stop, kill, start, unseal, restore) and its
//! status. Its init output (its one unseal key and its root token) is kept 0600 in
//! `unsealer-init.json`: after a restart the unsealer is sealed like any Shamir server.

use std::net::Ipv4Addr;
use std::time::Duration;

use vaultops_api::{
    EnableRequest, InitRequest, KeySplit, NodeClient, NodeRole, Token, TokenCreateRequest,
};
use vaultops_bootstrap::status::NodeStatus;
use vaultops_bootstrap::{NodeSet, UnsealOutcome};

use crate::docker as dk;
use crate::error::TestbedError;
use crate::plan::API_PORT;
use crate::render;
use crate::seal::{transit_policy, TRANSIT_KEY, TRANSIT_MOUNT, TRANSIT_TOKEN_PERIOD};
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
        NodeClient::new(&u.host_addr(), &self.client_config)
            .map_err(|e| TestbedError::Internal(format!("client for the unsealer: {e}")))
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
            Err(e) => Err(self.unsealer_failed("unsealing", e.to_string()).await),
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
                .unsealer_failed("waiting for its API listener", e.to_string())
                .await);
        }
        if let UnsealOutcome::Unsealed { .. } = self.unseal_unsealer().await? {
            actions.push("unsealed the unsealer".to_owned());
        }
        if let Err(e) = set.wait_active(deadline).await {
            return Err(self
                .unsealer_failed("waiting for it to be active", e.to_string())
                .await);
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
        let api = vaultops_bootstrap::status::node_status(&self.unsealer_client()?).await;
        Ok(Some(UnsealerReport {
            container: u.container.clone(),
            container_state,
            host_addr: u.host_addr(),
            api,
        }))
    }

    async fn unsealer_failed(&self, step: &'static str, reason: String) -> TestbedError {
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
            reason,
            logs,
        }
    }

    /// Prepares the freshly started unsealer: init 1/1 (saved 0600 before anything else),
    /// unseal, transit engine, key, policy; returns the nodes' orphan periodic token.
    pub(crate) async fn prepare_unsealer(
        &mut self,
        deadline: Duration,
    ) -> Result<Token, TestbedError> {
        let client = self.unsealer_client()?;
        let set = NodeSet::new(vec![client.clone()]);
        if let Err(e) = set
            .wait_all(
                "the unsealer's API listener",
                &[NodeRole::Uninitialized, NodeRole::Sealed],
                deadline,
            )
            .await
        {
            return Err(self
                .unsealer_failed("waiting for its API listener", e.to_string())
                .await);
        }
        let split = KeySplit::new(1, 1).expect("1/1 is a valid split");
        let init =
            match vaultops_bootstrap::init_cluster(&client, &InitRequest::shamir(split)).await {
                Ok(i) => i,
                Err(e) => return Err(self.unsealer_failed("init", e.to_string()).await),
            };
        let init = InitFile {
            shares: 1,
            threshold: 1,
            keys_base64: init.keys_base64,
            recovery_keys_base64: Vec::new(),
            root_token: init.root_token,
        };
        self.state.write_unsealer_init(&init)?;
        let root = client.with_token(init.root_token.clone());
        self.unsealer_init = Some(init);
        self.unseal_unsealer().await?;
        if let Err(e) = set.wait_active(deadline).await {
            return Err(self
                .unsealer_failed("waiting for it to be active", e.to_string())
                .await);
        }
        if let Err(e) = root
            .mount_enable(TRANSIT_MOUNT, &EnableRequest::new("transit"))
            .await
        {
            return Err(self
                .unsealer_failed("mounting the transit engine", e.to_string())
                .await);
        }
        self.create_transit_key(&root).await?;
        if let Err(e) = root.policy_write(TRANSIT_KEY, &transit_policy()).await {
            return Err(self
                .unsealer_failed("writing the autounseal policy", e.to_string())
                .await);
        }
        // Orphan: it survives the revocation of the root token that made it. Periodic: the
        // seal renews it forever. No default policy: it can do nothing but encrypt and
        // decrypt with the one key.
        let req = TokenCreateRequest {
            policies: vec![TRANSIT_KEY.to_owned()],
            period: Some(TRANSIT_TOKEN_PERIOD.into()),
            no_default_policy: Some(true),
            display_name: Some(TRANSIT_KEY.to_owned()),
            ..Default::default()
        };
        match root.token_create_orphan(&req).await {
            Ok(auth) => Ok(auth.client_token),
            Err(e) => Err(self
                .unsealer_failed("creating the nodes' token", e.to_string())
                .await),
        }
    }

    /// `bao write -f transit/keys/autounseal`, run by the server binary inside the unsealer
    /// container: the typed client has no transit endpoints. The root token does not leave
    /// this process: the CLI gets a child token valid for one use and two minutes.
    async fn create_transit_key(&self, root: &NodeClient) -> Result<(), TestbedError> {
        let once = TokenCreateRequest {
            ttl: Some("2m".into()),
            num_uses: Some(1),
            display_name: Some("testbed-transit-key".to_owned()),
            ..Default::default()
        };
        let token = match root.token_create(&once).await {
            Ok(auth) => auth.client_token,
            Err(e) => {
                return Err(self
                    .unsealer_failed("creating a token for the transit key", e.to_string())
                    .await)
            }
        };
        let u = self.require_unsealer()?;
        let addr = format!("https://127.0.0.1:{API_PORT}");
        let mut env = Vec::new();
        // Both prefixes: bao reads BAO_*, a Vault image's CLI VAULT_*.
        for prefix in ["BAO", "VAULT"] {
            env.push(format!("{prefix}_ADDR={addr}"));
            env.push(format!("{prefix}_CACERT={}", render::CA_FILE));
            env.push(format!("{prefix}_TOKEN={}", token.expose()));
        }
        let binary = format!("/bin/{}", self.engine.binary_name());
        let cmd = vec![
            binary,
            "write".to_owned(),
            "-f".to_owned(),
            format!("{TRANSIT_MOUNT}/keys/{TRANSIT_KEY}"),
        ];
        let out = dk::exec(&self.docker, &u.container, cmd, env).await?;
        if out.exit_code != Some(0) {
            return Err(self
                .unsealer_failed(
                    "creating the transit key",
                    format!(
                        "`write -f {TRANSIT_MOUNT}/keys/{TRANSIT_KEY}` exited with {:?}: {}",
                        out.exit_code,
                        out.output.trim()
                    ),
                )
                .await);
        }
        Ok(())
    }
}
