//! Token endpoints against a real `bao server -dev`.

use std::collections::BTreeMap;
use vaultops_api::{TokenCreateRequest, TokenType, Ttl};
use vaultops_testkit::DevServer;

#[tokio::test]
async fn create_lookup_renew_and_revoke_self() {
    let dev = DevServer::start().await;
    let c = dev.client();
    let auth = c
        .token_create(&TokenCreateRequest {
            policies: vec!["atmr".into()],
            ttl: Some("1h".into()),
            explicit_max_ttl: Some(Ttl::Secs(7_200)),
            display_name: Some("svc".into()),
            meta: BTreeMap::from([("team".to_string(), "ops".to_string())]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(auth.token_policies, ["atmr", "default"]);
    assert_eq!(auth.lease_duration, 3_600);
    assert!(auth.renewable && !auth.orphan);
    assert_eq!(auth.token_type, Some(TokenType::Service));
    assert_eq!(auth.metadata.get("team").map(String::as_str), Some("ops"));
    assert!(
        !format!("{auth:?}").contains(auth.client_token.expose()),
        "Debug leaks the token"
    );

    let t = c.with_token(auth.client_token.clone());
    let me = t.token_lookup_self().await.unwrap();
    assert!(!format!("{me:?}").contains(auth.client_token.expose()));
    assert_eq!(me.accessor, auth.accessor);
    assert_eq!(me.policies, ["atmr", "default"]);
    assert_eq!(me.display_name, "token-svc");
    assert_eq!(me.meta.get("team").map(String::as_str), Some("ops"));
    assert!((3_500..=3_600).contains(&me.ttl), "ttl {}", me.ttl);
    assert_eq!((me.creation_ttl, me.explicit_max_ttl), (3_600, 7_200));
    assert!(me.expire_time.is_some());
    assert_eq!(me.path, "auth/token/create");
    assert_eq!(me.token_type, TokenType::Service);
    assert!(!me.orphan && me.renewable);

    let renewed = t.token_renew_self(Some("30m".into())).await.unwrap();
    assert_eq!(renewed.lease_duration, 1_800);
    assert_eq!(renewed.accessor, auth.accessor);

    t.token_revoke_self().await.unwrap();
    let err = t.token_lookup_self().await.unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    assert_eq!(err.status(), Some(403));
    assert_eq!(err.op, "token lookup-self");

    // Bad input the server refuses keeps the server's message.
    let err = c
        .token_create(&TokenCreateRequest {
            ttl: Some("ten minutes".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("invalid duration"), "{err}");
}

#[tokio::test]
async fn orphans_outlive_their_creator_and_children_do_not() {
    let dev = DevServer::start().await;
    let c = dev.client();
    // A creator token whose policy may create tokens (set up by raw request).
    let resp = reqwest::Client::new()
        .put(format!("{}/v1/sys/policies/acl/token-maker", dev.addr()))
        .header("X-Vault-Token", dev.root_token().expose())
        .json(&serde_json::json!({"policy": "path \"auth/token/create\" { capabilities = [\"update\"] }\npath \"auth/token/create-orphan\" { capabilities = [\"update\"] }"}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let creator = c.with_token(
        c.token_create(&TokenCreateRequest {
            policies: vec!["token-maker".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .client_token,
    );

    let child = creator
        .token_create(&TokenCreateRequest::default())
        .await
        .unwrap();
    let orphan = creator
        .token_create_orphan(&TokenCreateRequest::default())
        .await
        .unwrap();
    assert!(!child.orphan && orphan.orphan);

    let o = c.with_token(orphan.client_token);
    let info = o.token_lookup_self().await.unwrap();
    assert_eq!(info.path, "auth/token/create-orphan");
    assert!(info.orphan && info.period.is_none());

    // A periodic token needs root or sudo: the creator is refused, root is not.
    let periodic = TokenCreateRequest {
        period: Some("1h".into()),
        ..Default::default()
    };
    let err = creator.token_create_orphan(&periodic).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.to_string().contains("root or sudo"), "{err}");
    let p = c.token_create_orphan(&periodic).await.unwrap();
    let info = c
        .with_token(p.client_token)
        .token_lookup_self()
        .await
        .unwrap();
    assert_eq!(info.period, Some(3_600));

    creator.token_revoke_self().await.unwrap();
    let err = c
        .with_token(child.client_token)
        .token_lookup_self()
        .await
        .unwrap_err();
    assert!(
        err.is_permission_denied(),
        "the child must die with its parent: {err:?}"
    );
    o.token_lookup_self().await.unwrap();
}

#[tokio::test]
async fn lookup_and_revoke_by_accessor() {
    let dev = DevServer::start().await;
    let c = dev.client();
    let auth = c
        .token_create(&TokenCreateRequest {
            policies: vec!["p".into()],
            ..Default::default()
        })
        .await
        .unwrap();

    let info = c
        .token_lookup_accessor(&auth.accessor)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.accessor, auth.accessor);
    assert_eq!(info.policies, ["default", "p"]);

    c.token_revoke_accessor(&auth.accessor).await.unwrap();
    let err = c
        .with_token(auth.client_token)
        .token_lookup_self()
        .await
        .unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    assert!(c
        .token_lookup_accessor(&auth.accessor)
        .await
        .unwrap()
        .is_none());
    // Revoking again is not an error (the server only warns).
    c.token_revoke_accessor(&auth.accessor).await.unwrap();
    assert!(c.token_lookup_accessor("").await.is_err());
}

#[tokio::test]
async fn a_token_without_access_is_permission_denied() {
    let dev = DevServer::start().await;
    let c = dev.client();
    let auth = c
        .token_create(&TokenCreateRequest {
            policies: vec!["nothing".into()],
            no_default_policy: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(auth.token_policies, ["nothing"]);
    let weak = c.with_token(auth.client_token);
    // Without the default policy a token cannot even look itself up.
    let err = weak.token_lookup_self().await.unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    let err = weak.kv_read("secret", "anything").await.unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    let err = weak
        .token_create(&TokenCreateRequest::default())
        .await
        .unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    assert!(!err.is_sealed() && !err.is_unreachable() && !err.is_invalid_wrapping_token());
}
