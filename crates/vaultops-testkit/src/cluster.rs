//! [`Cluster`]: N real `bao server` processes forming a TLS raft cluster on loopback.
//!
//! Certificates come from `vaultops-tls`, server configs from `vaultops-config` (the same
//! templates the testbed and `deploy/` use), and init/unseal from `vaultops-bootstrap` (the
//! production code path). Each node listens on 127.0.0.1 with its own free API and cluster
//! ports, so several clusters can run side by side in parallel tests.
//!
//! The seal is chosen with [`TestSeal`]: Shamir (keys entered through the API), `static` (a
//! key file in the cluster's directory) or `transit` (a separate single-node OpenBao started by
//! the testkit acts as the unsealer). With an auto-unseal seal the cluster is initialised with
//! recovery shares and every node unseals itself, also after a restart.

use crate::process::{free_port, BaoProcess};
use std::path::{Path, PathBuf};
use std::time::Duration;
use vaultops_api::{ClientConfig, InitResponse, KeySplit, NodeClient, NodeRole, Token, UnsealKey};
use vaultops_bootstrap::TRANSIT_KEY;
use vaultops_bootstrap::{bring_up, unseal_node, BringUpOptions, NoHooks, NodeSet, SealMode};

/// How the test cluster's nodes are sealed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TestSeal {
    /// Shamir unseal keys, entered through the API after every start (no `seal` stanza).
    #[default]
    Shamir,
    /// `seal "static"` (OpenBao only): a fresh random 32-byte key in a mode-0600 file in the
    /// cluster's directory, referenced as `file://…`.
    Static,
    /// `seal "transit"`: the testkit first starts a separate single-node OpenBao (TLS, Shamir
    /// 1/1) as the unsealer, with the transit engine at `transit/`, the key `autounseal`, a
    /// policy allowing only `update` on `transit/encrypt/autounseal` and
    /// `transit/decrypt/autounseal`, and an orphan periodic token with only that policy. The
    /// nodes get the token in their environment ([`vaultops_config::TransitSeal::token_env`],
    /// `BAO_TOKEN`), never in the config file.
    Transit,
}

impl TestSeal {
    /// True for the seals that unseal the nodes by themselves (init with recovery shares).
    pub fn is_auto(self) -> bool {
        self != TestSeal::Shamir
    }
}

/// The syslog tag of the audit device declared with [`ClusterOptions::syslog_dir`].
pub const SYSLOG_TAG: &str = "vaultops-audit";

