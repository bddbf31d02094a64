//! [`Testbed`]: bringing a testbed up (or finding it already up), attaching to a running one,
//! its status, and taking it down.
//!
//! `up` creates, in order: the image (if needed), a labelled network with a fixed subnet, TLS
//! material and configs under the state dir, the labelled raft volumes, the audit sink, (for
//! `--seal transit`) the prepared transit unsealer, the node containers; then it bootstraps
//! through `vaultops-bootstrap` exactly as production does (init 5/3, or recovery 5/3 with
//! auto-unseal; unseal, autopilot tuning, voters, baseline). If any step fails, everything it
//! created is removed unless `TESTBED_KEEP=1`, and the error carries every node's (and the
//! unsealer's) last log lines.
//!
//! Children: `up` (create or repair), `bootstrap` (bring-up and baseline of a new testbed),
//! `attach`, `status`, `resources` (Docker resource creation), `ops` (node operations for
//! scenarios), `membership` (a node added with a new identity, a node removed with its
//! volume), `swap` (a node's container replaced by another pinned release's: a rolling
//! upgrade's binary swap), `tls` (a running node's TLS files read and replaced, the server
//! process's identity, the CA this handle's clients trust: certificate rotations), `rekey`
//! (the recorded unseal keys replaced after a rekey), `seal_change` (a node reconfigured with
//! another seal and restarted: a seal migration's operator step) and `unsealer` (the transit
//! unsealer).

mod attach;
mod bootstrap;
mod membership;
mod ops;
mod rekey;
mod resources;
mod seal_change;
mod status;
mod swap;
mod tls;
mod unsealer;
mod up;

pub use membership::JoinBy;
pub(crate) use resources::start_container;
pub use status::{NodeReport, TestbedStatus};
pub use tls::{ServerProcess, TlsDelivery};
pub use unsealer::{UnsealerNode, UnsealerReport};

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use bollard::Docker;
use vaultops_api::{ClientConfig, NodeClient, Token, UnsealKey};
use vaultops_bootstrap::{BootstrapError, NodeSet};
use vaultops_types::Engine;

use crate::docker::{self as dk};
use crate::error::TestbedError;
use crate::image::{ImageOrigin, ServerImage};
use crate::names::{NodeCount, NodeId, TestbedName};
use crate::plan::{Plan, PortPlan, Subnet};
use crate::seal::SealKind;
use crate::state::{InitFile, StateDir};

/// Environment variable that keeps the resources of a failed `up` for debugging.
pub const KEEP_ENV: &str = "TESTBED_KEEP";
/// Log lines per node shown in errors.
const ERROR_LOG_LINES: usize = 25;

/// What `up` should create.
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub name: TestbedName,
    /// Node count for a new testbed (default 3). For an existing one, `None` accepts what
    /// exists and `Some` must match it.
    pub nodes: Option<NodeCount>,
    /// Engine (default OpenBao); same rule as `nodes` for an existing testbed.
    pub engine: Option<Engine>,
    /// Seal (default Shamir); same rule as `nodes` for an existing testbed.
    pub seal: Option<SealKind>,
    /// How the API ports are published (see [`PortPlan::default_for`]).
    pub ports: PortPlan,
    /// An image to use instead of the official/local choice (must be present or pullable).
    pub image: Option<String>,
    /// The OpenBao release of a NEW testbed (`2.6.2`; default 2.7.2, one of vaultops-install's
    /// pinned versions): the official image of that version if present, else the local image
    /// built from that pinned binary. An existing testbed keeps the image it was created with.
    pub openbao_version: Option<String>,
    /// Put the root token into `env.sh`.
    pub with_token: bool,
    /// Where the state directories live (default: `target/testbed`).
    pub state_root: PathBuf,
    /// Deadline of each wait (listeners, unseal, voters).
    pub deadline: Duration,
    /// Keep what a failed `up` created (default: `TESTBED_KEEP=1`).
    pub keep_on_failure: bool,
    /// Render `disable_standby_reads = true` into a NEW testbed's node configs (OpenBao only):
    /// standbys forward reads to the active node instead of answering from their own copy.
    /// An existing testbed keeps the configs it was created with.
    pub disable_standby_reads: bool,
}

