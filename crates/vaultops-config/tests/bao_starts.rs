//! The rendered configuration is accepted by a real OpenBao 2.7.2 server.
//!
//! A single-node config with every OpenBao feature this crate renders (TLS listener with client
//! CA and metrics block, raft with tuning, static seal, file and socket audit devices, telemetry,
//! `disable_standby_reads`, UI) is written to a temp dir, `bao server` is started on free
//! loopback ports, and `sys/health` is polled over TLS (trusting only the test CA) until it answers
//! 501 (uninitialised). Then the server log must not contain OpenBao's report of ignored fields,
//! `unknown or unsupported field`. A second test proves that check can fail.
//!
//! The raft data directory's name contains `"`, `\`, `${x}`, a tab and non-ASCII text: the server
//! creating exactly that directory shows the escaping round-trips through HCL v1.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use vaultops_config::*;
use vaultops_testkit::{free_port, BaoProcess};
use vaultops_types::Engine;

const IGNORED_FIELD_WARNING: &str = "unknown or unsupported field";
const HEALTH_DEADLINE: Duration = Duration::from_secs(20);
const TRICKY_DIR_NAME: &str = "data \"q\" \\ ${x} ü\ttab";

struct Tls {
    ca_pem: PathBuf,
    cert_pem: PathBuf,
    key_pem: PathBuf,
    client: Arc<ClientConfig>,
}

/// A CA and a node certificate for 127.0.0.1/localhost, written under `dir`, plus a client
/// config that trusts only that CA.
fn make_tls(dir: &Path) -> Tls {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "vaultops-config test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let node_key = KeyPair::generate().unwrap();
    let mut node =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    node.distinguished_name
        .push(DnType::CommonName, "bao-starts");
    node.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let node_cert = node.signed_by(&node_key, &ca).unwrap();

    let ca_pem = dir.join("ca.pem");
    let cert_pem = dir.join("node.pem");
    let key_pem = dir.join("node.key");
    fs::write(&ca_pem, ca.pem()).unwrap();
    fs::write(&cert_pem, node_cert.pem()).unwrap();
    fs::write(&key_pem, node_key.serialize_pem()).unwrap();
    fs::set_permissions(&key_pem, fs::Permissions::from_mode(0o600)).unwrap();

    let mut roots = RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let client =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    Tls {
        ca_pem,
        cert_pem,
        key_pem,
        client: Arc::new(client),
    }
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("temp paths are UTF-8").to_owned()
}

/// The node under test: every OpenBao feature the crate renders, on loopback.
fn full_node(dir: &Path, tls: &Tls, api_port: u16, cluster_port: u16) -> NodeConfig {
    let mut raft = RaftStorage::new(path_str(&dir.join(TRICKY_DIR_NAME)));
    raft.performance_multiplier = Some(1);
    raft.autopilot_reconcile_interval = Some("1s".into());
    raft.autopilot_update_interval = Some("500ms".into());

    let mut files = TlsFiles::new(path_str(&tls.cert_pem), path_str(&tls.key_pem));
    files.client_ca_file = Some(path_str(&tls.ca_pem));

    let key_file = dir.join("static.key");
    fs::write(&key_file, [7u8; 32]).unwrap();
    fs::set_permissions(&key_file, fs::Permissions::from_mode(0o600)).unwrap();

    let mut node = NodeConfig::new(
        Engine::OpenBao,
        "bao-starts",
        "vaultops-config-test",
        format!("https://127.0.0.1:{api_port}"),
        format!("https://127.0.0.1:{cluster_port}"),
        Listener::tls(
            format!("127.0.0.1:{api_port}"),
            format!("127.0.0.1:{cluster_port}"),
            files,
        ),
        Storage::Raft(raft),
    );
    node.seal = Seal::Static(StaticSeal {
        current_key_id: "test-1".into(),
        current_key: format!("file://{}", path_str(&key_file)),
    });
    node.audit = vec![
        AuditDevice {
            description: Some("file audit \"quoted\"".into()),
            ..AuditDevice::file("file", path_str(&dir.join("audit.log")))
        },
        AuditDevice {
            name: "socket".into(),
            description: None,
            kind: AuditKind::Socket {
                address: "127.0.0.1:9".into(),
                socket_type: SocketType::Tcp,
                write_timeout: Some("2s".into()),
            },
        },
    ];
    node.telemetry = Telemetry::prometheus_unauthenticated();
    node.disable_standby_reads = Some(true);
    node.ui = true;
    node
}

