//! [`NodeSet`]: the cluster as a list of node clients, and the cluster-level waits built on
//! per-node health (find the active node, wait until every node is unsealed, …).

use crate::error::BootstrapError;
use crate::wait;
use std::time::Duration;
use vaultops_api::{NodeClient, NodeRole};

/// How often cluster waits poll. Health answers in about a millisecond on loopback.
pub const POLL: Duration = Duration::from_millis(50);

/// One node's observed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeState {
    Role(NodeRole),
    Unreachable(String),
}

/// The nodes of one cluster, each addressed on its own.
#[derive(Debug, Clone)]
pub struct NodeSet {
    nodes: Vec<NodeClient>,
}

impl NodeSet {
    pub fn new(nodes: Vec<NodeClient>) -> Self {
        Self { nodes }
    }

    pub fn nodes(&self) -> &[NodeClient] {
        &self.nodes
    }

    /// Every node's state, in order, asked concurrently (a dead node costs one connect
    /// timeout, not one per node).
    pub async fn states(&self) -> Vec<NodeState> {
        let handles: Vec<_> = self
            .nodes
            .iter()
            .cloned()
            .map(|n| {
                tokio::spawn(async move {
                    match n.health().await {
                        Ok(h) => NodeState::Role(h.role),
                        Err(e) => NodeState::Unreachable(e.kind.to_string()),
                    }
                })
            })
            .collect();
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(
                h.await
                    .unwrap_or_else(|e| NodeState::Unreachable(e.to_string())),
            );
        }
        out
    }

    /// The index of the active node, if exactly one node says it is active.
    pub async fn active_index(&self) -> Option<usize> {
        let states = self.states().await;
        let mut active = states
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == NodeState::Role(NodeRole::Active))
            .map(|(i, _)| i);
        match (active.next(), active.next()) {
            (Some(i), None) => Some(i),
            _ => None,
        }
    }

    /// Waits until exactly one node is active; returns its index.
    pub async fn wait_active(&self, deadline: Duration) -> Result<usize, BootstrapError> {
        wait::until("one active node", deadline, POLL, || async {
            let states = self.states().await;
            let active: Vec<usize> = states
                .iter()
                .enumerate()
                .filter(|(_, s)| **s == NodeState::Role(NodeRole::Active))
                .map(|(i, _)| i)
                .collect();
            if active.len() == 1 {
                Ok(Some(active[0]))
            } else {
                Err(self.describe(&states))
            }
        })
        .await
        .map_err(|source| BootstrapError::Wait {
            step: "waiting for an active node",
            source,
        })
    }

    /// Waits until every node answers with one of `roles`.
    pub async fn wait_all(
        &self,
        what: &'static str,
        roles: &[NodeRole],
        deadline: Duration,
    ) -> Result<(), BootstrapError> {
        wait::until(what, deadline, POLL, || async {
            let states = self.states().await;
            if states
                .iter()
                .all(|s| matches!(s, NodeState::Role(r) if roles.contains(r)))
            {
                Ok(Some(()))
            } else {
                Err(self.describe(&states))
            }
        })
        .await
        .map_err(|source| BootstrapError::Wait { step: what, source })
    }

    /// "https://a: active, https://b: sealed, …": for wait messages.
    pub fn describe(&self, states: &[NodeState]) -> String {
        self.nodes
            .iter()
            .zip(states)
            .map(|(n, s)| match s {
                NodeState::Role(r) => format!("{}: {r}", n.addr()),
                NodeState::Unreachable(e) => format!("{}: unreachable ({e})", n.addr()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
