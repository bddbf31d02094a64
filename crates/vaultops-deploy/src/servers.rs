//! Server configurations of the deployments, built as `vaultops_config::NodeConfig`s and
//! rendered by `vaultops-config`, the same templates the testbed and the test harness use.
//!
//! Inputs match the testbed's (`vaultops_testbed::render::node_config`): raft with
//! `retry_join` to every other node trusting the cluster CA, `performance_multiplier = 1`,
//! a TLS listener on all interfaces (TLS 1.2 minimum), Prometheus telemetry, a file audit
//! device and a TCP socket audit device, `disable_mlock` only for Vault. Production differs on
//! purpose in four places, each for a reason written next to it: autopilot intervals stay at
//! the server defaults, standby reads are off, the UI is on, and metrics are served without a
//! token only on a dedicated listener ([`METRICS_PORT`]), never on the API port.

use vaultops_config::{
    AuditDevice, AuditKind, ConsulScheme, ConsulStorage, Listener, MetricsListener, NodeConfig,
    RaftStorage, RenderError, RetryJoin, ServiceRegistration, SocketType, Storage, Telemetry,
    TlsFiles,
};
use vaultops_types::Engine;

use crate::options::{DeployOptions, Profile};

/// API port of every node.
pub const API_PORT: u16 = 8200;
/// Cluster (raft, request forwarding) port of every node.
pub const CLUSTER_PORT: u16 = 8201;
/// Port of the metrics-only listener Prometheus scrapes (no token; OpenBao serves nothing else
/// there). The API port requires a token for metrics.
pub const METRICS_PORT: u16 = 8202;
/// The metrics listener's own cluster port, bound on loopback only (every tcp listener opens
/// one; see `vaultops_config::MetricsListener`).
pub const METRICS_CLUSTER_PORT: u16 = 8203;
/// Port the audit sink listens on (the same as the testbed's sink).
pub const SINK_PORT: u16 = 9090;
/// Mount path of the file audit device (the testbed's name too).
pub const AUDIT_FILE_DEVICE: &str = "file";
/// Mount path of the socket audit device (the testbed's name too).
pub const AUDIT_SOCKET_DEVICE: &str = "socket";
/// Host name of the audit sink service in Docker Compose.
pub const COMPOSE_SINK_HOST: &str = "audit-sink";

/// Host name of node `index` (0-based) outside Kubernetes: `openbao-1`, `openbao-2`, …
/// (Compose service names, or the VMs' DNS names).
pub fn host_name(profile: Profile, index: usize) -> String {
    format!("{}-{}", profile.name, index + 1)
}

/// Pod name of replica `index` of the StatefulSet: `openbao-0`, `openbao-1`, …
pub fn pod_name(profile: Profile, index: usize) -> String {
    format!("{}-{index}", profile.name)
}

/// The headless Service that gives every pod a DNS name: `openbao-internal`.
pub fn headless_service(profile: Profile) -> String {
    format!("{}-internal", profile.name)
}

/// A pod's DNS name through the headless Service, qualified by namespace but not by the
/// cluster domain (the resolver's search list adds it), e.g.
/// `openbao-0.openbao-internal.openbao.svc`.
pub fn pod_dns(opts: &DeployOptions, profile: Profile, index: usize) -> String {
    format!(
        "{}.{}.{}.svc",
        pod_name(profile, index),
        headless_service(profile),
        profile.namespace(opts)
    )
}

/// The inputs shared by every deployment of `profile`: listener, raft, telemetry, audit.
fn raft_node(
    opts: &DeployOptions,
    profile: Profile,
    node_id: &str,
    host: &str,
    peers: &[String],
    sink: &str,
) -> NodeConfig {
    let mut raft = RaftStorage::new(profile.data_dir());
    // 1 instead of the default 5: a kill -9 failover took 1.3–2.6 s instead of 8–23 s
    // (measured). HashiCorp recommends 1 for production; the default is tuned for slow VMs.
    raft.performance_multiplier = Some(1);
    // Autopilot intervals stay at the server defaults: the testbed shortens them to form
    // clusters fast; production only joins nodes now and then.
    raft.retry_join = peers
        .iter()
        .map(|peer| RetryJoin::new(format!("https://{peer}:{API_PORT}"), profile.ca_file()))
        .collect();
    let mut node = NodeConfig::new(
        profile.engine,
        node_id,
        &opts.cluster_name,
        format!("https://{host}:{API_PORT}"),
        format!("https://{host}:{CLUSTER_PORT}"),
        Listener::tls(
            format!("0.0.0.0:{API_PORT}"),
            format!("0.0.0.0:{CLUSTER_PORT}"),
            TlsFiles::new(profile.cert_file(), profile.key_file()),
        ),
        Storage::Raft(raft),
    );
    common(&mut node, profile, sink);
    // HashiCorp recommends disabling mlock with integrated storage (mlock would also need
    // IPC_LOCK); OpenBao has no mlock at all and warns about the field.
    node.vault_disable_mlock = profile.engine == Engine::Vault;
    node
}

