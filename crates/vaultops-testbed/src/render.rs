//! Per-node server configuration and the Docker container specs, both pure.
//!
//! Configs come from `vaultops-config` (the templates `deploy/` uses too), with paths inside
//! the container. The container specs pass the binary as entrypoint, the user and the
//! `server -config=…` command explicitly, so the local image and the official images (whose
//! entrypoint scripts and default paths differ) run the same way.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Mount, MountType,
    NetworkingConfig, PortBinding,
};
use vaultops_config::{
    AuditDevice, Engine, Listener, NodeConfig, RaftStorage, RenderError, Rendered, RetryJoin,
    Storage, Telemetry, TlsFiles,
};

use crate::names::TestbedName;
use crate::plan::{NodePlan, Plan, API_PORT, CLUSTER_PORT, SINK_PORT};

/// The server config file inside a node container.
pub const CONFIG_FILE: &str = "/vault/config/config.hcl";
/// The CA certificate inside a node container.
pub const CA_FILE: &str = "/vault/tls/ca.pem";
/// The node certificate inside a node container.
pub const CERT_FILE: &str = "/vault/tls/node.pem";
/// The node private key inside a node container.
pub const KEY_FILE: &str = "/vault/tls/node-key.pem";
/// The raft data directory (a named volume) inside a node container.
pub const DATA_DIR: &str = "/vault/data";
/// The file audit log inside a node container.
pub const AUDIT_FILE: &str = "/vault/audit/audit.log";
/// Where the audit sink appends what it receives, inside the sink container.
pub const SINK_FILE: &str = "/vault/audit/sink.log";
/// Name (mount path) of the file audit device.
pub const AUDIT_FILE_DEVICE: &str = "file";
/// Name (mount path) of the socket audit device.
pub const AUDIT_SOCKET_DEVICE: &str = "socket";
/// User every container runs as: the server user of the local and the official images.
pub const SERVER_USER: &str = "100:1000";

/// Renders node `node`'s config: raft with `retry_join` to every other node (trusting the
/// testbed CA), `performance_multiplier = 1` and fast autopilot intervals, a TLS listener on
/// all interfaces (min TLS 1.2), Prometheus telemetry without a token, a file audit device
/// and, when `sink` is given, a TCP socket audit device sending to it.
pub fn node_config(
    plan: &Plan,
    node: &NodePlan,
    engine: Engine,
    sink: Option<&str>,
) -> Result<Rendered, RenderError> {
    let mut raft = RaftStorage::new(DATA_DIR);
    raft.performance_multiplier = Some(1);
    raft.autopilot_reconcile_interval = Some("1s".into());
    raft.autopilot_update_interval = Some("500ms".into());
    raft.retry_join = plan
        .nodes
        .iter()
        .filter(|n| n.id != node.id)
        .map(|n| RetryJoin::new(n.api_addr(), CA_FILE))
        .collect();
    let mut cfg = NodeConfig::new(
        engine,
        node.id.to_string(),
        plan.name.cluster_name(),
        node.api_addr(),
        node.cluster_addr(),
        Listener::tls(
            format!("0.0.0.0:{API_PORT}"),
            format!("0.0.0.0:{CLUSTER_PORT}"),
            TlsFiles::new(CERT_FILE, KEY_FILE),
        ),
        Storage::Raft(raft),
    );
    cfg.telemetry = Telemetry::prometheus_unauthenticated();
    cfg.audit
        .push(AuditDevice::file(AUDIT_FILE_DEVICE, AUDIT_FILE));
    if let Some(addr) = sink {
        cfg.audit
            .push(AuditDevice::tcp_socket(AUDIT_SOCKET_DEVICE, addr));
    }
    // Vault locks memory by default, which needs IPC_LOCK; HashiCorp recommends turning that
    // off with integrated storage anyway.
    cfg.vault_disable_mlock = engine == Engine::Vault;
    cfg.render()
}

