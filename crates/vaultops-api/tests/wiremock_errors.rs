//! Error paths a real server cannot be made to produce: a proxy's non-JSON error pages, a
//! 200 with a body that is not what the API documents, and a snapshot download that breaks
//! midway. Everything else is tested against real `bao` processes.

use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vaultops_api::{ClientConfig, ErrorKind, NodeClient, Token};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(addr: &str) -> NodeClient {
    let cfg = ClientConfig {
        token: Some(Token::new("s.test")),
        allow_plain_http: true,
        ..Default::default()
    };
    NodeClient::new(addr, &cfg).unwrap()
}

/// The entries of a directory, so a test can show nothing (no temp file) was left behind.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_500_with_a_non_json_body_keeps_the_text() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sys/mounts"))
        .respond_with(ResponseTemplate::new(500).set_body_string("storage backend exploded\n"))
        .mount(&server)
        .await;
    let err = client(&server.uri()).mounts_list().await.unwrap_err();
    match &err.kind {
        ErrorKind::Server {
            status: 500,
            errors,
        } => {
            assert_eq!(errors.0, ["storage backend exploded"])
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "mounts list on {}: server answered HTTP 500: storage backend exploded",
            server.uri()
        )
    );
}

#[tokio::test]
async fn a_502_from_a_proxy_is_a_server_error_with_the_page_kept() {
    let server = MockServer::start().await;
    let page = "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>";
    Mock::given(method("GET"))
        .and(path("/v1/sys/storage/raft/autopilot/state"))
        .respond_with(
            ResponseTemplate::new(502)
                .insert_header("content-type", "text/html")
                .set_body_string(page),
        )
        .mount(&server)
        .await;
    let err = client(&server.uri()).autopilot_state().await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert!(
        matches!(err.kind, ErrorKind::Server { status: 502, .. }),
        "{err:?}"
    );
    assert_eq!(err.server_errors(), [page]);
    assert!(!err.is_sealed() && !err.is_unreachable());
}

#[tokio::test]
async fn a_200_with_a_malformed_body_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sys/storage/raft/configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"data\": {\"config\": "))
        .mount(&server)
        .await;
    // Valid JSON, wrong shape: `servers` must be a list.
    Mock::given(method("GET"))
        .and(path("/v1/sys/policies/acl/p"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"data": {"policy": ["not", "a", "string"]}})),
        )
        .mount(&server)
        .await;
    let c = client(&server.uri());
    let err = c.raft_configuration().await.unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Decode { status: 200, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("raft configuration on "),
        "{err}"
    );
    let err = c.policy_read("p").await.unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Decode { status: 200, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_snapshot_body_that_is_not_a_snapshot_leaves_the_old_file_alone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sys/storage/raft/snapshot"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>login page</html>"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("raft.snap");
    std::fs::write(&target, b"previous snapshot").unwrap();

    let err = client(&server.uri())
        .snapshot_save(&target)
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::NotASnapshot { bytes: 23 }),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(200));
    assert!(
        vaultops_types::error_report(&err).contains("not a raft snapshot"),
        "{err}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"previous snapshot");
    assert_eq!(entries(dir.path()), ["raft.snap"]);
}

#[tokio::test]
async fn a_snapshot_refused_by_the_server_creates_no_file() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sys/storage/raft/snapshot"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(serde_json::json!({"errors": ["Vault is sealed"]})),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let err = client(&server.uri())
        .snapshot_save(&dir.path().join("raft.snap"))
        .await
        .unwrap_err();
    assert!(err.is_sealed(), "{err:?}");
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

/// A snapshot download whose connection closes after part of the promised body. wiremock
/// always sends complete bodies, so this is a raw TCP server that sends a Content-Length
/// it does not honour.
#[tokio::test]
async fn a_snapshot_download_that_breaks_midway_leaves_nothing_behind() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        // Read the request head before answering.
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut buf).await.unwrap();
            assert!(n > 0, "client closed before sending its request");
            got.extend_from_slice(&buf[..n]);
        }
        let head =
            "HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: 100000\r\n\r\n";
        sock.write_all(head.as_bytes()).await.unwrap();
        // A gzip header and some bytes, then the connection drops.
        let mut partial = vec![0x1f, 0x8b, 0x08, 0x00];
        partial.extend(std::iter::repeat_n(0xabu8, 5000));
        sock.write_all(&partial).await.unwrap();
        sock.flush().await.unwrap();
        drop(sock);
    });

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("raft.snap");
    std::fs::write(&target, b"previous snapshot").unwrap();
    let err = client(&format!("http://{addr}"))
        .snapshot_save(&target)
        .await
        .unwrap_err();
    server.await.unwrap();
    assert!(
        err.is_unreachable(),
        "a broken body is a transport failure: {err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("snapshot save on http://127.0.0.1:"),
        "{err}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"previous snapshot");
    assert_eq!(entries(dir.path()), ["raft.snap"]);
}
