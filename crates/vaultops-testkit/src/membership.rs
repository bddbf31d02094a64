//! Membership helpers for [`Cluster`]: lose a node's volume, and add a fresh node with a new
//! identity (new node_id, ports and certificate) that joins by `retry_join` or is left for an
//! explicit `sys/storage/raft/join` (e.g. as a non-voter).

use crate::cluster::{render_node, Cluster, NodeInfo, NodePaths};
use crate::process::free_port;

/// How an added node joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinMode {
    /// `retry_join` to every node of the cluster in its config: it joins on start (as a
    /// voter-to-be that autopilot promotes).
    RetryJoin,
    /// No `retry_join`: the node starts uninitialised and alone; the test sends
    /// `sys/storage/raft/join` to it (with `non_voter` when it wants one).
    Explicit,
}

impl Cluster {
    /// Kills node `i` and deletes its raft data directory (a lost volume). The node's slot
    /// stays (its process is gone); [`Cluster::start_node`] would start it with empty storage.
    pub fn wipe_node(&mut self, i: usize) {
        self.kill_node(i);
        let data = self.node_data_dir(i);
        std::fs::remove_dir_all(&data).unwrap_or_else(|e| panic!("wiping {}: {e}", data.display()));
        std::fs::create_dir_all(&data)
            .unwrap_or_else(|e| panic!("recreating {}: {e}", data.display()));
    }

    /// Node `i`'s raft data directory.
    pub fn node_data_dir(&self, i: usize) -> std::path::PathBuf {
        self.dir().join(&self.nodes()[i].name).join("data")
    }

    /// Adds and starts a fresh node named `name` (a new raft node_id) with its own ports,
    /// certificate and empty storage; returns its index. It starts uninitialised and sealed:
    /// with [`JoinMode::RetryJoin`] it joins by itself and then needs unsealing
    /// ([`Cluster::unseal`]); with [`JoinMode::Explicit`] the caller joins it first.
    pub fn add_node(&mut self, name: &str, join: JoinMode) -> usize {
        assert!(
            self.nodes().iter().all(|n| n.name != name),
            "a node named {name} exists already"
        );
        let api_port = free_port();
        let cluster_port = free_port();
        let node = NodeInfo {
            addr: format!("https://127.0.0.1:{api_port}"),
            config_path: self.dir().join(format!("{name}.hcl")),
            log_path: self.dir().join(format!("{name}.log")),
            name: name.to_owned(),
            api_port,
            cluster_port,
        };
        let tls_dir = self.dir().join("tls");
        let ca = vaultops_tls::load_ca(&tls_dir).expect("loading the test CA");
        let cert = vaultops_tls::create_node_cert(
            &ca,
            &vaultops_tls::NodeParams {
                name: name.to_owned(),
                dns: vec![name.to_owned(), "localhost".into()],
                ips: vec![std::net::Ipv4Addr::LOCALHOST.into()],
                days: 1,
                ..Default::default()
            },
        )
        .expect("creating a node certificate");
        let files =
            vaultops_tls::write_node(&tls_dir, name, &cert).expect("writing a node certificate");
        let data = self.dir().join(name).join("data");
        std::fs::create_dir_all(&data).expect("creating the raft data dir");
        let ca_path = self.ca_path();
        let (opts, seal) = self.render.clone();
        let audit_log = opts
            .file_audit
            .then(|| self.dir().join(name).join("audit.log"));
        let peers: Vec<NodeInfo> = match join {
            JoinMode::RetryJoin => self
                .nodes()
                .iter()
                .map(|n| NodeInfo {
                    name: n.name.clone(),
                    api_port: n.api_port,
                    cluster_port: n.cluster_port,
                    addr: n.addr.clone(),
                    config_path: n.config_path.clone(),
                    log_path: n.log_path.clone(),
                })
                .collect(),
            JoinMode::Explicit => Vec::new(),
        };
        let hcl = render_node(
            &node,
            &peers,
            &NodePaths {
                cert: &files.cert,
                key: &files.key,
                ca: &ca_path,
                data: &data,
                audit_log: audit_log.as_deref(),
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
        self.nodes.push(node);
        self.procs.push(None);
        let binary = self.binaries[0].clone();
        self.binaries.push(binary);
        let i = self.nodes.len() - 1;
        self.start_node(i);
        i
    }

    /// Waits until node `i` answers `sys/health` uninitialised or sealed (a node just added
    /// or restarted with empty storage).
    pub async fn wait_node_listening(&self, i: usize, deadline: std::time::Duration) {
        use vaultops_api::NodeRole;
        vaultops_bootstrap::NodeSet::new(vec![self.client(i)])
            .wait_all(
                "the added node's listener",
                &[NodeRole::Uninitialized, NodeRole::Sealed],
                deadline,
            )
            .await
            .unwrap_or_else(|e| self.fail("waiting for the added node", &e));
    }
}
