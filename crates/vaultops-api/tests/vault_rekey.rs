//! The rekey flow of the Vault engine (`sys/rekey/init|update|verify`, `RekeyEndpoint::Legacy`),
//! which no server here can run (no Vault binary; OpenBao 2.7.2 answers 405 on `sys/rekey/*`
//! since it defaults to `disable_unauthed_rekey_endpoints`). A mock stands in for Vault with
//! the request and answer shapes of Vault's API (`/sys/rekey` API docs, the same as OpenBao's
//! deprecated `/sys/rekey` page; Vault's `http/sys_rekey.go` answers with `respondOk(w, status)`,
//! i.e. at the top level, not inside `data`): each mock matches only the documented method,
//! path and JSON body, and is expected exactly once, so a request of another shape fails the
//! test (the mock answers 404) and a missing one fails it on drop.

use serde_json::json;
use vaultops_api::{ClientConfig, KeySplit, NodeClient, RekeyEndpoint, RekeyRequest, UnsealKey};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(addr: &str) -> NodeClient {
    let cfg = ClientConfig {
        allow_plain_http: true,
        ..Default::default()
    };
    NodeClient::new(addr, &cfg).unwrap()
}

const NONCE: &str = "2dbd10f1-8528-6246-09e7-82b25b8aba63";
const VERIFY_NONCE: &str = "8b112c9e-2738-929d-bcc2-19aff249ff10";