/// How to build the cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Number of nodes (1–7).
    pub nodes: usize,
    /// Split used at init: the unseal key split with Shamir, the recovery key split with an
    /// auto-unseal seal (the server rejects unseal shares there).
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
    /// The seal (default [`TestSeal::Shamir`]).
    pub seal: TestSeal,
    /// Declare a file audit device named `file` in every node's config (the shipped
    /// rollout example expects it), logging to `<dir>/<node>/audit.log`. Off by default.
    pub file_audit: bool,
    /// Declare a syslog audit device named `syslog` (facility `AUTH`, tag `vaultops-audit`)
    /// and give every node a syslog socket: each node runs in its own mount namespace
    /// (`unshare -m`, needs root) where this directory is mounted on `/run`, so the server's
    /// syslog client finds `<dir>/syslog` as `/var/run/syslog` (and as `/dev/log` when the
    /// host has one, which would otherwise be tried first). The caller binds a Unix datagram
    /// socket at `<dir>/syslog` before starting the cluster and reads what arrives.
    pub syslog_dir: Option<PathBuf>,
    /// Render `disable_standby_reads = true` (standbys forward reads to the active node
    /// instead of answering from their own, possibly stale, copy). Off by default, as in
    /// OpenBao.
    pub disable_standby_reads: bool,
    /// The pinned OpenBao release every node starts with (`2.6.2`); `None`: the default
    /// binary ([`crate::bao_bin`]). Nodes can be restarted on another one with
    /// [`Cluster::restart_node_with`].
    pub bao_version: Option<String>,
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
            seal: TestSeal::Shamir,
            file_audit: false,
            syslog_dir: None,
            disable_standby_reads: false,
            bao_version: None,
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
    pub(crate) nodes: Vec<NodeInfo>,
    pub(crate) procs: Vec<Option<BaoProcess>>,
    /// The binary each node runs (and is restarted with).
    pub(crate) binaries: Vec<PathBuf>,
    ca_pem: String,
    init: Option<InitResponse>,
    client_config: ClientConfig,
    pub(crate) seal: TestSeal,
    /// Environment for every node process (the transit token), re-applied on restarts.
    pub(crate) seal_env: Option<(&'static str, Token)>,
    /// See [`ClusterOptions::syslog_dir`]: the nodes then run in their own mount namespace.
    syslog_dir: Option<PathBuf>,
    /// What the nodes were rendered with, for nodes added later (`membership`).
    pub(crate) render: (ClusterOptions, vaultops_config::Seal),
    /// The transit unsealer; declared last so it outlives the nodes while they drop.
    pub(crate) unsealer: Option<Box<Cluster>>,
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

        let (seal, seal_env, unsealer) = match opts.seal {
            TestSeal::Shamir => (vaultops_config::Seal::Shamir, None, None),
            TestSeal::Static => (static_seal(dir.path()), None, None),
            TestSeal::Transit => {
                let (unsealer, token) = start_transit_unsealer(opts.deadline).await;
                let seal = vaultops_config::Seal::Transit(vaultops_config::TransitSeal::new(
                    unsealer.nodes()[0].addr.clone(),
                    TRANSIT_KEY,
                    Some(unsealer.ca_path().to_string_lossy().into_owned()),
                ));
                let env = vaultops_config::TransitSeal::token_env(vaultops_types::Engine::OpenBao);
                (seal, Some((env, token)), Some(Box::new(unsealer)))
            }
        };

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
                &NodePaths {
                    cert: &files.cert,
                    key: &files.key,
                    ca: &ca_files.cert,
                    data: &data,
                    audit_log: opts
                        .file_audit
                        .then(|| dir.path().join(&node.name).join("audit.log"))
                        .as_deref(),
                },
                &opts,
                &seal,
                None,
            );
            vaultops_fs::write_atomic(
                &node.config_path,
                hcl.as_bytes(),
                vaultops_fs::WriteOptions::private(),
            )
            .expect("writing a node config");
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
            binaries: Vec::new(),
            ca_pem,
            init: None,
            client_config,
            seal: opts.seal,
            seal_env,
            syslog_dir: opts.syslog_dir.clone(),
            render: (opts.clone(), seal.clone()),
            unsealer,
        };
        cluster.procs = (0..cluster.nodes.len()).map(|_| None).collect();
        let bao = match &opts.bao_version {
            Some(version) => crate::bao_bin_version(version),
            None => crate::bao_bin(),
        };
        cluster.binaries = vec![bao; cluster.nodes.len()];
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

    /// Init, unseal, autopilot, voters: `vaultops_bootstrap::bring_up`, the sequence the
    /// testbed and the throwaway restore node use too (the nodes all run already).
    async fn bootstrap(&mut self, opts: &ClusterOptions) {
        let bring = BringUpOptions {
            seal: if opts.seal.is_auto() {
                SealMode::Auto
            } else {
                SealMode::Shamir
            },
            split: opts.split,
            explicit_join: None,
            autopilot_stabilization: opts.wait_voters.then_some(Duration::from_secs(1)),
            wait_voters: opts.wait_voters,
            deadline: opts.deadline,
        };
        let up = bring_up(&self.nodes_set(false), &bring, &mut NoHooks)
            .await
            .unwrap_or_else(|e| self.fail("bring-up", &ErrorChain(&e)));
        self.init = Some(up.init);
    }

    /// Panics naming `step` and `err`, with every node's log tail (and the unsealer's).
    pub fn fail(&self, step: &str, err: &dyn std::fmt::Display) -> ! {
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
        if let Some(u) = &self.unsealer {
            let text = std::fs::read_to_string(&u.nodes[0].log_path).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(10).collect();
            logs.push_str(&format!(
                "\n--- transit unsealer log tail ---\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        panic!("test cluster: {step} failed: {err}{logs}");
    }

    /// Starts (or restarts) node `i`'s process. A restarted Shamir node comes back sealed; a
    /// node with an auto-unseal seal unseals itself (a transit node exits instead when the
    /// unsealer is unreachable: see [`Cluster::node_exit_status`]).
    pub fn start_node(&mut self, i: usize) {
        let n = &self.nodes[i];
        let cfg = n.config_path.to_string_lossy().into_owned();
        let env: Vec<(&str, &str)> = self
            .seal_env
            .iter()
            .map(|(key, token)| (*key, token.expose()))
            .collect();
        let args = ["server".to_owned(), format!("-config={cfg}")];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let bao = &self.binaries[i];
        let p = match &self.syslog_dir {
            None => BaoProcess::spawn_binary(bao, &[], &args, &n.log_path, &env),
            Some(dir) => {
                // $1 is the directory; after `shift`, "$0" "$@" is bao and its arguments.
                let script = r#"d="$1"; shift; mount --bind "$d" /run || exit 97; if [ -S /dev/log ]; then mount --bind "$d/syslog" /dev/log || exit 98; fi; exec "$0" "$@""#;
                let dir = dir.to_string_lossy().into_owned();
                BaoProcess::spawn_binary(
                    bao,
                    &["unshare", "-m", "sh", "-c", script],
                    &[&[dir.as_str()][..], &args].concat(),
                    &n.log_path,
                    &env,
                )
            }
        }
        .unwrap_or_else(|e| panic!("spawning {}: {e}", n.name));
        self.procs[i] = Some(p);
    }

    /// Node `i`'s exit status once its process has exited; `None` while it runs (or when it
    /// was killed through [`Cluster::kill_node`], which also reaps it).
    pub fn node_exit_status(&mut self, i: usize) -> Option<std::process::ExitStatus> {
        self.procs[i].as_mut().and_then(BaoProcess::try_exit_status)
    }

    /// Stops node `i` the way a service manager does (SIGTERM), waiting up to `deadline` for the
    /// process to exit, then SIGKILLs what is left. Returns whether it exited on SIGTERM.
    pub async fn stop_node(&mut self, i: usize, deadline: Duration) -> bool {
        let Some(p) = self.procs[i].as_mut() else {
            return true;
        };
        if p.signal("TERM").is_err() {
            self.kill_node(i);
            return false;
        }
        let exited = vaultops_bootstrap::wait_until(
            "the node to exit after SIGTERM",
            deadline,
            Duration::from_millis(50),
            || {
                let done = p.try_exit_status().is_some();
                async move { Ok(done.then_some(())) }
            },
        )
        .await
        .is_ok();
        self.kill_node(i);
        exited
    }

    /// Restarts node `i` on another binary (`bao`, e.g. [`crate::bao_bin_version`]): a rolling
    /// upgrade's binary swap. Stops it first ([`Cluster::stop_node`]) if it runs; a Shamir node
    /// comes back sealed.
    pub async fn restart_node_with(&mut self, i: usize, bao: &Path, deadline: Duration) {
        self.stop_node(i, deadline).await;
        self.binaries[i] = bao.to_owned();
        self.start_node(i);
    }

    /// The binary node `i` runs (or last ran).
    pub fn node_binary(&self, i: usize) -> &Path {
        &self.binaries[i]
    }

    /// SIGKILLs node `i`.
    pub fn kill_node(&mut self, i: usize) {
        if let Some(mut p) = self.procs[i].take() {
            p.kill();
        }
    }

    /// Freezes node `i` (SIGSTOP): its listener still accepts connections and requests, but
    /// nothing answers until [`Cluster::resume_node`].
    pub fn pause_node(&self, i: usize) {
        self.signal_node(i, "STOP");
    }

    /// Resumes node `i` after [`Cluster::pause_node`] (SIGCONT).
    pub fn resume_node(&self, i: usize) {
        self.signal_node(i, "CONT");
    }

    /// Sends SIGHUP to node `i`: OpenBao re-reads its listener certificate and key (and its
    /// log level) without restarting; the process id stays the same.
    pub fn reload_node(&self, i: usize) {
        self.signal_node(i, "HUP");
    }

    /// Node `i`'s process id while it runs.
    pub fn node_pid(&self, i: usize) -> Option<u32> {
        self.procs[i].as_ref().and_then(BaoProcess::pid)
    }

    /// Node `i`'s listener certificate and key files (`tls/NAME.pem`, `tls/NAME-key.pem`):
    /// overwrite them, then [`Cluster::reload_node`], to rotate its certificate.
    pub fn node_tls_files(&self, i: usize) -> vaultops_tls::NodeFiles {
        vaultops_tls::node_files(&self.dir.path().join("tls"), &self.nodes[i].name)
    }

    fn signal_node(&self, i: usize, signal: &str) {
        let p = self.procs[i]
            .as_ref()
            .unwrap_or_else(|| panic!("node {} is not running", self.nodes[i].name));
        p.signal(signal)
            .unwrap_or_else(|e| panic!("SIG{signal} to {}: {e}", self.nodes[i].name));
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

    /// The unseal keys from init (all shares, base64). Empty with an auto-unseal seal.
    pub fn unseal_keys(&self) -> &[UnsealKey] {
        &self.init().keys_base64
    }

    /// The recovery keys from init (all shares, base64): with an auto-unseal seal they
    /// authorise generate-root and rekey, they do not unseal. Empty with Shamir.
    #[expect(
        clippy::misnamed_getters,
        reason = "base64 on purpose, like unseal_keys(); the server accepts either encoding"
    )]
    pub fn recovery_keys(&self) -> &[UnsealKey] {
        &self.init().recovery_keys_base64
    }

    /// The seal the nodes use.
    pub fn seal(&self) -> TestSeal {
        self.seal
    }

    /// The transit unsealer (a one-node Shamir cluster) of a [`TestSeal::Transit`] cluster.
    pub fn unsealer(&self) -> Option<&Cluster> {
        self.unsealer.as_deref()
    }

    /// The transit unsealer, mutable: to stop it (`kill_node(0)`) and bring it back
    /// (`start_node(0)`, then `unseal(0)`).
    pub fn unsealer_mut(&mut self) -> Option<&mut Cluster> {
        self.unsealer.as_deref_mut()
    }

    /// Waits until one node is active and returns its index.
    pub async fn wait_active(&self, deadline: Duration) -> usize {
        self.nodes_set(false)
            .wait_active(deadline)
            .await
            .unwrap_or_else(|e| self.fail("waiting for an active node", &e))
    }
}

/// Files of one node, as paths on this machine.
#[derive(Clone, Copy)]
pub(crate) struct NodePaths<'a> {
    pub(crate) cert: &'a Path,
    pub(crate) key: &'a Path,
    pub(crate) ca: &'a Path,
    pub(crate) data: &'a Path,
    pub(crate) audit_log: Option<&'a Path>,
}

