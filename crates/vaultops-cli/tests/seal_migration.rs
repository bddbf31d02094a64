//! `vaultops seal migrate` on a real 3-node cluster, Shamir → static, with a token holding only
//! `SEAL_MIGRATION_POLICY` and the shares from an age custody bundle made by `vaultops init`.
//! The test plays the operator only where the command says `reconfigure` (exit 4): it changes
//! the node's seal stanza and restarts it. At the end every node is restarted and comes back
//! unsealed with no unseal call, and `bundle` writes the recovery-key bundle.
//!
//! Positive controls: `step` when the next step is the operator's exits 4 and changes nothing;
//! `check` with a node stopped exits 2 naming it; `bundle` before the migration is done is
//! refused.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use age::secrecy::ExposeSecret;
use vaultops_api::{Token, TokenCreateRequest};
use vaultops_bootstrap::SEAL_MIGRATION_POLICY;
use vaultops_testkit::{Cluster, ClusterOptions, TestSeal};

const DEADLINE: Duration = Duration::from_secs(60);

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

struct Cli {
    base: Vec<String>,
}

impl Cli {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_vaultops"))
            .args(&self.base)
            .args(args)
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_TOKEN")
            .env_remove("BAO_TOKEN")
            .stdin(Stdio::null())
            .output()
            .expect("running vaultops")
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shamir_to_static_with_a_scoped_token_and_the_custody_bundle() {
    let mut c = Cluster::start(ClusterOptions {
        bootstrap: false,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let id_path = dir.path().join("holder.key");
    std::fs::write(&id_path, id.to_string().expose_secret()).unwrap();
    let bundle = dir.path().join("init.json");
    let ca = s(&c.ca_path());
    let plain = |addrs: &[String]| {
        let mut v = vec!["--ca-cert".to_string(), ca.clone()];
        for a in addrs {
            v.extend(["--addr".into(), a.clone()]);
        }
        Cli { base: v }
    };
    let all = c.addrs();
    let o = plain(&all[..1]).run(&[
        "init",
        "--out",
        &s(&bundle),
        "--age-recipient",
        &id.to_public().to_string(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = plain(&all).run(&[
        "unseal",
        "--bundle",
        &s(&bundle),
        "--identity",
        &s(&id_path),
    ]);
    assert!(o.status.success(), "{}", text(&o));

    // A token with only the policy the command prints.
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let root = Token::new(
        String::from_utf8(
            age::decrypt(
                &id,
                b["root_token"]["ciphertext"].as_str().unwrap().as_bytes(),
            )
            .unwrap(),
        )
        .unwrap(),
    );
    let active = c.wait_active(DEADLINE).await;
    let rc = c.client(active).with_token(root);
    let printed = plain(&all).run(&["seal", "migrate", "policy"]);
    assert_eq!(
        String::from_utf8_lossy(&printed.stdout),
        SEAL_MIGRATION_POLICY
    );
    rc.policy_write("seal-migration", SEAL_MIGRATION_POLICY)
        .await
        .unwrap();
    let t = rc
        .token_create(&TokenCreateRequest {
            policies: vec!["seal-migration".into()],
            no_default_policy: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let token_file = dir.path().join("seal.token");
    std::fs::write(&token_file, t.client_token.expose()).unwrap();
    let mut cli = plain(&all);
    cli.base.extend(["--token-file".into(), s(&token_file)]);
    let json_cli = Cli {
        base: [cli.base.clone(), vec!["--format".into(), "json".into()]].concat(),
    };
    let to = ["--to", "static"];
    let shares = ["--bundle", &s(&bundle), "--identity", &s(&id_path)];

    // The check waits for the voters (the followers just joined), then names the first step.
    let o = cli.run(&[&["seal", "migrate", "check", "--wait", "60"][..], &to].concat());
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    // Dry run: the whole order, nothing changed.
    let o = cli.run(&[&["seal", "migrate", "plan"][..], &to].concat());
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("dry run") && out.contains("step-down"),
        "{out}"
    );

    // Control: the bundle is refused before the migration is done.
    let new_bundle = dir.path().join("recovery.json");
    let o = cli.run(
        &[
            &["seal", "migrate", "bundle"][..],
            &to,
            &["--bundle", &s(&bundle), "--out", &s(&new_bundle)],
        ]
        .concat(),
    );
    assert!(!o.status.success() && !new_bundle.exists(), "{}", text(&o));

    let mut seen = Vec::new();
    for round in 0..20 {
        let o = json_cli.run(&[&["seal", "migrate", "check", "--wait", "60"][..], &to].concat());
        let next = json(&o);
        let action = next["action"].as_str().unwrap().to_owned();
        seen.push(action.clone());
        match action.as_str() {
            "reconfigure" => {
                assert_eq!(o.status.code(), Some(4), "{}", text(&o));
                if round == 0 {
                    // Control: `step` does not do the operator's step.
                    let o = cli.run(&[&["seal", "migrate", "step"][..], &to, &shares].concat());
                    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
                }
                let node = next["node"].as_str().unwrap();
                let last = next["last"].as_bool().unwrap();
                let i = all.iter().position(|a| a == node).unwrap();
                let from = if last {
                    TestSeal::Static
                } else {
                    TestSeal::Shamir
                };
                c.migrate_node_config(i, from, TestSeal::Static, DEADLINE)
                    .await;
                if round == 0 {
                    // Control: while the restarted node's listener is not yet back, or
                    // stopped, `check` without waiting names it or asks for its unseal.
                    c.kill_node(i);
                    let o = cli.run(&[&["seal", "migrate", "check"][..], &to].concat());
                    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
                    assert!(text(&o).contains(node), "{}", text(&o));
                    c.start_node(i);
                }
            }
            "done" => break,
            _ => {
                let o = cli.run(&[&["seal", "migrate", "step"][..], &to, &shares].concat());
                assert!(o.status.success(), "{}", text(&o));
            }
        }
    }
    assert_eq!(
        seen,
        [
            "reconfigure",
            "migrate-unseal",
            "reconfigure",
            "migrate-unseal",
            "step-down",
            "reconfigure",
            "done"
        ]
    );

    // Restart every node: each comes back unsealed by the static seal, no unseal call.
    c.finish_seal_migration(TestSeal::Static).await;
    for i in 0..all.len() {
        c.stop_node(i, DEADLINE).await;
    }
    for i in 0..all.len() {
        c.start_node(i);
    }
    let o = json_cli.run(&[&["seal", "migrate", "check", "--wait", "60"][..], &to].concat());
    assert_eq!(json(&o)["action"], "done", "{}", text(&o));

    let o = cli.run(
        &[
            &["seal", "migrate", "bundle"][..],
            &to,
            &["--bundle", &s(&bundle), "--out", &s(&new_bundle)],
        ]
        .concat(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let nb = vaultops_custody::read_bundle(&new_bundle).unwrap();
    assert_eq!(
        (nb.seal_type.as_str(), nb.key_kind),
        ("static", vaultops_custody::KeyKind::Recovery)
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&new_bundle).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
