//! The `vaultops` binary end to end: TLS files accepted by `openssl verify`, bad input
//! rejected with a one-line error, and `status` on a real 3-node cluster.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use vaultops_testkit::{Cluster, ClusterOptions};

fn vaultops(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .args(args)
        .env_remove("VAULT_ADDR")
        .env_remove("BAO_ADDR")
        .env_remove("VAULT_CACERT")
        .env_remove("BAO_CACERT")
        .env_remove("VAULT_TOKEN")
        .env_remove("BAO_TOKEN")
        .output()
        .expect("running vaultops")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn tls_ca_and_node_pass_openssl_verify_and_refuse_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca");
    let out = vaultops(&["tls", "ca", "--out", p(&ca), "--days", "30"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let out = vaultops(&[
        "tls",
        "node",
        "--ca-dir",
        p(&ca),
        "--name",
        "node1",
        "--dns",
        "localhost",
        "--ip",
        "127.0.0.1",
        "--out",
        p(dir.path()),
        "--days",
        "10",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));

    let v = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(ca.join("ca.pem"))
        .arg(dir.path().join("node1.pem"))
        .output()
        .expect("openssl must be installed (Debian package openssl)");
    assert!(String::from_utf8_lossy(&v.stdout).contains(": OK"), "{v:?}");

    // Inspect, as JSON, verified against the CA for a host in the SANs.
    let out = vaultops(&[
        "--format",
        "json",
        "tls",
        "inspect",
        p(&dir.path().join("node1.pem")),
        "--ca",
        p(&ca.join("ca.pem")),
        "--host",
        "node1",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["dns_sans"], serde_json::json!(["node1", "localhost"]));

    // A host missing from the SANs fails, naming the file.
    let out = vaultops(&[
        "tls",
        "inspect",
        p(&dir.path().join("node1.pem")),
        "--ca",
        p(&ca.join("ca.pem")),
        "--host",
        "node9",
    ]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("node9"), "{:?}", text(&out));

    // The CA key is not overwritten without --force.
    let before = std::fs::read(ca.join("ca-key.pem")).unwrap();
    let out = vaultops(&["tls", "ca", "--out", p(&ca)]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("--force"), "{:?}", text(&out));
    assert_eq!(std::fs::read(ca.join("ca-key.pem")).unwrap(), before);
    let out = vaultops(&["tls", "ca", "--out", p(&ca), "--force"]);
    assert!(out.status.success());
    assert_ne!(std::fs::read(ca.join("ca-key.pem")).unwrap(), before);
}

#[test]
fn bad_input_gives_one_line_errors_and_non_zero_exit() {
    let out = vaultops(&[
        "--format",
        "yaml",
        "status",
        "--addr",
        "https://127.0.0.1:1",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("invalid value 'yaml'"),
        "{:?}",
        text(&out)
    );

    let out = vaultops(&["status"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("pass --addr"), "{:?}", text(&out));

    let port = vaultops_testkit::free_port();
    let addr = format!("https://127.0.0.1:{port}");
    let out = vaultops(&["status", "--addr", &addr]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out).1;
    assert!(err.contains(&addr) && err.contains("unreachable"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_a_real_cluster_and_its_failures() {
    let mut c = Cluster::start(ClusterOptions {
        wait_voters: false,
        ..Default::default()
    })
    .await;
    let active = c.wait_active(Duration::from_secs(30)).await;
    let ca = c.ca_path();
    let addrs = c.addrs();
    let mut args: Vec<String> = vec!["--ca-cert".into(), ca.to_string_lossy().into()];
    for a in &addrs {
        args.extend(["--addr".into(), a.clone()]);
    }
    let run = |extra: &[&str]| {
        let mut a: Vec<&str> = extra.to_vec();
        a.extend(args.iter().map(String::as_str));
        vaultops(&a)
    };

    let out = run(&["--format", "json", "status"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let roles: Vec<&str> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles.iter().filter(|r| **r == "active").count(),
        1,
        "{roles:?}"
    );
    assert_eq!(
        roles.iter().filter(|r| **r == "standby").count(),
        2,
        "{roles:?}"
    );

    let out = run(&["status"]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("cluster: healthy"), "{stdout}");

    // Wrong CA: a TLS failure naming the node, non-zero.
    let other = tempfile::tempdir().unwrap();
    assert!(vaultops(&["tls", "ca", "--out", p(other.path())])
        .status
        .success());
    let out = vaultops(&[
        "status",
        "--ca-cert",
        p(&other.path().join("ca.pem")),
        "--addr",
        &addrs[0],
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out).1;
    assert!(
        err.contains("TLS failure") && err.contains(&addrs[0]),
        "{err}"
    );

    // http:// is refused before anything is sent, naming the way out.
    let plain = addrs[0].replacen("https://", "http://", 1);
    let out = vaultops(&["status", "--addr", &plain]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out).1.contains("refusing the plain-HTTP address")
            && text(&out).1.contains("--allow-plain-http"),
        "{:?}",
        text(&out)
    );
    // Allowed, against the TLS listener: named as such.
    let out = vaultops(&["status", "--addr", &plain, "--allow-plain-http"]);
    assert!(
        text(&out).1.contains("use an https:// address"),
        "{:?}",
        text(&out)
    );

    // A sealed node and a stopped node: reported, exit 2.
    let sealed = (active + 1) % 3;
    let stopped = (active + 2) % 3;
    c.root_client(sealed).seal().await.unwrap();
    c.kill_node(stopped);
    let out = run(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    let (stdout, stderr) = text(&out);
    assert!(
        stderr.contains(&format!("{} is sealed", addrs[sealed])),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{} is unreachable", addrs[stopped])),
        "{stderr}"
    );
    assert!(stdout.contains("sealed"), "{stdout}");
}

#[test]
fn config_lint_fails_on_log_raw_and_passes_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = |log_raw: &str| {
        format!(
            "api_addr     = \"https://127.0.0.1:8200\"\ncluster_addr = \"https://127.0.0.1:8201\"\n\
             storage \"raft\" {{\n  path    = \"/openbao/data\"\n  node_id = \"node1\"\n}}\n\
             listener \"tcp\" {{\n  address       = \"127.0.0.1:8200\"\n  tls_cert_file = \"/t/n.pem\"\n  tls_key_file  = \"/t/n.key\"\n}}\n\
             audit \"file\" \"file\" {{\n  options {{\n    file_path = \"/openbao/logs/audit.log\"\n    log_raw   = {log_raw}\n  }}\n}}\n"
        )
    };
    let file = dir.path().join("server.hcl");
    std::fs::write(&file, config("true")).unwrap();
    let out = vaultops(&["config", "lint", p(&file), "--engine", "openbao"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("audit.file.file.options.log_raw") && stdout.contains("raw secrets"),
        "{stdout}"
    );
    // Positive control: the same file with log_raw false lints clean.
    std::fs::write(&file, config("false")).unwrap();
    let out = vaultops(&["config", "lint", p(&file), "--engine", "openbao"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("0 error(s), 0 warning(s)"), "{stdout}");
}