/// The create body of node `node`'s container: static IP and `node<i>` alias on the testbed
/// network, API published on 127.0.0.1, raft data on the node's named volume.
pub fn node_container(
    name: &TestbedName,
    node: &NodePlan,
    image: &str,
    binary: &str,
    engine: Engine,
) -> ContainerCreateBody {
    let port = format!("{API_PORT}/tcp");
    ContainerCreateBody {
        image: Some(image.to_owned()),
        hostname: Some(node.id.hostname()),
        user: Some(SERVER_USER.to_owned()),
        entrypoint: Some(vec![binary.to_owned()]),
        cmd: Some(vec!["server".to_owned(), format!("-config={CONFIG_FILE}")]),
        // The official images read these in their entrypoint scripts; with an explicit
        // entrypoint they are inert, but keep the server from trying to set capabilities.
        env: Some(vec!["SKIP_SETCAP=1".to_owned(), "SKIP_CHOWN=1".to_owned()]),
        exposed_ports: Some(vec![port.clone(), format!("{CLUSTER_PORT}/tcp")]),
        labels: Some(name.node_labels(node.id, engine.as_str())),
        stop_timeout: Some(10),
        host_config: Some(HostConfig {
            port_bindings: Some(HashMap::from([(
                port,
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".to_owned()),
                    host_port: Some(node.host_port.to_string()),
                }]),
            )])),
            mounts: Some(vec![Mount {
                target: Some(DATA_DIR.to_owned()),
                source: Some(node.volume.clone()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            }]),
            network_mode: Some(name.network()),
            ..Default::default()
        }),
        networking_config: Some(networking(
            name,
            node.ip.to_string(),
            vec![node.id.hostname()],
        )),
        ..Default::default()
    }
}

/// The audit sink: busybox `nc` as a persistent TCP server on port 9090, one `cat` per
/// connection appending to [`SINK_FILE`].
pub fn sink_container(name: &TestbedName, plan: &Plan, image: &str) -> ContainerCreateBody {
    let append = format!("exec /bin/busybox cat >> {SINK_FILE}");
    ContainerCreateBody {
        image: Some(image.to_owned()),
        hostname: Some("audit-sink".to_owned()),
        user: Some(SERVER_USER.to_owned()),
        entrypoint: Some(vec!["/bin/busybox".to_owned()]),
        cmd: Some(
            [
                "nc",
                "-ll",
                "-p",
                &SINK_PORT.to_string(),
                "-e",
                "/bin/busybox",
                "sh",
                "-c",
                &append,
            ]
            .map(str::to_owned)
            .to_vec(),
        ),
        labels: Some(name.sink_labels()),
        stop_timeout: Some(1),
        host_config: Some(HostConfig {
            network_mode: Some(name.network()),
            ..Default::default()
        }),
        networking_config: Some(networking(
            name,
            plan.subnet.sink_ip().to_string(),
            vec!["audit-sink".to_owned()],
        )),
        ..Default::default()
    }
}

/// Endpoint settings for the testbed network: a static IPv4 address and DNS aliases. Also
/// what a reconnect after a partition sends, so the node keeps its address.
pub fn endpoint(ip: String, aliases: Vec<String>) -> EndpointSettings {
    EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: Some(ip),
            ..Default::default()
        }),
        aliases: Some(aliases),
        ..Default::default()
    }
}

