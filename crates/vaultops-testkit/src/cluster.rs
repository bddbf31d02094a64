//! [`Cluster`]: N real `bao server` processes forming a TLS raft cluster on loopback.
//!
//! Certificates come from `vaultops-tls`, server configs from `vaultops-config` (the same
//! templates the testbed and `deploy/` use), and init/unseal from `vaultops-bootstrap` (the
//! production code path). Each node listens on 127.0.0.1 with its own free API and cluster
//! ports, so several clusters can run side by side in parallel tests.

use crate::process::{free_port, BaoProcess};
use std::path::{Path, PathBuf};
use std::time::Duration;
use vaultops_api::{
    ClientConfig, InitRequest, InitResponse, KeySplit, NodeClient, NodeRole, Token, UnsealKey,
};
use vaultops_bootstrap::{init_cluster, unseal_cluster, unseal_node, NodeSet};

/// How to build the cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Number of nodes (1–7).
    pub nodes: usize,
    /// Shamir split used at init.
    pub split: KeySplit,
    /// Initialise and unseal (default). When false, the nodes are left uninitialised.
    pub bootstrap: bool,
    /// Raft `performance_multiplier` (1 = fastest failure detection).
    pub performance_multiplier: u8,
    /// After unsealing, tune autopilot (1 s stabilization) and wait until every node is a
    /// raft voter and autopilot is healthy (default). Off saves a few seconds for tests that
    /// need only an active node.
    pub wait_voters: bool,
    /// Deadline for each bootstrap wait.
    pub deadline: Duration,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            nodes: 3,
            split: KeySplit::new(5, 3).expect("5/3 is valid"),
            bootstrap: true,
            performance_multiplier: 1,
            wait_voters: true,
            deadline: Duration::from_secs(60),
        }
    }
}

/// One node's fixed facts.
#[derive(Debug)]
pub struct NodeInfo {
    pub name: String,
    pub api_port: u16,
    pub cluster_port: u16,
    pub addr: String,
    pub config_path: PathBuf,
    pub log_path: PathBuf,
}

/// A running cluster; every process is killed when it drops.
#[derive(Debug)]
pub struct Cluster {
    dir: tempfile::TempDir,
    nodes: Vec<NodeInfo>,
    procs: Vec<Option<BaoProcess>>,
    ca_pem: String,
    init: Option<InitResponse>,
    client_config: ClientConfig,
}

