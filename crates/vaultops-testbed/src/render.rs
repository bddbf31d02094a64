//! Per-node server configuration and the Docker container specs, both pure.
//!
//! Configs come from `vaultops-config` (the templates `deploy/` uses too), with paths inside
//! the container. The container specs pass the binary as entrypoint, the user and the
//! `server -config=…` command explicitly, so the local image and the official images (whose
//! entrypoint scripts and default paths differ) run the same way.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Mount, MountType,
    NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use vaultops_api::Token;
use vaultops_config::{
    AuditDevice, Listener, NodeConfig, RaftStorage, RenderError, Rendered, RetryJoin, Seal,
    Storage, Telemetry, TlsFiles,
};
use vaultops_types::Engine;

use crate::names::TestbedName;
use crate::plan::{NodePlan, Plan, UnsealerPlan, API_PORT, CLUSTER_PORT, SINK_PORT};
use crate::seal::{SealKind, UNSEALER_HOST};

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

/// Docker restart policy of every server container (nodes and the transit unsealer).
///
/// A node whose transit unsealer is unreachable when it starts logs `Error configuring seal
/// "transit"` and exits with code 1 (after ~8 s, measured: `docs/testbed.md`); Docker then
/// starts it again, so it unseals itself as soon as the unsealer is back, like a systemd
/// `Restart=on-failure` unit. `on-failure` rather than `unless-stopped`: both leave alone a
/// container stopped through the API (`docker kill`, `docker stop`, as fault scenarios do;
/// checked on Docker 20.10), but `on-failure` also leaves alone a server that exited cleanly
/// and is not meant to bring a whole testbed back when the Docker daemon restarts.
pub const RESTART_POLICY: RestartPolicyNameEnum = RestartPolicyNameEnum::ON_FAILURE;

fn restart_policy() -> RestartPolicy {
    RestartPolicy {
        name: Some(RESTART_POLICY),
        maximum_retry_count: None,
    }
}

/// The audit devices of every node: a file device and, when `sink` is given, a TCP socket
/// device sending to it. OpenBao declares them in the node config; on Vault the baseline
/// rollout enables them through the API.
pub(crate) fn audit_devices(sink: Option<&str>) -> Vec<AuditDevice> {
    let mut devices = vec![AuditDevice::file(AUDIT_FILE_DEVICE, AUDIT_FILE)];
    if let Some(addr) = sink {
        devices.push(AuditDevice::tcp_socket(AUDIT_SOCKET_DEVICE, addr));
    }
    devices
}

/// Renders node `node`'s config: raft with `retry_join` to every other node (trusting the
/// testbed CA), `performance_multiplier = 1` and fast autopilot intervals, a TLS listener on
/// all interfaces (min TLS 1.2), Prometheus telemetry without a token, a file audit device
/// and, when `sink` is given, a TCP socket audit device sending to it; the `seal`
/// stanza (see [`crate::seal::node_seal`]; never a token); and `disable_standby_reads` when
/// the plan asks for it (OpenBao only: rendering it for Vault is an error).
pub fn node_config(
    plan: &Plan,
    node: &NodePlan,
    engine: Engine,
    sink: Option<&str>,
    seal: &Seal,
) -> Result<Rendered, RenderError> {
    node_config_with(plan, node, engine, sink, seal, None)
}

/// [`node_config`] during a seal migration: `disabled_seal` is the seal being left, rendered
/// as a second stanza with `disabled = "true"` (see `vaultops_config::NodeConfig::disabled_seal`).
pub fn node_config_with(
    plan: &Plan,
    node: &NodePlan,
    engine: Engine,
    sink: Option<&str>,
    seal: &Seal,
    disabled_seal: Option<Seal>,
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
    cfg.seal = seal.clone();
    cfg.disabled_seal = disabled_seal;
    if plan.disable_standby_reads {
        cfg.disable_standby_reads = Some(true);
    }
    cfg.audit = audit_devices(sink);
    // Vault locks memory by default, which needs IPC_LOCK; HashiCorp recommends turning that
    // off with integrated storage anyway.
    cfg.vault_disable_mlock = engine == Engine::Vault;
    cfg.render()
}

