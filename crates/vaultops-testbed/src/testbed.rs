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

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use bollard::models::{ContainerStateStatusEnum, Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::{CreateContainerOptionsBuilder, InspectContainerOptions};
use bollard::Docker;
use vaultops_api::{ClientConfig, NodeClient, NodeRole, Token, UnsealKey};
use vaultops_bootstrap::status::{cluster_status, NodeStatus};
use vaultops_bootstrap::{BootstrapError, NodeSet};
use vaultops_config::Engine;

use crate::docker::{self as dk, is_conflict, is_not_found, UploadEntry};
use crate::error::TestbedError;
use crate::image::{ensure_image, ImageOrigin, ServerImage};
use crate::names::{
    NodeCount, NodeId, TestbedName, LABEL_ENGINE, LABEL_NODE, LABEL_ROLE, LABEL_SEAL,
    ROLE_AUDIT_SINK, ROLE_NODE, ROLE_UNSEALER,
};
use crate::plan::{check_ports_free, host_ports_with_unsealer, Plan, PortPlan, Subnet, API_PORT};
use crate::progress::{Progress, Step};
use crate::render::{self, ServerSpec};
use crate::seal::{SealKind, StaticKey};
use crate::state::{InitFile, StateDir};
use crate::unsealer::{UnsealerNode, UnsealerReport};
use vaultops_bootstrap::transit::TRANSIT_KEY;

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

/// Per-node status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    pub id: NodeId,
    pub container: String,
    /// Docker's view: `running`, `paused`, `exited`, … or `missing`.
    pub container_state: String,
    pub host_addr: String,
    /// The API's view (reachability, seal, role, applied index), from vaultops-bootstrap.
    pub api: NodeStatus,
    /// Whether raft counts it as a voter (`None` when unknown: no token or no leader).
    pub voter: Option<bool>,
}

/// The whole testbed's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestbedStatus {
    pub name: String,
    pub engine: Engine,
    pub seal: SealKind,
    pub nodes: Vec<NodeReport>,
    /// `running`, another container state, or why there is none.
    pub audit_sink: String,
    /// The transit unsealer (`--seal transit` only).
    pub unsealer: Option<UnsealerReport>,
    /// Empty when healthy: every node running, unsealed, one active, all voters.
    pub problems: Vec<String>,
}

impl TestbedStatus {
    pub fn healthy(&self) -> bool {
        self.problems.is_empty()
    }

    /// The active node, if exactly one.
    pub fn active(&self) -> Option<NodeId> {
        let mut a = self
            .nodes
            .iter()
            .filter(|n| n.api.role == Some(NodeRole::Active));
        match (a.next(), a.next()) {
            (Some(n), None) => Some(n.id),
            _ => None,
        }
    }

    /// How many nodes raft counts as voters.
    pub fn voters(&self) -> usize {
        self.nodes.iter().filter(|n| n.voter == Some(true)).count()
    }
}

impl Testbed {
    /// Brings testbed `opts.name` up, or reports that it already is (idempotent).
    pub async fn up(
        opts: &UpOptions,
        progress: &mut dyn Progress,
    ) -> Result<(Testbed, UpOutcome), TestbedError> {
        let step = Step::begin(progress, "docker");
        let docker = dk::connect().await?;
        let existing = dk::containers(&docker, &opts.name).await?;
        step.end(if existing.is_empty() {
            "connected; no existing testbed".to_owned()
        } else {
            format!("connected; testbed {} exists", opts.name)
        });
        if !existing.is_empty() {
            return Self::ensure_running(docker, opts, progress).await;
        }
        // Left-overs without containers (a kept failed run, an interrupted down) are ours:
        // clear them so the names are free.
        dk::remove_all(&docker, &opts.name).await?;
        match Self::create(&docker, opts, progress).await {
            Ok(ok) => Ok(ok),
            Err(e) if opts.keep_on_failure => {
                tracing::warn!(testbed = %opts.name, "up failed; keeping its resources ({KEEP_ENV}=1)");
                Err(e)
            }
            Err(e) => {
                if let Err(cleanup) = dk::remove_all(&docker, &opts.name).await {
                    tracing::warn!(testbed = %opts.name, error = %cleanup, "cleanup after a failed up failed");
                }
                let _ = StateDir::new(&opts.state_root, &opts.name).reset();
                Err(e)
            }
        }
    }

