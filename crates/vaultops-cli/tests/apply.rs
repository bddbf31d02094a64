//! `vaultops apply` with the shipped example on a real cluster, and `vaultops config lint`
//! on the seed's configuration.

use std::process::{Command, Output};
use std::time::Duration;
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

fn root_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_the_example_twice_verify_and_revoke_root() {
    let c = Cluster::start(ClusterOptions {
        wait_voters: false,
        file_audit: true,
        ..Default::default()
    })
    .await;
    let active = c.wait_active(Duration::from_secs(30)).await;
    let example = root_dir().join("examples/rollout.yaml");
    let base = vec![
        "--ca-cert".to_string(),
        c.ca_path().to_string_lossy().into_owned(),
        "--addr".into(),
        c.addrs()[active].clone(),
        "--token".into(),
        c.root_token().expose().to_owned(),
        "apply".into(),
        "-f".into(),
        example.to_string_lossy().into_owned(),
    ];
    let with = |extra: &[&str]| {
        let mut a = base.clone();
        a.extend(extra.iter().map(|s| s.to_string()));
        vaultops(&a)
    };

    let out = with(&["--dry-run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(plan.contains("+ create"), "{plan}");
    assert!(
        c.root_client(active)
            .policy_read("atmr-api-rotate")
            .await
            .unwrap()
            .is_none(),
        "dry run changes nothing"
    );

    let out = with(&["--keep-root-token"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = with(&["--keep-root-token", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        plan["changes"],
        serde_json::json!([]),
        "a second apply changes nothing"
    );

    let out = with(&["--verify"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("root token revoked"), "{err}");
    let gone = c.root_client(active).token_lookup_self().await.unwrap_err();
    assert!(gone.is_permission_denied(), "{gone}");
}

#[test]
fn config_lint_names_the_seeds_mistakes_and_passes_a_rendered_config() {
    let seed = root_dir().join("crates/vaultops-config/tests/fixtures/seed-production.hcl");
    let out = vaultops(&[
        "config".into(),
        "lint".into(),
        seed.to_string_lossy().into_owned(),
        "--engine".into(),
        "openbao".into(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["consul", "audit_device", "disable_mlock", "tls_min_version"] {
        assert!(text.contains(needle), "{needle} not reported:\n{text}");
    }

    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("node.hcl");
    let cfg = vaultops_config::NodeConfig::new(
        vaultops_types::Engine::OpenBao,
        "node1",
        "prod",
        "https://node1:8200",
        "https://node1:8201",
        vaultops_config::Listener::tls(
            "0.0.0.0:8200",
            "0.0.0.0:8201",
            vaultops_config::TlsFiles::new("/t/n.pem", "/t/n-key.pem"),
        ),
        vaultops_config::Storage::Raft(vaultops_config::RaftStorage::new("/vault/data")),
    );
    std::fs::write(&good, cfg.render().unwrap().hcl).unwrap();
    let out = vaultops(&[
        "config".into(),
        "lint".into(),
        good.to_string_lossy().into_owned(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