/// What every server container of a testbed shares.
#[derive(Debug, Clone, Copy)]
pub struct ServerSpec<'a> {
    pub image: &'a str,
    /// The server binary inside the image (the entrypoint).
    pub binary: &'a str,
    pub engine: Engine,
    pub seal: SealKind,
    /// The nodes' transit token, put into their environment as
    /// [`vaultops_config::TransitSeal::token_env`] (never into the config file).
    pub transit_token: Option<&'a Token>,
}

/// The create body of node `node`'s container: static IP and `node<i>` alias on the testbed
/// network, API published on 127.0.0.1, raft data on the node's named volume, the
/// [`RESTART_POLICY`], and the transit token (if any) in the environment.
pub fn node_container(
    name: &TestbedName,
    node: &NodePlan,
    spec: &ServerSpec<'_>,
) -> ContainerCreateBody {
    let mut env = official_image_env();
    if let Some(token) = spec.transit_token {
        env.push(format!(
            "{}={}",
            vaultops_config::TransitSeal::token_env(spec.engine),
            token.expose()
        ));
    }
    server_container(
        spec,
        ServerContainer {
            hostname: node.id.hostname(),
            labels: name.node_labels(node.id, spec.engine.as_str(), spec.seal.as_str()),
            host_port: node.host_port,
            volume: node.volume.clone(),
            network: name.network(),
            ip: node.ip.to_string(),
            env,
        },
    )
}

/// Renders the transit unsealer's config: a one-node raft cluster (`performance_multiplier
/// = 1`, so its election after init is fast), the same TLS listener as the nodes, Shamir seal.
pub fn unsealer_config(plan: &Plan, engine: Engine) -> Result<Rendered, RenderError> {
    let mut raft = RaftStorage::new(DATA_DIR);
    raft.performance_multiplier = Some(1);
    let mut cfg = NodeConfig::new(
        engine,
        UNSEALER_HOST,
        format!("{}-unsealer", plan.name.cluster_name()),
        crate::seal::unsealer_addr(),
        format!("https://{UNSEALER_HOST}:{CLUSTER_PORT}"),
        Listener::tls(
            format!("0.0.0.0:{API_PORT}"),
            format!("0.0.0.0:{CLUSTER_PORT}"),
            TlsFiles::new(CERT_FILE, KEY_FILE),
        ),
        Storage::Raft(raft),
    );
    cfg.vault_disable_mlock = engine == Engine::Vault;
    cfg.render()
}

/// The create body of the transit unsealer's container: hostname and alias `unsealer`,
/// static IP `.9`, API published on 127.0.0.1, its own raft volume, the [`RESTART_POLICY`].
pub fn unsealer_container(
    name: &TestbedName,
    unsealer: &UnsealerPlan,
    spec: &ServerSpec<'_>,
) -> ContainerCreateBody {
    server_container(
        spec,
        ServerContainer {
            hostname: UNSEALER_HOST.to_owned(),
            labels: name.unsealer_labels(spec.engine.as_str()),
            host_port: unsealer.host_port,
            volume: unsealer.volume.clone(),
            network: name.network(),
            ip: unsealer.ip.to_string(),
            env: official_image_env(),
        },
    )
}

/// The official images read these in their entrypoint scripts; with an explicit entrypoint
/// they are inert, but keep the server from trying to set capabilities.
fn official_image_env() -> Vec<String> {
    vec!["SKIP_SETCAP=1".to_owned(), "SKIP_CHOWN=1".to_owned()]
}

/// The per-container part of a server container.
struct ServerContainer {
    hostname: String,
    labels: HashMap<String, String>,
    host_port: u16,
    volume: String,
    network: String,
    ip: String,
    env: Vec<String>,
}