/// Renders node `node`'s config with the shared templates: raft with retry_join to every
/// other node, TLS listener on 127.0.0.1, Prometheus telemetry.
pub(crate) fn render_node(
    node: &NodeInfo,
    all: &[NodeInfo],
    paths: &NodePaths<'_>,
    opts: &ClusterOptions,
    seal: &vaultops_config::Seal,
    disabled_seal: Option<vaultops_config::Seal>,
) -> String {
    let performance_multiplier = opts.performance_multiplier;
    let NodePaths {
        cert,
        key,
        ca,
        data,
        audit_log,
    } = *paths;
    use vaultops_config::{
        Listener, NodeConfig, RaftStorage, RetryJoin, Storage, Telemetry, TlsFiles,
    };
    use vaultops_types::Engine;
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
    cfg.seal = seal.clone();
    cfg.disabled_seal = disabled_seal;
    if opts.disable_standby_reads {
        cfg.disable_standby_reads = Some(true);
    }
    if let Some(log) = audit_log {
        cfg.audit
            .push(vaultops_config::AuditDevice::file("file", path(log)));
    }
    if opts.syslog_dir.is_some() {
        cfg.audit.push(vaultops_config::AuditDevice {
            name: "syslog".into(),
            description: None,
            kind: vaultops_config::AuditKind::Syslog {
                facility: Some("AUTH".into()),
                tag: Some(SYSLOG_TAG.into()),
            },
        });
    }
    cfg.render().expect("the testkit node config renders").hcl
}

