//! `vaultops init --pgp-keys`: the server encrypts each share to a holder's PGP key;
//! `vaultops unseal` decrypts them with the holder's gpg keyring.

use std::path::Path;
use std::process::{Command, Output};
use vaultops_testkit::{Cluster, ClusterOptions};

fn gpg(home: &Path, args: &[&str]) -> Output {
    let out = Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
        .args(args)
        .output()
        .expect("gpg must be installed (Debian package gnupg)");
    assert!(
        out.status.success(),
        "gpg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn vaultops(home: &Path, args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .env("GNUPGHOME", home)
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_TOKEN")
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shares_encrypted_by_the_server_to_pgp_keys() {
    let c = Cluster::start(ClusterOptions {
        nodes: 1,
        bootstrap: false,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("gnupg");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let mut key_files = Vec::new();
    for i in 1..=3 {
        let uid = format!("holder{i} <holder{i}@example.invalid>");
        gpg(
            &home,
            &["--quick-gen-key", &uid, "rsa2048", "encr", "never"],
        );
        let exported = gpg(&home, &["--export", &format!("holder{i}@example.invalid")]);
        let f = dir.path().join(format!("holder{i}.gpg"));
        std::fs::write(&f, exported.stdout).unwrap();
        key_files.push(f.to_string_lossy().into_owned());
    }
    let bundle = dir.path().join("init.json");
    let conn = vec![
        "--ca-cert".to_string(),
        c.ca_path().to_string_lossy().into_owned(),
        "--addr".into(),
        c.addrs()[0].clone(),
    ];
    let mut a = conn.clone();
    a.extend([
        "init".into(),
        "--key-shares".into(),
        "3".into(),
        "--key-threshold".into(),
        "2".into(),
        "--out".into(),
        bundle.to_string_lossy().into_owned(),
        "--pgp-keys".into(),
        key_files.join(","),
        "--root-token-pgp-key".into(),
        key_files[0].clone(),
    ]);
    let out = vaultops(&home, &a);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    assert_eq!(b["encrypted_shares"][0]["custody"]["scheme"], "pgp");

    let mut a = conn.clone();
    a.extend([
        "unseal".into(),
        "--bundle".into(),
        bundle.to_string_lossy().into_owned(),
    ]);
    let out = vaultops(&home, &a);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!c.client(0).seal_status().await.unwrap().sealed);

    // Without the secret keys (another keyring), nothing decrypts.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::set_permissions(&empty, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let out = vaultops(&empty, &a);
    assert!(!out.status.success());
}
