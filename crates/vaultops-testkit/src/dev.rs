//! [`DevServer`]: a single `bao server -dev` for fast API tests.

use crate::process::{free_port, BaoProcess};
use std::time::Duration;
use vaultops_api::{ClientConfig, NodeClient, NodeRole, Token};

/// A `bao server -dev` on a free loopback port: in-memory, unsealed, plain HTTP, KV v2 at
/// `secret/`, with a known root token. Killed on drop.
#[derive(Debug)]
pub struct DevServer {
    process: BaoProcess,
    addr: String,
    root_token: Token,
    _dir: tempfile::TempDir,
}

impl DevServer {
    /// Starts the server and waits (deadline 30 s) until it is active.
    ///
    /// # Panics
    /// When the server does not start: the panic carries the server's log.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let addr = format!("http://127.0.0.1:{port}");
        let root = format!("root-{port}");
        let listen = format!("-dev-listen-address=127.0.0.1:{port}");
        let token_arg = format!("-dev-root-token-id={root}");
        let log = dir.path().join("bao.log");
        let process = BaoProcess::spawn(
            &["server", "-dev", "-dev-no-store-token", &listen, &token_arg],
            &log,
        )
        .expect("spawning bao server -dev");
        let server = Self {
            process,
            addr,
            root_token: Token::new(root),
            _dir: dir,
        };
        let client = server.client();
        let waited = vaultops_bootstrap::wait_until(
            "the dev server to become active",
            Duration::from_secs(30),
            Duration::from_millis(50),
            || async {
                match client.health().await {
                    Ok(h) if h.role == NodeRole::Active => Ok(Some(())),
                    Ok(h) => Err(format!("role {}", h.role)),
                    Err(e) => Err(e.to_string()),
                }
            },
        )
        .await;
        if let Err(e) = waited {
            panic!("{e}\nserver log:\n{}", server.process.log_text());
        }
        server
    }

    /// The server's address (`http://127.0.0.1:PORT`).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The root token.
    pub fn root_token(&self) -> &Token {
        &self.root_token
    }

    /// A client with the root token.
    pub fn client(&self) -> NodeClient {
        let cfg = ClientConfig {
            token: Some(self.root_token.clone()),
            allow_plain_http: true,
            ..Default::default()
        };
        NodeClient::new(&self.addr, &cfg).expect("dev server address is valid")
    }

    /// The server's output so far.
    pub fn log_text(&self) -> String {
        self.process.log_text()
    }
}