/// A fresh 32-byte static seal key in `dir/static-keys/` (mode 0600, written through
/// `vaultops-fs`) and the stanza referencing it.
pub(crate) fn static_seal(dir: &Path) -> vaultops_config::Seal {
    use std::io::Read;
    let keys = dir.join("static-keys");
    std::fs::create_dir_all(&keys).expect("creating the static key dir");
    let mut key = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .expect("reading 32 random bytes");
    let path = keys.join("unseal-testkit-1.key");
    // A second call (a seal migration back to static) reuses the key.
    if !path.exists() {
        vaultops_fs::write_atomic(
            &path,
            &key,
            vaultops_fs::WriteOptions::private().refuse_existing(),
        )
        .expect("writing the static key");
    }
    vaultops_config::Seal::Static(vaultops_config::StaticSeal {
        current_key_id: "testkit-1".into(),
        current_key: format!("file://{}", path.display()),
    })
}

/// Starts the transit unsealer (one TLS node, Shamir 1/1) and prepares it the operator's
/// way (`vaultops_bootstrap::transit`); returns it and the nodes' token.
pub(crate) async fn start_transit_unsealer(deadline: Duration) -> (Cluster, Token) {
    let unsealer = Box::pin(Cluster::start(ClusterOptions {
        nodes: 1,
        split: KeySplit::new(1, 1).expect("1/1 is valid"),
        wait_voters: false,
        deadline,
        ..Default::default()
    }))
    .await;
    let token = vaultops_bootstrap::prepare_unsealer(&unsealer.root_client(0))
        .await
        .unwrap_or_else(|e| unsealer.fail("preparing the transit unsealer", &ErrorChain(&e)));
    (unsealer, token)
}

/// An error and its causes, `: `-separated, for a panic message.
pub(crate) struct ErrorChain<'a>(pub(crate) &'a dyn std::error::Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}
