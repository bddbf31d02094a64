//! `vaultops rekey` and `vaultops rotate-encryption-key` on a real 3-node cluster, with a
//! scoped token (never the root token), age custody, a resumed attempt, and restarts: the new
//! bundle opens every node, the old one no longer does.

use age::secrecy::ExposeSecret;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use vaultops_api::{RekeyEndpoint, RekeyRequest, Token, TokenCreateRequest, UnsealKey};
use vaultops_bootstrap::{REKEY_POLICY, ROTATE_ENCRYPTION_KEY_POLICY};
use vaultops_testkit::{Cluster, ClusterOptions};

const DEADLINE: Duration = Duration::from_secs(60);

fn run(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .args(args)
        .env_remove("VAULT_ADDR")
        .env_remove("BAO_ADDR")
        .env_remove("VAULT_TOKEN")
        .env_remove("BAO_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("running vaultops")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn identity(dir: &Path, name: &str) -> (String, String) {
    let id = age::x25519::Identity::generate();
    let p = dir.join(name);
    std::fs::write(&p, id.to_string().expose_secret()).unwrap();
    (s(&p), id.to_public().to_string())
}

/// A token file holding a token with only `policy`.
async fn scoped_token_file(
    c: &Cluster,
    root: &Token,
    name: &str,
    policy: &str,
    dir: &Path,
) -> String {
    let active = c.wait_active(DEADLINE).await;
    let rc = c.client(active).with_token(root.clone());
    rc.policy_write(name, policy).await.unwrap();
    let auth = rc
        .token_create(&TokenCreateRequest {
            policies: vec![name.to_owned()],
            no_default_policy: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let p = dir.join(format!("{name}.token"));
    std::fs::write(&p, auth.client_token.expose()).unwrap();
    s(&p)
}

async fn wait_listening(c: &Cluster, i: usize) {
    let n = c.client(i);
    vaultops_bootstrap::wait_until(
        "node listening",
        DEADLINE,
        Duration::from_millis(100),
        || async { n.seal_status().await.map(Some).map_err(|e| e.to_string()) },
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekey_into_a_new_bundle_then_every_node_opens_with_it_only() {
    let mut c = Cluster::start(ClusterOptions {
        bootstrap: false,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (old_id, old_r) = identity(dir.path(), "old.key");
    let (new_id, new_r) = identity(dir.path(), "new.key");
    let ca = s(&c.ca_path());
    let all = c.addrs();
    let conn = |addrs: &[String], token: Option<&str>| -> Vec<String> {
        let mut v = vec!["--ca-cert".to_string(), ca.clone()];
        for a in addrs {
            v.extend(["--addr".into(), a.clone()]);
        }
        if let Some(t) = token {
            v.extend(["--token-file".into(), t.to_owned()]);
        }
        v
    };
    let old_bundle = dir.path().join("init.json");
    let new_bundle = dir.path().join("rekeyed.json");

    let mut a = conn(&all[..1], None);
    a.extend(["init", "--out", &s(&old_bundle), "--age-recipient", &old_r].map(String::from));
    let out = run(&a);
    assert!(out.status.success(), "{}", stderr(&out));
    let unseal = |bundle: &Path, id: &str, addrs: &[String]| {
        let mut a = conn(addrs, None);
        a.extend(["unseal", "--bundle", &s(bundle), "--identity", id].map(String::from));
        run(&a)
    };
    let out = unseal(&old_bundle, &old_id, &all);
    assert!(out.status.success(), "{}", stderr(&out));
    c.wait_active(DEADLINE).await;
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&old_bundle).unwrap()).unwrap();
    let ident: age::x25519::Identity = std::fs::read_to_string(&old_id)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let root = Token::new(
        String::from_utf8(
            age::decrypt(
                &ident,
                b["root_token"]["ciphertext"].as_str().unwrap().as_bytes(),
            )
            .unwrap(),
        )
        .unwrap(),
    );
    let old_keys: Vec<UnsealKey> = b["encrypted_shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sh| {
            UnsealKey::new(
                String::from_utf8(
                    age::decrypt(&ident, sh["ciphertext"].as_str().unwrap().as_bytes()).unwrap(),
                )
                .unwrap(),
            )
        })
        .collect();
    let token = scoped_token_file(&c, &root, "rekey", REKEY_POLICY, dir.path()).await;
    let rekey = |extra: &[&str]| {
        let mut a = conn(&all, Some(&token));
        a.push("rekey".into());
        a.extend(extra.iter().map(|x| x.to_string()));
        run(&a)
    };

    // Dry run: the plan, nothing started.
    let out = rekey(&["--dry-run", "--key-shares", "3", "--key-threshold", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("current split 5 shares / threshold 3; new split 3 / 2"),
        "{text}"
    );
    let active = c.wait_active(DEADLINE).await;
    let ac = c.client(active).with_token(root.clone());
    assert!(
        !ac.rekey_status(RekeyEndpoint::RotateRoot)
            .await
            .unwrap()
            .started
    );

    // An interrupted run (one old share given), resumed by the command.
    let started = ac
        .rekey_start(
            RekeyEndpoint::RotateRoot,
            &RekeyRequest {
                split: vaultops_api::KeySplit::new(3, 2).unwrap(),
                pgp_keys: Vec::new(),
                require_verification: true,
            },
        )
        .await
        .unwrap();
    ac.rekey_update(RekeyEndpoint::RotateRoot, &old_keys[0], &started.nonce)
        .await
        .unwrap();
    let out = rekey(&["--dry-run", "--key-shares", "3", "--key-threshold", "2"]);
    assert!(
        stdout(&out).contains("resume the attempt in progress (1 of 3"),
        "{}",
        stdout(&out)
    );

    let out = rekey(&[
        "--bundle",
        &s(&old_bundle),
        "--identity",
        &old_id,
        "--out",
        &s(&new_bundle),
        "--key-shares",
        "3",
        "--key-threshold",
        "2",
        "--age-recipient",
        &new_r,
    ]);
    assert!(out.status.success(), "{}\n{}", stderr(&out), stdout(&out));
    assert!(
        stdout(&out).contains("probe: old shares refused, new shares accepted"),
        "{}",
        stdout(&out)
    );
    let mode = std::fs::metadata(&new_bundle).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let nb: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&new_bundle).unwrap()).unwrap();
    assert_eq!(
        (nb["shares"].as_u64(), nb["threshold"].as_u64()),
        (Some(3), Some(2))
    );
    assert!(
        nb["cluster_id"].is_string(),
        "the new bundle names its cluster"
    );
    assert!(
        std::fs::read_to_string(&old_bundle)
            .unwrap()
            .contains("\"threshold\": 3"),
        "the old bundle is untouched"
    );

    // A re-run refuses to overwrite the new bundle.
    let out = rekey(&[
        "--bundle",
        &s(&old_bundle),
        "--identity",
        &old_id,
        "--out",
        &s(&new_bundle),
        "--key-shares",
        "3",
        "--key-threshold",
        "2",
        "--age-recipient",
        &new_r,
    ]);
    assert!(!out.status.success());

    // One standby restarted while the others still run: the new bundle opens it (the
    // unsealed standbys still show the old split; their cluster id is what is checked).
    let standby = (active + 1) % 3;
    c.kill_node(standby);
    c.start_node(standby);
    wait_listening(&c, standby).await;
    let out = unseal(&new_bundle, &new_id, &all);
    assert!(out.status.success(), "{}", stderr(&out));

    // Every node restarted: the old bundle is refused, the new one opens them.
    for i in 0..3 {
        c.kill_node(i);
    }
    for i in 0..3 {
        c.start_node(i);
    }
    for i in 0..3 {
        wait_listening(&c, i).await;
    }
    let out = unseal(&old_bundle, &old_id, &all[..1]);
    assert!(!out.status.success(), "the old bundle must not open a node");
    assert!(c.client(0).seal_status().await.unwrap().sealed);
    let out = unseal(&new_bundle, &new_id, &all);
    assert!(out.status.success(), "{}", stderr(&out));
    c.wait_active(DEADLINE).await;

    // Unhealthy cluster: refused, naming the node.
    c.kill_node(2);
    let out = rekey(&["--dry-run", "--key-shares", "3", "--key-threshold", "2"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&all[2]) && stderr(&out).contains("not healthy"),
        "{}",
        stderr(&out)
    );
    c.start_node(2);
    wait_listening(&c, 2).await;
    let out = unseal(&new_bundle, &new_id, &all[2..]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Barrier key rotation with its own scoped token.
    let rtoken = scoped_token_file(
        &c,
        &root,
        "rotate",
        ROTATE_ENCRYPTION_KEY_POLICY,
        dir.path(),
    )
    .await;
    let rotate = |extra: &[&str]| {
        let mut a = conn(&all, Some(&rtoken));
        a.extend([
            "--format".into(),
            "json".into(),
            "rotate-encryption-key".into(),
        ]);
        a.extend(extra.iter().map(|x| x.to_string()));
        run(&a)
    };
    let out = rotate(&["--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dry: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(dry["before"]["term"], dry["after"]["term"]);
    let out = rotate(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        done["after"]["term"].as_u64().unwrap(),
        dry["before"]["term"].as_u64().unwrap() + 1
    );
    // The rekey token may not rotate the barrier key (positive control of the scoping).
    let mut a = conn(&all, Some(&token));
    a.push("rotate-encryption-key".into());
    let out = run(&a);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("permission denied"),
        "{}",
        stderr(&out)
    );
}

/// The run was interrupted after the new bundle was written, before verification: a re-run
/// finishes from the new bundle; without it, it says to cancel; `--cancel` drops an attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_finishes_an_attempt_awaiting_verification_and_cancel_drops_one() {
    let c = Cluster::start(ClusterOptions {
        nodes: 1,
        bootstrap: false,
        wait_voters: false,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (old_id, old_r) = identity(dir.path(), "old.key");
    let (new_id, new_r) = identity(dir.path(), "new.key");
    let ca = s(&c.ca_path());
    let addr = c.addrs().remove(0);
    let conn = |token: Option<&str>| -> Vec<String> {
        let mut v = vec![
            "--ca-cert".to_string(),
            ca.clone(),
            "--addr".into(),
            addr.clone(),
        ];
        if let Some(t) = token {
            v.extend(["--token-file".into(), t.to_owned()]);
        }
        v
    };
    let old_bundle = dir.path().join("init.json");
    let new_bundle = dir.path().join("rekeyed.json");
    let mut a = conn(None);
    a.extend(["init", "--out", &s(&old_bundle), "--age-recipient", &old_r].map(String::from));
    assert!(run(&a).status.success());
    let mut a = conn(None);
    a.extend(["unseal", "--bundle", &s(&old_bundle), "--identity", &old_id].map(String::from));
    let out = run(&a);
    assert!(out.status.success(), "{}", stderr(&out));
    c.wait_active(DEADLINE).await;
    let bundle = vaultops_custody::read_bundle(&old_bundle).unwrap();
    let ident = vaultops_custody::Identities::from_text(&std::fs::read_to_string(&old_id).unwrap())
        .unwrap();
    let root = Token::new(
        ident
            .decrypt(bundle.root_token.as_ref().unwrap())
            .unwrap()
            .unwrap(),
    );
    let old_keys: Vec<UnsealKey> = bundle
        .encrypted_shares
        .iter()
        .map(|sh| UnsealKey::new(ident.decrypt(sh).unwrap().unwrap()))
        .collect();
    let token = scoped_token_file(&c, &root, "rekey", REKEY_POLICY, dir.path()).await;
    let rekey = |extra: &[&str]| {
        let mut a = conn(Some(&token));
        a.push("rekey".into());
        a.extend(extra.iter().map(|x| x.to_string()));
        run(&a)
    };
    let ac = c.client(0).with_token(root.clone());
    let ep = RekeyEndpoint::RotateRoot;
    let start = |ac: vaultops_api::NodeClient| async move {
        ac.rekey_start(
            ep,
            &RekeyRequest {
                split: vaultops_api::KeySplit::new(3, 2).unwrap(),
                pgp_keys: Vec::new(),
                require_verification: true,
            },
        )
        .await
        .unwrap()
    };

    // --cancel drops an attempt in progress.
    start(ac.clone()).await;
    let out = rekey(&["--cancel", "--key-shares", "3", "--key-threshold", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("cancelled"), "{}", stderr(&out));
    assert!(!ac.rekey_status(ep).await.unwrap().started);

    // Interrupted after the new shares came back (and were saved): awaiting verification.
    let st = start(ac.clone()).await;
    let mut last = None;
    for k in &old_keys[..3] {
        last = Some(ac.rekey_update(ep, k, &st.nonce).await.unwrap());
    }
    let last = last.unwrap();
    assert!(last.complete && !last.verification_nonce.is_empty());
    let args = [
        "--bundle",
        &s(&old_bundle),
        "--identity",
        &old_id,
        "--identity",
        &new_id,
        "--out",
        &s(&new_bundle),
        "--key-shares",
        "3",
        "--key-threshold",
        "2",
        "--age-recipient",
        &new_r,
    ];
    // Without the new bundle there is nothing to verify with: it says to cancel.
    let out = rekey(&args);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--cancel"), "{}", stderr(&out));
    // No probe while an attempt is in progress (it would need its own attempt).
    assert!(
        vaultops_bootstrap::probe_shares(&ac, vaultops_types::Engine::OpenBao, &old_keys)
            .await
            .is_err_and(|e| e.to_string().contains("rekey probe start")),
        "an attempt is in progress: the probe cannot start"
    );

    let recipients = vaultops_custody::parse_recipients(std::slice::from_ref(&new_r)).unwrap();
    let mut nb = bundle.clone();
    nb.shares = 3;
    nb.threshold = 2;
    nb.root_token = None;
    nb.encrypted_shares = vaultops_custody::encrypt_shares(&last.keys_base64, &recipients).unwrap();
    nb.seal_integrity();
    vaultops_custody::write_bundle(&new_bundle, &nb).unwrap();
    let out = rekey(&args);
    assert!(out.status.success(), "{}\n{}", stderr(&out), stdout(&out));
    assert!(
        stderr(&out).contains("finishing the attempt in progress"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("probe: old shares refused, new shares accepted"),
        "{}",
        stdout(&out)
    );
    assert_eq!(c.client(0).seal_status().await.unwrap().t, 2);
}

fn gpg(home: &Path, args: &[&str]) -> Output {
    let out = Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
        .args(args)
        .output()
        .expect("gpg must be installed (Debian package gnupg)");
    assert!(out.status.success(), "gpg {args:?}: {}", stderr(&out));
    out
}

/// New shares encrypted by the server to PGP keys: the run decrypts them with the gpg keyring
/// to verify, and they open the restarted node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekey_to_pgp_keys_then_the_restarted_node_opens_with_the_new_bundle() {
    let mut c = Cluster::start(ClusterOptions {
        nodes: 1,
        bootstrap: false,
        wait_voters: false,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("gnupg");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
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
        key_files.push(s(&f));
    }
    let (old_id, old_r) = identity(dir.path(), "old.key");
    let ca = s(&c.ca_path());
    let addr = c.addrs().remove(0);
    let vaultops = |args: &[&str], token: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaultops"));
        cmd.env("GNUPGHOME", &home)
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_TOKEN")
            .env_remove("BAO_TOKEN")
            .args(["--ca-cert", &ca, "--addr", &addr]);
        if let Some(t) = token {
            cmd.args(["--token-file", t]);
        }
        cmd.args(args).output().unwrap()
    };
    let old_bundle = s(&dir.path().join("init.json"));
    let new_bundle = s(&dir.path().join("rekeyed.json"));
    let out = vaultops(
        &["init", "--out", &old_bundle, "--age-recipient", &old_r],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = vaultops(
        &["unseal", "--bundle", &old_bundle, "--identity", &old_id],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    c.wait_active(DEADLINE).await;
    let bundle = vaultops_custody::read_bundle(Path::new(&old_bundle)).unwrap();
    let ident = vaultops_custody::Identities::from_text(&std::fs::read_to_string(&old_id).unwrap())
        .unwrap();
    let root = Token::new(
        ident
            .decrypt(bundle.root_token.as_ref().unwrap())
            .unwrap()
            .unwrap(),
    );
    let token = scoped_token_file(&c, &root, "rekey", REKEY_POLICY, dir.path()).await;

    let out = vaultops(
        &[
            "rekey",
            "--bundle",
            &old_bundle,
            "--identity",
            &old_id,
            "--out",
            &new_bundle,
            "--key-shares",
            "3",
            "--key-threshold",
            "2",
            "--pgp-keys",
            &key_files.join(","),
        ],
        Some(&token),
    );
    assert!(out.status.success(), "{}\n{}", stderr(&out), stdout(&out));
    assert!(
        stdout(&out).contains("probe: old shares refused, new shares accepted"),
        "{}",
        stdout(&out)
    );
    let nb = vaultops_custody::read_bundle(Path::new(&new_bundle)).unwrap();
    assert!(nb
        .encrypted_shares
        .iter()
        .all(|sh| matches!(sh.custody, vaultops_custody::ShareCustody::Pgp { .. })));

    c.kill_node(0);
    c.start_node(0);
    wait_listening(&c, 0).await;
    let out = vaultops(
        &["unseal", "--bundle", &old_bundle, "--identity", &old_id],
        None,
    );
    assert!(
        !out.status.success(),
        "the old bundle must not open the node"
    );
    let out = vaultops(&["unseal", "--bundle", &new_bundle], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!c.client(0).seal_status().await.unwrap().sealed);
}
