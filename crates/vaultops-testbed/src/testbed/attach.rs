//! `attach`: finding an existing testbed by its labels (containers, network, published
//! ports) and reading its state directory back into a [`Testbed`].

use std::time::Duration;

use bollard::models::Ipam;
use bollard::query_parameters::InspectContainerOptions;
use bollard::Docker;
use vaultops_api::ClientConfig;
use vaultops_types::Engine;

use super::*;
use crate::docker::{self as dk, is_not_found};
use crate::error::TestbedError;
use crate::names::{
    NodeId, TestbedName, LABEL_ENGINE, LABEL_NODE, LABEL_ROLE, LABEL_SEAL, ROLE_AUDIT_SINK,
    ROLE_NODE, ROLE_UNSEALER,
};
use crate::plan::{Subnet, API_PORT};
use crate::seal::SealKind;
use crate::state::StateDir;

impl Testbed {
    /// Attaches to the existing testbed `name` (state under `state_root`).
    pub async fn attach(
        name: &TestbedName,
        state_root: &std::path::Path,
    ) -> Result<Testbed, TestbedError> {
        let docker = dk::connect().await?;
        Self::attach_with(docker, name, state_root).await
    }

    pub(super) async fn attach_with(
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
                        engine = e.parse().map_err(|e: vaultops_types::ParseEngineError| {
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
        let state = StateDir::new(state_root, name);
        // The node set is what the state dir has configs for: `up` writes one per node and
        // a membership change adds or removes one with its container (`membership`).
        let expected = state.node_ids()?;
        let found: Vec<NodeId> = nodes.iter().map(|n| n.id).collect();
        if found.is_empty() || found != expected {
            let list = |ids: &[NodeId]| {
                ids.iter()
                    .map(NodeId::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(inconsistent(format!(
                "its node containers are incomplete ({}; its state dir has configs for {})",
                list(&found),
                list(&expected)
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

    pub(super) fn assemble(
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
}

pub(super) fn network_subnet(network: &str, ipam: &Option<Ipam>) -> Result<Subnet, TestbedError> {
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
