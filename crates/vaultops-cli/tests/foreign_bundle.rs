//! Two independent Shamir clusters, A and B, each initialized with `vaultops init`: A's bundle
//! is refused on B before a single share is sent, naming both clusters; B's own bundle opens
//! B (positive control). A Shamir cluster has no id before its first unseal, so the first
//! `vaultops unseal` records it in the bundle, and the check rests on that.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use vaultops_api::NodeRole;
use vaultops_testkit::{Cluster, ClusterOptions};

fn run(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .args(args)
        .env_remove("VAULT_ADDR")
        .env_remove("BAO_ADDR")
        .env_remove("VAULT_TOKEN")
        .env_remove("BAO_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("running vaultops")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn conn(c: &Cluster, nodes: &[usize]) -> Vec<String> {
    let mut v = vec!["--ca-cert".to_string(), s(&c.ca_path())];
    for &i in nodes {
        v.extend(["--addr".into(), c.addrs()[i].clone()]);
    }
    v
}

/// An age identity written to `dir/name`; returns its file and its recipient.
fn holder(dir: &Path, name: &str) -> (String, age::x25519::Identity) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let p = dir.join(name);
    std::fs::write(&p, id.to_string().expose_secret()).unwrap();
    (s(&p), id)
}

fn bundle_field(path: &Path, field: &str) -> serde_json::Value {
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    b[field].clone()
}

async fn cluster_id(c: &Cluster, i: usize) -> String {
    c.client(i)
        .health()
        .await
        .unwrap()
        .body
        .cluster_id
        .expect("an unsealed node shows its cluster id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_of_another_cluster_is_refused_before_any_share_is_sent() {
    let (a, b) = tokio::join!(
        Cluster::start(ClusterOptions {
            nodes: 1,
            bootstrap: false,
            ..Default::default()
        }),
        Cluster::start(ClusterOptions {
            bootstrap: false,
            ..Default::default()
        })
    );
    let dir = tempfile::tempdir().unwrap();

    // Cluster A: one holder per share (5, threshold 3).
    let holders_a: Vec<_> = (1..=5)
        .map(|i| holder(dir.path(), &format!("a{i}.key")))
        .collect();
    let bundle_a = dir.path().join("a.json");
    let mut args = conn(&a, &[0]);
    args.extend(["init".into(), "--out".into(), s(&bundle_a)]);
    for (_, id) in &holders_a {
        args.extend(["--age-recipient".into(), id.to_public().to_string()]);
    }
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        bundle_field(&bundle_a, "cluster_id").is_null(),
        "a sealed Shamir cluster has no id yet"
    );
    // Its first unseal records its id in the bundle.
    let mut args = conn(&a, &[0]);
    args.extend(["unseal".into(), "--bundle".into(), s(&bundle_a)]);
    for (f, _) in &holders_a[..3] {
        args.extend(["--identity".into(), f.clone()]);
    }
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let id_a = cluster_id(&a, 0).await;
    assert!(stderr(&out).contains("recorded in"), "{}", stderr(&out));
    assert_eq!(bundle_field(&bundle_a, "cluster_id"), id_a.as_str());

    // Cluster B: three nodes, one holder for every share, the same split as A.
    let (holder_b, id_holder_b) = holder(dir.path(), "b.key");
    let bundle_b = dir.path().join("b.json");
    let mut args = conn(&b, &[0]);
    args.extend([
        "init".into(),
        "--out".into(),
        s(&bundle_b),
        "--age-recipient".into(),
        id_holder_b.to_public().to_string(),
    ]);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let unseal_b = |bundle: &Path, identities: &[&String], nodes: &[usize]| {
        let mut args = conn(&b, nodes);
        args.extend(["unseal".into(), "--bundle".into(), s(bundle)]);
        args.extend(["--wait".into(), "60".into()]);
        for f in identities {
            args.extend(["--identity".into(), (*f).clone()]);
        }
        run(&args)
    };
    let out = unseal_b(&bundle_b, &[&holder_b], &[0, 1, 2]);
    assert!(out.status.success(), "{}", stderr(&out));
    let active = b.wait_active(Duration::from_secs(30)).await;
    let id_b = cluster_id(&b, active).await;
    assert_ne!(id_a, id_b);
    assert_eq!(bundle_field(&bundle_b, "cluster_id"), id_b.as_str());

    // A standby of B is sealed again (a restart would do the same).
    let standby = (active + 1) % 3;
    let root_b = String::from_utf8(
        age::decrypt(
            &id_holder_b,
            bundle_field(&bundle_b, "root_token")["ciphertext"]
                .as_str()
                .unwrap()
                .as_bytes(),
        )
        .unwrap(),
    )
    .unwrap();
    b.client(standby)
        .with_token(vaultops_api::Token::new(root_b.clone()))
        .seal()
        .await
        .unwrap();
    assert!(b.client(standby).seal_status().await.unwrap().sealed);

    // A's bundle on B, one holder's share (a ceremony: it would stay on the node as progress
    // 1/3 if it were sent): refused before sending, both clusters named.
    let out = unseal_b(&bundle_a, &[&holders_a[0].0], &[0, 1, 2]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&id_a) && err.contains(&id_b) && err.contains("no share was sent"),
        "{err}"
    );
    let st = b.client(standby).seal_status().await.unwrap();
    assert!(st.sealed);
    assert_eq!(st.progress, 0, "not a single share reached the sealed node");
    // The whole threshold of A's shares: refused the same way.
    let three: Vec<&String> = holders_a[..3].iter().map(|(f, _)| f).collect();
    let out = unseal_b(&bundle_a, &three, &[0, 1, 2]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no share was sent"),
        "{}",
        stderr(&out)
    );
    assert_eq!(bundle_field(&bundle_a, "cluster_id"), id_a.as_str());

    // What cannot be told apart: only the sealed node given, same split, no id shown. The
    // shares reach it and are refused at the threshold; the unseal stops there and says
    // the bundle may be of another cluster.
    let out = unseal_b(&bundle_a, &three, &[standby]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("at the threshold") && err.contains("another cluster") && err.contains(&id_a),
        "{err}"
    );
    let st = b.client(standby).seal_status().await.unwrap();
    assert!(st.sealed && st.progress == 0, "{st:?}");

    // Positive control: B's own bundle opens the sealed node of B.
    let out = unseal_b(&bundle_b, &[&holder_b], &[0, 1, 2]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{}: unsealed", b.addrs()[standby])),
        "{}",
        stderr(&out)
    );
    b.nodes_set(false)
        .wait_all(
            "B's nodes unsealed",
            &[NodeRole::Active, NodeRole::Standby],
            Duration::from_secs(30),
        )
        .await
        .unwrap();

    // `root generate` checks too (its node is unsealed and shows B's id), even with a token
    // that would let the attempt start.
    let token_file = dir.path().join("root-b.token");
    std::fs::write(&token_file, &root_b).unwrap();
    let mut args = conn(&b, &[active]);
    args.extend([
        "--token-file".into(),
        s(&token_file),
        "root".into(),
        "generate".into(),
        "--bundle".into(),
        s(&bundle_a),
    ]);
    for f in &three {
        args.extend(["--identity".into(), (*f).clone()]);
    }
    let out = run(&args);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&id_a) && err.contains(&id_b) && err.contains("no share was sent"),
        "{err}"
    );
    let attempt = b
        .client(active)
        .with_token(vaultops_api::Token::new(root_b))
        .generate_root_status(vaultops_api::GenerateRootEndpoint::Authenticated)
        .await
        .unwrap();
    assert!(!attempt.started && attempt.progress == 0, "{attempt:?}");
}
