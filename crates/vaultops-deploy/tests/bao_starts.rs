//! The generated OpenBao configuration runs on a real OpenBao 2.7.2 server.
//!
//! Node 1's configuration from `deploy/openbao/` (the very `NodeConfig` the generator renders)
//! is turned into a single-node variant: only what must change to run on this machine is
//! rewritten (addresses to free loopback ports, paths into a temp dir, no peers, the socket
//! audit device to a listener in this test). Everything else — TLS listener, raft with
//! performance_multiplier 1, the metrics-only listener, file + socket audit devices,
//! disable_standby_reads, UI — is as generated. The server must start with no "unknown or
//! unsupported field" warning, answer 501 (uninitialised), initialise and unseal, write both
//! audit logs, and export every metric the alert rules rely on from an unsealed server. Metrics
//! are read as Prometheus reads them: without a token on the metrics listener (200, sealed or
//! not), which serves nothing else (404); the API listener refuses them without a token (403)
//! and serves them with one (200).

use std::collections::BTreeSet;
use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vaultops_api::{ClientConfig, InitRequest, KeySplit, NodeClient, NodeRole};
use vaultops_config::{lint, AuditKind, HostFacts, ListenerTls, Storage};
use vaultops_deploy::{every_unsealed_server, host_node, DeployOptions, Profile, METRICS_PORT};
use vaultops_testkit::{free_port, BaoProcess};
use vaultops_types::Engine;

const IGNORED_FIELD_WARNING: &str = "unknown or unsupported field";
const DEADLINE: Duration = Duration::from_secs(45);
const POLL: Duration = Duration::from_millis(100);

fn path_str(p: &Path) -> String {
    p.to_str().expect("temp paths are UTF-8").to_owned()
}

/// A TCP listener that collects everything sent to it (the socket audit device's sink).
fn start_sink() -> (SocketAddr, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let sink = sink.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = conn.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
    });
    (addr, received)
}

