//! Docker resource creation for `up`: the network with a fixed subnet, TLS material and
//! rendered configs under the state dir, containers (nodes, audit sink, transit unsealer),
//! raft volumes, the files uploaded into them, and starting a container.

use std::net::Ipv4Addr;

use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::{CreateContainerOptionsBuilder, InspectContainerOptions};
use bollard::Docker;
use vaultops_types::Engine;

use super::attach::network_subnet;
use super::*;
use crate::docker::{self as dk, is_conflict, UploadEntry};
use crate::error::TestbedError;
use crate::image::ServerImage;
use crate::names::TestbedName;
use crate::plan::{Plan, Subnet};
use crate::render::{self, ServerSpec};
use crate::seal::{SealKind, StaticKey};
use crate::state::StateDir;

/// Creates the labelled network with an explicit subnet. Docker only accepts static container
/// IPs on networks whose subnet was configured, so the subnet Docker would pick is probed with
/// a throw-away network first, then the real one is created with it (retried if another
/// network grabbed the range in between).
pub(super) async fn create_network(
    docker: &Docker,
    name: &TestbedName,
) -> Result<Subnet, TestbedError> {
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
    Err(TestbedError::NetworkSubnetTaken {
        network: net,
        attempts: 5,
        last,
    })
}

/// What is uploaded into one server container.
pub(super) struct NodeFiles {
    pub(super) config: Vec<u8>,
    pub(super) cert: Vec<u8>,
    pub(super) key: zeroize::Zeroizing<Vec<u8>>,
}

/// Everything `write_material` produced.
pub(super) struct Material {
    pub(super) ca_pem: String,
    pub(super) nodes: Vec<NodeFiles>,
    /// The transit unsealer's files (`--seal transit`).
    pub(super) unsealer: Option<NodeFiles>,
    /// The static seal key (`--seal static`), uploaded into every node.
    pub(super) static_key: Option<StaticKey>,
}

/// CA and node certificates (SANs: `node<i>`, `localhost`, the container IP, 127.0.0.1), and
/// each node's rendered config, written under the state dir; for `transit` the unsealer's
/// certificate and config too, for `static` a fresh static seal key (0600).
pub(super) fn write_material(
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
    let cert_for = |host: &str, ip: Ipv4Addr| issue_node_cert(state, &ca, host, ip);
    let files = node_files;
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

/// Issues node `host`'s certificate from the testbed CA (SANs: `host`, `localhost`, `ip`,
/// 127.0.0.1) and writes it under the state dir's `tls/`.
pub(super) fn issue_node_cert(
    state: &StateDir,
    ca: &vaultops_tls::Ca,
    host: &str,
    ip: Ipv4Addr,
) -> Result<vaultops_tls::NodeCert, TestbedError> {
    let tls = |e: &dyn std::fmt::Display| TestbedError::Tls {
        what: host.to_owned(),
        reason: e.to_string(),
    };
    let cert = vaultops_tls::create_node_cert(
        ca,
        &vaultops_tls::NodeParams {
            name: host.to_owned(),
            dns: vec![host.to_owned(), "localhost".into()],
            ips: vec![ip.into(), Ipv4Addr::LOCALHOST.into()],
            ..Default::default()
        },
    )
    .map_err(|e| tls(&e))?;
    vaultops_tls::write_node(&state.tls_dir(), host, &cert).map_err(|e| tls(&e))?;
    Ok(cert)
}

/// What a server container is given: its rendered config, certificate and key.
pub(super) fn node_files(
    rendered: vaultops_config::Rendered,
    cert: vaultops_tls::NodeCert,
) -> NodeFiles {
    use secrecy::ExposeSecret;
    NodeFiles {
        config: rendered.hcl.into_bytes(),
        cert: cert.cert_pem.into_bytes(),
        key: zeroize::Zeroizing::new(cert.key_pem.expose_secret().as_bytes().to_vec()),
    }
}

/// The static seal key's directory (0700) and file (0600) in a node container.
pub(super) fn static_key_upload(key: &StaticKey) -> [UploadEntry; 2] {
    [
        UploadEntry {
            path: crate::seal::STATIC_KEY_DIR
                .trim_start_matches('/')
                .to_owned(),
            mode: 0o700,
            data: None,
        },
        file(crate::seal::STATIC_KEY_FILE, 0o600, key.expose()),
    ]
}

pub(super) fn dir(path: &str) -> UploadEntry {
    UploadEntry {
        path: path.to_owned(),
        mode: 0o755,
        data: None,
    }
}

/// Creates a container, accepting an existing one only if it belongs to this testbed.
pub(super) async fn create_container(
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

pub(super) async fn start_sink(
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
pub(super) async fn create_volumes(
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
pub(super) fn server_upload(ca_pem: &str, f: &NodeFiles) -> Vec<UploadEntry> {
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

pub(super) fn file(path: &str, mode: u32, data: &[u8]) -> UploadEntry {
    UploadEntry {
        path: path.trim_start_matches('/').to_owned(),
        mode,
        data: Some(data.to_vec()),
    }
}

/// Creates every node container (not started) and uploads its files; with the static seal
/// also the key, readable only by the server user (0600 in a 0700 directory).
pub(super) async fn create_nodes(
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
                entries.extend(static_key_upload(key));
            }
            dk::upload(docker, &n.container, &entries).await
        });
    for r in futures_util::future::join_all(creates).await {
        r?;
    }
    Ok(())
}

/// Creates and starts the transit unsealer's container.
pub(super) async fn create_unsealer(
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
