//! KV v2 against a real `bao server -dev` (its built-in `secret/` mount is KV v2).

use serde_json::json;
use vaultops_api::{ErrorKind, TokenCreateRequest};
use vaultops_testkit::DevServer;

const M: &str = "secret";

#[tokio::test]
async fn write_read_versions_and_check_and_set() {
    let dev = DevServer::start().await;
    let c = dev.client();
    assert!(c.kv_read(M, "atmr/db").await.unwrap().is_none());

    // cas=0: create only if absent.
    let v1 = c
        .kv_write(M, "atmr/db", &json!({"user": "app", "port": 5432}), Some(0))
        .await
        .unwrap();
    assert_eq!(v1.version, 1);
    assert!(v1.deletion_time.is_none() && !v1.destroyed);
    let err = c
        .kv_write(M, "atmr/db", &json!({"user": "intruder"}), Some(0))
        .await
        .unwrap_err();
    assert!(err.is_cas_mismatch(), "{err:?}");
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.op, "kv write");

    // Wrong version: refused; right version: accepted.
    let err = c
        .kv_write(M, "atmr/db", &json!({"user": "x"}), Some(7))
        .await
        .unwrap_err();
    assert!(err.is_cas_mismatch(), "{err:?}");
    let v2 = c
        .kv_write(M, "atmr/db", &json!({"user": "app2"}), Some(1))
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    // Without cas: last writer wins.
    let mut map = serde_json::Map::new();
    map.insert("user".into(), json!("app3"));
    let v3 = c.kv_write(M, "atmr/db", &map, None).await.unwrap();
    assert_eq!(v3.version, 3);

    let latest = c.kv_read(M, "atmr/db").await.unwrap().unwrap();
    assert_eq!(latest.metadata.version, 3);
    assert_eq!(latest.data, map);
    let first = c.kv_read_version(M, "atmr/db", 1).await.unwrap().unwrap();
    assert_eq!(first.data["port"], 5432);
    assert_eq!(first.data["user"], "app");
    assert!(c.kv_read_version(M, "atmr/db", 99).await.unwrap().is_none());
    let err = c.kv_read_version(M, "atmr/db", 0).await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::InvalidRequest(_)), "{err:?}");

    // A struct works as data too; so do names that need encoding.
    #[derive(serde::Serialize)]
    struct Creds<'a> {
        user: &'a str,
    }
    c.kv_write(M, "atmr/db config #2", &Creds { user: "s" }, None)
        .await
        .unwrap();
    let odd = c.kv_read(M, "atmr/db config #2").await.unwrap().unwrap();
    assert_eq!(odd.data["user"], "s");

    // Paths that could escape the mount are refused before sending.
    let err = c.kv_read(M, "../../sys/seal-status").await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::InvalidRequest(_)), "{err:?}");
    let err = c.kv_read("", "x").await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::InvalidRequest(_)), "{err:?}");
}

#[tokio::test]
async fn list_keys_and_folders() {
    let dev = DevServer::start().await;
    let c = dev.client();
    assert!(c.kv_list(M, "").await.unwrap().is_empty());
    for key in ["app/a", "app/b", "app/sub/c", "other"] {
        c.kv_write(M, key, &json!({"k": key}), None).await.unwrap();
    }
    assert_eq!(c.kv_list(M, "app").await.unwrap(), ["a", "b", "sub/"]);
    assert_eq!(c.kv_list(M, "app/sub/").await.unwrap(), ["c"]);
    assert_eq!(c.kv_list(M, "").await.unwrap(), ["app/", "other"]);
    assert!(c.kv_list(M, "nothing/here").await.unwrap().is_empty());
}