fn server_container(spec: &ServerSpec<'_>, c: ServerContainer) -> ContainerCreateBody {
    let port = format!("{API_PORT}/tcp");
    ContainerCreateBody {
        image: Some(spec.image.to_owned()),
        hostname: Some(c.hostname.clone()),
        user: Some(SERVER_USER.to_owned()),
        entrypoint: Some(vec![spec.binary.to_owned()]),
        cmd: Some(vec!["server".to_owned(), format!("-config={CONFIG_FILE}")]),
        env: Some(c.env),
        exposed_ports: Some(vec![port.clone(), format!("{CLUSTER_PORT}/tcp")]),
        labels: Some(c.labels),
        stop_timeout: Some(10),
        host_config: Some(HostConfig {
            port_bindings: Some(HashMap::from([(
                port,
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".to_owned()),
                    host_port: Some(c.host_port.to_string()),
                }]),
            )])),
            mounts: Some(vec![Mount {
                target: Some(DATA_DIR.to_owned()),
                source: Some(c.volume),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            }]),
            network_mode: Some(c.network.clone()),
            restart_policy: Some(restart_policy()),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                c.network,
                endpoint(c.ip, vec![c.hostname]),
            )])),
        }),
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
                Some("audit-sink:9090"),
                &Seal::Shamir,
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
            r#"address = "audit-sink:9090""#,
            "unauthenticated_metrics_access = true",
        ] {
            assert!(hcl.contains(want), "missing {want:?} in\n{hcl}");
        }
        // No node joins itself.
        assert!(
            !hcl.contains(r#"leader_api_addr = "https://node1:8200""#),
            "{hcl}"
        );
        assert!(!hcl.contains("seal \""), "{hcl}");
        let no_sink = node_config(&plan, &plan.nodes[0], Engine::OpenBao, None, &Seal::Shamir)
            .unwrap()
            .hcl;
        assert!(!no_sink.contains("socket"), "{no_sink}");
        assert!(no_sink.contains(r#"audit "file" "file""#), "{no_sink}");
    }

    #[test]
    fn standby_reads_are_disabled_only_when_the_plan_says_so() {
        let mut plan = plan();
        let render = |plan: &Plan, engine| {
            node_config(plan, &plan.nodes[0], engine, None, &Seal::Shamir).map(|r| r.hcl)
        };
        let default = render(&plan, Engine::OpenBao).unwrap();
        assert!(!default.contains("disable_standby_reads"), "{default}");
        plan.disable_standby_reads = true;
        let off = squash(&render(&plan, Engine::OpenBao).unwrap());
        assert!(off.contains("disable_standby_reads = true"), "{off}");
        // Vault has no such setting: refused, not silently dropped.
        assert!(render(&plan, Engine::Vault).is_err());
    }

    #[test]
    fn auto_unseal_stanzas_reference_files_in_the_container_and_no_token() {
        let plan = plan();
        let transit = crate::seal::node_seal(SealKind::Transit, CA_FILE);
        let r = node_config(&plan, &plan.nodes[1], Engine::OpenBao, None, &transit).unwrap();
        assert!(!r.contains_secrets);
        let hcl = squash(&r.hcl);
        for want in [
            r#"seal "transit" {"#,
            r#"address = "https://unsealer:8200""#,
            r#"key_name = "autounseal""#,
            r#"mount_path = "transit/""#,
            r#"tls_ca_cert = "/vault/tls/ca.pem""#,
        ] {
            assert!(hcl.contains(want), "missing {want:?} in\n{hcl}");
        }
        assert!(!hcl.contains("token"), "{hcl}");
        let fixed = crate::seal::node_seal(SealKind::Static, CA_FILE);
        let hcl = squash(
            &node_config(&plan, &plan.nodes[1], Engine::OpenBao, None, &fixed)
                .unwrap()
                .hcl,
        );
        assert!(
            hcl.contains(r#"current_key = "file:///vault/seal/static.key""#),
            "{hcl}"
        );
    }

    fn spec<'a>(seal: SealKind, token: Option<&'a Token>) -> ServerSpec<'a> {
        ServerSpec {
            image: "img:1",
            binary: "/bin/bao",
            engine: Engine::OpenBao,
            seal,
            transit_token: token,
        }
    }

    #[test]
    fn node_container_spec() {
        let plan = plan();
        let name = &plan.name;
        let c = node_container(name, &plan.nodes[1], &spec(SealKind::Shamir, None));
        assert_eq!(c.hostname.as_deref(), Some("node2"));
        assert!(
            !c.env.as_ref().unwrap().iter().any(|e| e.contains("TOKEN")),
            "{:?}",
            c.env
        );
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
        assert_eq!(
            hc.restart_policy.unwrap().name,
            Some(RestartPolicyNameEnum::ON_FAILURE)
        );
        let ep = &c.networking_config.unwrap().endpoints_config.unwrap()["vaultops-dev"];
        assert_eq!(
            ep.ipam_config.as_ref().unwrap().ipv4_address.as_deref(),
            Some("172.20.0.12")
        );
        assert_eq!(ep.aliases, Some(vec!["node2".to_owned()]));
        let labels = c.labels.unwrap();
        assert_eq!(labels["vaultops.testbed"], "dev");
        assert_eq!(labels["vaultops.seal"], "shamir");

        // The transit token travels in the environment, under the engine's variable.
        let token = Token::new("s.transit-token");
        let c = node_container(name, &plan.nodes[1], &spec(SealKind::Transit, Some(&token)));
        assert!(
            c.env
                .as_ref()
                .unwrap()
                .contains(&"BAO_TOKEN=s.transit-token".to_owned()),
            "{:?}",
            c.env
        );
        assert_eq!(c.labels.unwrap()["vaultops.seal"], "transit");
    }

    #[test]
    fn unsealer_config_and_container() {
        let plan = plan().with_unsealer(18200);
        let hcl = squash(&unsealer_config(&plan, Engine::OpenBao).unwrap().hcl);
        for want in [
            r#"api_addr = "https://unsealer:8200""#,
            r#"cluster_addr = "https://unsealer:8201""#,
            r#"cluster_name = "vaultops-dev-unsealer""#,
            r#"node_id = "unsealer""#,
            "performance_multiplier = 1",
            r#"tls_min_version = "tls12""#,
        ] {
            assert!(hcl.contains(want), "missing {want:?} in\n{hcl}");
        }
        assert!(
            !hcl.contains("retry_join") && !hcl.contains("seal \""),
            "{hcl}"
        );
        let u = plan.unsealer.as_ref().unwrap();
        let c = unsealer_container(&plan.name, u, &spec(SealKind::Transit, None));
        assert_eq!(c.hostname.as_deref(), Some("unsealer"));
        let hc = c.host_config.unwrap();
        let b = &hc.port_bindings.unwrap()["8200/tcp"].clone().unwrap()[0];
        assert_eq!(b.host_port.as_deref(), Some("18200"));
        assert_eq!(
            hc.mounts.unwrap()[0].source.as_deref(),
            Some("vaultops-dev-unsealer-data")
        );
        assert_eq!(
            hc.restart_policy.unwrap().name,
            Some(RestartPolicyNameEnum::ON_FAILURE)
        );
        let ep = &c.networking_config.unwrap().endpoints_config.unwrap()["vaultops-dev"];
        assert_eq!(
            ep.ipam_config.as_ref().unwrap().ipv4_address.as_deref(),
            Some("172.20.0.9")
        );
        assert_eq!(ep.aliases, Some(vec!["unsealer".to_owned()]));
        assert_eq!(c.labels.unwrap()["vaultops.role"], "unsealer");
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
