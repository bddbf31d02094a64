//! `vaultops tls served|bundle|reissue` on a real 3-node TLS cluster: a CA rotation driven
//! through the CLI. `served` exits 2 naming each node still serving its old certificate
//! (positive control, before SIGHUP), then `--wait` exits 0 once every node serves its new
//! certificate, with the same process ids; `bundle` refuses a node certificate.

use std::path::Path;
use std::process::{Command, Output};

use vaultops_testkit::{Cluster, ClusterOptions};

fn vaultops(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn served(c: &Cluster, ca_cert: &Path, expect: &[String], wait: Option<&str>) -> Output {
    let mut a = vec![
        "--format".into(),
        "json".into(),
        "--ca-cert".into(),
        s(ca_cert),
    ];
    for addr in c.addrs() {
        a.extend(["--addr".into(), addr]);
    }
    a.extend(["tls".into(), "served".into()]);
    for e in expect {
        a.extend(["--expect".into(), e.clone()]);
    }
    if let Some(w) = wait {
        a.extend(["--wait".into(), w.into()]);
    }
    vaultops(&a)
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_rotation_through_the_cli() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let n = c.nodes().len();
    let work = tempfile::tempdir().unwrap();
    let new_ca = work.path().join("new-ca");
    let bundle = work.path().join("bundle.pem");

    let o = vaultops(&["tls".into(), "ca".into(), "--out".into(), s(&new_ca)]);
    assert!(o.status.success(), "{}", text(&o));
    let o = vaultops(&[
        "tls".into(),
        "bundle".into(),
        "--ca".into(),
        s(&c.ca_path()),
        "--ca".into(),
        s(&new_ca.join("ca.pem")),
        "--out".into(),
        s(&bundle),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // A node certificate is refused in a bundle, naming the input.
    let o = vaultops(&[
        "tls".into(),
        "bundle".into(),
        "--ca".into(),
        s(&c.ca_path()),
        "--ca".into(),
        s(&c.node_tls_files(0).cert),
        "--out".into(),
        s(&work.path().join("bad.pem")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("input 2") && text(&o).contains("not a CA"),
        "{}",
        text(&o)
    );

    // Today's certificates: served matches (one --expect per --addr).
    let current: Vec<String> = (0..n).map(|i| s(&c.node_tls_files(i).cert)).collect();
    let copies: Vec<String> = (0..n)
        .map(|i| {
            let p = work.path().join(format!("old-{i}.pem"));
            std::fs::copy(&current[i], &p).unwrap();
            s(&p)
        })
        .collect();
    let o = served(&c, &bundle, &copies, None);
    assert!(o.status.success(), "{}", text(&o));
    // Bad input: neither one --expect nor one per --addr.
    let o = served(&c, &bundle, &copies[..2], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("2 --expect files for 3 --addr nodes"),
        "{}",
        text(&o)
    );

    // Dry runs write nothing.
    let o = vaultops(&[
        "tls".into(),
        "bundle".into(),
        "--ca".into(),
        s(&c.ca_path()),
        "--ca".into(),
        s(&new_ca.join("ca.pem")),
        "--out".into(),
        s(&work.path().join("dry.pem")),
        "--dry-run".into(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("with 2 CA certificates"), "{}", text(&o));
    assert!(!work.path().join("dry.pem").exists());
    let o = vaultops(&[
        "tls".into(),
        "reissue".into(),
        "--ca-dir".into(),
        s(&new_ca),
        current[0].clone(),
        "--dry-run".into(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("issued by CN=vaultops CA"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read(&current[0]).unwrap(),
        std::fs::read(&copies[0]).unwrap()
    );

    let pids: Vec<Option<u32>> = (0..n).map(|i| c.node_pid(i)).collect();
    for cert in &current {
        let o = vaultops(&[
            "tls".into(),
            "reissue".into(),
            "--ca-dir".into(),
            s(&new_ca),
            cert.clone(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }
    // Positive control: files replaced, no SIGHUP yet: exit 2, every node named with the
    // serial it still serves.
    let o = served(&c, &bundle, &current, None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for (i, addr) in c.addrs().iter().enumerate() {
        let node = &v["nodes"][i];
        assert_eq!(node["state"], "other", "{v}");
        let serial = node["cert"]["serial"].as_str().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains(&format!("{addr} serves serial {serial}")),
            "{stderr}"
        );
    }

    for i in 0..n {
        c.reload_node(i);
    }
    let o = served(&c, &bundle, &current, Some("60"));
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["all_expected"], true, "{v}");
    for i in 0..n {
        assert!(
            v["nodes"][i]["cert"]["issuer"]
                .as_str()
                .unwrap()
                .contains("vaultops CA"),
            "{v}"
        );
    }
    assert_eq!(pids, (0..n).map(|i| c.node_pid(i)).collect::<Vec<_>>());

    // Phase 3: the new CA alone verifies every node; the old CA alone no longer does.
    let o = served(&c, &new_ca.join("ca.pem"), &current, None);
    assert!(o.status.success(), "{}", text(&o));
    let o = served(&c, &c.ca_path(), &current, None);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no certificate read"),
        "{}",
        text(&o)
    );
}
