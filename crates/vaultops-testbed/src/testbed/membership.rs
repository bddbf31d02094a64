//! Membership changes of a testbed's node set: a node added with a NEW identity (the next
//! unused node id, so a new raft `node_id`, hostname and static IP; a certificate from the
//! testbed CA; its own labelled volume and published port), and a node removed with its
//! container and volume (a lost disk, or a node scaled in). What a replaced machine or a
//! StatefulSet scaled from 3 to 5 replicas is in production.
//!
//! The testbed's state stays consistent: every node has its rendered config under
//! `nodes/<id>/config.hcl` in the state dir, written when the node is added and removed with
//! it, and `attach` accepts the node containers only when they are exactly those (so
//! `status` and `down` see the same node set after a membership change as before it).
//! Neither method touches raft: joining the new node, unsealing it, and removing a peer are
//! the caller's, through `vaultops-bootstrap` (the production code).

use std::time::Duration;

use bollard::query_parameters::RemoveVolumeOptionsBuilder;
use bollard::query_parameters::{InspectContainerOptions, RemoveContainerOptionsBuilder};

use crate::docker::{self as dk, is_not_found};
use crate::error::TestbedError;
use crate::names::{NodeId, MAX_NODES};
use crate::plan::{free_ports, NodePlan, Plan};
use crate::render::{self, ServerSpec};
use crate::seal::SealKind;
use crate::testbed::resources::{
    create_container, create_volumes, issue_node_cert, node_files, server_upload, static_key_upload,
};
use crate::testbed::{start_container, Testbed, TestbedNode};

/// How [`Testbed::add_node`] makes the new node join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinBy {
    /// `retry_join` to every current node in its config: it asks to join as soon as it
    /// starts (as a voter-to-be that autopilot promotes), like the testbed's first nodes.
    RetryJoin,
    /// No `retry_join`: it starts uninitialised and alone, for an explicit
    /// `sys/storage/raft/join`.
    Explicit,
}