/// The value of `vault_core_unsealed` (a gauge with a `cluster` label) in a scrape.
fn unsealed_gauge(text: &str) -> Option<&str> {
    text.lines()
        .find(|l| l.starts_with("vault_core_unsealed{") || l.starts_with("vault_core_unsealed "))
        .and_then(|l| l.rsplit(' ').next())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_openbao_config_runs_on_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // TLS material from vaultops-tls, as `vaultops tls` would make it.
    let ca_bundle = vaultops_tls::create_ca(&vaultops_tls::CaParams::default()).unwrap();
    let ca = vaultops_tls::Ca::from_bundle(&ca_bundle).unwrap();
    let cert = vaultops_tls::create_node_cert(
        &ca,
        &vaultops_tls::NodeParams {
            name: "openbao-1".into(),
            dns: vec!["localhost".into()],
            ips: vec!["127.0.0.1".parse().unwrap()],
            ..Default::default()
        },
    )
    .unwrap();
    let files = vaultops_tls::write_node(d, "openbao-1", &cert).unwrap();
    let ca_path = d.join("ca.pem");
    std::fs::write(&ca_path, &ca_bundle.cert_pem).unwrap();

    let (sink_addr, sink) = start_sink();
    let (api_port, cluster_port) = (free_port(), free_port());
    let (metrics_port, metrics_cluster_port) = (free_port(), free_port());

    // The generated node, then the single-node rewrite.
    let opts = DeployOptions::default();
    let generated = host_node(&opts, Profile::OPENBAO, 0);
    let deploy_file = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/openbao/server-node1.hcl"),
    )
    .unwrap();
    assert!(
        deploy_file.ends_with(&generated.render().unwrap().hcl),
        "deploy/openbao/server-node1.hcl is not this node's rendering (regenerate deploy/)"
    );
    let mut node = generated.clone();
    node.api_addr = format!("https://127.0.0.1:{api_port}");
    node.cluster_addr = format!("https://127.0.0.1:{cluster_port}");
    node.listener.address = format!("127.0.0.1:{api_port}");
    node.listener.cluster_address = format!("127.0.0.1:{cluster_port}");
    let metrics = node
        .metrics_listener
        .as_mut()
        .expect("the generated node has a metrics listener");
    assert!(metrics.address.ends_with(&format!(":{METRICS_PORT}")));
    metrics.address = format!("127.0.0.1:{metrics_port}");
    metrics.cluster_address = format!("127.0.0.1:{metrics_cluster_port}");
    assert!(!node.telemetry.unauthenticated_metrics_access);
    let ListenerTls::Files(tls) = &mut node.listener.tls else {
        panic!("the generated listener must use TLS")
    };
    tls.cert_file = path_str(&files.cert);
    tls.key_file = path_str(&files.key);
    let Storage::Raft(raft) = &mut node.storage else {
        panic!("the generated node must use raft")
    };
    assert_eq!(raft.retry_join.len(), opts.replicas - 1);
    raft.retry_join.clear();
    raft.path = path_str(&d.join("data"));
    std::fs::create_dir(d.join("data")).unwrap();
    let audit_log = d.join("audit.log");
    let mut kinds = Vec::new();
    for device in &mut node.audit {
        match &mut device.kind {
            AuditKind::File { file_path } => *file_path = path_str(&audit_log),
            AuditKind::Socket { address, .. } => *address = sink_addr.to_string(),
            AuditKind::Syslog { .. } => panic!("no syslog device is generated"),
        }
        kinds.push(device.type_name());
    }
    assert_eq!(kinds, ["file", "socket"]);

    let hcl = node.render().unwrap().hcl;
    let report = lint(&hcl, Engine::OpenBao, &HostFacts::default());
    assert!(report.is_clean(), "{report}\n{hcl}");
    let config = d.join("server.hcl");
    std::fs::write(&config, &hcl).unwrap();

    let log = d.join("server.log");
    let mut server =
        BaoProcess::spawn(&["server", &format!("-config={}", path_str(&config))], &log).unwrap();

    let client_config = ClientConfig {
        ca_pem: Some(ca_bundle.cert_pem.clone().into_bytes()),
        ..Default::default()
    };
    let client = NodeClient::new(&format!("https://127.0.0.1:{api_port}"), &client_config).unwrap();
    // Prometheus' view: the metrics listener, TLS with the same certificate, no token.
    let scraper =
        NodeClient::new(&format!("https://127.0.0.1:{metrics_port}"), &client_config).unwrap();

    let health = vaultops_bootstrap::wait_until("sys/health to answer", DEADLINE, POLL, || {
        let client = client.clone();
        async move {
            match client.health().await {
                Ok(h) => Ok(Some(h)),
                Err(e) => Err(e.to_string()),
            }
        }
    })
    .await;
    if let Some(status) = server.try_exit_status() {
        panic!("bao exited ({status}); log:\n{}", server.log_text());
    }
    let health = health.unwrap_or_else(|e| panic!("{e}; log:\n{}", server.log_text()));
    assert_eq!(health.status, 501, "uninitialised node expected");
    // An uninitialised (sealed) node's metrics are readable without a token, so the alerts
    // see it; the metrics listener serves nothing but metrics.
    let text = scraper
        .metrics_prometheus()
        .await
        .unwrap_or_else(|e| panic!("metrics listener, uninitialised: {e}"));
    assert_eq!(unsealed_gauge(&text), Some("0"), "{text}");
    let err = scraper.health().await.unwrap_err();
    assert_eq!(
        err.status(),
        Some(404),
        "sys/health on the metrics listener: {err}"
    );

    let init = client
        .init(&InitRequest::shamir(KeySplit::new(1, 1).unwrap()))
        .await
        .unwrap_or_else(|e| panic!("init: {e}; log:\n{}", server.log_text()));
    client.unseal(&init.keys_base64[0]).await.unwrap();
    vaultops_bootstrap::wait_until("the node to become active", DEADLINE, POLL, || {
        let client = client.clone();
        async move {
            match client.health().await {
                Ok(h) if h.role == NodeRole::Active => Ok(Some(())),
                Ok(h) => Err(format!("role {}", h.role)),
                Err(e) => Err(e.to_string()),
            }
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}; log:\n{}", server.log_text()));

    // A request that both audit devices log, then metrics without a token on the metrics
    // listener, as Prometheus scrapes them.
    let root = client.with_token(init.root_token.clone());
    root.token_lookup_self().await.unwrap();
    let text = scraper.metrics_prometheus().await.unwrap();

    // The API listener: metrics only with a token.
    let err = client
        .without_token()
        .metrics_prometheus()
        .await
        .unwrap_err();
    assert_eq!(
        err.status(),
        Some(403),
        "metrics on the API listener without a token: {err}"
    );
    let with_token = root.metrics_prometheus().await.unwrap();
    assert_eq!(unsealed_gauge(&with_token), Some("1"), "{with_token}");
    // A token does not open anything else on the metrics listener.
    let err = scraper
        .with_token(init.root_token.clone())
        .token_lookup_self()
        .await
        .unwrap_err();
    assert_eq!(
        err.status(),
        Some(404),
        "lookup-self on the metrics listener: {err}"
    );

    let exported: BTreeSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let missing: Vec<&str> = every_unsealed_server()
        .filter(|m| !exported.contains(m))
        .collect();
    assert!(
        missing.is_empty(),
        "the alert rules rely on {missing:?}, which the server does not export; it exports:\n{}",
        exported.iter().copied().collect::<Vec<_>>().join("\n")
    );
    for absent in [
        "vault_core_sealed",
        "vault_core_unseal_attempts_total",
        "vault_core_http_error_total",
    ] {
        assert!(!exported.contains(absent), "{absent} exists after all");
    }

    let log_text = server.log_text();
    for expected in ["Version: OpenBao v2.7.2", "Storage: raft (HA available)"] {
        assert!(
            log_text.contains(expected),
            "log lacks {expected:?}:\n{log_text}"
        );
    }
    assert!(
        !log_text.contains(IGNORED_FIELD_WARNING),
        "OpenBao ignored fields of the generated config:\n{log_text}\n--- config ---\n{hcl}"
    );

    let audit = std::fs::read_to_string(&audit_log).unwrap_or_default();
    assert!(
        audit.contains("\"type\":\"response\""),
        "file audit log: {audit:?}"
    );
    vaultops_bootstrap::wait_until(
        "the audit sink to receive a response entry",
        DEADLINE,
        POLL,
        || {
            let received = String::from_utf8_lossy(&sink.lock().unwrap()).into_owned();
            async move {
                if received.contains("\"type\":\"response\"") {
                    Ok(Some(()))
                } else {
                    Err(format!("{} bytes so far", received.len()))
                }
            }
        },
    )
    .await
    .unwrap();
    server.kill();
}
