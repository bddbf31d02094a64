//! `verify_by_restore` against real servers: a TLS raft cluster (testkit) with a declared file
//! audit device holds KV v1 and v2 secrets in nested folders and an AppRole; its encrypted
//! backup is restored into a throwaway node, unsealed with the cluster's keys, and counted.
//! Wrong and too few keys are refused with errors that say so, and the backup file is left
//! as it was.

use serde_json::json;
use std::time::Duration;
use vaultops_api::{EnableRequest, KeySplit, UnsealKey};
use vaultops_backup::{self as backup, BackupError, ScratchOptions};
use vaultops_testkit::{Cluster, ClusterOptions};

fn opts() -> ScratchOptions {
    ScratchOptions::new(vaultops_testkit::bao_bin())
}

/// Options whose throwaway directories go under `dir`, to check they are removed.
fn opts_in(dir: &std::path::Path) -> ScratchOptions {
    let mut o = opts();
    o.work_dir = Some(dir.to_owned());
    o
}

fn assert_empty(dir: &std::path::Path) {
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert!(
        left.is_empty(),
        "the throwaway directory was left behind: {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_into_a_throwaway_node_and_counts_every_secret() {
    let cluster = Cluster::start(ClusterOptions {
        nodes: 1,
        file_audit: true,
        split: KeySplit::new(5, 3).unwrap(),
        ..Default::default()
    })
    .await;
    let root = cluster.root_client(cluster.wait_active(Duration::from_secs(60)).await);
    root.mount_enable("app", &EnableRequest::kv_v2())
        .await
        .unwrap();
    root.mount_enable("legacy", &EnableRequest::new("kv"))
        .await
        .unwrap();
    root.auth_enable("approle", &EnableRequest::new("approle"))
        .await
        .unwrap();
    root.policy_write(
        "atmr-api",
        r#"path "app/data/*" { capabilities = ["read"] }"#,
    )
    .await
    .unwrap();
    // 12 secrets in three folders and two levels, one with two versions, one soft-deleted.
    for i in 0..12 {
        let path = match i % 3 {
            0 => format!("atmr-api/s{i}"),
            1 => format!("atmr-api/celery/s{i}"),
            _ => format!("top-{i}"),
        };
        root.kv_write("app", &path, &json!({ "v": i }), None)
            .await
            .unwrap();
    }
    root.kv_write("app", "top-2", &json!({ "v": "second" }), None)
        .await
        .unwrap();
    root.kv_delete("app", "top-5").await.unwrap();
    for i in 0..3 {
        let body = json!({ "v": i });
        root.kv1_write("legacy", &format!("dir/k{i}"), &body)
            .await
            .unwrap();
    }
    let source = backup::take_inventory(&root).await.unwrap();
    assert_eq!(source.secrets_in("app"), Some(12), "{source:?}");
    assert_eq!(source.secrets_in("legacy"), Some(3), "{source:?}");

    let dir = tempfile::tempdir().unwrap();
    let (id, recipient) = vaultops_custody::generate_identity();
    let file = dir.path().join("cluster.snap.age");
    backup::save(&root, &file, &[recipient]).await.unwrap();
    let before = std::fs::read(&file).unwrap();
    let keys: Vec<UnsealKey> = cluster.init().keys_base64.clone();

    // The right keys (3 of 5): every secret is counted, on the restored copy.
    let work = tempfile::tempdir().unwrap();
    let check = backup::verify_by_restore(&file, &id, &keys[1..4], &opts_in(work.path()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_empty(work.path());
    println!(
        "verify --restore: {} secrets, timings {:?}",
        check.inventory.secrets, check.timings
    );
    assert_eq!(
        check.inventory, source,
        "restored inventory = source inventory"
    );
    assert_eq!((check.threshold, check.shares), (3, 5));
    assert!(check.integrity.encrypted);
    assert!(
        check.server_version.starts_with("OpenBao"),
        "{}",
        check.server_version
    );
    assert!(check
        .inventory
        .auth_methods
        .iter()
        .any(|m| m.kind == "approle"));
    assert!(check.inventory.policies.contains(&"atmr-api".to_owned()));

    // Too few keys: refused, naming the threshold.
    let e = backup::verify_by_restore(&file, &id, &keys[..2], &opts_in(work.path()))
        .await
        .unwrap_err();
    assert_empty(work.path());
    assert!(matches!(e, BackupError::OldKeys { .. }), "{e}");
    assert!(e.to_string().contains("threshold is 3"), "{e}");

    // Another cluster's keys: refused as wrong keys.
    let other = Cluster::start(ClusterOptions {
        nodes: 1,
        wait_voters: false,
        ..Default::default()
    })
    .await;
    let wrong = other.init().keys_base64[..3].to_vec();
    let e = backup::verify_by_restore(&file, &id, &wrong, &opts())
        .await
        .unwrap_err();
    assert!(matches!(e, BackupError::OldKeys { .. }), "{e}");
    assert!(e.to_string().contains("do not open"), "{e}");

    // The backup was only read, and the source cluster still serves its data.
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert_eq!(backup::take_inventory(&root).await.unwrap(), source);
}

#[tokio::test]
async fn a_damaged_backup_is_refused_before_any_server_starts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junk.snap");
    std::fs::write(&file, b"not a snapshot").unwrap();
    let missing_bin = ScratchOptions::new(dir.path().join("no-such-bao"));
    let e = backup::verify_by_restore(
        &file,
        &Default::default(),
        &[UnsealKey::new("k".to_owned())],
        &missing_bin,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, BackupError::Archive { .. }), "{e}");
}

#[tokio::test]
async fn a_missing_server_binary_is_named() {
    let cluster = Cluster::start(ClusterOptions {
        nodes: 1,
        wait_voters: false,
        ..Default::default()
    })
    .await;
    let root = cluster.root_client(cluster.wait_active(Duration::from_secs(60)).await);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ok.snap");
    backup::save(&root, &file, &[]).await.unwrap();
    let bin = dir.path().join("no-such-bao");
    let keys = cluster.init().keys_base64[..3].to_vec();
    let e = backup::verify_by_restore(
        &file,
        &Default::default(),
        &keys,
        &ScratchOptions::new(&bin),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, BackupError::ScratchStart { .. }), "{e}");
    assert!(e.to_string().contains("no-such-bao"), "{e}");
}