/// Telemetry, audit, UI and read consistency: identical for raft and Consul nodes.
/// `sink` is the socket audit device's `host:port`.
fn common(node: &mut NodeConfig, profile: Profile, sink: &str) {
    // Metrics without a token only on their own port, which the NetworkPolicy opens to
    // Prometheus alone; the API port (open to the application) requires a token for them.
    node.telemetry = Telemetry::prometheus();
    node.metrics_listener = Some(MetricsListener::new(
        format!("0.0.0.0:{METRICS_PORT}"),
        format!("127.0.0.1:{METRICS_CLUSTER_PORT}"),
    ));
    node.ui = true;
    node.audit = vec![
        AuditDevice {
            description: Some("JSON lines on the node's audit volume".to_owned()),
            ..AuditDevice::file(
                AUDIT_FILE_DEVICE,
                format!("{}/audit.log", profile.audit_dir()),
            )
        },
        AuditDevice {
            name: AUDIT_SOCKET_DEVICE.to_owned(),
            description: Some("JSON lines to the audit sink, shipped off the node".to_owned()),
            kind: AuditKind::Socket {
                address: sink.to_owned(),
                socket_type: SocketType::Tcp,
                write_timeout: Some("2s".to_owned()),
            },
        },
    ];
    // Standbys answer reads from their own, slightly late copy by default: a read right after
    // a write returned the old value 50 of 50 times (measured). Applications go through the
    // client Service, which includes standbys, so reads are forwarded to the active node.
    if profile.engine == Engine::OpenBao {
        node.disable_standby_reads = Some(true);
    }
}

/// Node `index` (0-based) for hosts outside Kubernetes (Docker Compose, VMs): host names
/// `openbao-1`…, socket audit to the `audit-sink` service.
pub fn host_node(opts: &DeployOptions, profile: Profile, index: usize) -> NodeConfig {
    let peers: Vec<String> = (0..opts.replicas)
        .filter(|&i| i != index)
        .map(|i| host_name(profile, i))
        .collect();
    let host = host_name(profile, index);
    let sink = format!("{COMPOSE_SINK_HOST}:{SINK_PORT}");
    raft_node(opts, profile, &host, &host, &peers, &sink)
}

/// Replica `index` of the StatefulSet: node id = pod name, addresses through the headless
/// Service, socket audit to the sidecar on the pod's loopback.
pub fn kubernetes_node(opts: &DeployOptions, profile: Profile, index: usize) -> NodeConfig {
    let peers: Vec<String> = (0..opts.replicas)
        .filter(|&i| i != index)
        .map(|i| pod_dns(opts, profile, i))
        .collect();
    let sink = format!("127.0.0.1:{SINK_PORT}");
    raft_node(
        opts,
        profile,
        &pod_name(profile, index),
        &pod_dns(opts, profile, index),
        &peers,
        &sink,
    )
}

