//! `vaultops backup save|verify|restore` safeguards on real clusters: the restore checks the
//! backup first, shows the target and what replaces it, refuses another cluster's snapshot
//! without --force and a pipe without --yes, and takes a safety snapshot; bad backups are
//! refused with a message naming the problem, and nothing stored is lost.

mod common;

use age::secrecy::ExposeSecret;
use common::{
    dir_digests, names, one_node_with_baseline, s, set_value, sha256_hex, value, vaultops,
    wait_value,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use vaultops_testkit::{Cluster, ClusterOptions};

/// Runs vaultops with a terminal as standard input (util-linux `script`), typing `answer`.
fn on_a_terminal(args: &[String], answer: &str) -> Output {
    use std::io::Write;
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_vaultops").to_owned())
        .chain(args.iter().cloned())
        .map(|a| {
            assert!(!a.contains('\''), "{a}");
            format!("'{a}'")
        })
        .collect();
    let mut child = Command::new("script")
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .env_remove("VAULT_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux script (a terminal for the confirmation test)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{answer}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn conn(c: &Cluster, addr: &str, token_file: &Path) -> Vec<String> {
    vec![
        "--ca-cert".into(),
        s(&c.ca_path()),
        "--addr".into(),
        addr.into(),
        "--token-file".into(),
        s(token_file),
    ]
}

fn args(base: &[String], rest: &[&str]) -> Vec<String> {
    let mut a = base.to_vec();
    a.extend(rest.iter().map(|x| x.to_string()));
    a
}

/// One bad backup: how it is made, and what the error must say.
struct Bad {
    name: &'static str,
    expect: &'static str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_checks_shows_snapshots_asks_and_refuses_bad_backups() {
    let (c, root, active) = one_node_with_baseline().await;
    set_value(&root, "before").await;

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let token = d.join("root.token");
    std::fs::write(&token, c.root_token().expose()).unwrap();
    let id = age::x25519::Identity::generate();
    let key = d.join("backup.key");
    std::fs::write(&key, id.to_string().expose_secret()).unwrap();
    let other_id = age::x25519::Identity::generate();
    let other_key = d.join("other.key");
    std::fs::write(&other_key, other_id.to_string().expose_secret()).unwrap();
    let backups = d.join("backups");
    std::fs::create_dir(&backups).unwrap();
    let file = backups.join("vault.snap.age");
    let base = conn(&c, &c.addrs()[active], &token);

    let out = vaultops(&args(
        &base,
        &[
            "backup",
            "save",
            "--out",
            &s(&file),
            "--age-recipient",
            &id.to_public().to_string(),
        ],
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The description names the cluster the backup came from.
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(vaultops_backup::meta_path(&file)).unwrap()).unwrap();
    let health = root.health().await.unwrap().body;
    assert_eq!(meta["cluster_id"], health.cluster_id.clone().unwrap());
    assert_eq!(meta["sha256"], sha256_hex(&std::fs::read(&file).unwrap()));
    set_value(&root, "after").await;

    // Bad backups, each in its own directory next to intact copies of the real one.
    let good = std::fs::read(&file).unwrap();
    let sums = |name: &str, bytes: &[u8]| format!("{}  {name}\n", sha256_hex(bytes));
    let table = [
        Bad {
            name: "corrupt",
            expect: "checksum of",
        },
        Bad {
            name: "truncated",
            expect: "truncated or damaged",
        },
        Bad {
            name: "wrong-identity",
            expect: "decrypting",
        },
        Bad {
            name: "no-identity",
            expect: "give the identity",
        },
        Bad {
            name: "no-checksum",
            expect: "has no checksum file",
        },
        Bad {
            name: "stale-description",
            expect: "belongs to another backup",
        },
    ];
    let mut report = Vec::new();
    for bad in &table {
        let bdir = d.join(bad.name);
        std::fs::create_dir(&bdir).unwrap();
        let f = bdir.join("vault.snap.age");
        let mut bytes = good.clone();
        let mut with_sums = true;
        let mut identity = key.clone();
        match bad.name {
            "corrupt" => {
                let n = bytes.len() / 2;
                bytes[n] ^= 0xff;
                // The checksum of the GOOD file: the damage must be caught.
                std::fs::write(
                    bdir.join("vault.snap.age.sha256"),
                    sums("vault.snap.age", &good),
                )
                .unwrap();
                with_sums = false;
            }
            // Truncated, with a checksum of the truncated bytes: decryption finds it.
            "truncated" => bytes.truncate(bytes.len() / 2),
            "wrong-identity" => identity = other_key.clone(),
            "no-identity" => identity = PathBuf::new(),
            "no-checksum" => with_sums = false,
            "stale-description" => {
                let mut m = meta.clone();
                m["sha256"] = sha256_hex(b"some other file").into();
                std::fs::write(
                    vaultops_backup::meta_path(&f),
                    serde_json::to_vec(&m).unwrap(),
                )
                .unwrap();
            }
            _ => unreachable!(),
        }
        std::fs::write(&f, &bytes).unwrap();
        if with_sums {
            std::fs::write(
                bdir.join("vault.snap.age.sha256"),
                sums("vault.snap.age", &bytes),
            )
            .unwrap();
        }
        let before = dir_digests(&bdir);
        let id_args: Vec<&str> = if identity.as_os_str().is_empty() {
            vec![]
        } else {
            vec!["--identity", identity.to_str().unwrap()]
        };
        for cmd in ["verify", "restore"] {
            let mut a = vec!["backup", cmd, f.to_str().unwrap()];
            a.extend(&id_args);
            if cmd == "restore" {
                a.push("--yes");
            }
            let out = vaultops(&args(&base, &a));
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(!out.status.success(), "{} {cmd} accepted: {err}", bad.name);
            assert!(err.contains(bad.expect), "{} {cmd}: {err}", bad.name);
            assert_eq!(
                dir_digests(&bdir),
                before,
                "{} {cmd}: files changed",
                bad.name
            );
            assert_eq!(
                value(&root).await,
                "after",
                "{} {cmd}: target changed",
                bad.name
            );
            report.push(format!(
                "{cmd} {}: exit {:?}: {}",
                bad.name,
                out.status.code(),
                err.lines().last().unwrap_or_default()
            ));
        }
    }

    // Another cluster's backup: refused before anything is written or sent, unless --force.
    let c2 = Cluster::start(ClusterOptions {
        nodes: 1,
        wait_voters: false,
        ..Default::default()
    })
    .await;
    let a2 = c2.wait_active(Duration::from_secs(30)).await;
    let token2 = d.join("root2.token");
    std::fs::write(&token2, c2.root_token().expose()).unwrap();
    let base2 = conn(&c2, &c2.addrs()[a2], &token2);
    let before = dir_digests(&backups);
    let out = vaultops(&args(
        &base2,
        &[
            "backup",
            "restore",
            &s(&file),
            "--identity",
            &s(&key),
            "--yes",
        ],
    ));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("pass --force") && err.contains("the target is cluster"),
        "{err}"
    );
    assert_eq!(
        dir_digests(&backups),
        before,
        "no safety snapshot, nothing else"
    );
    report.push(format!(
        "restore another-cluster: exit {:?}: {}",
        out.status.code(),
        err.lines().last().unwrap_or_default()
    ));

    // Standard input not a terminal and no --yes: the plan is shown, then a refusal, at once.
    let out = vaultops(&args(
        &base,
        &["backup", "restore", &s(&file), "--identity", &s(&key)],
    ));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("pass --yes"), "{err}");
    for shown in [
        "target:",
        &c.addrs()[active],
        health.cluster_id.as_deref().unwrap(),
        "replaced by:",
        "checksum matches",
        "taken ",
        "the same cluster",
        "safety snapshot of the target first",
    ] {
        assert!(err.contains(shown), "{shown:?} not in the plan:\n{err}");
    }
    assert_eq!(dir_digests(&backups), before);
    assert_eq!(value(&root).await, "after");
    report.push(format!(
        "restore without --yes, stdin not a terminal: exit {:?}",
        out.status.code()
    ));

    // On a terminal the question is asked: a wrong answer changes nothing, the target's
    // cluster name restores (safety snapshot first, encrypted to the identity's key).
    let restore = args(
        &base,
        &["backup", "restore", &s(&file), "--identity", &s(&key)],
    );
    let name = health.cluster_name.clone().unwrap();
    let out = on_a_terminal(&restore, "not-the-name");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(&format!("the target's cluster name ({name})"))
            && text.contains("not confirmed"),
        "{text}"
    );
    assert_eq!(dir_digests(&backups), before);
    assert_eq!(value(&root).await, "after");
    report.push(format!(
        "restore on a terminal, wrong name typed: exit {:?}",
        out.status.code()
    ));
    let out = on_a_terminal(&restore, &name);
    let err = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(out.status.success(), "{err}");
    let safety: PathBuf = err
        .split("safety snapshot of the target written: ")
        .nth(1)
        .and_then(|l| l.split(" (").next())
        .unwrap_or_else(|| panic!("no safety snapshot path in\n{err}"))
        .into();
    assert_eq!(safety.parent(), Some(backups.as_path()));
    assert!(std::fs::read(&safety)
        .unwrap()
        .starts_with(b"age-encryption.org"));
    let out = vaultops(&args(
        &base,
        &["backup", "verify", &s(&safety), "--identity", &s(&key)],
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected: Vec<String> = before.iter().map(|(n, _)| n.clone()).collect();
    let stem = safety.file_name().unwrap().to_string_lossy().into_owned();
    for extra in ["", ".meta.json", ".sha256"] {
        expected.push(format!("{stem}{extra}"));
    }
    expected.sort();
    assert_eq!(
        names(&backups),
        expected,
        "no temporary or decrypted file left"
    );
    wait_value(&root, "before").await;

    // The backup without a checksum is restorable when the operator says so.
    let out = vaultops(&args(
        &base,
        &[
            "backup",
            "restore",
            &s(&d.join("no-checksum/vault.snap.age")),
            "--identity",
            &s(&key),
            "--yes",
            "--no-checksum",
            "--no-safety-snapshot",
        ],
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report.push("restore no-checksum with --no-checksum: exit Some(0)".into());

    // The safety snapshot cannot be written (no such directory): nothing is restored.
    set_value(&root, "after").await;
    let out = vaultops(&args(
        &base,
        &[
            "backup",
            "restore",
            &s(&file),
            "--identity",
            &s(&key),
            "--yes",
            "--safety-dir",
            &s(&d.join("no-such-dir")),
        ],
    ));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("taking the safety snapshot") && err.contains("nothing was restored"),
        "{err}"
    );
    assert_eq!(value(&root).await, "after");
    report.push(format!(
        "restore, safety snapshot not writable: exit {:?}",
        out.status.code()
    ));

    // An unencrypted backup, no identity, no recipient: the safety snapshot is unencrypted,
    // mode 0600, and the plan says so.
    let plain = backups.join("plain.snap");
    let out = vaultops(&args(&base, &["backup", "save", "--out", &s(&plain)]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = vaultops(&args(&base, &["backup", "restore", &s(&plain), "--yes"]));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(err.contains("NOT encrypted"), "{err}");
    let safety: PathBuf = err
        .split("safety snapshot of the target written: ")
        .nth(1)
        .and_then(|l| l.split(" (").next())
        .unwrap_or_else(|| panic!("no safety snapshot path in\n{err}"))
        .into();
    assert!(std::fs::read(&safety).unwrap().starts_with(&[0x1f, 0x8b]));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&safety).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    eprintln!("bad inputs:\n  {}", report.join("\n  "));
}