    async fn create(
        docker: &Docker,
        opts: &UpOptions,
        progress: &mut dyn Progress,
    ) -> Result<(Testbed, UpOutcome), TestbedError> {
        let name = &opts.name;
        let count = opts.nodes.unwrap_or_default();
        let engine = opts.engine.unwrap_or(Engine::OpenBao);
        let seal = opts.seal.unwrap_or_default();
        if !seal.supported_by(engine) {
            return Err(TestbedError::SealUnsupported {
                seal: seal.as_str(),
                engine,
            });
        }
        let transit = seal == SealKind::Transit;

        let step = Step::begin(progress, "ports");
        let (ports, unsealer_port) = host_ports_with_unsealer(opts.ports, count, transit)?;
        let mut wanted: Vec<(String, u16)> = count
            .ids()
            .map(|id| id.to_string())
            .zip(ports.iter().copied())
            .collect();
        if let Some(p) = unsealer_port {
            wanted.push(("the transit unsealer".to_owned(), p));
        }
        check_ports_free(&wanted)?;
        step.end(format!(
            "127.0.0.1:{}{}",
            join(&ports),
            unsealer_port.map_or(String::new(), |p| format!(" (unsealer {p})"))
        ));

        let step = Step::begin(progress, "image");
        let image = ensure_image(docker, engine, opts.image.as_deref()).await?;
        step.end(format!("{} ({:?})", image.reference, image.origin));

        let step = Step::begin(progress, "network");
        let subnet = create_network(docker, name).await?;
        let mut plan = Plan::new(name, subnet, &ports);
        plan.disable_standby_reads = opts.disable_standby_reads;
        if let Some(p) = unsealer_port {
            plan = plan.with_unsealer(p);
        }
        step.end(format!("{} {subnet}", name.network()));

        let step = Step::begin(progress, "tls+config");
        let state = StateDir::new(&opts.state_root, name);
        state.reset()?;
        let sink_addr = image.has_busybox.then(|| plan.sink_addr());
        let material = write_material(&state, &plan, engine, sink_addr.as_deref(), seal)?;
        step.end(format!(
            "{}{}",
            state.dir().display(),
            if seal == SealKind::Static {
                "; static seal key 0600"
            } else {
                ""
            }
        ));

        let nodes: Vec<TestbedNode> = plan
            .nodes
            .iter()
            .map(|n| TestbedNode {
                id: n.id,
                container: n.container.clone(),
                ip: n.ip,
                host_port: n.host_port,
            })
            .collect();
        let mut tb = Testbed::assemble(
            docker.clone(),
            name.clone(),
            (engine, seal),
            state,
            (nodes, subnet),
            None,
        )?;
        tb.unsealer = plan.unsealer.as_ref().map(|u| UnsealerNode {
            container: u.container.clone(),
            ip: u.ip,
            host_port: u.host_port,
        });
        let spec = ServerSpec {
            image: &image.reference,
            binary: image.binary,
            engine,
            seal,
            transit_token: None,
        };

        let step = Step::begin(progress, "containers");
        // The sink must listen before the nodes log anything (a socket device that cannot
        // write fails requests when it is the only device); node1 starts only after both.
        let sink = async {
            if image.has_busybox {
                start_sink(docker, &plan, &image).await.map(Some)
            } else {
                tracing::warn!(
                    "the image has no busybox: no audit sink and no socket audit device"
                );
                Ok(None)
            }
        };
        // Node containers need the transit token in their environment, which exists only
        // once the unsealer is prepared: with transit they are created after it.
        let servers = async {
            create_volumes(docker, &plan, engine, seal).await?;
            match (&plan.unsealer, &material.unsealer) {
                (Some(u), Some(files)) => {
                    create_unsealer(docker, &plan.name, u, &spec, &material.ca_pem, files).await
                }
                _ => create_nodes(docker, &plan, &spec, &material).await,
            }
        };
        let (sink, created) = tokio::join!(sink, servers);
        tb.sink = sink?;
        created?;
        step.end(format!(
            "{}{}",
            if transit {
                "unsealer".to_owned()
            } else {
                format!("{} node(s)", tb.nodes.len())
            },
            if tb.sink.is_some() {
                " + audit sink"
            } else {
                ""
            }
        ));

        if transit {
            let step = Step::begin(progress, "unsealer");
            let token = tb.prepare_unsealer(opts.deadline).await?;
            let spec = ServerSpec {
                transit_token: Some(&token),
                ..spec
            };
            create_nodes(docker, &plan, &spec, &material).await?;
            step.end(format!(
                "{} ready: transit key {TRANSIT_KEY}, orphan periodic token; {} node(s) created",
                tb.unsealer.as_ref().map_or("", |u| u.container.as_str()),
                tb.nodes.len()
            ));
        }
        // Only node1 now: the others start once it is initialized (see `bootstrap`).
        tb.start(tb.nodes[0].id).await?;

        tb.bootstrap(opts, progress).await?;
        Ok((
            tb,
            UpOutcome::Created {
                image: image.reference,
                origin: image.origin,
            },
        ))
    }

