//! AppRole and response wrapping against a real `bao server -dev`.
//!
//! The dev server has no AppRole mount, so each test enables one with a raw request (the
//! mounts API is tested elsewhere). CIDR restrictions use 10.99.0.0/16 only as a rule the
//! server checks against the loopback source address: no traffic goes to that range.

use std::collections::BTreeMap;
use vaultops_api::{
    AppRoleSpec, ErrorKind, NodeClient, SecretIdRequest, TokenType, Ttl, DEFAULT_APPROLE_MOUNT,
};
use vaultops_testkit::DevServer;

const M: &str = DEFAULT_APPROLE_MOUNT;

/// A raw authenticated request with the root token, for setup the tests do not exercise.
async fn raw(dev: &DevServer, method: reqwest::Method, path: &str, body: serde_json::Value) {
    let resp = reqwest::Client::new()
        .request(method, format!("{}/v1/{path}", dev.addr()))
        .header("X-Vault-Token", dev.root_token().expose())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert!(
        status.is_success(),
        "setup {path}: HTTP {status}: {}",
        resp.text().await.unwrap_or_default()
    );
}

async fn dev_with_approle() -> (DevServer, NodeClient) {
    let dev = DevServer::start().await;
    raw(
        &dev,
        reqwest::Method::POST,
        "sys/auth/approle",
        serde_json::json!({"type": "approle"}),
    )
    .await;
    let c = dev.client();
    (dev, c)
}

/// Creates a role with the given policies and returns its role-id.
async fn role(c: &NodeClient, name: &str, spec: AppRoleSpec) -> String {
    c.approle_write_role(M, name, &spec).await.unwrap();
    c.approle_role_id(M, name)
        .await
        .unwrap()
        .expect("role-id of a new role")
}

