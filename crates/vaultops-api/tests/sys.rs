//! Administration endpoints (policies, auth methods, mounts, audit, capabilities) against a
//! real `bao server -dev`.

use std::collections::BTreeMap;
use vaultops_api::TokenCreateRequest;
use vaultops_api::{AuditEnableRequest, EnableRequest, ErrorKind, MountConfig};
use vaultops_testkit::DevServer;

const POLICY: &str = r#"path "secret/data/app/*" { capabilities = ["read", "update"] }"#;

#[tokio::test]
async fn policy_write_read_list_delete() {
    let dev = DevServer::start().await;
    let c = dev.client();

    assert_eq!(c.policy_read("app-read").await.unwrap(), None);
    c.policy_write("app-read", POLICY).await.unwrap();
    assert_eq!(
        c.policy_read("app-read").await.unwrap().as_deref(),
        Some(POLICY)
    );
    let names = c.policy_list().await.unwrap();
    assert!(names.iter().any(|n| n == "app-read"), "{names:?}");
    assert!(names.iter().any(|n| n == "default"), "{names:?}");

    c.policy_delete("app-read").await.unwrap();
    assert_eq!(c.policy_read("app-read").await.unwrap(), None);
    assert!(!c
        .policy_list()
        .await
        .unwrap()
        .iter()
        .any(|n| n == "app-read"));
}

#[tokio::test]
async fn policy_with_hcl_syntax_error_keeps_the_server_message() {
    let dev = DevServer::start().await;
    let c = dev.client();
    let err = c
        .policy_write("broken", r#"path "x" { capabilities = ["read" }"#)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    assert!(
        matches!(err.kind, ErrorKind::Server { status: 400, .. }),
        "{err:?}"
    );
    assert!(
        err.server_errors()
            .iter()
            .any(|e| e.contains("failed to parse policy")),
        "{:?}",
        err.server_errors()
    );
    assert!(
        err.to_string()
            .starts_with("policy write on http://127.0.0.1:"),
        "{err}"
    );
    // Nothing was stored.
    assert_eq!(c.policy_read("broken").await.unwrap(), None);
}

#[tokio::test]
async fn bad_names_are_refused_before_sending() {
    let dev = DevServer::start().await;
    let c = dev.client();
    for name in ["", "..", "a/b"] {
        let err = c.policy_write(name, POLICY).await.unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::InvalidRequest(_)),
            "{name:?}: {err:?}"
        );
    }
    let err = c
        .mount_enable("x/../sys", &EnableRequest::kv_v2())
        .await
        .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::InvalidRequest(_)), "{err:?}");
}