fn networking(name: &TestbedName, ip: String, aliases: Vec<String>) -> NetworkingConfig {
    NetworkingConfig {
        endpoints_config: Some(HashMap::from([(name.network(), endpoint(ip, aliases))])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn squash(s: &str) -> String {
        s.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn plan() -> Plan {
        Plan::new(
            &TestbedName::new("dev").unwrap(),
            "172.20.0.0/16".parse().unwrap(),
            &[18201, 18202, 18203],
        )
    }

    #[test]
    fn node_config_joins_every_peer_and_declares_audit_devices() {
        let plan = plan();
        let hcl = squash(
            &node_config(
                &plan,
                &plan.nodes[0],
                Engine::OpenBao,
                Some("172.20.0.10:9090"),
            )
            .unwrap()
            .hcl,
        );
        for want in [
            r#"api_addr = "https://node1:8200""#,
            r#"cluster_addr = "https://node1:8201""#,
            r#"cluster_name = "vaultops-dev""#,
            r#"leader_api_addr = "https://node2:8200""#,
            r#"leader_api_addr = "https://node3:8200""#,
            r#"leader_ca_cert_file = "/vault/tls/ca.pem""#,
            "performance_multiplier = 1",
            r#"autopilot_reconcile_interval = "1s""#,
            r#"autopilot_update_interval = "500ms""#,
            r#"tls_min_version = "tls12""#,
            r#"file_path = "/vault/audit/audit.log""#,
            r#"address = "172.20.0.10:9090""#,
            "unauthenticated_metrics_access = true",
        ] {
            assert!(hcl.contains(want), "missing {want:?} in\n{hcl}");
        }
        // No node joins itself.
        assert!(
            !hcl.contains(r#"leader_api_addr = "https://node1:8200""#),
            "{hcl}"
        );
        let no_sink = node_config(&plan, &plan.nodes[0], Engine::OpenBao, None)
            .unwrap()
            .hcl;
        assert!(!no_sink.contains("socket"), "{no_sink}");
        assert!(no_sink.contains(r#"audit "file" "file""#), "{no_sink}");
    }

    #[test]
    fn node_container_spec() {
        let plan = plan();
        let name = &plan.name;
        let c = node_container(name, &plan.nodes[1], "img:1", "/bin/bao", Engine::OpenBao);
        assert_eq!(c.hostname.as_deref(), Some("node2"));
        assert_eq!(c.user.as_deref(), Some("100:1000"));
        assert_eq!(c.entrypoint, Some(vec!["/bin/bao".to_owned()]));
        assert_eq!(
            c.cmd,
            Some(vec![
                "server".to_owned(),
                "-config=/vault/config/config.hcl".to_owned()
            ])
        );
        let hc = c.host_config.unwrap();
        let b = &hc.port_bindings.unwrap()["8200/tcp"].clone().unwrap()[0];
        assert_eq!(
            (b.host_ip.as_deref(), b.host_port.as_deref()),
            (Some("127.0.0.1"), Some("18202"))
        );
        let m = &hc.mounts.unwrap()[0];
        assert_eq!(m.source.as_deref(), Some("vaultops-dev-node2-data"));
        assert_eq!(m.target.as_deref(), Some("/vault/data"));
        assert_eq!(hc.network_mode.as_deref(), Some("vaultops-dev"));
        let ep = &c.networking_config.unwrap().endpoints_config.unwrap()["vaultops-dev"];
        assert_eq!(
            ep.ipam_config.as_ref().unwrap().ipv4_address.as_deref(),
            Some("172.20.0.12")
        );
        assert_eq!(ep.aliases, Some(vec!["node2".to_owned()]));
        assert_eq!(c.labels.unwrap()["vaultops.testbed"], "dev");
    }

    #[test]
    fn sink_container_spec() {
        let plan = plan();
        let c = sink_container(&plan.name, &plan, "img:1");
        let cmd = c.cmd.unwrap().join(" ");
        assert!(
            cmd.starts_with("nc -ll -p 9090 -e /bin/busybox sh -c"),
            "{cmd}"
        );
        assert!(cmd.ends_with(">> /vault/audit/sink.log"), "{cmd}");
        let ep = &c.networking_config.unwrap().endpoints_config.unwrap()["vaultops-dev"];
        assert_eq!(
            ep.ipam_config.as_ref().unwrap().ipv4_address.as_deref(),
            Some("172.20.0.10")
        );
        assert_eq!(c.labels.unwrap()["vaultops.role"], "audit-sink");
    }
}