/// One `GET /v1/sys/health` over TLS; the HTTP status code.
fn health_status(addr: SocketAddr, client: &Arc<ClientConfig>) -> io::Result<u16> {
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    tcp.set_read_timeout(Some(Duration::from_secs(2)))?;
    tcp.set_write_timeout(Some(Duration::from_secs(2)))?;
    let conn = ClientConnection::new(client.clone(), ServerName::from(addr.ip()))
        .map_err(io::Error::other)?;
    let mut stream = StreamOwned::new(conn, tcp);
    stream.write_all(
        b"GET /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )?;
    let mut response = Vec::new();
    // The server may close without close_notify; whatever arrived is enough.
    let read = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    let status = text
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok());
    match (status, read) {
        (Some(code), _) => Ok(code),
        (None, Err(e)) => Err(e),
        (None, Ok(_)) => Err(io::Error::other(format!("no HTTP status line in {text:?}"))),
    }
}

/// Writes `hcl`, starts `bao server` on it, and polls health until it answers (or panics with
/// the last error and the server log after [`HEALTH_DEADLINE`]).
fn start_and_wait_for_health(
    dir: &Path,
    hcl: &str,
    api_port: u16,
    client: &Arc<ClientConfig>,
) -> (BaoProcess, u16) {
    let config = dir.join("server.hcl");
    fs::write(&config, hcl).unwrap();
    let config_arg = format!("-config={}", config.display());
    let mut server = BaoProcess::spawn(&["server", &config_arg], &dir.join("server.log"))
        .expect("starting bao server");

    let addr: SocketAddr = ([127, 0, 0, 1], api_port).into();
    let deadline = Instant::now() + HEALTH_DEADLINE;
    loop {
        if let Some(status) = server.try_exit_status() {
            panic!(
                "bao server exited early ({status}); log:\n{}",
                server.log_text()
            );
        }
        let last_error = match health_status(addr, client) {
            Ok(code) => return (server, code),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            panic!(
                "sys/health on {addr} did not answer within {HEALTH_DEADLINE:?} (last error: \
                 {last_error}); log:\n{}",
                server.log_text()
            );
        }
        // Poll interval, not synchronisation: the loop condition is the health answer.
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn openbao_accepts_the_rendered_config_without_ignored_fields() {
    let dir = tempfile::tempdir().unwrap();
    let tls = make_tls(dir.path());
    let (api_port, cluster_port) = (free_port(), free_port());
    let node = full_node(dir.path(), &tls, api_port, cluster_port);
    let rendered = node.render().unwrap();

    let (server, status) =
        start_and_wait_for_health(dir.path(), &rendered.hcl, api_port, &tls.client);
    let log = server.log_text();
    assert_eq!(status, 501, "uninitialised node expected; log:\n{log}");
    // The log is the real one and reflects the config (so the absence check below means something).
    for expected in [
        "Version: OpenBao v2.7.2",
        "Auto Seal: static",
        "tls: \"enabled\"",
        "Storage: raft (HA available)",
    ] {
        assert!(log.contains(expected), "log lacks {expected:?}:\n{log}");
    }
    assert!(
        !log.contains(IGNORED_FIELD_WARNING),
        "OpenBao ignored fields of the rendered config:\n{}\n--- config ---\n{}",
        log.lines()
            .filter(|l| l.contains(IGNORED_FIELD_WARNING))
            .collect::<Vec<_>>()
            .join("\n"),
        rendered.hcl
    );
    // The escaped path reached the server unchanged: raft created exactly this directory.
    let data_dir = dir.path().join(TRICKY_DIR_NAME);
    assert!(
        data_dir.join("vault.db").is_file(),
        "raft did not create {data_dir:?}; dir has {:?}",
        fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<Vec<_>>()
    );
}

#[test]
fn the_ignored_field_check_catches_a_field_openbao_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let tls = make_tls(dir.path());
    let (api_port, cluster_port) = (free_port(), free_port());
    let rendered = full_node(dir.path(), &tls, api_port, cluster_port)
        .render()
        .unwrap();
    // What a Vault-style config would add; OpenBao only warns about it.
    let hcl = format!("{}\ndisable_mlock = true\n", rendered.hcl);

    let (server, status) = start_and_wait_for_health(dir.path(), &hcl, api_port, &tls.client);
    assert_eq!(status, 501);
    let log = server.log_text();
    assert!(
        log.contains(&format!("{IGNORED_FIELD_WARNING} disable_mlock")),
        "expected OpenBao to report disable_mlock; log:\n{log}"
    );
}
