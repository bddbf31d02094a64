//! Proves that a real `bao server` TLS listener accepts the certificates this crate makes:
//! a client trusting our CA gets an HTTP answer (501, uninitialized), a client trusting another
//! CA or asking for a name outside the SANs fails the TLS handshake.
//!
//! The binary and the process guard come from `vaultops-testkit` (the pinned, verified `bao`).

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::time::{sleep, Instant};
use vaultops_testkit::{free_port, BaoProcess};
use vaultops_tls::{
    create_ca, create_node_cert, write_ca, write_node, Ca, CaParams, NodeParams, Overwrite,
};

const START_DEADLINE: Duration = Duration::from_secs(20);
const POLL_INTERVAL: Duration = Duration::from_millis(100);

fn start_bao(dir: &Path, port: u16, cert: &Path, key: &Path) -> BaoProcess {
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
    let config_arg = format!("-config={}", config_path.display());
    BaoProcess::spawn(&["server", &config_arg], &dir.join("bao.log"))
        .expect("cannot start bao server")
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
                if let Some(exit) = server.try_exit_status() {
                    panic!(
                        "bao server exited with {exit} before answering:\n{}",
                        server.log_text()
                    );
                }
                assert!(
                    Instant::now() < deadline,
                    "bao server did not answer {health} within {START_DEADLINE:?}; last error: {}\nserver log:\n{}",
                    vaultops_types::error_report(&err),
                    server.log_text()
                );
                sleep(POLL_INTERVAL).await;
            }
        }
    };
    assert_eq!(
        status.as_u16(),
        501,
        "expected 501 (uninitialized) from {health}; log:\n{}",
        server.log_text()
    );

    // The DNS SAN works too: reach the same listener as https://node1:<port>.
    let by_name = client(&bundle.cert_pem, Some(("node1", addr)));
    let resp = by_name
        .get(format!("https://node1:{port}/v1/sys/health"))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "request via DNS SAN node1 failed: {}",
                vaultops_types::error_report(&e)
            )
        });
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
        let text = vaultops_types::error_report(&err);
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
    let text = vaultops_types::error_report(&err);
    assert!(err.is_connect(), "{text}");
    assert!(
        text.contains("invalid peer certificate")
            && text.contains(r#"certificate not valid for name "node2""#),
        "{text}"
    );

    assert!(
        server.try_exit_status().is_none(),
        "bao server died during the test:\n{}",
        server.log_text()
    );
}
