//! A cluster-wide status report: each node's reachability, seal state, role, version and raft
//! index, plus the verdict `vaultops status` and `testbed status` exit on.

use crate::nodes::NodeSet;
use serde::Serialize;
use vaultops_api::{NodeClient, NodeRole};

/// One node as observed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NodeStatus {
    pub addr: String,
    pub reachable: bool,
    /// Why it is unreachable (connection refused, TLS failure, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub initialized: Option<bool>,
    pub sealed: Option<bool>,
    pub role: Option<NodeRole>,
    pub version: Option<String>,
    pub cluster_name: Option<String>,
    pub raft_applied_index: Option<u64>,
    pub leader_address: Option<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClusterStatus {
    pub nodes: Vec<NodeStatus>,
    /// `None` when healthy; otherwise every reason it is not.
    pub problems: Vec<String>,
}

impl ClusterStatus {
    /// Healthy: every node reachable, initialized, unsealed, and exactly one active.
    pub fn healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Asks every node (concurrently) and judges the cluster.
pub async fn cluster_status(nodes: &NodeSet) -> ClusterStatus {
    let handles: Vec<_> = nodes
        .nodes()
        .iter()
        .cloned()
        .map(|n| tokio::spawn(async move { node_status(&n).await }))
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("status task panicked"));
    }
    let problems = judge(&out);
    ClusterStatus {
        nodes: out,
        problems,
    }
}

/// One node's status. Never fails: an unreachable node is a status.
pub async fn node_status(n: &NodeClient) -> NodeStatus {
    let mut s = NodeStatus {
        addr: n.addr().to_owned(),
        reachable: false,
        error: None,
        initialized: None,
        sealed: None,
        role: None,
        version: None,
        cluster_name: None,
        raft_applied_index: None,
        leader_address: None,
    };
    match n.health().await {
        Ok(h) => {
            s.reachable = true;
            s.initialized = Some(h.body.initialized);
            s.sealed = Some(h.body.sealed);
            s.role = Some(h.role);
            s.version = h.body.version.clone();
            s.cluster_name = h.body.cluster_name.clone();
        }
        Err(e) => {
            s.error = Some(e.kind.to_string());
            return s;
        }
    }
    if s.sealed == Some(false) {
        if let Ok(l) = n.leader().await {
            s.raft_applied_index = l.raft_applied_index;
            s.leader_address = Some(l.leader_address).filter(|a| !a.is_empty());
        }
    }
    s
}

/// The reasons a cluster is not healthy (empty when it is).
pub fn judge(nodes: &[NodeStatus]) -> Vec<String> {
    let mut p = Vec::new();
    for n in nodes {
        if !n.reachable {
            p.push(format!(
                "{} is unreachable: {}",
                n.addr,
                n.error.as_deref().unwrap_or("no answer")
            ));
        } else if n.initialized == Some(false) {
            p.push(format!("{} is not initialized (run vaultops init)", n.addr));
        } else if n.sealed == Some(true) {
            p.push(format!("{} is sealed (run vaultops unseal)", n.addr));
        }
    }
    let active = nodes
        .iter()
        .filter(|n| n.role == Some(NodeRole::Active))
        .count();
    match active {
        1 => {}
        0 => p.push("no node is active".to_owned()),
        k => p.push(format!("{k} nodes claim to be active (split brain?)")),
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(addr: &str, role: Option<NodeRole>) -> NodeStatus {
        NodeStatus {
            addr: addr.into(),
            reachable: role.is_some(),
            error: role.is_none().then(|| "connection refused".into()),
            initialized: role.map(|r| r != NodeRole::Uninitialized),
            sealed: role.map(|r| matches!(r, NodeRole::Sealed | NodeRole::Uninitialized)),
            role,
            version: None,
            cluster_name: None,
            raft_applied_index: None,
            leader_address: None,
        }
    }

    #[test]
    fn healthy_needs_exactly_one_active_and_all_unsealed() {
        let ok = [
            node("a", Some(NodeRole::Active)),
            node("b", Some(NodeRole::Standby)),
            node("c", Some(NodeRole::Standby)),
        ];
        assert!(judge(&ok).is_empty());
        let sealed = [
            node("a", Some(NodeRole::Active)),
            node("b", Some(NodeRole::Sealed)),
            node("c", None),
        ];
        let p = judge(&sealed);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("b is sealed"));
        assert!(p[1].contains("c is unreachable: connection refused"));
        let none = [node("a", Some(NodeRole::Standby))];
        assert_eq!(judge(&none), vec!["no node is active".to_string()]);
    }
}
