//! `vaultops check` on a real cluster: it names what fails (a root token exists, a node is
//! down) and passes once the cluster meets the checklist.

use std::process::{Command, Output};
use std::time::Duration;
use vaultops_api::TokenCreateRequest;
use vaultops_testkit::{Cluster, ClusterOptions};

fn check(c: &Cluster, token: &str, extra: &[&str]) -> (Output, serde_json::Value) {
    let mut a = vec![
        "--format".to_string(),
        "json".into(),
        "--ca-cert".into(),
        c.ca_path().to_string_lossy().into_owned(),
        "--token".into(),
        token.to_string(),
    ];
    for addr in c.addrs() {
        a.extend(["--addr".into(), addr]);
    }
    a.push("check".into());
    a.extend(extra.iter().map(|s| s.to_string()));
    let out = Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .args(&a)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, v)
}

fn verdict<'a>(v: &'a serde_json::Value, id: &str) -> Vec<&'a str> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["id"] == id)
        .map(|i| i["verdict"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklist_on_a_real_cluster() {
    let mut c = Cluster::start(ClusterOptions {
        file_audit: true,
        ..Default::default()
    })
    .await;
    let active = c.wait_active(Duration::from_secs(30)).await;
    let root = c.root_client(active);
    vaultops_bootstrap::apply_baseline(&root).await.unwrap();

    // An operator token (sudo on what check reads), orphan so it outlives root.
    root.policy_write(
        "operator",
        r#"path "sys/*" { capabilities = ["read", "list", "sudo"] }
path "auth/approle/role/*" { capabilities = ["read", "list"] }
path "auth/approle/role" { capabilities = ["list"] }
path "auth/token/accessors" { capabilities = ["list", "sudo"] }
path "auth/token/accessors/*" { capabilities = ["list", "sudo"] }
path "auth/token/lookup-accessor" { capabilities = ["update"] }"#,
    )
    .await
    .unwrap();
    let op = root
        .token_create_orphan(&TokenCreateRequest {
            policies: vec!["operator".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let op_token = op.client_token.expose().to_owned();

    let snaps = tempfile::tempdir().unwrap();
    std::fs::write(snaps.path().join("vault-20261129.snap"), b"x").unwrap();
    let sd = snaps.path().to_string_lossy().into_owned();

    // The root token still exists: named, exit 1.
    let (out, v) = check(&c, &op_token, &["--snapshot-dir", &sd]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(verdict(&v, "root-token"), ["fail"], "{v:#}");
    for ok in ["nodes", "ha", "policies", "approle", "metrics", "snapshot"] {
        assert_eq!(verdict(&v, ok), ["pass"], "{ok}: {v:#}");
    }
    // The harness's certificates live one day: within the 30-day warning window.
    assert_eq!(verdict(&v, "tls"), ["warn", "warn", "warn"], "{v:#}");
    assert_eq!(verdict(&v, "seal"), ["warn"], "Shamir is a warning");
    assert_eq!(
        verdict(&v, "audit"),
        ["warn"],
        "a single audit device is a warning"
    );

    // Revoke root: the checklist passes (with warnings).
    root.token_revoke_self().await.unwrap();
    let (out, v) = check(&c, &op_token, &["--snapshot-dir", &sd]);
    assert!(out.status.success(), "{v:#}");
    assert_eq!(verdict(&v, "root-token"), ["pass"]);

    // Weakened: a node down, and no snapshot directory given.
    c.kill_node((active + 1) % 3);
    let (out, v) = check(&c, &op_token, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(verdict(&v, "nodes"), ["fail"], "{v:#}");
    assert_eq!(verdict(&v, "snapshot"), ["warn"]);
    assert!(
        verdict(&v, "tls").contains(&"fail"),
        "the dead node's TLS cannot be read"
    );
}