/// The seed's Vault-with-Consul layout, node `index`: a local Consul agent over TLS on every
/// Vault host (HashiCorp's reference architecture), no `disable_mlock` (mlock stays on with
/// external storage, so the container needs IPC_LOCK).
pub fn consul_node(opts: &DeployOptions, index: usize) -> NodeConfig {
    let profile = Profile::VAULT;
    let host = host_name(profile, index);
    let mut node = NodeConfig::new(
        Engine::Vault,
        &host,
        &opts.cluster_name,
        format!("https://{host}:{API_PORT}"),
        format!("https://{host}:{CLUSTER_PORT}"),
        Listener::tls(
            format!("0.0.0.0:{API_PORT}"),
            format!("0.0.0.0:{CLUSTER_PORT}"),
            TlsFiles::new(profile.cert_file(), profile.key_file()),
        ),
        // The seed sends Vault's traffic to Consul in plain http; the agent's TLS port keeps
        // the Consul ACL token (CONSUL_HTTP_TOKEN) off the wire.
        Storage::Consul(ConsulStorage {
            address: "127.0.0.1:8501".to_owned(),
            path: "vault/".to_owned(),
            scheme: ConsulScheme::Https,
            tls_ca_file: Some(format!("{}/tls/consul-ca.pem", profile.base)),
        }),
    );
    let sink = format!("{COMPOSE_SINK_HOST}:{SINK_PORT}");
    common(&mut node, profile, &sink);
    node
}

/// The Kubernetes config of replica `index`: [`kubernetes_node`] with the
/// `service_registration "kubernetes"` stanza that labels the pod `openbao-active` /
/// `vault-active` (the active Service selects on it), rendered by `vaultops-config`.
pub fn kubernetes_hcl(
    opts: &DeployOptions,
    profile: Profile,
    index: usize,
) -> Result<String, RenderError> {
    let mut node = kubernetes_node(opts, profile, index);
    // Namespace and pod name in the file rather than through the downward API: each pod
    // has its own file anyway, and the values can be read here.
    node.service_registration = Some(ServiceRegistration::Kubernetes {
        namespace: profile.namespace(opts).to_owned(),
        pod_name: pod_name(profile, index),
    });
    Ok(node.render()?.hcl)
}

/// Vault has no config-declared audit devices: a script that enables the devices the config
/// would have declared, through the CLI, idempotently.
pub fn vault_enable_audit_script(devices: &[AuditDevice]) -> String {
    let mut s = String::from(
        "#!/usr/bin/env bash\n\
         # Generated by vaultops-deploy; do not edit (see deploy/README.md).\n\
         #\n\
         # HashiCorp Vault manages audit devices through the API only (OpenBao declares them in\n\
         # the server config, see deploy/openbao/). Run once after `vault operator init` and\n\
         # unseal, against the active node, with a token allowed to use sys/audit:\n\
         #   VAULT_ADDR=https://vault-1:8200 VAULT_CACERT=ca.pem VAULT_TOKEN=… \\\n\
         #     bash deploy/vault/enable-audit.sh\n\
         # Devices already enabled are left alone. The socket device's sink must be reachable\n\
         # when it is enabled: the server tests a new device and refuses it otherwise (measured\n\
         # with OpenBao, which inherited this from Vault).\n\
         set -euo pipefail\n\
         : \"${VAULT_ADDR:?set VAULT_ADDR to the active node, e.g. https://vault-1:8200}\"\n\
         : \"${VAULT_TOKEN:?set VAULT_TOKEN to a token allowed to use sys/audit}\"\n\
         \n\
         enabled=$(vault audit list -format=json 2>/dev/null || echo '{}')\n",
    );
    for device in devices {
        let mut args = vec![
            format!("-path={}", device.name),
            format!(
                "-description={}",
                device.description.as_deref().unwrap_or_default()
            ),
            device.type_name().to_owned(),
        ];
        for (k, v) in device.options() {
            args.push(format!("{k}={v}"));
        }
        let quoted: Vec<String> = args.iter().map(|a| sh_quote(a)).collect();
        s.push_str(&format!(
            "\nif grep -q {path} <<<\"$enabled\"; then\n  echo \"audit device {name}/ already enabled\"\n\
             else\n  vault audit enable {args}\nfi\n",
            path = sh_quote(&format!("\"{}/\"", device.name)),
            name = device.name,
            args = quoted.join(" "),
        ));
    }
    s
}