impl UpOptions {
    /// Defaults for testbed `name` with state under `state_root`.
    pub fn new(name: TestbedName, state_root: PathBuf) -> Self {
        Self {
            ports: PortPlan::default_for(&name),
            name,
            nodes: None,
            engine: None,
            seal: None,
            image: None,
            openbao_version: None,
            with_token: false,
            state_root,
            deadline: Duration::from_secs(90),
            keep_on_failure: keep_from_env(),
            disable_standby_reads: false,
        }
    }
}

/// Whether `TESTBED_KEEP` asks to keep failed resources (`1`, `true`, `yes`).
pub fn keep_from_env() -> bool {
    std::env::var(KEEP_ENV)
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
        .unwrap_or(false)
}

/// What `up` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpOutcome {
    /// A new testbed was created and bootstrapped.
    Created { image: String, origin: ImageOrigin },
    /// It was already running and healthy: nothing changed.
    AlreadyRunning,
    /// It existed but needed repair (containers started, nodes unsealed, …).
    Repaired { actions: Vec<String> },
}

/// One node of a testbed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestbedNode {
    pub id: NodeId,
    pub container: String,
    /// Static address on the testbed network.
    pub ip: Ipv4Addr,
    /// Published API port on 127.0.0.1.
    pub host_port: u16,
}

impl TestbedNode {
    /// `https://127.0.0.1:<port>`.
    pub fn host_addr(&self) -> String {
        format!("https://127.0.0.1:{}", self.host_port)
    }
}

/// A running (or at least existing) testbed: its Docker objects, certificates and init output.
#[derive(Debug, Clone)]
pub struct Testbed {
    pub(crate) docker: Docker,
    pub(crate) name: TestbedName,
    pub(crate) engine: Engine,
    pub(crate) seal: SealKind,
    pub(crate) state: StateDir,
    pub(crate) nodes: Vec<TestbedNode>,
    pub(crate) subnet: Subnet,
    pub(crate) sink: Option<String>,
    /// The transit unsealer (`--seal transit` only).
    pub(crate) unsealer: Option<UnsealerNode>,
    pub(crate) ca_pem: String,
    pub(crate) client_config: ClientConfig,
    pub(crate) init: Option<InitFile>,
    /// The unsealer's own init output (its unseal key and root token).
    pub(crate) unsealer_init: Option<InitFile>,
}

impl Testbed {
    /// Removes every container, network and volume of this testbed and its state directory.
    pub async fn down(self) -> Result<dk::Removed, TestbedError> {
        let removed = dk::remove_all(&self.docker, &self.name).await?;
        self.state.reset()?;
        Ok(removed)
    }

    /// Turns a bootstrap failure into an error carrying every node's last log lines.
    pub(crate) async fn failed(&self, step: &'static str, source: BootstrapError) -> TestbedError {
        TestbedError::Bootstrap {
            name: self.name.to_string(),
            step,
            source: Box::new(source),
            logs: self.log_tails(ERROR_LOG_LINES).await,
        }
    }

