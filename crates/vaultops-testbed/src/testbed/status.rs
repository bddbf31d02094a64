//! `status`: each node's container state, API view and raft voter flag, the audit sink's and
//! the unsealer's state, and what is unhealthy ([`TestbedStatus`]).

use std::collections::HashMap;

use bollard::models::ContainerStateStatusEnum;
use bollard::query_parameters::InspectContainerOptions;
use vaultops_api::NodeRole;
use vaultops_bootstrap::{cluster_status, NodeStatus};
use vaultops_types::Engine;

use super::*;
use crate::docker::is_not_found;
use crate::error::TestbedError;
use crate::names::NodeId;
use crate::seal::SealKind;

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
        let client = self.root_client(self.nodes.get(i)?.id);
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
}
