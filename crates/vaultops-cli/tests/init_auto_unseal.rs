//! `vaultops init` on an auto-unseal (static seal) cluster gives recovery shares, and bad
//! splits are refused before the cluster is touched.

use std::process::Command;
use std::time::Duration;
use vaultops_api::NodeRole;
use vaultops_testkit::{Cluster, ClusterOptions, TestSeal};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_unseal_init_writes_recovery_shares() {
    let c = Cluster::start(ClusterOptions {
        nodes: 1,
        bootstrap: false,
        seal: TestSeal::Static,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let bundle = dir.path().join("init.json");
    let base = |extra: &[&str]| {
        let mut a: Vec<String> = vec![
            "--ca-cert".into(),
            c.ca_path().to_string_lossy().into_owned(),
            "--addr".into(),
            c.addrs()[0].clone(),
            "init".into(),
            "--out".into(),
            bundle.to_string_lossy().into_owned(),
            "--age-recipient".into(),
            id.to_public().to_string(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        Command::new(env!("CARGO_BIN_EXE_vaultops"))
            .args(a)
            .output()
            .unwrap()
    };

    for (shares, threshold, needle) in [
        ("3", "5", "threshold 5"),
        ("256", "3", "between 1 and 255"),
        ("5", "1", "threshold of 1"),
    ] {
        let out = base(&["--key-shares", shares, "--key-threshold", threshold]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{shares}/{threshold}: {err}");
    }
    assert!(
        !c.client(0).init_status().await.unwrap(),
        "bad splits touch nothing"
    );

    let out = base(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("RECOVERY shares"), "{err}");
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    assert_eq!(b["key_kind"], "recovery");
    assert_eq!(b["seal_type"], "static");
    assert_eq!(b["encrypted_shares"].as_array().unwrap().len(), 5);
    let share = age::decrypt(
        &id,
        b["encrypted_shares"][0]["ciphertext"]
            .as_str()
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    assert!(!share.is_empty());

    // The node unseals itself: no share needed.
    c.nodes_set(false)
        .wait_all(
            "the node to unseal itself",
            &[NodeRole::Active],
            Duration::from_secs(30),
        )
        .await
        .unwrap();
}