    /// The idempotent path of `up`: the testbed exists. Healthy: nothing to do. Otherwise
    /// start what is stopped, reconnect what is partitioned, unseal what is sealed.
    async fn ensure_running(
        docker: Docker,
        opts: &UpOptions,
        progress: &mut dyn Progress,
    ) -> Result<(Testbed, UpOutcome), TestbedError> {
        let step = Step::begin(progress, "existing");
        let tb = Testbed::attach_with(docker, &opts.name, &opts.state_root).await?;
        if let Some(n) = opts.nodes {
            if n.get() != tb.nodes.len() {
                return Err(TestbedError::Inconsistent {
                    name: opts.name.to_string(),
                    reason: format!(
                        "has {} nodes, not the {} asked for",
                        tb.nodes.len(),
                        n.get()
                    ),
                });
            }
        }
        if let Some(e) = opts.engine {
            if e != tb.engine {
                return Err(TestbedError::Inconsistent {
                    name: opts.name.to_string(),
                    reason: format!("runs {}, not {e}", tb.engine),
                });
            }
        }
        if let Some(seal) = opts.seal {
            if seal != tb.seal {
                return Err(TestbedError::Inconsistent {
                    name: opts.name.to_string(),
                    reason: format!("uses the {} seal, not {seal}", tb.seal),
                });
            }
        }
        if tb.seal == SealKind::Transit && tb.unsealer.is_none() {
            return Err(TestbedError::Inconsistent {
                name: opts.name.to_string(),
                reason: format!(
                    "uses the transit seal but its unsealer container {} is missing",
                    opts.name.unsealer_container()
                ),
            });
        }
        if tb.init.is_none() {
            return Err(TestbedError::Inconsistent {
                name: opts.name.to_string(),
                reason: format!("has no {}", tb.state.init_file().display()),
            });
        }
        let status = tb.status().await?;
        if status.healthy() {
            step.end("running and healthy: nothing to do");
            tb.write_env(opts.with_token)?;
            return Ok((tb, UpOutcome::AlreadyRunning));
        }
        step.end(format!("not healthy: {}", status.problems.join("; ")));

        let step = Step::begin(progress, "repair");
        // The unsealer first: a transit node cannot start (it exits and Docker restarts it)
        // until the unsealer answers unsealed.
        let mut actions = tb.restore_unsealer(opts.deadline).await?;
        for n in &status.nodes {
            match n.container_state.as_str() {
                "running" => {}
                "paused" => {
                    tb.unpause(n.id).await?;
                    actions.push(format!("unpaused {}", n.id));
                }
                _ => {
                    tb.start(n.id).await?;
                    actions.push(format!("started {}", n.id));
                }
            }
            if !tb.is_connected(n.id).await? {
                tb.reconnect(n.id).await?;
                actions.push(format!("reconnected {}", n.id));
            }
        }
        let set = tb.node_set();
        set.wait_all(
            "every node's API listener",
            &[
                NodeRole::Sealed,
                NodeRole::Active,
                NodeRole::Standby,
                NodeRole::PerformanceStandby,
            ],
            opts.deadline,
        )
        .await
        .or_fail(&tb, "waiting for the listeners")
        .await?;
        if tb.seal.is_auto() {
            set.wait_all(
                "every node to unseal itself",
                &[
                    NodeRole::Active,
                    NodeRole::Standby,
                    NodeRole::PerformanceStandby,
                ],
                opts.deadline,
            )
            .await
            .or_fail(&tb, "waiting for the nodes to unseal themselves")
            .await?;
        }
        // Every sealed node at once: one node alone cannot become active without quorum.
        // (Nothing to do with auto-unseal: there are no unseal keys, and none is sealed.)
        let keys = tb.threshold_keys().to_vec();
        let unseals = set.nodes().iter().filter(|_| !keys.is_empty()).map(|c| {
            let keys = keys.clone();
            async move { vaultops_bootstrap::unseal_node(c, &keys).await }
        });
        for (i, r) in futures_util::future::join_all(unseals)
            .await
            .into_iter()
            .enumerate()
        {
            match r {
                Ok(vaultops_bootstrap::UnsealOutcome::Unsealed { .. }) => {
                    actions.push(format!("unsealed node{}", i + 1))
                }
                Ok(_) => {}
                Err(e) => return Err(tb.failed("unsealing", e).await),
            }
        }
        let active = set
            .wait_active(opts.deadline)
            .await
            .or_fail(&tb, "waiting for an active node")
            .await?;
        let active = tb.root_client(NodeId::from_index(active)?);
        vaultops_bootstrap::raft::wait_voters(&active, tb.nodes.len(), opts.deadline)
            .await
            .or_fail(&tb, "waiting for every node to be a raft voter")
            .await?;
        step.end(if actions.is_empty() {
            "settled without changes".to_owned()
        } else {
            actions.join(", ")
        });
        tb.write_env(opts.with_token)?;
        Ok((tb, UpOutcome::Repaired { actions }))
    }

