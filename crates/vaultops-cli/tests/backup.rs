//! `vaultops backup save|verify|restore` on a real cluster, with age encryption.

mod common;

use age::secrecy::ExposeSecret;
use common::{one_node_with_baseline, set_value, vaultops, wait_value};
use std::process::{Command, Output};
use std::time::Duration;
use vaultops_testkit::{Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_verify_and_restore_an_encrypted_backup() {
    let (c, root, active) = one_node_with_baseline().await;
    set_value(&root, "before").await;

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

    let metrics = dir.path().join("vaultops_snapshot.prom");
    let before_save = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let out = run(&[
        "backup".into(),
        "save".into(),
        "--out".into(),
        s(&file),
        "--age-recipient".into(),
        id.to_public().to_string(),
        "--metrics-file".into(),
        s(&metrics),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The textfile the shipped VaultSnapshotTooOld alert reads: the same metric name, a
    // timestamp from this save, the file's size.
    assert_eq!(
        vaultops_backup::SNAPSHOT_METRIC,
        vaultops_deploy::SNAPSHOT_METRIC
    );
    let text = std::fs::read_to_string(&metrics).unwrap();
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .parse()
            .unwrap()
    };
    let stamp = value(vaultops_backup::SNAPSHOT_METRIC);
    assert!(stamp >= before_save, "{stamp} < {before_save}");
    assert_eq!(
        value(vaultops_backup::SNAPSHOT_SIZE_METRIC),
        std::fs::metadata(&file).unwrap().len()
    );

    // A failed save (a token that may not read snapshots) leaves the metrics as they were.
    let mut bad = conn.clone();
    let tok = bad.iter().position(|a| a == "--token").unwrap() + 1;
    bad[tok] = "not-a-token".into();
    bad.extend([
        "backup".to_string(),
        "save".into(),
        "--out".into(),
        s(&dir.path().join("other.snap")),
        "--metrics-file".into(),
        s(&metrics),
    ]);
    let out = vaultops(&bad);
    assert!(!out.status.success());
    assert_eq!(std::fs::read_to_string(&metrics).unwrap(), text);
    assert!(!dir.path().join("other.snap").exists());
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
    set_value(&root, "after").await;
    let out = run(&[
        "backup".into(),
        "restore".into(),
        s(&file),
        "--identity".into(),
        s(&key),
        "--yes".into(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_value(&root, "before").await;
}

/// `backup verify --restore`: the backup of a cluster initialised with `vaultops init` (age
/// custody) is restored into a throwaway node and unsealed with the bundle's shares; the count
/// matches what was written, no share or token is printed, and missing keys are named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_restore_counts_the_secrets_with_the_bundle_keys() {
    let c = Cluster::start(ClusterOptions {
        nodes: 1,
        bootstrap: false,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let s = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let holder = age::x25519::Identity::generate();
    let holder_key = dir.path().join("holder.key");
    std::fs::write(&holder_key, holder.to_string().expose_secret()).unwrap();
    let bundle = dir.path().join("init.json");
    let conn = vec![
        "--ca-cert".to_string(),
        s(&c.ca_path()),
        "--addr".into(),
        c.addrs()[0].clone(),
    ];
    let run = |rest: &[String]| {
        let mut a = conn.clone();
        a.extend(rest.iter().cloned());
        vaultops(&a)
    };
    let ok = |out: &Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        )
    };
    ok(&run(&[
        "init".into(),
        "--out".into(),
        s(&bundle),
        "--age-recipient".into(),
        holder.to_public().to_string(),
    ]));
    ok(&run(&[
        "unseal".into(),
        "--bundle".into(),
        s(&bundle),
        "--identity".into(),
        s(&holder_key),
    ]));
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let open = |ct: &serde_json::Value| {
        String::from_utf8(age::decrypt(&holder, ct.as_str().unwrap().as_bytes()).unwrap()).unwrap()
    };
    let root_token = open(&b["root_token"]["ciphertext"]);
    let shares: Vec<String> = b["encrypted_shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sh| open(&sh["ciphertext"]))
        .collect();
    let active = c.wait_active(Duration::from_secs(30)).await;
    let root = c
        .client(active)
        .with_token(vaultops_api::Token::new(root_token.clone()));
    root.mount_enable("secret", &vaultops_api::EnableRequest::kv_v2())
        .await
        .unwrap();
    for i in 0..7 {
        root.kv_write(
            "secret",
            &format!("atmr/s{i}"),
            &serde_json::json!({"i": i}),
            None,
        )
        .await
        .unwrap();
    }
    let file = dir.path().join("vault.snap");
    let mut save = conn.clone();
    save.extend([
        "--token".to_string(),
        root_token.clone(),
        "backup".into(),
        "save".into(),
        "--out".into(),
        s(&file),
    ]);
    ok(&vaultops(&save));

    let bin = s(&vaultops_testkit::bao_bin());
    let verify = |extra: &[&str]| {
        let mut a: Vec<String> = ["--format", "json", "backup", "verify"]
            .iter()
            .map(|x| x.to_string())
            .collect();
        a.push(s(&file));
        a.extend(["--restore".into(), "--server-bin".into(), bin.clone()]);
        a.extend(extra.iter().map(|x| x.to_string()));
        vaultops(&a)
    };
    let out = verify(&["--bundle", &s(&bundle), "--key-identity", &s(&holder_key)]);
    ok(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["inventory"]["secrets"], 7, "{report}");
    assert_eq!(report["threshold"], 3);
    assert_eq!(report["shares"], 5);
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in shares.iter().chain(std::iter::once(&root_token)) {
        assert!(!printed.contains(secret.as_str()), "a secret was printed");
    }

    // No keys: a clear error before anything starts.
    let out = verify(&[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--bundle"), "{err}");
}

/// Ctrl-C during `backup verify --restore` stops the throwaway node and removes its directory
/// (it holds a copy of the backup's data): nothing is left running or on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_verify_restore_leaves_no_process_and_no_directory() {
    let c = Cluster::start(ClusterOptions {
        nodes: 1,
        wait_voters: false,
        ..Default::default()
    })
    .await;
    let root = c.root_client(c.wait_active(Duration::from_secs(30)).await);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vault.snap");
    vaultops_backup::save(&root, &file, &[]).await.unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let keys: String = c.init().keys_base64[..3]
        .iter()
        .map(|k| format!("{}\n", k.expose()))
        .collect();

    let mut child = Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .args(["backup", "verify"])
        .arg(&file)
        .args(["--restore", "--prompt", "--server-bin"])
        .arg(vaultops_testkit::bao_bin())
        .env("TMPDIR", &tmp)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut sin = child.stdin.take().unwrap();
        sin.write_all(format!("{keys}\n").as_bytes()).unwrap();
    }
    // Interrupt once the throwaway node runs (its directory exists and its server logged).
    let node_dir = vaultops_bootstrap::wait_until(
        "the throwaway node to start",
        Duration::from_secs(30),
        Duration::from_millis(20),
        || {
            let tmp = tmp.clone();
            async move {
                let found = std::fs::read_dir(&tmp)
                    .map_err(|e| e.to_string())?
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .find(|p| p.join("server.log").exists());
                Ok(found)
            }
        },
    )
    .await
    .unwrap();
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("interrupted"), "{err}");

    let gone = vaultops_bootstrap::wait_until(
        "the throwaway node's process and directory to be gone",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || {
            let node_dir = node_dir.clone();
            async move {
                let marker = node_dir.to_string_lossy().into_owned();
                let running = std::fs::read_dir("/proc")
                    .map_err(|e| e.to_string())?
                    .filter_map(Result::ok)
                    .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
                    .any(|c| String::from_utf8_lossy(&c).contains(&marker));
                if running || node_dir.exists() {
                    Err(format!(
                        "running: {running}; directory: {}",
                        node_dir.exists()
                    ))
                } else {
                    Ok(Some(()))
                }
            }
        },
    )
    .await;
    assert!(gone.is_ok(), "{gone:?}");
}
