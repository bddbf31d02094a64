//! Status endpoints against a real `bao server -dev`.

use vaultops_api::{ClientConfig, ErrorKind, HealthQuery, NodeClient, NodeRole};
use vaultops_testkit::DevServer;

#[tokio::test]
async fn health_seal_status_and_leader_on_an_active_node() {
    let dev = DevServer::start().await;
    let c = dev.client();

    let h = c.health().await.unwrap();
    assert_eq!(h.status, 200);
    assert_eq!(h.role, NodeRole::Active);
    assert_eq!(h.body.version.as_deref(), Some("2.7.2"));

    let h = c
        .health_with(&HealthQuery {
            activecode: Some(299),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(h.status, 299, "activecode must be honoured");
    assert_eq!(h.role, NodeRole::Active);

    let s = c.seal_status().await.unwrap();
    assert!(s.initialized && !s.sealed);
    assert_eq!(s.seal_type, "shamir");

    // A dev server has no HA storage: leader answers, without HA.
    let l = c.leader().await.unwrap();
    assert!(!l.ha_enabled);

    assert!(c.init_status().await.unwrap());
}

#[tokio::test]
async fn sealed_node_reports_sealed_everywhere() {
    let dev = DevServer::start().await;
    let c = dev.client();
    c.seal().await.unwrap();

    let h = c.health().await.unwrap();
    assert_eq!((h.status, h.role), (503, NodeRole::Sealed));
    let err = c.mounts_list().await.unwrap_err();
    assert!(err.is_sealed(), "{err:?}");
    assert!(matches!(err.kind, ErrorKind::Sealed { status: 503, .. }));
    assert!(
        err.to_string().contains("mounts list on http://127.0.0.1:"),
        "{err}"
    );
    let s = c.seal_status().await.unwrap();
    assert!(s.sealed);
}

#[tokio::test]
async fn permission_denied_and_unreachable_are_distinct() {
    let dev = DevServer::start().await;
    let anon = dev.client().without_token();
    let err = anon.seal().await.unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    assert_eq!(err.status(), Some(403));

    let port = vaultops_testkit::free_port();
    let dead = NodeClient::new(
        &format!("http://127.0.0.1:{port}"),
        &ClientConfig {
            allow_plain_http: true,
            ..Default::default()
        },
    )
    .unwrap();
    let err = dead.health().await.unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
    assert!(!err.is_tls());
}