async fn mock(
    server: &MockServer,
    m: &str,
    p: &str,
    body: Option<serde_json::Value>,
    answer: serde_json::Value,
) {
    let mut b = Mock::given(method(m)).and(path(p));
    if let Some(body) = body {
        b = b.and(body_json(body));
    }
    b.respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn vault_rekey_with_verification_uses_the_documented_requests_and_reads_top_level_answers() {
    let server = MockServer::start().await;
    let ep = RekeyEndpoint::Legacy;
    // GET sys/rekey/init: no attempt yet.
    mock(
        &server,
        "GET",
        "/v1/sys/rekey/init",
        None,
        json!({"started": false, "nonce": "", "t": 0, "n": 0, "progress": 0, "required": 3,
               "pgp_fingerprints": null, "backup": false, "verification_required": false}),
    )
    .await;
    // POST sys/rekey/init with the documented parameters.
    mock(
        &server,
        "POST",
        "/v1/sys/rekey/init",
        Some(json!({"secret_shares": 6, "secret_threshold": 4, "require_verification": true})),
        json!({"started": true, "nonce": NONCE, "t": 4, "n": 6, "progress": 0, "required": 3,
               "pgp_fingerprints": null, "backup": false, "verification_required": true}),
    )
    .await;
    // Three old shares: the first two show progress, the third returns the new shares.
    for (i, progress) in [(1, 1), (2, 2)] {
        mock(
            &server,
            "POST",
            "/v1/sys/rekey/update",
            Some(json!({"key": format!("old-{i}"), "nonce": NONCE})),
            json!({"started": true, "nonce": NONCE, "t": 4, "n": 6, "progress": progress,
                   "required": 3, "verification_required": true}),
        )
        .await;
    }
    let new: Vec<String> = (1..=6).map(|i| format!("new-{i}")).collect();
    mock(
        &server,
        "POST",
        "/v1/sys/rekey/update",
        Some(json!({"key": "old-3", "nonce": NONCE})),
        json!({"nonce": NONCE, "complete": true, "keys": ["6e65772d31"], "keys_base64": new,
               "pgp_fingerprints": null, "backup": false, "verification_required": true,
               "verification_nonce": VERIFY_NONCE}),
    )
    .await;
    // GET sys/rekey/verify, then four new shares with the verification nonce.
    mock(
        &server,
        "GET",
        "/v1/sys/rekey/verify",
        None,
        json!({"started": true, "nonce": VERIFY_NONCE, "t": 4, "n": 6, "progress": 0}),
    )
    .await;
    for i in 1..=3 {
        mock(
            &server,
            "POST",
            "/v1/sys/rekey/verify",
            Some(json!({"key": format!("new-{i}"), "nonce": VERIFY_NONCE})),
            json!({"started": true, "nonce": VERIFY_NONCE, "t": 4, "n": 6, "progress": i}),
        )
        .await;
    }
    mock(
        &server,
        "POST",
        "/v1/sys/rekey/verify",
        Some(json!({"key": "new-4", "nonce": VERIFY_NONCE})),
        json!({"nonce": VERIFY_NONCE, "complete": true}),
    )
    .await;

    let c = client(&server.uri());
    let st = c.rekey_status(ep).await.unwrap();
    assert!(!st.started);
    assert_eq!(st.required, 3);
    let started = c
        .rekey_start(
            ep,
            &RekeyRequest {
                split: KeySplit::new(6, 4).unwrap(),
                pgp_keys: Vec::new(),
                require_verification: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (started.nonce.as_str(), started.n, started.t),
        (NONCE, 6, 4)
    );
    assert!(started.verification_required);
    let mut last = started;
    for i in 1..=3 {
        last = c
            .rekey_update(ep, &UnsealKey::new(format!("old-{i}")), NONCE)
            .await
            .unwrap();
    }
    assert!(last.complete);
    assert_eq!(last.verification_nonce, VERIFY_NONCE);
    assert_eq!(last.keys_base64.len(), 6);
    assert_eq!(last.keys_base64[5], UnsealKey::new("new-6"));
    let v = c.rekey_verify_status(ep).await.unwrap();
    assert_eq!(
        (v.nonce.as_str(), v.t, v.n, v.progress),
        (VERIFY_NONCE, 4, 6, 0)
    );
    let mut done = v;
    for k in &last.keys_base64[..4] {
        done = c.rekey_verify(ep, k, VERIFY_NONCE).await.unwrap();
    }
    assert!(done.complete);
}

#[tokio::test]
async fn vault_rekey_pgp_keys_and_cancel_use_the_documented_requests() {
    let server = MockServer::start().await;
    let ep = RekeyEndpoint::Legacy;
    mock(
        &server,
        "POST",
        "/v1/sys/rekey/init",
        Some(
            json!({"secret_shares": 2, "secret_threshold": 2, "require_verification": true,
                    "pgp_keys": ["a2V5MQ==", "a2V5Mg=="]}),
        ),
        json!({"started": true, "nonce": NONCE, "t": 2, "n": 2, "progress": 0, "required": 3,
               "pgp_fingerprints": ["abcd1234", "ef567890"], "backup": false,
               "verification_required": true}),
    )
    .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/sys/rekey/init"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server.uri());
    let st = c
        .rekey_start(
            ep,
            &RekeyRequest {
                split: KeySplit::new(2, 2).unwrap(),
                pgp_keys: vec!["a2V5MQ==".into(), "a2V5Mg==".into()],
                require_verification: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(st.pgp_fingerprints, ["abcd1234", "ef567890"]);
    c.rekey_cancel(ep).await.unwrap();
}

#[tokio::test]
async fn a_request_of_another_shape_is_not_answered_by_the_mock() {
    // Positive control of the mocks above: the same mock refuses a body that differs from
    // the documented one (here the OpenBao path instead of Vault's).
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sys/rekey/init"))
        .and(body_json(
            json!({"secret_shares": 6, "secret_threshold": 4, "require_verification": true}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"started": true})))
        .expect(0)
        .mount(&server)
        .await;
    let req = RekeyRequest {
        split: KeySplit::new(6, 4).unwrap(),
        pgp_keys: Vec::new(),
        require_verification: true,
    };
    let e = client(&server.uri())
        .rekey_start(RekeyEndpoint::RotateRoot, &req)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    let req = RekeyRequest {
        require_verification: false,
        ..req
    };
    let e = client(&server.uri())
        .rekey_start(RekeyEndpoint::Legacy, &req)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
}