impl Testbed {
    /// Adds and starts a node with a new identity: the next node id after the highest one in
    /// use (never an id a removed node had, as long as it was the highest), its certificate
    /// from the testbed CA, its config rendered like the others' (same seal, audit devices,
    /// `disable_standby_reads` as node configs in the state dir), an empty labelled volume,
    /// a free published port, the image and environment of the first node's container (so a
    /// node added after an upgrade runs the upgraded release, and a transit node gets the
    /// token). A Shamir node then needs joining and unsealing; an auto-unseal node unseals
    /// itself once joined. Does not wait for the server. Returns the new node's id.
    pub async fn add_node(&mut self, join: JoinBy) -> Result<NodeId, TestbedError> {
        let inconsistent = |reason: String| TestbedError::Inconsistent {
            name: self.name.to_string(),
            reason,
        };
        let template = self
            .nodes
            .first()
            .ok_or_else(|| inconsistent("has no node to copy".to_owned()))?
            .clone();
        let highest = self.nodes.iter().map(|n| n.id.number()).max().unwrap_or(0);
        let id = NodeId::new(highest + 1).map_err(|_| {
            inconsistent(format!(
                "has node ids up to node{highest}; a testbed has at most {MAX_NODES}"
            ))
        })?;
        let host_port = free_ports(1)?[0];
        let node = NodePlan {
            id,
            container: self.name.node_container(id),
            volume: self.name.node_volume(id),
            ip: self.subnet.node_ip(id),
            host_port,
        };
        let existing_config = self.state.node_config(template.id);
        let standby_reads_off = std::fs::read_to_string(&existing_config)
            .map_err(|e| TestbedError::state(&existing_config, e))?
            .lines()
            .any(|l| l.trim() == "disable_standby_reads = true");
        let mut plan = self.plan_view();
        plan.disable_standby_reads = standby_reads_off;
        plan.nodes = match join {
            JoinBy::RetryJoin => plan.nodes,
            JoinBy::Explicit => Vec::new(),
        };
        plan.nodes.push(node.clone());

        let ca = vaultops_tls::load_ca(&self.state.tls_dir()).map_err(|e| TestbedError::Tls {
            what: "the testbed CA".to_owned(),
            reason: e.to_string(),
        })?;
        let cert = issue_node_cert(&self.state, &ca, &id.hostname(), node.ip)?;
        let sink = self.sink.is_some().then(|| plan.sink_addr());
        let seal = crate::seal::node_seal(self.seal, render::CA_FILE);
        let rendered = render::node_config(&plan, &node, self.engine, sink.as_deref(), &seal)
            .map_err(|source| TestbedError::Render {
                node: id.hostname(),
                source,
            })?;
        crate::state::write_atomic(
            &self.state.node_config(id),
            rendered.hcl.as_bytes(),
            rendered.file_mode(),
        )?;
        let files = node_files(rendered, cert);

        let inspect = self
            .docker
            .inspect_container(&template.container, None::<InspectContainerOptions>)
            .await
            .map_err(|e| TestbedError::docker("inspecting container", &template.container, e))?;
        let config = inspect.config.unwrap_or_default();
        let image = config.image.ok_or_else(|| {
            inconsistent(format!("container {} names no image", template.container))
        })?;
        let spec = ServerSpec {
            image: &image,
            binary: crate::image::binary_path(self.engine),
            engine: self.engine,
            seal: self.seal,
            transit_token: None,
        };
        let mut body = render::node_container(&self.name, &node, &spec);
        if config.env.is_some() {
            body.env = config.env;
        }
        let one = Plan {
            nodes: vec![node.clone()],
            ..plan
        };
        create_volumes(&self.docker, &one, self.engine, self.seal).await?;
        create_container(&self.docker, &self.name, &node.container, body).await?;
        let mut entries = server_upload(&self.ca_pem, &files);
        if self.seal == SealKind::Static {
            let key = self.state.read_static_key()?.ok_or_else(|| {
                inconsistent(format!(
                    "uses the static seal but {} is missing",
                    self.state.static_key_file().display()
                ))
            })?;
            entries.extend(static_key_upload(&key));
        }
        dk::upload(&self.docker, &node.container, &entries).await?;
        start_container(&self.docker, &self.name, &node.container).await?;
        self.nodes.push(TestbedNode {
            id,
            container: node.container,
            ip: node.ip,
            host_port,
        });
        self.nodes.sort_by_key(|n| n.id);
        Ok(id)
    }

    /// Removes node `id` from the testbed: its container (SIGTERM, SIGKILL after `timeout`),
    /// its raft volume (the data is gone for good) and its config in the state dir.
    /// Idempotent: a container or volume already gone counts as removed. Raft still lists
    /// the node until it is removed as a peer (`vaultops raft remove-peer`).
    pub async fn remove_node(&mut self, id: NodeId, timeout: Duration) -> Result<(), TestbedError> {
        let node = self.node(id)?.clone();
        if self.state_of(&node.container).await? != "missing" {
            self.stop(id, timeout).await?;
        }
        let force = RemoveContainerOptionsBuilder::new().force(true).build();
        match self
            .docker
            .remove_container(&node.container, Some(force))
            .await
        {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => {
                return Err(TestbedError::docker(
                    "removing container",
                    &node.container,
                    e,
                ))
            }
        }
        let volume = self.name.node_volume(id);
        let force = RemoveVolumeOptionsBuilder::new().force(true).build();
        match self.docker.remove_volume(&volume, Some(force)).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(TestbedError::docker("removing volume", &volume, e)),
        }
        let dir = self
            .state
            .node_config(id)
            .parent()
            .expect("a node config has a directory")
            .to_owned();
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(TestbedError::state(&dir, e)),
        }
        self.nodes.retain(|n| n.id != id);
        Ok(())
    }
}