#[tokio::test]
async fn delete_undelete_destroy_and_metadata() {
    let dev = DevServer::start().await;
    let c = dev.client();
    assert!(c.kv_metadata(M, "k").await.unwrap().is_none());
    c.kv_write(M, "k", &json!({"v": 1}), None).await.unwrap();
    c.kv_write(M, "k", &json!({"v": 2}), None).await.unwrap();

    let meta = c.kv_metadata(M, "k").await.unwrap().unwrap();
    assert_eq!(meta.current_version, 2);
    assert_eq!(meta.versions.keys().copied().collect::<Vec<_>>(), [1, 2]);
    assert!(meta
        .versions
        .values()
        .all(|v| v.deletion_time.is_none() && !v.destroyed));
    assert!(!meta.cas_required);

    // Soft delete of the latest: nothing to read, but the metadata remembers.
    c.kv_delete(M, "k").await.unwrap();
    assert!(c.kv_read(M, "k").await.unwrap().is_none());
    assert_eq!(
        c.kv_read_version(M, "k", 1).await.unwrap().unwrap().data["v"],
        1
    );
    let meta = c.kv_metadata(M, "k").await.unwrap().unwrap();
    assert!(meta.versions[&2].deletion_time.is_some());
    assert!(!meta.versions[&2].destroyed);

    c.kv_undelete(M, "k", &[2]).await.unwrap();
    assert_eq!(c.kv_read(M, "k").await.unwrap().unwrap().data["v"], 2);

    // Delete and destroy an older version.
    c.kv_delete_versions(M, "k", &[1]).await.unwrap();
    assert!(c.kv_read_version(M, "k", 1).await.unwrap().is_none());
    c.kv_destroy(M, "k", &[1]).await.unwrap();
    let meta = c.kv_metadata(M, "k").await.unwrap().unwrap();
    assert!(meta.versions[&1].destroyed);
    // A destroyed version cannot be brought back.
    c.kv_undelete(M, "k", &[1]).await.unwrap();
    assert!(c.kv_read_version(M, "k", 1).await.unwrap().is_none());
    assert!(c.kv_metadata(M, "k").await.unwrap().unwrap().versions[&1].destroyed);

    let err = c.kv_destroy(M, "k", &[]).await.unwrap_err();
    assert!(matches!(err.kind, ErrorKind::InvalidRequest(_)), "{err:?}");

    // Deleting the metadata removes the key entirely.
    c.kv_delete_metadata(M, "k").await.unwrap();
    assert!(c.kv_metadata(M, "k").await.unwrap().is_none());
    assert!(c.kv_read_version(M, "k", 2).await.unwrap().is_none());
    assert!(c.kv_list(M, "").await.unwrap().is_empty());
    c.kv_delete_metadata(M, "k").await.unwrap();
}

#[tokio::test]
async fn a_policy_limits_kv_access_and_denial_is_not_a_cas_mismatch() {
    let dev = DevServer::start().await;
    let c = dev.client();
    // Setup by raw request: the policy API is tested elsewhere.
    let resp = reqwest::Client::new()
        .put(format!("{}/v1/sys/policies/acl/atmr-read", dev.addr()))
        .header("X-Vault-Token", dev.root_token().expose())
        .json(&json!({"policy": "path \"secret/data/atmr/*\" { capabilities = [\"read\"] }"}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    c.kv_write(M, "atmr/db", &json!({"p": "x"}), None)
        .await
        .unwrap();
    c.kv_write(M, "other/db", &json!({"p": "y"}), None)
        .await
        .unwrap();

    let token = c
        .token_create(&TokenCreateRequest {
            policies: vec!["atmr-read".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .client_token;
    let reader = c.with_token(token);
    assert_eq!(
        reader.kv_read(M, "atmr/db").await.unwrap().unwrap().data["p"],
        "x"
    );
    for err in [
        reader.kv_read(M, "other/db").await.unwrap_err(),
        reader
            .kv_write(M, "atmr/db", &json!({"p": "z"}), Some(1))
            .await
            .unwrap_err(),
        reader.kv_metadata(M, "atmr/db").await.unwrap_err(),
    ] {
        assert!(err.is_permission_denied(), "{err:?}");
        assert!(!err.is_cas_mismatch());
        assert_eq!(err.status(), Some(403));
    }
}
