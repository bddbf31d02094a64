//! `vaultops init` and `vaultops unseal` on a real 3-node cluster, with age key custody.

use age::secrecy::ExposeSecret;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use vaultops_testkit::{Cluster, ClusterOptions};

fn run(args: &[String], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaultops"));
    cmd.args(args)
        .env_remove("VAULT_ADDR")
        .env_remove("BAO_ADDR")
        .env_remove("VAULT_TOKEN")
        .env_remove("BAO_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("running vaultops");
    {
        use std::io::Write;
        let mut sin = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            sin.write_all(s.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_with_age_custody_then_unseal_in_a_ceremony() {
    let c = Cluster::start(ClusterOptions {
        bootstrap: false,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<age::x25519::Identity> =
        (0..5).map(|_| age::x25519::Identity::generate()).collect();
    let id_files: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let p = dir.path().join(format!("holder{}.key", i + 1));
            std::fs::write(&p, id.to_string().expose_secret()).unwrap();
            s(&p)
        })
        .collect();
    let ca = s(&c.ca_path());
    let all: Vec<String> = c.addrs();
    let conn = |addrs: &[String]| -> Vec<String> {
        let mut v = vec!["--ca-cert".to_string(), ca.clone()];
        for a in addrs {
            v.extend(["--addr".into(), a.clone()]);
        }
        v
    };
    let bundle = dir.path().join("init.json");

    // No custody chosen: refused before the cluster is touched.
    let mut a = conn(&all[..1]);
    a.extend(["init".into(), "--out".into(), s(&bundle)]);
    let out = run(&a, None);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--age-recipient"), "{}", stderr(&out));
    assert!(
        !c.client(0).init_status().await.unwrap(),
        "nothing was initialized"
    );

    // Init with one age recipient per share.
    let mut a = conn(&all[..1]);
    a.extend(["init".into(), "--out".into(), s(&bundle)]);
    for id in &ids {
        a.extend(["--age-recipient".into(), id.to_public().to_string()]);
    }
    let out = run(&a, None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        out.stdout.is_empty(),
        "nothing printed on stdout without --insecure-print"
    );
    let mode = std::fs::metadata(&bundle).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // The bundle holds none of the plaintext shares, nor the root token.
    let text = std::fs::read_to_string(&bundle).unwrap();
    let b: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(b["shares"], 5);
    assert_eq!(b["threshold"], 3);
    assert_eq!(b["key_kind"], "unseal");
    let mut plain = Vec::new();
    for (i, sh) in b["encrypted_shares"].as_array().unwrap().iter().enumerate() {
        let ct = sh["ciphertext"].as_str().unwrap();
        let p = age::decrypt(&ids[i], ct.as_bytes()).expect("share i opens with identity i");
        plain.push(String::from_utf8(p).unwrap());
    }
    let root = String::from_utf8(
        age::decrypt(
            &ids[0],
            b["root_token"]["ciphertext"].as_str().unwrap().as_bytes(),
        )
        .unwrap(),
    )
    .unwrap();
    for p in plain.iter().chain(std::iter::once(&root)) {
        assert!(
            !text.contains(p.as_str()),
            "a plaintext secret is in the bundle"
        );
    }

    // Init again: the bundle is not overwritten, and an initialized cluster is refused.
    let before = std::fs::read(&bundle).unwrap();
    let out = run(&a, None);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("refusing to overwrite"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&bundle).unwrap(), before);
    let other = dir.path().join("second.json");
    let mut a2 = a.clone();
    let pos = a2.iter().position(|x| *x == s(&bundle)).unwrap();
    a2[pos] = s(&other);
    let out = run(&a2, None);
    assert!(
        stderr(&out).contains("already initialized"),
        "{}",
        stderr(&out)
    );
    assert!(!other.exists());

    // A wrong identity decrypts nothing.
    let stranger = dir.path().join("stranger.key");
    std::fs::write(
        &stranger,
        age::x25519::Identity::generate()
            .to_string()
            .expose_secret(),
    )
    .unwrap();
    let mut a = conn(&all);
    a.extend([
        "unseal".into(),
        "--bundle".into(),
        s(&bundle),
        "--identity".into(),
        s(&stranger),
    ]);
    let out = run(&a, None);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("none of the bundle's 5 shares"),
        "{}",
        stderr(&out)
    );

    // A tampered bundle is refused.
    let tampered = dir.path().join("tampered.json");
    std::fs::write(
        &tampered,
        text.replace("\"threshold\": 3", "\"threshold\": 2"),
    )
    .unwrap();
    let mut a = conn(&all);
    a.extend([
        "unseal".into(),
        "--bundle".into(),
        s(&tampered),
        "--identity".into(),
        id_files[0].clone(),
    ]);
    let out = run(&a, None);
    assert!(
        stderr(&out).contains("integrity check failed"),
        "{}",
        stderr(&out)
    );

    // Ceremony: holder 1 alone → pending (exit 3); holders 2 and 3 → the first node opens.
    let unseal = |files: &[String]| {
        let mut a = conn(&all);
        a.extend([
            "unseal".into(),
            "--bundle".into(),
            s(&bundle),
            "--wait".into(),
            "60".into(),
        ]);
        for f in files {
            a.extend(["--identity".into(), f.clone()]);
        }
        run(&a, None)
    };
    let out = unseal(&id_files[..1]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1/3 shares given"),
        "{}",
        stderr(&out)
    );
    let out = unseal(&id_files[1..3]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{}: unsealed", all[0])),
        "{}",
        stderr(&out)
    );
    assert!(!c.client(0).seal_status().await.unwrap().sealed);

    // Holders 3, 4, 5 together: the other nodes join and are unsealed; node 1 is skipped.
    let out = unseal(&id_files[2..5]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("already unsealed, skipped"),
        "{}",
        stderr(&out)
    );
    c.nodes_set(false)
        .wait_all(
            "all unsealed",
            &[
                vaultops_api::NodeRole::Active,
                vaultops_api::NodeRole::Standby,
            ],
            Duration::from_secs(30),
        )
        .await
        .unwrap();

    // The root token from the bundle works; seal a node and unseal it at the prompt.
    let rc = c.client(1).with_token(vaultops_api::Token::new(root));
    rc.seal().await.unwrap();
    let mut a = conn(&all[1..2]);
    a.extend(["unseal".into(), "--prompt".into()]);
    let typed = format!("{}\n{}\n{}\n\n", plain[0], plain[3], plain[4]);
    let out = run(&a, Some(&typed));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains(&plain[0]),
        "typed shares are not echoed"
    );
    assert!(!c.client(1).seal_status().await.unwrap().sealed);

    // A new root token from 3 holders' shares. Without a token OpenBao's authenticated
    // endpoint refuses, and the error says what to pass.
    let gen = |token: Option<&str>, out: &Path| {
        let mut a = conn(&all[..1]);
        if let Some(t) = token {
            a.extend(["--token".into(), t.to_string()]);
        }
        a.extend([
            "root".into(),
            "generate".into(),
            "--bundle".into(),
            s(&bundle),
            "--out".into(),
            s(out),
        ]);
        for f in &id_files[..3] {
            a.extend(["--identity".into(), f.clone()]);
        }
        run(&a, None)
    };
    let new_root = dir.path().join("root.txt");
    let out = gen(None, &new_root);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("pass --token"), "{}", stderr(&out));
    let root_now = c.client(0).with_token(vaultops_api::Token::new(
        String::from_utf8(
            age::decrypt(
                &ids[0],
                b["root_token"]["ciphertext"].as_str().unwrap().as_bytes(),
            )
            .unwrap(),
        )
        .unwrap(),
    ));
    let out = gen(root_now.token().map(|t| t.expose()), &new_root);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::metadata(&new_root).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let fresh = std::fs::read_to_string(&new_root)
        .unwrap()
        .trim()
        .to_string();
    let info = c
        .client(0)
        .with_token(vaultops_api::Token::new(fresh))
        .token_lookup_self()
        .await
        .unwrap();
    assert!(info.policies.contains(&"root".to_string()));
}