/// Single-quotes `s` for a POSIX shell.
pub(crate) fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vaultops_config::{lint, HostFacts};

    #[test]
    fn every_node_retry_joins_all_its_peers_and_only_them() {
        let opts = DeployOptions::default();
        for profile in [Profile::OPENBAO, Profile::VAULT] {
            for i in 0..opts.replicas {
                for node in [
                    host_node(&opts, profile, i),
                    kubernetes_node(&opts, profile, i),
                ] {
                    let Storage::Raft(raft) = &node.storage else {
                        panic!("raft expected")
                    };
                    assert_eq!(raft.retry_join.len(), opts.replicas - 1);
                    assert!(raft.retry_join.iter().all(|j| !j
                        .leader_api_addr
                        .contains(&format!("{}:", node.node_id))
                        && !j.leader_api_addr.contains(&format!("{}.", node.node_id))));
                    assert_eq!(raft.performance_multiplier, Some(1));
                }
            }
        }
    }

    #[test]
    fn kubernetes_configs_register_the_pod_and_lint_clean() {
        let opts = DeployOptions::default();
        let hcl = kubernetes_hcl(&opts, Profile::OPENBAO, 1).unwrap();
        assert!(
            hcl.contains("node_id                = \"openbao-1\""),
            "{hcl}"
        );
        assert!(
            hcl.contains("https://openbao-0.openbao-internal.openbao.svc:8200"),
            "{hcl}"
        );
        assert!(
            hcl.contains("service_registration \"kubernetes\" {"),
            "{hcl}"
        );
        assert!(hcl.contains("pod_name  = \"openbao-1\""), "{hcl}");
        assert!(hcl.contains("127.0.0.1:9090"), "{hcl}");
        let report = lint(&hcl, Engine::OpenBao, &HostFacts::default());
        assert!(report.is_clean(), "{report}\n{hcl}");

        let hcl = kubernetes_hcl(&opts, Profile::VAULT, 0).unwrap();
        assert!(hcl.contains("disable_mlock = true"), "{hcl}");
        let report = lint(&hcl, Engine::Vault, &HostFacts::default());
        assert!(report.is_clean(), "{report}\n{hcl}");
    }

    #[test]
    fn metrics_need_a_token_on_the_api_port_and_none_on_the_metrics_port() {
        let opts = DeployOptions::default();
        for profile in [Profile::OPENBAO, Profile::VAULT] {
            let nodes = (0..opts.replicas)
                .flat_map(|i| {
                    [
                        host_node(&opts, profile, i),
                        kubernetes_node(&opts, profile, i),
                    ]
                })
                .chain((profile == Profile::VAULT).then(|| consul_node(&opts, 0)));
            for node in nodes {
                assert!(!node.telemetry.unauthenticated_metrics_access, "{node:?}");
                let m = node.metrics_listener.as_ref().expect("a metrics listener");
                assert_eq!(m.address, format!("0.0.0.0:{METRICS_PORT}"));
                assert_eq!(
                    m.cluster_address,
                    format!("127.0.0.1:{METRICS_CLUSTER_PORT}")
                );
                let hcl = node.render().unwrap().hcl;
                let (api, metrics) = hcl.split_once("# Prometheus only").unwrap();
                assert!(!api.contains("unauthenticated_metrics_access"), "{hcl}");
                assert!(
                    metrics.contains("unauthenticated_metrics_access = true"),
                    "{hcl}"
                );
                assert_eq!(
                    metrics.contains("metrics_only"),
                    profile == Profile::OPENBAO,
                    "{hcl}"
                );
            }
        }
    }

    #[test]
    fn vault_gets_its_audit_devices_as_a_script() {
        let opts = DeployOptions::default();
        let rendered = host_node(&opts, Profile::VAULT, 0).render().unwrap();
        assert!(!rendered.hcl.contains("audit"), "{}", rendered.hcl);
        let script = vault_enable_audit_script(&rendered.api_managed_audit);
        assert!(
            script.contains("vault audit enable -path=file '-description=JSON lines on the node'\\''s audit volume' file file_path=/vault/logs/audit.log"),
            "{script}"
        );
        assert!(
            script.contains("socket address=audit-sink:9090 socket_type=tcp write_timeout=2s"),
            "{script}"
        );
    }

    #[test]
    fn consul_nodes_keep_mlock_and_use_tls_to_the_agent() {
        let hcl = consul_node(&DeployOptions::default(), 2)
            .render()
            .unwrap()
            .hcl;
        assert!(!hcl.contains("disable_mlock"), "{hcl}");
        assert!(hcl.contains("scheme      = \"https\""), "{hcl}");
        assert!(
            hcl.contains("api_addr     = \"https://vault-3:8200\""),
            "{hcl}"
        );
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(sh_quote("a=b"), "a=b");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("$(x)"), "'$(x)'");
    }
}