    /// Attaches to the existing testbed `name` (state under `state_root`).
    pub async fn attach(
        name: &TestbedName,
        state_root: &std::path::Path,
    ) -> Result<Testbed, TestbedError> {
        let docker = dk::connect().await?;
        Self::attach_with(docker, name, state_root).await
    }

    async fn attach_with(
        docker: Docker,
        name: &TestbedName,
        state_root: &std::path::Path,
    ) -> Result<Testbed, TestbedError> {
        let list = dk::containers(&docker, name).await?;
        if list.is_empty() {
            return Err(TestbedError::NotFound {
                name: name.to_string(),
            });
        }
        let inconsistent = |reason: String| TestbedError::Inconsistent {
            name: name.to_string(),
            reason,
        };
        let net = docker
            .inspect_network(&name.network(), None)
            .await
            .map_err(|e| {
                if is_not_found(&e) {
                    inconsistent(format!("its network {} is missing", name.network()))
                } else {
                    TestbedError::docker("inspecting network", name.network(), e)
                }
            })?;
        let subnet = network_subnet(&name.network(), &net.ipam)?;
        let mut nodes = Vec::new();
        let mut engine = Engine::OpenBao;
        // Testbeds created before seals were selectable carry no seal label: Shamir.
        let mut seal = SealKind::Shamir;
        let mut sink = None;
        let mut unsealer = None;
        for c in &list {
            let labels = dk::labels(c);
            let cname = dk::container_name(c).unwrap_or_default();
            match labels.get(LABEL_ROLE).map(String::as_str) {
                Some(ROLE_AUDIT_SINK) => sink = Some(cname),
                Some(ROLE_UNSEALER) => {
                    let host_port = published_port(&docker, &cname).await?.ok_or_else(|| {
                        inconsistent(format!("container {cname} publishes no API port"))
                    })?;
                    unsealer = Some(UnsealerNode {
                        container: cname,
                        ip: subnet.unsealer_ip(),
                        host_port,
                    });
                }
                Some(ROLE_NODE) => {
                    let id: NodeId = labels
                        .get(LABEL_NODE)
                        .ok_or_else(|| {
                            inconsistent(format!("container {cname} has no node label"))
                        })?
                        .parse()?;
                    if let Some(e) = labels.get(LABEL_ENGINE) {
                        engine = e.parse().map_err(|e: vaultops_config::ParseEngineError| {
                            inconsistent(e.to_string())
                        })?;
                    }
                    if let Some(s) = labels.get(LABEL_SEAL) {
                        seal = s
                            .parse()
                            .map_err(|e: crate::seal::InvalidSeal| inconsistent(e.to_string()))?;
                    }
                    let host_port = published_port(&docker, &cname).await?.ok_or_else(|| {
                        inconsistent(format!("container {cname} publishes no API port"))
                    })?;
                    nodes.push(TestbedNode {
                        id,
                        ip: subnet.node_ip(id),
                        container: cname,
                        host_port,
                    });
                }
                _ => {}
            }
        }
        nodes.sort_by_key(|n| n.id);
        let complete = !nodes.is_empty()
            && nodes.iter().enumerate().all(|(i, n)| n.id.index() == i)
            && NodeCount::new(nodes.len() as u32).is_ok();
        if !complete {
            return Err(inconsistent(format!(
                "its node containers are incomplete ({})",
                nodes
                    .iter()
                    .map(|n| n.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let state = StateDir::new(state_root, name);
        let mut tb = Testbed::assemble(
            docker,
            name.clone(),
            (engine, seal),
            state,
            (nodes, subnet),
            sink,
        )?;
        tb.init = tb.state.read_init()?;
        tb.unsealer = unsealer;
        if tb.unsealer.is_some() {
            tb.unsealer_init = tb.state.read_unsealer_init()?;
        }
        Ok(tb)
    }

    fn assemble(
        docker: Docker,
        name: TestbedName,
        (engine, seal): (Engine, SealKind),
        state: StateDir,
        (nodes, subnet): (Vec<TestbedNode>, Subnet),
        sink: Option<String>,
    ) -> Result<Testbed, TestbedError> {
        let ca_path = state.ca_cert();
        let ca_pem =
            std::fs::read_to_string(&ca_path).map_err(|e| TestbedError::state(&ca_path, e))?;
        let client_config = ClientConfig {
            ca_pem: Some(ca_pem.clone().into_bytes()),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            ..Default::default()
        };
        Ok(Testbed {
            docker,
            name,
            engine,
            seal,
            state,
            nodes,
            subnet,
            sink,
            unsealer: None,
            ca_pem,
            client_config,
            init: None,
            unsealer_init: None,
        })
    }

    /// Per node: container state, role, seal, voter, applied index; and what is unhealthy.
    pub async fn status(&self) -> Result<TestbedStatus, TestbedError> {
        let set = self.node_set();
        let api = cluster_status(&set).await;
        let mut problems = api.problems.clone();
        let mut states = Vec::new();
        for n in &self.nodes {
            states.push(self.container_state(n.id).await?);
        }
        for (n, s) in self.nodes.iter().zip(&states) {
            if s != "running" {
                problems.push(format!("container {} is {s}", n.container));
            }
        }
        let voters = self.voters(&api.nodes).await;
        match &voters {
            Some(v) => {
                for n in &self.nodes {
                    if v.get(&n.id.to_string()) != Some(&true) {
                        problems.push(format!("{} is not a raft voter", n.id));
                    }
                }
            }
            None if self.init.is_some() => {
                problems.push("raft voters unknown (no active node answered)".to_owned())
            }
            None => problems.push(format!(
                "no {}: voters unknown",
                self.state.init_file().display()
            )),
        }
        let nodes = self
            .nodes
            .iter()
            .zip(states)
            .zip(api.nodes)
            .map(|((n, container_state), api)| NodeReport {
                id: n.id,
                container: n.container.clone(),
                container_state,
                host_addr: n.host_addr(),
                voter: voters
                    .as_ref()
                    .map(|v| v.get(&n.id.to_string()) == Some(&true)),
                api,
            })
            .collect();
        let audit_sink = match &self.sink {
            Some(s) => self.state_of(s).await?,
            None => "absent (image without busybox: no socket audit device)".to_owned(),
        };
        let unsealer = self.unsealer_report().await?;
        if let Some(u) = &unsealer {
            // The cluster may still serve, but no node could start (or restart) now.
            if u.container_state != "running" {
                problems.push(format!(
                    "the transit unsealer {} is {}: nodes cannot unseal when they start",
                    u.container, u.container_state
                ));
            } else if u.api.sealed != Some(false) {
                problems.push(format!(
                    "the transit unsealer {} is {}: nodes cannot unseal when they start",
                    u.container,
                    u.api
                        .role
                        .map_or_else(|| "unreachable".to_owned(), |r| r.to_string())
                ));
            }
        }
        Ok(TestbedStatus {
            name: self.name.to_string(),
            engine: self.engine,
            seal: self.seal,
            nodes,
            audit_sink,
            unsealer,
            problems,
        })
    }

    /// node_id → voter, asked of the active node with the root token.
    async fn voters(&self, api: &[NodeStatus]) -> Option<HashMap<String, bool>> {
        let i = api.iter().position(|s| s.role == Some(NodeRole::Active))?;
        let client = self.root_client(NodeId::from_index(i).ok()?);
        client.token()?;
        let cfg = client.raft_configuration().await.ok()?;
        Some(
            cfg.servers
                .into_iter()
                .map(|s| (s.node_id, s.voter))
                .collect(),
        )
    }

    /// Docker's state of node `id`'s container (`missing` when it is gone).
    pub async fn container_state(&self, id: NodeId) -> Result<String, TestbedError> {
        let c = self.node(id)?.container.clone();
        self.state_of(&c).await
    }

    pub(crate) async fn state_of(&self, container: &str) -> Result<String, TestbedError> {
        match self
            .docker
            .inspect_container(container, None::<InspectContainerOptions>)
            .await
        {
            Ok(i) => Ok(i
                .state
                .and_then(|s| s.status)
                .map(|s: ContainerStateStatusEnum| s.to_string())
                .unwrap_or_else(|| "unknown".into())),
            Err(e) if is_not_found(&e) => Ok("missing".into()),
            Err(e) => Err(TestbedError::docker("inspecting container", container, e)),
        }
    }

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
        let ports: Vec<u16> = self.nodes.iter().map(|n| n.host_port).collect();
        Plan::new(&self.name, self.subnet, &ports)
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
            .get(id.index())
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

    pub fn docker(&self) -> &Docker {
        &self.docker
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

/// Creates the labelled network with an explicit subnet. Docker only accepts static container
/// IPs on networks whose subnet was configured, so the subnet Docker would pick is probed with
/// a throw-away network first, then the real one is created with it (retried if another
/// network grabbed the range in between).
async fn create_network(docker: &Docker, name: &TestbedName) -> Result<Subnet, TestbedError> {
    let net = name.network();
    let mut last = String::new();
    for _ in 0..5 {
        let probe = NetworkCreateRequest {
            name: net.clone(),
            driver: Some("bridge".into()),
            labels: Some(name.labels()),
            ..Default::default()
        };
        docker
            .create_network(probe)
            .await
            .map_err(|e| TestbedError::docker("creating network", &net, e))?;
        let inspect = docker
            .inspect_network(&net, None)
            .await
            .map_err(|e| TestbedError::docker("inspecting network", &net, e))?;
        let subnet = network_subnet(&net, &inspect.ipam)?;
        docker
            .remove_network(&net)
            .await
            .map_err(|e| TestbedError::docker("removing network", &net, e))?;
        let real = NetworkCreateRequest {
            name: net.clone(),
            driver: Some("bridge".into()),
            labels: Some(name.labels()),
            ipam: Some(Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(subnet.to_string()),
                    gateway: Some(subnet.gateway().to_string()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        match docker.create_network(real).await {
            Ok(_) => return Ok(subnet),
            Err(e) if dk::status_of(&e) == Some(403) || is_conflict(&e) => {
                last = e.to_string();
                tracing::debug!(%subnet, error = %e, "subnet taken meanwhile; probing again");
            }
            Err(e) => return Err(TestbedError::docker("creating network", &net, e)),
        }
    }
    Err(TestbedError::Docker {
        op: "creating network (5 attempts)",
        object: net,
        source: bollard::errors::Error::DockerResponseServerError {
            status_code: 403,
            message: last,
        },
    })
}

fn network_subnet(network: &str, ipam: &Option<Ipam>) -> Result<Subnet, TestbedError> {
    let s = ipam
        .as_ref()
        .and_then(|i| i.config.as_ref())
        .and_then(|c| {
            c.iter()
                .find_map(|c| c.subnet.clone())
                .filter(|s| !s.contains(':'))
        })
        .unwrap_or_default();
    s.parse().map_err(|source| TestbedError::Subnet {
        network: network.to_owned(),
        source,
    })
}

/// The host port node `container` publishes its API on.
async fn published_port(docker: &Docker, container: &str) -> Result<Option<u16>, TestbedError> {
    let i = docker
        .inspect_container(container, None::<InspectContainerOptions>)
        .await
        .map_err(|e| TestbedError::docker("inspecting container", container, e))?;
    Ok(i.host_config
        .and_then(|h| h.port_bindings)
        .and_then(|b| b.get(&format!("{API_PORT}/tcp")).cloned().flatten())
        .and_then(|v| v.into_iter().find_map(|b| b.host_port))
        .and_then(|p| p.parse().ok()))
}

/// What is uploaded into one server container.
struct NodeFiles {
    config: Vec<u8>,
    cert: Vec<u8>,
    key: zeroize::Zeroizing<Vec<u8>>,
}

/// Everything `write_material` produced.
struct Material {
    ca_pem: String,
    nodes: Vec<NodeFiles>,
    /// The transit unsealer's files (`--seal transit`).
    unsealer: Option<NodeFiles>,
    /// The static seal key (`--seal static`), uploaded into every node.
    static_key: Option<StaticKey>,
}

/// CA and node certificates (SANs: `node<i>`, `localhost`, the container IP, 127.0.0.1), and
/// each node's rendered config, written under the state dir; for `transit` the unsealer's
/// certificate and config too, for `static` a fresh static seal key (0600).
fn write_material(
    state: &StateDir,
    plan: &Plan,
    engine: Engine,
    sink: Option<&str>,
    seal: SealKind,
) -> Result<Material, TestbedError> {
    let tls = |what: &str, e: &dyn std::fmt::Display| TestbedError::Tls {
        what: what.to_owned(),
        reason: e.to_string(),
    };
    let bundle = vaultops_tls::create_ca(&vaultops_tls::CaParams {
        common_name: format!("vaultops testbed {} CA", plan.name),
        ..Default::default()
    })
    .map_err(|e| tls("the CA", &e))?;
    vaultops_tls::write_ca(&state.tls_dir(), &bundle, vaultops_tls::Overwrite::Force)
        .map_err(|e| tls("the CA", &e))?;
    let ca = vaultops_tls::Ca::from_bundle(&bundle).map_err(|e| tls("the CA", &e))?;
    let cert_for = |host: &str, ip: Ipv4Addr| {
        let cert = vaultops_tls::create_node_cert(
            &ca,
            &vaultops_tls::NodeParams {
                name: host.to_owned(),
                dns: vec![host.to_owned(), "localhost".into()],
                ips: vec![ip.into(), Ipv4Addr::LOCALHOST.into()],
                ..Default::default()
            },
        )
        .map_err(|e| tls(host, &e))?;
        vaultops_tls::write_node(&state.tls_dir(), host, &cert).map_err(|e| tls(host, &e))?;
        Ok::<_, TestbedError>(cert)
    };
    let files = |rendered: vaultops_config::Rendered, cert: vaultops_tls::NodeCert| {
        use vaultops_tls::ExposeSecret;
        NodeFiles {
            config: rendered.hcl.into_bytes(),
            cert: cert.cert_pem.into_bytes(),
            key: zeroize::Zeroizing::new(cert.key_pem.expose_secret().as_bytes().to_vec()),
        }
    };
    let node_seal = crate::seal::node_seal(seal, render::CA_FILE);
    let mut nodes = Vec::new();
    for n in &plan.nodes {
        let host = n.id.hostname();
        let cert = cert_for(&host, n.ip)?;
        let rendered =
            render::node_config(plan, n, engine, sink, &node_seal).map_err(|source| {
                TestbedError::Render {
                    node: host.clone(),
                    source,
                }
            })?;
        let path = state.node_config(n.id);
        crate::state::write_atomic(&path, rendered.hcl.as_bytes(), rendered.file_mode())?;
        nodes.push(files(rendered, cert));
    }
    let unsealer = match &plan.unsealer {
        Some(u) => {
            let cert = cert_for(crate::seal::UNSEALER_HOST, u.ip)?;
            let rendered =
                render::unsealer_config(plan, engine).map_err(|source| TestbedError::Render {
                    node: crate::seal::UNSEALER_HOST.into(),
                    source,
                })?;
            crate::state::write_atomic(
                &state.unsealer_config(),
                rendered.hcl.as_bytes(),
                rendered.file_mode(),
            )?;
            Some(files(rendered, cert))
        }
        None => None,
    };
    let static_key = match seal {
        SealKind::Static => {
            let key = StaticKey::generate()
                .map_err(|e| TestbedError::state(state.static_key_file(), e))?;
            state.write_static_key(&key)?;
            Some(key)
        }
        _ => None,
    };
    Ok(Material {
        ca_pem: bundle.cert_pem,
        nodes,
        unsealer,
        static_key,
    })
}

fn dir(path: &str) -> UploadEntry {
    UploadEntry {
        path: path.to_owned(),
        mode: 0o755,
        data: None,
    }
}

/// Creates a container, accepting an existing one only if it belongs to this testbed.
async fn create_container(
    docker: &Docker,
    name: &TestbedName,
    container: &str,
    body: bollard::models::ContainerCreateBody,
) -> Result<(), TestbedError> {
    let opts = CreateContainerOptionsBuilder::new().name(container).build();
    match docker.create_container(Some(opts), body).await {
        Ok(_) => Ok(()),
        Err(e) if is_conflict(&e) => {
            let ours = docker
                .inspect_container(container, None::<InspectContainerOptions>)
                .await
                .ok()
                .and_then(|i| i.config)
                .and_then(|c| c.labels)
                .is_some_and(|l| l.get(crate::names::LABEL_TESTBED) == Some(&name.to_string()));
            if ours {
                Ok(())
            } else {
                Err(TestbedError::Inconsistent {
                    name: name.to_string(),
                    reason: format!("a container named {container} exists that is not part of it (remove it with `docker rm -f {container}`)"),
                })
            }
        }
        Err(e) => Err(TestbedError::docker("creating container", container, e)),
    }
}

async fn start_sink(
    docker: &Docker,
    plan: &Plan,
    image: &ServerImage,
) -> Result<String, TestbedError> {
    let name = &plan.name;
    let container = name.audit_sink_container();
    create_container(
        docker,
        name,
        &container,
        render::sink_container(name, plan, &image.reference),
    )
    .await?;
    dk::upload(docker, &container, &[dir("vault"), dir("vault/audit")]).await?;
    start_container(docker, name, &container).await?;
    Ok(container)
}

/// The labelled raft volumes of every node (and of the unsealer).
async fn create_volumes(
    docker: &Docker,
    plan: &Plan,
    engine: Engine,
    seal: SealKind,
) -> Result<(), TestbedError> {
    let name = &plan.name;
    let mut wanted: Vec<(String, std::collections::HashMap<String, String>)> = plan
        .nodes
        .iter()
        .map(|n| {
            (
                n.volume.clone(),
                name.node_labels(n.id, engine.as_str(), seal.as_str()),
            )
        })
        .collect();
    if let Some(u) = &plan.unsealer {
        wanted.push((u.volume.clone(), name.unsealer_labels(engine.as_str())));
    }
    let volumes = wanted.into_iter().map(|(volume, labels)| async move {
        let vol = bollard::models::VolumeCreateRequest {
            name: Some(volume.clone()),
            labels: Some(labels),
            ..Default::default()
        };
        docker
            .create_volume(vol)
            .await
            .map(|_| ())
            .map_err(|e| TestbedError::docker("creating volume", &volume, e))
    });
    for r in futures_util::future::join_all(volumes).await {
        r?;
    }
    Ok(())
}

/// The directories and files uploaded into a server container (owned 100:1000).
fn server_upload(ca_pem: &str, f: &NodeFiles) -> Vec<UploadEntry> {
    let mut entries = vec![dir("vault")];
    entries.extend(
        crate::image::VAULT_DIRS
            .iter()
            .map(|d| dir(&format!("vault/{d}"))),
    );
    entries.push(file(render::CONFIG_FILE, 0o640, &f.config));
    entries.push(file(render::CA_FILE, 0o644, ca_pem.as_bytes()));
    entries.push(file(render::CERT_FILE, 0o644, &f.cert));
    entries.push(file(render::KEY_FILE, 0o600, &f.key));
    entries
}

fn file(path: &str, mode: u32, data: &[u8]) -> UploadEntry {
    UploadEntry {
        path: path.trim_start_matches('/').to_owned(),
        mode,
        data: Some(data.to_vec()),
    }
}

/// Creates every node container (not started) and uploads its files; with the static seal
/// also the key, readable only by the server user (0600 in a 0700 directory).
async fn create_nodes(
    docker: &Docker,
    plan: &Plan,
    spec: &ServerSpec<'_>,
    material: &Material,
) -> Result<(), TestbedError> {
    let name = &plan.name;
    let creates = plan
        .nodes
        .iter()
        .zip(&material.nodes)
        .map(|(n, f)| async move {
            let body = render::node_container(name, n, spec);
            create_container(docker, name, &n.container, body).await?;
            let mut entries = server_upload(&material.ca_pem, f);
            if let Some(key) = &material.static_key {
                entries.push(UploadEntry {
                    path: crate::seal::STATIC_KEY_DIR
                        .trim_start_matches('/')
                        .to_owned(),
                    mode: 0o700,
                    data: None,
                });
                entries.push(file(crate::seal::STATIC_KEY_FILE, 0o600, key.expose()));
            }
            dk::upload(docker, &n.container, &entries).await
        });
    for r in futures_util::future::join_all(creates).await {
        r?;
    }
    Ok(())
}

/// Creates and starts the transit unsealer's container.
async fn create_unsealer(
    docker: &Docker,
    name: &TestbedName,
    unsealer: &crate::plan::UnsealerPlan,
    spec: &ServerSpec<'_>,
    ca_pem: &str,
    files: &NodeFiles,
) -> Result<(), TestbedError> {
    let body = render::unsealer_container(name, unsealer, spec);
    create_container(docker, name, &unsealer.container, body).await?;
    dk::upload(docker, &unsealer.container, &server_upload(ca_pem, files)).await?;
    start_container(docker, name, &unsealer.container).await
}

/// Starts a container; "already started" is success, and a port clash becomes a clear error.
pub(crate) async fn start_container(
    docker: &Docker,
    name: &TestbedName,
    container: &str,
) -> Result<(), TestbedError> {
    match docker
        .start_container(
            container,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
    {
        Ok(()) => Ok(()),
        Err(e) if dk::is_not_modified(&e) => Ok(()),
        Err(e) => {
            let msg = e.to_string();
            let reason = if msg.contains("address already in use")
                || msg.contains("port is already allocated")
            {
                format!("{msg} (a published port is taken: pass another --base-port, or stop what uses it)")
            } else {
                msg
            };
            Err(TestbedError::ContainerStart {
                name: name.to_string(),
                container: container.to_owned(),
                reason,
                logs: dk::logs(docker, container, ERROR_LOG_LINES)
                    .await
                    .unwrap_or_default(),
            })
        }
    }
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

fn join(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
