//! [`TlsListeners`]: one uninitialised `bao server` (in-memory storage) with several TLS
//! listeners, each serving its own certificate: for tests of what clients do with an expired,
//! not-yet-valid, wrong-name or foreign-CA certificate, or with a fresh uninitialised node,
//! at the cost of a single process.

use crate::process::{free_port, BaoProcess};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One listener's certificate chain and key files (PEM).
#[derive(Debug, Clone)]
pub struct ListenerCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A running server; killed when dropped. Nothing is initialised: the test decides.
#[derive(Debug)]
pub struct TlsListeners {
    process: BaoProcess,
    addrs: Vec<String>,
    _dir: tempfile::TempDir,
}

impl TlsListeners {
    /// Starts the server with one `https://127.0.0.1:PORT` listener per entry of `certs`
    /// (in that order) and waits (deadline 30 s) until every port accepts connections.
    ///
    /// # Panics
    /// When the server does not start: the panic carries the server's log.
    pub async fn start(certs: &[ListenerCert]) -> Self {
        assert!(!certs.is_empty(), "at least one listener");
        let dir = tempfile::tempdir().expect("temp dir");
        let ports: Vec<u16> = certs.iter().map(|_| free_port()).collect();
        let mut hcl = String::from("storage \"inmem\" {}\n");
        for (port, c) in ports.iter().zip(certs) {
            hcl.push_str(&format!(
                "listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_cert_file = {}\n  tls_key_file = {}\n}}\n",
                hcl_string(&c.cert),
                hcl_string(&c.key)
            ));
        }
        hcl.push_str(&format!("api_addr = \"https://127.0.0.1:{}\"\n", ports[0]));
        let config = dir.path().join("server.hcl");
        std::fs::write(&config, hcl).expect("writing the server config");
        let log = dir.path().join("bao.log");
        let config_arg = config.to_string_lossy().into_owned();
        let process = BaoProcess::spawn(&["server", "-config", &config_arg], &log)
            .expect("spawning bao server");
        let server = Self {
            process,
            addrs: ports
                .iter()
                .map(|p| format!("https://127.0.0.1:{p}"))
                .collect(),
            _dir: dir,
        };
        let waited = vaultops_bootstrap::wait_until(
            "every listener to accept connections",
            Duration::from_secs(30),
            Duration::from_millis(50),
            || async {
                for p in &ports {
                    if let Err(e) = tokio::net::TcpStream::connect(("127.0.0.1", *p)).await {
                        return Err(format!("127.0.0.1:{p}: {e}"));
                    }
                }
                Ok(Some(()))
            },
        )
        .await;
        if let Err(e) = waited {
            panic!("{e}\nserver log:\n{}", server.process.log_text());
        }
        server
    }

    /// The listeners' addresses, in the order of the certificates given.
    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    /// The server's output so far.
    pub fn log_text(&self) -> String {
        self.process.log_text()
    }
}

fn hcl_string(p: &Path) -> String {
    serde_json::to_string(&p.to_string_lossy()).expect("a string serialises")
}