    pub(crate) async fn log_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        if let Some(u) = &self.unsealer {
            out.push_str(
                &self
                    .container_log_tail("unsealer", &u.container, lines)
                    .await,
            );
        }
        for n in &self.nodes {
            out.push_str(
                &self
                    .container_log_tail(&n.id.to_string(), &n.container, lines)
                    .await,
            );
        }
        out
    }

    /// `--- <what> (<container>, <state>) last N log lines ---` and the lines.
    pub(crate) async fn container_log_tail(
        &self,
        what: &str,
        container: &str,
        lines: usize,
    ) -> String {
        let state = self
            .state_of(container)
            .await
            .unwrap_or_else(|e| e.to_string());
        let text = dk::logs(&self.docker, container, lines)
            .await
            .unwrap_or_else(|e| e.to_string());
        format!(
            "--- {what} ({container}, {state}) last {lines} log lines ---\n{}\n",
            text.trim_end()
        )
    }

    pub(crate) fn write_env(&self, with_token: bool) -> Result<(), TestbedError> {
        let token = if with_token {
            self.init.as_ref().map(|i| &i.root_token)
        } else {
            None
        };
        self.state.write_env(&self.nodes[0].host_addr(), token)
    }

    /// The layout this testbed was created with.
    pub fn plan_view(&self) -> Plan {
        let mut plan = Plan::new(&self.name, self.subnet, &[]);
        // From the nodes as they are: after a membership change the ids need not be 1..=n.
        plan.nodes = self
            .nodes
            .iter()
            .map(|n| crate::plan::NodePlan {
                id: n.id,
                container: n.container.clone(),
                volume: self.name.node_volume(n.id),
                ip: n.ip,
                host_port: n.host_port,
            })
            .collect();
        plan
    }

    // ---- accessors -------------------------------------------------------------------

    pub fn name(&self) -> &TestbedName {
        &self.name
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// How the nodes are sealed.
    pub fn seal(&self) -> SealKind {
        self.seal
    }

    pub fn nodes(&self) -> &[TestbedNode] {
        &self.nodes
    }

    /// The node `id`, or [`TestbedError::NoSuchNode`].
    pub fn node(&self, id: NodeId) -> Result<&TestbedNode, TestbedError> {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .ok_or_else(|| TestbedError::NoSuchNode {
                name: self.name.to_string(),
                node: id.to_string(),
                nodes: self.nodes.len(),
            })
    }

    pub fn state(&self) -> &StateDir {
        &self.state
    }

    /// The CA certificate (PEM) every node certificate chains to.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Client settings trusting the testbed CA (no token).
    pub fn client_config(&self) -> &ClientConfig {
        &self.client_config
    }

    /// A client for node `id` through its published port, without a token.
    ///
    /// # Panics
    /// When `id` is not a node of this testbed.
    pub fn client(&self, id: NodeId) -> NodeClient {
        let n = self.node(id).expect("node of this testbed");
        NodeClient::new(&n.host_addr(), &self.client_config).expect("a valid https address")
    }

    /// A client for node `id` with the root token (without one when init.json is missing).
    pub fn root_client(&self, id: NodeId) -> NodeClient {
        let c = self.client(id);
        match self.root_token() {
            Some(t) => c.with_token(t.clone()),
            None => c,
        }
    }

    /// Clients for every node, in node order, without a token.
    pub fn node_set(&self) -> NodeSet {
        NodeSet::new(self.nodes.iter().map(|n| self.client(n.id)).collect())
    }

    /// The init output (`None` if this testbed's init.json is missing).
    pub fn init(&self) -> Option<&InitFile> {
        self.init.as_ref()
    }

    pub fn root_token(&self) -> Option<&Token> {
        self.init.as_ref().map(|i| &i.root_token)
    }

    /// The first `threshold` unseal keys (empty without init.json, and with auto-unseal).
    pub fn threshold_keys(&self) -> &[UnsealKey] {
        match &self.init {
            Some(i) => &i.keys_base64[..usize::from(i.threshold).min(i.keys_base64.len())],
            None => &[],
        }
    }
}

/// Takes testbed `name` down without a handle: removes every labelled container, network and
/// volume and the state directory. Safe to run when nothing exists.
pub async fn down(
    name: &TestbedName,
    state_root: &std::path::Path,
) -> Result<dk::Removed, TestbedError> {
    let docker = dk::connect().await?;
    let removed = dk::remove_all(&docker, name).await?;
    StateDir::new(state_root, name).reset()?;
    Ok(removed)
}

/// Attaches a bootstrap failure to the testbed's node logs (see [`Testbed::failed`]).
trait OrFail<T> {
    async fn or_fail(self, tb: &Testbed, step: &'static str) -> Result<T, TestbedError>;
}

impl<T> OrFail<T> for Result<T, BootstrapError> {
    async fn or_fail(self, tb: &Testbed, step: &'static str) -> Result<T, TestbedError> {
        match self {
            Ok(v) => Ok(v),
            Err(e) => Err(tb.failed(step, e).await),
        }
    }
}

/// Makes the server image for `engine` present (`image` instead of the official or local
/// choice when given) and says which one it is: what `up` does first, for callers that time
/// `up` without the image (benchmarks).
pub async fn ensure_image(
    engine: Engine,
    image: Option<&str>,
) -> Result<ServerImage, TestbedError> {
    let docker = dk::connect().await?;
    let release = &vaultops_install::DEFAULT_RELEASE;
    crate::image::ensure_image(&docker, engine, image, release).await
}
