//! `vaultops approle credentials|rotate|login-check` and `vaultops migrate-env` on a real
//! cluster with the bootstrap baseline (KV v2, atmr-api-rotate, atmr-api).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Output};
use std::time::Duration;
use vaultops_api::SecretId;
use vaultops_api::DEFAULT_APPROLE_MOUNT;
use vaultops_testkit::{Cluster, ClusterOptions};

fn vaultops(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_TOKEN")
        .env_remove("BAO_TOKEN")
        .args(args)
        .output()
        .unwrap()
}

fn env_value(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{key} missing"))
        .trim_matches('"')
        .trim_matches('\'')
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_check_rotate_and_migrate() {
    let c = Cluster::start(ClusterOptions {
        nodes: 1,
        ..Default::default()
    })
    .await;
    let active = c.wait_active(Duration::from_secs(30)).await;
    let root = c.root_client(active);
    vaultops_bootstrap::apply_baseline(&root).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("vault-secrets.env");
    let conn = |token: bool| {
        let mut v = vec![
            "--ca-cert".to_string(),
            c.ca_path().to_string_lossy().into_owned(),
            "--addr".into(),
            c.addrs()[active].clone(),
        ];
        if token {
            v.extend(["--token".into(), c.root_token().expose().to_owned()]);
        }
        v
    };
    let cmd = |token: bool, rest: &[&str]| {
        let mut a = conn(token);
        a.extend(rest.iter().map(|s| s.to_string()));
        vaultops(&a)
    };
    let env = env_file.to_string_lossy().into_owned();

    // A sink in a missing directory: refused before a secret-id is issued.
    let out = cmd(
        true,
        &[
            "approle",
            "credentials",
            "--role",
            "atmr-api",
            "--env-file",
            "/nonexistent/dir/x.env",
        ],
    );
    assert!(!out.status.success());
    let before = root
        .approle_list_secret_id_accessors(DEFAULT_APPROLE_MOUNT, "atmr-api")
        .await
        .unwrap();
    assert!(before.is_empty(), "nothing issued: {before:?}");
    // A role that does not exist is named.
    let out = cmd(
        true,
        &[
            "approle",
            "credentials",
            "--role",
            "nope",
            "--env-file",
            &env,
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nope"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = cmd(
        true,
        &[
            "approle",
            "credentials",
            "--role",
            "atmr-api",
            "--env-file",
            &env,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = std::fs::read_to_string(&env_file).unwrap();
    let first_sid = env_value(&first, "VAULT_SECRET_ID");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(&first_sid),
        "not printed"
    );

    let check = || {
        cmd(
            false,
            &[
                "approle",
                "login-check",
                "--env-file",
                &env,
                "--expect-policy",
                "atmr-api-rotate",
                "--expect-read",
                "secret/data/atmr/config",
                "--expect-deny",
                "sys/mounts",
            ],
        )
    };
    let out = check();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The application's own settings in the file: its address, its CA path, mode 0640 and
    // group 4242 (`root:app 0640`). Rotation must keep all four.
    let app_text = first
        .lines()
        .map(|l| {
            if l.starts_with("VAULT_ADDR=") {
                "VAULT_ADDR=https://vault.internal:8200".to_owned()
            } else if l.starts_with("VAULT_CACERT=") {
                "VAULT_CACERT=/etc/atmr/vault-ca.pem".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    assert!(app_text.contains("vault.internal") && app_text.contains("/etc/atmr/vault-ca.pem"));
    std::fs::write(&env_file, &app_text).unwrap();
    std::fs::set_permissions(&env_file, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(&env_file, None, Some(4242)).expect("the tests run as root (CI does)");

    // Rotate twice (the default grace, then --grace 1s): the old secret-ids stop working,
    // the file always logs in and keeps the application's settings.
    let role_id = env_value(&first, "VAULT_ROLE_ID");
    let mut old = vec![first_sid];
    for grace in [None, Some("1s")] {
        let mut args = vec![
            "approle",
            "rotate",
            "--role",
            "atmr-api",
            "--env-file",
            &env,
        ];
        if let Some(g) = grace {
            args.extend(["--grace", g]);
        }
        let out = cmd(true, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let waited = if grace.is_some() {
            "1 s grace"
        } else {
            "30 s grace"
        };
        assert!(stderr.contains(waited), "the grace is announced: {stderr}");
        assert!(check().status.success());
        let now = std::fs::read_to_string(&env_file).unwrap();
        assert_eq!(env_value(&now, "VAULT_ADDR"), "https://vault.internal:8200");
        assert_eq!(env_value(&now, "VAULT_CACERT"), "/etc/atmr/vault-ca.pem");
        let meta = std::fs::metadata(&env_file).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o640, "mode kept");
        assert_eq!(meta.gid(), 4242, "group kept");
        old.push(env_value(&now, "VAULT_SECRET_ID"));
    }
    for sid in &old[..2] {
        let e = c
            .client(active)
            .approle_login(DEFAULT_APPROLE_MOUNT, &role_id, &SecretId::new(sid.clone()))
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(400), "an old secret-id still logs in: {e}");
    }

    // migrate-env: quoted, multi-line and export lines, read back exactly; second run no-op.
    let dotenv = dir.path().join(".env");
    std::fs::write(
        &dotenv,
        "# app config\nexport DB_URL=\"postgres://u:p@db/atmr\"\nAPI_KEY='s3cr et'\nPEM=\"line1\nline2\"\nEMPTY=\n",
    )
    .unwrap();
    let d = dotenv.to_string_lossy().into_owned();
    let out = cmd(
        true,
        &["migrate-env", &d, "--path", "atmr/config", "--dry-run"],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains("API_KEY") && !text.contains("s3cr et"),
        "{text}"
    );
    assert!(
        root.kv_read("secret", "atmr/config")
            .await
            .unwrap()
            .is_none(),
        "dry run writes nothing"
    );
    let out = cmd(true, &["migrate-env", &d, "--path", "atmr/config"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = root
        .kv_read("secret", "atmr/config")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.data["DB_URL"], "postgres://u:p@db/atmr");
    assert_eq!(s.data["API_KEY"], "s3cr et");
    assert_eq!(s.data["PEM"], "line1\nline2");
    assert_eq!(s.data["EMPTY"], "");
    let v1 = s.metadata.version;
    let out = cmd(true, &["migrate-env", &d, "--path", "atmr/config"]);
    assert!(out.status.success());
    assert_eq!(
        root.kv_read("secret", "atmr/config")
            .await
            .unwrap()
            .unwrap()
            .metadata
            .version,
        v1
    );

    // A malformed line is named.
    std::fs::write(&dotenv, "GOOD=1\nthis is not a pair\n").unwrap();
    let out = cmd(true, &["migrate-env", &d, "--path", "atmr/config"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