fn policies(p: &[&str]) -> AppRoleSpec {
    AppRoleSpec {
        token_policies: Some(p.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    }
}

#[tokio::test]
async fn role_crud_round_trip() {
    let (_dev, c) = dev_with_approle().await;
    assert!(c.approle_list_roles(M).await.unwrap().is_empty());
    assert!(c.approle_read_role(M, "atmr-api").await.unwrap().is_none());
    assert!(c.approle_role_id(M, "atmr-api").await.unwrap().is_none());

    let spec = AppRoleSpec {
        token_policies: Some(vec!["atmr".into(), "metrics".into()]),
        token_ttl: Some("24h".into()),
        token_max_ttl: Some(Ttl::Secs(172_800)),
        token_explicit_max_ttl: Some("72h".into()),
        token_period: Some(0.into()),
        token_type: Some(TokenType::Service),
        token_num_uses: Some(0),
        token_bound_cidrs: Some(vec!["127.0.0.0/8".into()]),
        token_no_default_policy: Some(false),
        secret_id_ttl: Some("1h".into()),
        secret_id_num_uses: Some(10_000),
        secret_id_bound_cidrs: Some(vec!["127.0.0.0/8".into()]),
        bind_secret_id: Some(true),
        local_secret_ids: Some(false),
    };
    c.approle_write_role(M, "atmr-api", &spec).await.unwrap();

    let read = c.approle_read_role(M, "atmr-api").await.unwrap().unwrap();
    // The server answers every TTL in seconds; Ttl compares by seconds.
    assert_eq!(read.token_ttl, Some(Ttl::Secs(86_400)));
    assert_eq!(read, spec, "every parameter must read back as written");

    // A partial update changes only what is set.
    c.approle_write_role(
        M,
        "atmr-api",
        &AppRoleSpec {
            token_ttl: Some("2h".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let read = c.approle_read_role(M, "atmr-api").await.unwrap().unwrap();
    assert_eq!(read.token_ttl.unwrap().as_secs(), Some(7_200));
    assert_eq!(read.token_policies, spec.token_policies);
    assert_eq!(read.secret_id_num_uses, Some(10_000));

    c.approle_write_role(M, "other", &policies(&["x"]))
        .await
        .unwrap();
    let mut roles = c.approle_list_roles(M).await.unwrap();
    roles.sort();
    assert_eq!(roles, ["atmr-api", "other"]);

    c.approle_delete_role(M, "atmr-api").await.unwrap();
    assert!(c.approle_read_role(M, "atmr-api").await.unwrap().is_none());
    assert_eq!(c.approle_list_roles(M).await.unwrap(), ["other"]);
    // Deleting again is not an error.
    c.approle_delete_role(M, "atmr-api").await.unwrap();

    // A server-side refusal keeps the status and the server's message.
    let err = c
        .approle_write_role(
            M,
            "bad",
            &AppRoleSpec {
                token_type: Some(TokenType::Batch),
                token_period: Some("1h".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.to_string().contains("periodic"), "{err}");

    // A name that would escape the role path is refused before sending.
    let err = c.approle_read_role(M, "..").await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::InvalidRequest(_)), "{err:?}");
}

#[tokio::test]
async fn role_id_read_and_set() {
    let (_dev, c) = dev_with_approle().await;
    let generated = role(&c, "svc", policies(&["svc"])).await;
    assert_eq!(
        generated.len(),
        36,
        "a generated role-id is a UUID: {generated}"
    );

    c.approle_set_role_id(M, "svc", "svc-fixed-role-id")
        .await
        .unwrap();
    assert_eq!(
        c.approle_role_id(M, "svc").await.unwrap().as_deref(),
        Some("svc-fixed-role-id")
    );
    let sid = c
        .approle_generate_secret_id(M, "svc", &SecretIdRequest::default())
        .await
        .unwrap();
    c.approle_login(M, "svc-fixed-role-id", &sid.secret_id)
        .await
        .unwrap();
    let err = c
        .approle_login(M, &generated, &sid.secret_id)
        .await
        .unwrap_err();
    assert_eq!(
        err.status(),
        Some(400),
        "the old role-id must no longer work: {err}"
    );
}

#[tokio::test]
async fn secret_id_with_metadata_and_cidr_logs_in_from_loopback() {
    let (_dev, c) = dev_with_approle().await;
    let role_id = role(
        &c,
        "atmr-api",
        AppRoleSpec {
            token_ttl: Some("24h".into()),
            secret_id_bound_cidrs: Some(vec!["127.0.0.0/8".into()]),
            ..policies(&["atmr"])
        },
    )
    .await;

    let req = SecretIdRequest {
        metadata: BTreeMap::from([("host".to_string(), "api-1".to_string())]),
        cidr_list: vec!["127.0.0.1/32".into()],
        token_bound_cidrs: vec!["127.0.0.1/32".into()],
        ttl: Some("10m".into()),
        num_uses: Some(5),
    };
    let sid = c
        .approle_generate_secret_id(M, "atmr-api", &req)
        .await
        .unwrap();
    assert_eq!((sid.secret_id_ttl, sid.secret_id_num_uses), (600, 5));
    assert!(
        !format!("{sid:?}").contains(sid.secret_id.expose()),
        "Debug leaks the secret-id"
    );

    let info = c
        .approle_lookup_secret_id(M, "atmr-api", &sid.secret_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.secret_id_accessor, sid.secret_id_accessor);
    assert_eq!(info.metadata.get("host").map(String::as_str), Some("api-1"));
    assert_eq!(info.cidr_list, ["127.0.0.1/32"]);
    assert_eq!(info.token_bound_cidrs, ["127.0.0.1/32"]);

    // Log in from a client that has no token at all.
    let anon = c.without_token();
    let auth = anon
        .approle_login(M, &role_id, &sid.secret_id)
        .await
        .unwrap();
    assert!(
        !format!("{auth:?}").contains(auth.client_token.expose()),
        "Debug leaks the token"
    );
    assert_eq!(auth.token_policies, ["atmr", "default"]);
    assert_eq!(auth.lease_duration, 86_400);
    assert!(auth.renewable && auth.orphan);
    assert_eq!(auth.metadata.get("host").map(String::as_str), Some("api-1"));
    assert_eq!(
        auth.metadata.get("role_name").map(String::as_str),
        Some("atmr-api")
    );

    let me = c
        .with_token(auth.client_token.clone())
        .token_lookup_self()
        .await
        .unwrap();
    assert_eq!(me.accessor, auth.accessor);
    assert_eq!(me.policies, ["atmr", "default"]);
    assert_eq!(me.path, "auth/approle/login");
    // The token carries the secret-id's token_bound_cidrs; the server writes a /32 as a bare address.
    assert_eq!(me.bound_cidrs, ["127.0.0.1"]);

    // One of the five uses is spent.
    let info = c
        .approle_lookup_secret_id_accessor(M, "atmr-api", &sid.secret_id_accessor)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.secret_id_num_uses, 4);
}

#[tokio::test]
async fn cidr_restrictions_refuse_a_loopback_login() {
    let (_dev, c) = dev_with_approle().await;

    // Restriction on the secret-id.
    let role_id = role(&c, "open-role", policies(&["p"])).await;
    let sid = c
        .approle_generate_secret_id(
            M,
            "open-role",
            &SecretIdRequest {
                cidr_list: vec!["10.99.0.0/16".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let err = c
        .approle_login(M, &role_id, &sid.secret_id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let msg = err.server_errors().join(" ");
    assert!(
        msg.contains("127.0.0.1") && msg.contains("unauthorized") && msg.contains("CIDR"),
        "{msg}"
    );
    assert_eq!(err.op, "approle login");

    // Restriction on the role.
    let role_id = role(
        &c,
        "fenced-role",
        AppRoleSpec {
            secret_id_bound_cidrs: Some(vec!["10.99.0.0/16".into()]),
            ..policies(&["p"])
        },
    )
    .await;
    let sid = c
        .approle_generate_secret_id(M, "fenced-role", &SecretIdRequest::default())
        .await
        .unwrap();
    let err = c
        .approle_login(M, &role_id, &sid.secret_id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let msg = err.server_errors().join(" ");
    assert!(
        msg.contains("unauthorized by CIDR restrictions on the role"),
        "{msg}"
    );

    // A secret-id CIDR outside the role's own CIDRs cannot even be issued.
    let err = c
        .approle_generate_secret_id(
            M,
            "fenced-role",
            &SecretIdRequest {
                cidr_list: vec!["192.168.0.0/16".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.server_errors().join(" ").contains("subset"), "{err}");
}

#[tokio::test]
async fn single_use_secret_id_allows_one_login() {
    let (_dev, c) = dev_with_approle().await;
    let role_id = role(&c, "once", policies(&["p"])).await;
    let sid = c
        .approle_generate_secret_id(
            M,
            "once",
            &SecretIdRequest {
                num_uses: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    c.approle_login(M, &role_id, &sid.secret_id).await.unwrap();
    let err = c
        .approle_login(M, &role_id, &sid.secret_id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert_eq!(err.server_errors(), ["invalid role or secret ID"]);
}

#[tokio::test]
async fn accessor_list_lookup_and_destroy() {
    let (_dev, c) = dev_with_approle().await;
    let role_id = role(&c, "r", policies(&["p"])).await;
    assert!(c
        .approle_list_secret_id_accessors(M, "r")
        .await
        .unwrap()
        .is_empty());

    let a = c
        .approle_generate_secret_id(M, "r", &SecretIdRequest::default())
        .await
        .unwrap();
    let b = c
        .approle_generate_secret_id(M, "r", &SecretIdRequest::default())
        .await
        .unwrap();
    let mut listed = c.approle_list_secret_id_accessors(M, "r").await.unwrap();
    listed.sort();
    let mut expected = vec![a.secret_id_accessor.clone(), b.secret_id_accessor.clone()];
    expected.sort();
    assert_eq!(listed, expected);
    // The listing holds accessors, never the secret-ids.
    assert!(!listed
        .iter()
        .any(|x| x == a.secret_id.expose() || x == b.secret_id.expose()));

    let info = c
        .approle_lookup_secret_id_accessor(M, "r", &a.secret_id_accessor)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.secret_id_accessor, a.secret_id_accessor);

    // Destroy by accessor: the secret-id can no longer log in.
    c.approle_destroy_secret_id_accessor(M, "r", &a.secret_id_accessor)
        .await
        .unwrap();
    assert!(c
        .approle_lookup_secret_id_accessor(M, "r", &a.secret_id_accessor)
        .await
        .unwrap()
        .is_none());
    assert!(c
        .approle_lookup_secret_id(M, "r", &a.secret_id)
        .await
        .unwrap()
        .is_none());
    let err = c
        .approle_login(M, &role_id, &a.secret_id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert_eq!(
        c.approle_list_secret_id_accessors(M, "r").await.unwrap(),
        [b.secret_id_accessor.as_str()]
    );
    // Destroying an accessor that is gone is reported, with the server's message.
    let err = c
        .approle_destroy_secret_id_accessor(M, "r", &a.secret_id_accessor)
        .await
        .unwrap_err();
    assert!(
        err.server_errors()
            .join(" ")
            .contains("failed to find accessor"),
        "{err}"
    );

    // Destroy by value.
    c.approle_login(M, &role_id, &b.secret_id).await.unwrap();
    c.approle_destroy_secret_id(M, "r", &b.secret_id)
        .await
        .unwrap();
    assert!(c
        .approle_lookup_secret_id(M, "r", &b.secret_id)
        .await
        .unwrap()
        .is_none());
    assert!(c.approle_login(M, &role_id, &b.secret_id).await.is_err());
    assert!(c
        .approle_list_secret_id_accessors(M, "r")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn wrapped_secret_id_unwraps_exactly_once() {
    let (_dev, c) = dev_with_approle().await;
    let role_id = role(&c, "wrapped", policies(&["p"])).await;

    let wrap = c
        .approle_generate_secret_id_wrapped(M, "wrapped", &SecretIdRequest::default(), "90s".into())
        .await
        .unwrap();
    assert!(
        !format!("{wrap:?}").contains(wrap.token.expose()),
        "Debug leaks the wrapping token"
    );
    assert_eq!(wrap.ttl, 90);
    assert_eq!(wrap.creation_path, "auth/approle/role/wrapped/secret-id");

    // Anyone can look it up without using it up, and without a token.
    let anon = c.without_token();
    let look = anon.wrapping_lookup(&wrap.token).await.unwrap();
    assert_eq!(look.creation_path, wrap.creation_path);
    assert_eq!(look.creation_ttl, 90);

    // The receiver needs no token of its own to unwrap.
    let sid = anon.approle_unwrap_secret_id(&wrap.token).await.unwrap();
    assert_eq!(
        Some(&sid.secret_id_accessor),
        wrap.wrapped_accessor.as_ref()
    );
    c.approle_login(M, &role_id, &sid.secret_id).await.unwrap();

    // A second unwrap (an interceptor, or a replay) is refused recognisably.
    let err = anon
        .unwrap::<serde_json::Value>(&wrap.token)
        .await
        .unwrap_err();
    assert!(err.is_invalid_wrapping_token(), "{err:?}");
    assert_eq!(err.status(), Some(400));
    assert!(!err.is_cas_mismatch() && !err.is_permission_denied());
    let err = anon.wrapping_lookup(&wrap.token).await.unwrap_err();
    assert!(err.is_invalid_wrapping_token(), "{err:?}");

    // A zero wrap TTL would silently return the secret-id unwrapped: refused before sending.
    let err = c
        .approle_generate_secret_id_wrapped(M, "wrapped", &SecretIdRequest::default(), Ttl::Secs(0))
        .await
        .unwrap_err();
    assert!(matches!(err.kind, ErrorKind::InvalidRequest(_)), "{err:?}");
    assert_eq!(
        c.approle_list_secret_id_accessors(M, "wrapped")
            .await
            .unwrap()
            .len(),
        1
    );
}