#[tokio::test]
async fn auth_method_enable_list_tune_disable() {
    let dev = DevServer::start().await;
    let c = dev.client();

    let req = EnableRequest {
        description: "apps".into(),
        config: MountConfig {
            default_lease_ttl: Some("1h".into()),
            max_lease_ttl: Some("2h".into()),
            ..Default::default()
        },
        ..EnableRequest::new("approle")
    };
    c.auth_enable("approle-test", &req).await.unwrap();

    let list = c.auth_list().await.unwrap();
    let m = &list["approle-test/"];
    assert_eq!(m.mount_type, "approle");
    assert_eq!(m.description, "apps");
    assert_eq!(m.config.default_lease_ttl, 3600);
    assert_eq!(m.config.max_lease_ttl, 7200);
    assert!(m.accessor.starts_with("auth_approle_"), "{m:?}");
    assert!(list.contains_key("token/"));

    // Enabling again at the same path is refused with the server's reason.
    let err = c.auth_enable("approle-test", &req).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(
        err.server_errors()[0].contains("path is already in use"),
        "{err:?}"
    );

    c.auth_tune(
        "approle-test",
        &MountConfig {
            default_lease_ttl: Some("30m".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let t = c.auth_tune_read("approle-test").await.unwrap();
    assert_eq!(t.config.default_lease_ttl, 1800);
    assert_eq!(t.config.max_lease_ttl, 7200, "untouched by the tune");
    assert_eq!(t.description, "apps");

    c.auth_disable("approle-test").await.unwrap();
    assert!(!c.auth_list().await.unwrap().contains_key("approle-test/"));
}

#[tokio::test]
async fn kv_v2_mount_enable_list_tune_disable() {
    let dev = DevServer::start().await;
    let c = dev.client();

    c.mount_enable("team-a/kv", &EnableRequest::kv_v2())
        .await
        .unwrap();
    let mounts = c.mounts_list().await.unwrap();
    let m = &mounts["team-a/kv/"];
    assert_eq!(m.mount_type, "kv");
    assert_eq!(
        m.options,
        Some(BTreeMap::from([("version".to_owned(), "2".to_owned())]))
    );
    assert!(m.is_kv_v2());
    assert!(!mounts["sys/"].is_kv_v2());

    c.mount_tune(
        "team-a/kv",
        &MountConfig {
            max_lease_ttl: Some("48h".into()),
            description: Some("team A secrets".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let t = c.mount_tune_read("team-a/kv").await.unwrap();
    assert_eq!(t.config.max_lease_ttl, 48 * 3600);
    assert_eq!(t.description, "team A secrets");
    assert_eq!(
        t.options
            .as_ref()
            .and_then(|o| o.get("version"))
            .map(String::as_str),
        Some("2")
    );

    c.mount_disable("team-a/kv").await.unwrap();
    assert!(!c.mounts_list().await.unwrap().contains_key("team-a/kv/"));
    // Tune-reading a path with nothing mounted is an error that keeps the server's words.
    let err = c.mount_tune_read("team-a/kv").await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    assert!(
        err.server_errors()[0].contains("cannot fetch sysview"),
        "{err:?}"
    );
}

#[tokio::test]
async fn audit_enable_is_refused_by_openbao_and_list_works() {
    let dev = DevServer::start().await;
    let c = dev.client();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.log");

    let err = c
        .audit_enable(
            "file-api",
            &AuditEnableRequest::file(file.display().to_string()),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind, ErrorKind::Server { status: 400, .. }),
        "{err:?}"
    );
    assert!(
        err.server_errors()
            .iter()
            .any(|e| e.contains("cannot enable audit device via API")),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("audit enable on "), "{err}");
    assert!(!file.exists());
    assert!(c.audit_list().await.unwrap().is_empty());
    // Disabling a path with no device is accepted by the server.
    c.audit_disable("file-api").await.unwrap();
}

#[tokio::test]
async fn capabilities_of_a_policy_token() {
    let dev = DevServer::start().await;
    let c = dev.client();
    c.policy_write("app", POLICY).await.unwrap();
    let auth = c
        .token_create(&TokenCreateRequest {
            policies: vec!["app".into()],
            ..Default::default()
        })
        .await
        .unwrap();

    let allowed = "secret/data/app/db";
    let denied = "secret/data/other/db";
    let caps = c
        .capabilities(&auth.client_token, &[allowed, denied])
        .await
        .unwrap();
    assert_eq!(caps.len(), 2, "{caps:?}");
    assert_eq!(caps[allowed], ["read", "update"]);
    assert_eq!(caps[denied], ["deny"]);

    // A single path: the server's legacy "capabilities" key must not leak through.
    let caps = c
        .capabilities(&auth.client_token, &[allowed])
        .await
        .unwrap();
    assert_eq!(caps.keys().collect::<Vec<_>>(), [allowed]);

    let by_accessor = c
        .capabilities_accessor(&auth.accessor, &[allowed, denied])
        .await
        .unwrap();
    assert_eq!(by_accessor[allowed], ["read", "update"]);
    assert_eq!(by_accessor[denied], ["deny"]);

    let own = c
        .with_token(auth.client_token.clone())
        .capabilities_self(&[allowed, denied])
        .await
        .unwrap();
    assert_eq!(own[allowed], ["read", "update"]);
    assert_eq!(own[denied], ["deny"]);

    let root = c.capabilities_self(&[denied]).await.unwrap();
    assert_eq!(root[denied], ["root"]);

    let err = c.capabilities_self(&[]).await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::InvalidRequest(_)), "{err:?}");
    let err = c
        .capabilities_accessor("no-such-accessor", &[allowed])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    assert!(
        err.server_errors()[0].contains("invalid accessor"),
        "{err:?}"
    );
}