impl Cluster {
    /// Starts the nodes and, unless `bootstrap` is false, initialises the cluster through
    /// node 0 and unseals every node.
    ///
    /// # Panics
    /// When a step fails: the message carries the failing step and every node's log tail.
    pub async fn start(opts: ClusterOptions) -> Self {
        assert!(
            (1..=7).contains(&opts.nodes),
            "1 to 7 nodes, got {}",
            opts.nodes
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let tls_dir = dir.path().join("tls");
        let ca = vaultops_tls::create_ca(&vaultops_tls::CaParams {
            common_name: "vaultops testkit CA".into(),
            days: 2,
            ..Default::default()
        })
        .expect("creating the test CA");
        let ca_files = vaultops_tls::write_ca(&tls_dir, &ca, vaultops_tls::Overwrite::Refuse)
            .expect("writing the test CA");
        let ca_handle = vaultops_tls::Ca::from_bundle(&ca).expect("loading the test CA");

        let mut nodes = Vec::new();
        for i in 0..opts.nodes {
            let name = format!("node{}", i + 1);
            let api_port = free_port();
            let cluster_port = free_port();
            nodes.push(NodeInfo {
                addr: format!("https://127.0.0.1:{api_port}"),
                config_path: dir.path().join(format!("{name}.hcl")),
                log_path: dir.path().join(format!("{name}.log")),
                name,
                api_port,
                cluster_port,
            });
        }
        for node in &nodes {
            let cert = vaultops_tls::create_node_cert(
                &ca_handle,
                &vaultops_tls::NodeParams {
                    name: node.name.clone(),
                    dns: vec![node.name.clone(), "localhost".into()],
                    ips: vec![std::net::Ipv4Addr::LOCALHOST.into()],
                    days: 1, // shorter than the CA: a certificate may not outlive its issuer
                    ..Default::default()
                },
            )
            .expect("creating a node certificate");
            let files = vaultops_tls::write_node(&tls_dir, &node.name, &cert)
                .expect("writing a node certificate");
            let data = dir.path().join(&node.name).join("data");
            std::fs::create_dir_all(&data).expect("creating the raft data dir");
            let hcl = render_node(
                node,
                &nodes,
                &files.cert,
                &files.key,
                &ca_files.cert,
                &data,
                opts.performance_multiplier,
            );
            std::fs::write(&node.config_path, hcl).expect("writing a node config");
        }

        let ca_pem = ca.cert_pem.clone();
        let client_config = ClientConfig {
            ca_pem: Some(ca_pem.clone().into_bytes()),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            ..Default::default()
        };
        let mut cluster = Self {
            dir,
            nodes,
            procs: Vec::new(),
            ca_pem,
            init: None,
            client_config,
        };
        cluster.procs = (0..cluster.nodes.len()).map(|_| None).collect();
        for i in 0..cluster.nodes.len() {
            cluster.start_node(i);
        }
        cluster
            .nodes_set(false)
            .wait_all(
                "every node's listener",
                &[NodeRole::Uninitialized, NodeRole::Sealed],
                opts.deadline,
            )
            .await
            .unwrap_or_else(|e| cluster.fail("starting the nodes", &e));
        if opts.bootstrap {
            cluster.bootstrap(&opts).await;
        }
        cluster
    }

    async fn bootstrap(&mut self, opts: &ClusterOptions) {
        let set = self.nodes_set(false);
        let init = init_cluster(&set.nodes()[0], &InitRequest::shamir(opts.split))
            .await
            .unwrap_or_else(|e| self.fail("init", &e));
        let keys: Vec<UnsealKey> = init.keys_base64.clone();
        self.init = Some(init);
        unseal_cluster(
            &set,
            0,
            &keys[..opts.split.threshold() as usize],
            opts.deadline,
        )
        .await
        .unwrap_or_else(|e| self.fail("unsealing", &e));
        self.nodes_set(false)
            .wait_all(
                "every node unsealed",
                &[NodeRole::Active, NodeRole::Standby],
                opts.deadline,
            )
            .await
            .unwrap_or_else(|e| self.fail("waiting for unsealed nodes", &e));
        if opts.wait_voters {
            let active = self.wait_active(opts.deadline).await;
            let client = self.root_client(active);
            vaultops_bootstrap::raft::tune_autopilot(&client, Duration::from_secs(1))
                .await
                .unwrap_or_else(|e| self.fail("tuning autopilot", &e));
            vaultops_bootstrap::raft::wait_voters(&client, self.nodes.len(), opts.deadline)
                .await
                .unwrap_or_else(|e| self.fail("waiting for voters", &e));
        }
    }

    fn fail(&self, step: &str, err: &dyn std::fmt::Display) -> ! {
        let mut logs = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let text = std::fs::read_to_string(&n.log_path).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(25).collect();
            logs.push_str(&format!(
                "\n--- {} ({}) log tail ---\n{}",
                n.name,
                if self.procs.get(i).is_some_and(Option::is_some) {
                    "running"
                } else {
                    "stopped"
                },
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        panic!("test cluster: {step} failed: {err}{logs}");
    }

    /// Starts (or restarts) node `i`'s process. A restarted Shamir node comes back sealed.
    pub fn start_node(&mut self, i: usize) {
        let n = &self.nodes[i];
        let cfg = n.config_path.to_string_lossy().into_owned();
        let p = BaoProcess::spawn(&["server", &format!("-config={cfg}")], &n.log_path)
            .unwrap_or_else(|e| panic!("spawning {}: {e}", n.name));
        self.procs[i] = Some(p);
    }

    /// SIGKILLs node `i`.
    pub fn kill_node(&mut self, i: usize) {
        if let Some(mut p) = self.procs[i].take() {
            p.kill();
        }
    }

    /// Unseals node `i` with the init keys (threshold of them).
    pub async fn unseal(&self, i: usize) {
        let keys = self.unseal_keys();
        unseal_node(&self.client(i), keys)
            .await
            .unwrap_or_else(|e| self.fail("unseal", &e));
    }

    /// The node facts.
    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    /// The API address of every node.
    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.addr.clone()).collect()
    }

    /// The CA certificate (PEM) the nodes' certificates chain to.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Path of the CA certificate file.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("tls").join("ca.pem")
    }

