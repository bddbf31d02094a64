//! `vaultops backup save|verify|restore` on a real cluster, with age encryption.

use age::secrecy::ExposeSecret;
use std::process::{Command, Output};
use std::time::Duration;
use vaultops_testkit::{Cluster, ClusterOptions};

fn vaultops(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .env_remove("VAULT_TOKEN")
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_verify_and_restore_an_encrypted_backup() {
    let c = Cluster::start(ClusterOptions {
        nodes: 1,
        ..Default::default()
    })
    .await;
    let active = c.wait_active(Duration::from_secs(30)).await;
    let root = c.root_client(active);
    vaultops_bootstrap::baseline::apply_baseline(&root)
        .await
        .unwrap();
    root.kv_write(
        "secret",
        "atmr/db",
        &serde_json::json!({"v": "before"}),
        None,
    )
    .await
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let key = dir.path().join("backup.key");
    std::fs::write(&key, id.to_string().expose_secret()).unwrap();
    let file = dir.path().join("vault.snap.age");
    let s = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let conn = vec![
        "--ca-cert".to_string(),
        s(&c.ca_path()),
        "--addr".into(),
        c.addrs()[active].clone(),
        "--token".into(),
        c.root_token().expose().to_owned(),
    ];
    let run = |rest: &[String]| {
        let mut a = conn.clone();
        a.extend(rest.iter().cloned());
        vaultops(&a)
    };

    let out = run(&[
        "backup".into(),
        "save".into(),
        "--out".into(),
        s(&file),
        "--age-recipient".into(),
        id.to_public().to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read(&file)
            .unwrap()
            .starts_with(b"age-encryption.org"),
        "encrypted on disk"
    );

    let out = run(&[
        "backup".into(),
        "verify".into(),
        s(&file),
        "--identity".into(),
        s(&key),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("state.bin"));

    // A corrupted copy is refused by verify (its checksum file no longer matches).
    let bad = dir.path().join("bad.snap.age");
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&bad, &bytes).unwrap();
    std::fs::copy(
        dir.path().join("vault.snap.age.sha256"),
        dir.path().join("bad.snap.age.sha256"),
    )
    .unwrap();
    let out = run(&[
        "backup".into(),
        "verify".into(),
        s(&bad),
        "--identity".into(),
        s(&key),
    ]);
    assert!(!out.status.success());

    // Restore onto the same cluster brings the old value back.
    root.kv_write(
        "secret",
        "atmr/db",
        &serde_json::json!({"v": "after"}),
        None,
    )
    .await
    .unwrap();
    let out = run(&[
        "backup".into(),
        "restore".into(),
        s(&file),
        "--identity".into(),
        s(&key),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = vaultops_bootstrap::wait::until(
        "the restored value",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || {
            let r = root.clone();
            async move {
                match r.kv_read("secret", "atmr/db").await {
                    Ok(Some(s)) if s.data["v"] == "before" => Ok(Some(())),
                    Ok(other) => Err(format!("{:?}", other.map(|s| s.data))),
                    Err(e) => Err(e.to_string()),
                }
            }
        },
    )
    .await;
    assert!(back.is_ok(), "{back:?}");
}