    /// The cluster's working directory (configs, certificates, data, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The client configuration trusting the cluster's CA (no token).
    pub fn client_config(&self) -> &ClientConfig {
        &self.client_config
    }

    /// A client for node `i` without a token.
    pub fn client(&self, i: usize) -> NodeClient {
        NodeClient::new(&self.nodes[i].addr, &self.client_config).expect("node address is valid")
    }

    /// A client for node `i` with the root token.
    pub fn root_client(&self, i: usize) -> NodeClient {
        self.client(i).with_token(self.root_token().clone())
    }

    /// Clients for every node, with the root token when the cluster was bootstrapped.
    pub fn nodes_set(&self, with_root: bool) -> NodeSet {
        NodeSet::new(
            (0..self.nodes.len())
                .map(|i| {
                    if with_root {
                        self.root_client(i)
                    } else {
                        self.client(i)
                    }
                })
                .collect(),
        )
    }

    /// The init answer.
    ///
    /// # Panics
    /// When the cluster was started with `bootstrap: false`.
    pub fn init(&self) -> &InitResponse {
        self.init.as_ref().expect("cluster was not bootstrapped")
    }

    /// The root token.
    pub fn root_token(&self) -> &Token {
        &self.init().root_token
    }

    /// The threshold number of unseal keys.
    pub fn unseal_keys(&self) -> &[UnsealKey] {
        &self.init().keys_base64
    }

    /// Waits until one node is active and returns its index.
    pub async fn wait_active(&self, deadline: Duration) -> usize {
        self.nodes_set(false)
            .wait_active(deadline)
            .await
            .unwrap_or_else(|e| self.fail("waiting for an active node", &e))
    }
}

/// Renders node `node`'s config with the shared templates: raft with retry_join to every
/// other node, TLS listener on 127.0.0.1, Prometheus telemetry.
fn render_node(
    node: &NodeInfo,
    all: &[NodeInfo],
    cert: &Path,
    key: &Path,
    ca: &Path,
    data: &Path,
    performance_multiplier: u8,
) -> String {
    use vaultops_config::{
        Engine, Listener, NodeConfig, RaftStorage, RetryJoin, Storage, Telemetry, TlsFiles,
    };
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let mut raft = RaftStorage::new(path(data));
    raft.performance_multiplier = Some(performance_multiplier);
    raft.autopilot_reconcile_interval = Some("1s".into());
    raft.autopilot_update_interval = Some("500ms".into());
    raft.retry_join = all
        .iter()
        .filter(|n| n.name != node.name)
        .map(|n| RetryJoin::new(n.addr.clone(), path(ca)))
        .collect();
    let mut cfg = NodeConfig::new(
        Engine::OpenBao,
        node.name.clone(),
        "testkit",
        node.addr.clone(),
        format!("https://127.0.0.1:{}", node.cluster_port),
        Listener::tls(
            format!("127.0.0.1:{}", node.api_port),
            format!("127.0.0.1:{}", node.cluster_port),
            TlsFiles::new(path(cert), path(key)),
        ),
        Storage::Raft(raft),
    );
    cfg.telemetry = Telemetry::prometheus_unauthenticated();
    cfg.render().expect("the testkit node config renders").hcl
}
