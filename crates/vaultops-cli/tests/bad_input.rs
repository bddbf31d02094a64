//! Bad input to every command (issue 13 item 10), one table: the real `vaultops` binary is run
//! for each case and each must exit non-zero, name the cause in its standard error, and, for
//! the file cases, leave the previous file byte for byte and no temporary or partial file.
//!
//! Servers: one uninitialised `bao` with five TLS listeners (a good certificate, an expired
//! one, a not-yet-valid one, one with a wrong SAN, one from another CA) serves the TLS cases,
//! the init that makes the bundle, and the bundle, identity, typed-share and rollout cases; a
//! second uninitialised one takes the init on a full disk; a dev server the credentials sink.
//! The full-disk cases write into a 64 KiB tmpfs filled to the last page (needs root to
//! mount; a failed mount fails the test). The table is printed at the end, as markdown.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use time::{Duration as Span, OffsetDateTime};
use vaultops_testkit::{free_port, DevServer, ListenerCert, TlsListeners};
use vaultops_tls::{CaParams, NodeParams, Validity};

/// One row of the table, and whether it met its expectation.
struct Row {
    command: String,
    case: String,
    code: Option<i32>,
    excerpt: String,
}

#[derive(Default)]
struct Table {
    rows: Vec<Row>,
    failures: Vec<String>,
}

impl Table {
    /// Records a case: `out` must have a non-zero exit and a standard error holding every
    /// one of `needles`; the excerpt is the first line of standard error naming `needles[0]`.
    fn case(&mut self, command: &str, case: &str, out: &Output, needles: &[&str]) {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let code = out.status.code();
        let line = stderr
            .lines()
            .find(|l| l.contains(needles[0]))
            .or_else(|| stderr.lines().find(|l| !l.trim().is_empty()))
            .unwrap_or("")
            .trim();
        let excerpt: String = line.chars().take(220).collect();
        if code == Some(0) || code.is_none() {
            self.failures.push(format!(
                "{command} / {case}: exit {code:?}\nstderr:\n{stderr}"
            ));
        }
        for n in needles {
            if !stderr.contains(n) {
                self.failures.push(format!(
                    "{command} / {case}: standard error does not name {n:?}\nstderr:\n{stderr}"
                ));
            }
        }
        if stderr.contains("panicked") {
            self.failures
                .push(format!("{command} / {case}: panicked\n{stderr}"));
        }
        self.rows.push(Row {
            command: command.into(),
            case: case.into(),
            code,
            excerpt,
        });
    }

    fn fail(&mut self, what: String) {
        self.failures.push(what);
    }

    fn markdown(&self) -> String {
        let mut s = String::from(
            "| command | bad input | exit | message (excerpt) |\n| --- | --- | --- | --- |\n",
        );
        for r in &self.rows {
            let code = r.code.map_or("signal".into(), |c| c.to_string());
            s.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                r.command,
                r.case,
                code,
                r.excerpt.replace('|', "\\|")
            ));
        }
        s
    }
}

fn vaultops(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vaultops"));
    for v in [
        "VAULT_ADDR",
        "BAO_ADDR",
        "VAULT_TOKEN",
        "BAO_TOKEN",
        "VAULT_CACERT",
        "BAO_CACERT",
    ] {
        cmd.env_remove(v);
    }
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("running vaultops");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("writing stdin");
    }
    drop(input);
    child.wait_with_output().expect("vaultops output")
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Every file of `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("listing a directory")
        .map(|e| {
            let e = e.expect("a directory entry");
            let bytes = std::fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect()
}

/// After a failed write into `dir`: every file is as `before`, and nothing new remains
/// except empty lock files (kept by design for the next writer).
fn check_untouched(t: &mut Table, case: &str, dir: &Path, before: &BTreeMap<String, Vec<u8>>) {
    let after = files(dir);
    for (name, bytes) in before {
        match after.get(name) {
            Some(now) if now == bytes => {}
            Some(_) => t.fail(format!("{case}: {name} changed")),
            None => t.fail(format!("{case}: {name} disappeared")),
        }
    }
    for (name, bytes) in &after {
        let lock = name.contains("lock") && bytes.is_empty();
        if !before.contains_key(name) && !lock {
            t.fail(format!(
                "{case}: a partial or temporary file remains: {name} ({} bytes)",
                bytes.len()
            ));
        }
    }
}

/// A 64 KiB tmpfs on a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("running mount");
        assert!(
            out.status.success(),
            "mounting a 64 KiB tmpfs on {} failed (the full-disk cases need root): {}",
            dir.path().display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system to the last byte with `.filler`.
    fn fill(&self) {
        let mut f = std::fs::File::create(self.path().join(".filler")).expect("filler");
        for chunk in [4096usize, 1] {
            let buf = vec![0u8; chunk];
            loop {
                match f.write(&buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.raw_os_error() == Some(28) => break,
                    Err(e) => panic!("filling the tmpfs: {e}"),
                }
            }
        }
        let probe = std::fs::write(self.path().join(".probe"), b"x");
        assert!(probe.is_err(), "the tmpfs is not full");
        let _ = std::fs::remove_file(self.path().join(".probe"));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// The CAs and the five listeners' certificates, written under `dir`.
struct Certs {
    ca: PathBuf,
    listeners: Vec<ListenerCert>,
}

fn make_certs(dir: &Path) -> Certs {
    let now = OffsetDateTime::now_utc();
    let window = |from: i64, to: i64| {
        Validity::between(now + Span::days(from), now + Span::days(to)).unwrap()
    };
    let ca_bundle = vaultops_tls::create_ca(&CaParams {
        common_name: "bad-input CA".into(),
        validity: Some(window(-30, 30)),
        ..Default::default()
    })
    .unwrap();
    let other_bundle = vaultops_tls::create_ca(&CaParams {
        common_name: "another CA".into(),
        days: 30,
        ..Default::default()
    })
    .unwrap();
    let ca_files =
        vaultops_tls::write_ca(&dir.join("ca"), &ca_bundle, vaultops_tls::Overwrite::Refuse)
            .unwrap();
    vaultops_tls::write_ca(
        &dir.join("other-ca"),
        &other_bundle,
        vaultops_tls::Overwrite::Refuse,
    )
    .unwrap();
    let ca = vaultops_tls::Ca::from_bundle(&ca_bundle).unwrap();
    let other = vaultops_tls::Ca::from_bundle(&other_bundle).unwrap();
    let local = |name: &str, validity: Option<Validity>| NodeParams {
        name: name.into(),
        dns: vec!["localhost".into()],
        ips: vec![std::net::Ipv4Addr::LOCALHOST.into()],
        days: 1,
        validity,
        ..Default::default()
    };
    let specs = [
        (&ca, local("good", None)),
        (&ca, local("expired", Some(window(-20, -1)))),
        (&ca, local("notyet", Some(window(2, 20)))),
        (
            &ca,
            NodeParams {
                name: "wrongsan".into(),
                dns: vec!["vault-elsewhere.example".into()],
                ips: vec!["10.9.9.9".parse().unwrap()],
                days: 1,
                ..Default::default()
            },
        ),
        (&other, local("otherca", None)),
    ];
    let listeners = specs
        .iter()
        .map(|(issuer, p)| {
            let cert = vaultops_tls::create_node_cert(issuer, p).unwrap();
            let f = vaultops_tls::write_node(&dir.join("nodes"), &p.name, &cert).unwrap();
            ListenerCert {
                cert: f.cert,
                key: f.key,
            }
        })
        .collect();
    Certs {
        ca: ca_files.cert,
        listeners,
    }
}

fn join<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<&'a str> {
    [a, b].concat()
}

/// An age identity file and its recipient.
fn identity(dir: &Path, name: &str) -> (PathBuf, String) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let path = dir.join(name);
    std::fs::write(&path, format!("{}\n", id.to_string().expose_secret())).unwrap();
    (path, id.to_public().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_is_refused_by_name() {
    let started = std::time::Instant::now();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let certs = make_certs(w);
    let node = TlsListeners::start(&certs.listeners).await;
    let fresh = TlsListeners::start(&certs.listeners[..1]).await;
    let dev = DevServer::start().await;
    let [good, expired, notyet, wrongsan, otherca] = node.addrs() else {
        panic!("five listeners")
    };
    let ca = s(&certs.ca);
    let mut t = Table::default();

    // The bundle every unseal case starts from (positive path: exit 0).
    let (id_file, recipient) = identity(w, "holder.age");
    let (other_id, _) = identity(w, "stranger.age");
    let bundle = w.join("bundle.json");
    let out = vaultops(
        &[
            "--addr",
            good,
            "--ca-cert",
            &ca,
            "init",
            "--out",
            &s(&bundle),
            "--key-shares",
            "3",
            "--key-threshold",
            "2",
            "--age-recipient",
            &recipient,
        ],
        None,
    );
    assert!(
        out.status.success(),
        "init on the good listener: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (bundle_s, id_s) = (s(&bundle), s(&id_file));

    // --- Certificates: every command names the cause and what to do.
    let cert_cases: [(&str, &String, &str, &[&str]); 5] = [
        (
            "expired certificate",
            expired,
            &ca,
            &["expired", "vaultops tls renew"],
        ),
        ("not-yet-valid certificate", notyet, &ca, &["not valid yet"]),
        (
            "wrong-SAN certificate",
            wrongsan,
            &ca,
            &["does not match", "vault-elsewhere.example"],
        ),
        (
            "another CA's certificate",
            otherca,
            &ca,
            &["unknown CA", "--ca-cert"],
        ),
        (
            "no --ca-cert (system roots)",
            good,
            "",
            &["unknown CA", "--ca-cert"],
        ),
    ];
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/rollout.yaml");
    for (case, addr, ca_arg, needles) in cert_cases {
        let mut base = vec!["--addr", addr.as_str()];
        if !ca_arg.is_empty() {
            base.extend(["--ca-cert", ca_arg]);
        }
        let mut n: Vec<&str> = needles.to_vec();
        n.push(addr);
        t.case(
            "status",
            case,
            &vaultops(&join(&base, &["status"]), None),
            &n,
        );
        let unseal = join(
            &base,
            &["unseal", "--bundle", &bundle_s, "--identity", &id_s],
        );
        // A rejected certificate does not heal by waiting: unseal names it at once, not
        // after its 60 s join deadline.
        let begun = std::time::Instant::now();
        t.case("unseal --bundle", case, &vaultops(&unseal, None), &n);
        if begun.elapsed() > std::time::Duration::from_secs(20) {
            t.fail(format!("unseal / {case}: took {:?}", begun.elapsed()));
        }
        let apply = join(
            &base,
            &["--token", "x", "apply", "-f", example, "--dry-run"],
        );
        t.case("apply --dry-run", case, &vaultops(&apply, None), &n);
        let check = join(&base, &["--token", "x", "check"]);
        t.case("check", case, &vaultops(&check, None), &n);
    }

    // Positive control: the same commands through the good certificate get past TLS (the
    // node is sealed, so they fail for that reason instead).
    let sealed_status = vaultops(&["--addr", good, "--ca-cert", &ca, "status"], None);
    let said = String::from_utf8_lossy(&sealed_status.stderr).into_owned()
        + &String::from_utf8_lossy(&sealed_status.stdout);
    if said.contains("TLS failure") || !said.contains("sealed") {
        t.fail(format!(
            "positive control: status through the good certificate: {said}"
        ));
    }

    // --- An unreachable node (nothing listens on the port).
    let nobody = format!("https://127.0.0.1:{}", free_port());
    for (command, rest) in [
        ("status", vec!["status"]),
        (
            "unseal --bundle --wait 3",
            vec![
                "unseal",
                "--bundle",
                &bundle_s,
                "--identity",
                &id_s,
                "--wait",
                "3",
            ],
        ),
    ] {
        let args = [vec!["--addr", nobody.as_str(), "--ca-cert", &ca], rest].concat();
        t.case(
            command,
            "unreachable node",
            &vaultops(&args, None),
            &["unreachable", "Connection refused", &nobody],
        );
    }

    // --- The bundle, the identity file, typed shares: against the sealed good listener.
    let unseal_with = |bundle: &str, identity: &str| {
        vaultops(
            &[
                "--addr",
                good,
                "--ca-cert",
                &ca,
                "unseal",
                "--bundle",
                bundle,
                "--identity",
                identity,
            ],
            None,
        )
    };
    let text = std::fs::read_to_string(&bundle).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ct = v["encrypted_shares"][0]["ciphertext"]
        .as_str()
        .unwrap()
        .to_owned();
    let flipped = if ct.ends_with('A') { 'B' } else { 'A' };
    v["encrypted_shares"][0]["ciphertext"] = format!("{}{flipped}", &ct[..ct.len() - 1]).into();
    let tampered = w.join("tampered.json");
    std::fs::write(&tampered, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    t.case(
        "unseal --bundle",
        "tampered bundle (one ciphertext character)",
        &unseal_with(&s(&tampered), &id_s),
        &["integrity check failed", "intact copy"],
    );
    let truncated = w.join("truncated.json");
    std::fs::write(&truncated, &text.as_bytes()[..text.len() / 2]).unwrap();
    t.case(
        "unseal --bundle",
        "truncated bundle",
        &unseal_with(&s(&truncated), &id_s),
        &["not valid JSON", "truncated.json"],
    );
    t.case(
        "unseal --bundle",
        "identity file of another holder",
        &unseal_with(&bundle_s, &s(&other_id)),
        &["none of the bundle's 3 shares", &recipient],
    );
    let missing = w.join("no-such-identity.age");
    t.case(
        "unseal --bundle",
        "identity file missing",
        &unseal_with(&bundle_s, &s(&missing)),
        &["no-such-identity.age", "No such file"],
    );
    let garbage = w.join("garbage.age");
    std::fs::write(&garbage, "not an age key\n").unwrap();
    t.case(
        "unseal --bundle",
        "identity file not an age key",
        &unseal_with(&bundle_s, &s(&garbage)),
        &["garbage.age", "AGE-SECRET-KEY"],
    );
    let no_identity = vaultops(
        &[
            "--addr",
            good,
            "--ca-cert",
            &ca,
            "unseal",
            "--bundle",
            &bundle_s,
        ],
        None,
    );
    t.case(
        "unseal --bundle",
        "no --identity",
        &no_identity,
        &["--identity"],
    );
    let prompt = [
        "--addr",
        good.as_str(),
        "--ca-cert",
        &ca,
        "unseal",
        "--prompt",
    ];
    t.case(
        "unseal --prompt",
        "typed share not base64",
        &vaultops(
            &prompt,
            Some("q0VIOjZ0eR1yVqwf!8j0Jm4cb5hOj4ujPTqi1k3Vm7zb\n\n"),
        ),
        &["share 1 is neither base64 nor hex"],
    );
    t.case(
        "unseal --prompt",
        "typed share of wrong length",
        &vaultops(&prompt, Some("ZZZZZZZZZZZZZZZZ\n\n")),
        &["share 1 has the wrong length", "12 bytes"],
    );

    // --- Rollout YAML.
    let yaml_cases = [
        ("unknown field", "version: 1\nengine: openbao\npolicys:\n  a:\n    hcl: 'path \"x\" { capabilities = [\"read\"] }'\n", &["unknown key `policys`", "correct its spelling"][..]),
        ("wrong type", "version: 1\nengine: openbao\npolicies: [a, b]\n", &["`policies`: expected mapping", "wrong kind", "line 3"][..]),
        ("duplicate name", "version: 1\nengine: openbao\npolicies:\n  a:\n    hcl: 'path \"x\" { capabilities = [\"read\"] }'\n  a:\n    hcl: 'path \"y\" { capabilities = [\"read\"] }'\n", &["duplicate key `a`", "line 6"][..]),
    ];
    for (case, yaml, needles) in yaml_cases {
        let f = w.join(format!("{}.yaml", case.replace(' ', "-")));
        std::fs::write(&f, yaml).unwrap();
        let args = [
            "--addr",
            good.as_str(),
            "--ca-cert",
            &ca,
            "--token",
            "x",
            "apply",
            "-f",
            &s(&f),
            "--dry-run",
        ];
        t.case("apply -f --dry-run", case, &vaultops(&args, None), needles);
    }

    // Positive control for the bundle cases: the intact bundle and identity unseal.
    let ok = unseal_with(&bundle_s, &id_s);
    if !ok.status.success() {
        t.fail(format!(
            "positive control: unseal with the intact bundle failed: {}",
            String::from_utf8_lossy(&ok.stderr)
        ));
    }

    // --- A full disk: the old file intact, no partial file.
    let nospace = "No space left";
    {
        let fs = Tmpfs::mount();
        let ca_dir = fs.path().join("ca");
        std::fs::create_dir(&ca_dir).unwrap();
        std::fs::write(ca_dir.join("ca.pem"), "OLD CA CERT\n").unwrap();
        std::fs::write(ca_dir.join("ca-key.pem"), "OLD CA KEY\n").unwrap();
        std::fs::write(fs.path().join("node1.pem"), "OLD NODE CERT\n").unwrap();
        std::fs::write(fs.path().join("node1-key.pem"), "OLD NODE KEY\n").unwrap();
        std::fs::write(fs.path().join("app.env"), "APP_SETTING=1\n").unwrap();
        fs.fill();

        let before = files(&ca_dir);
        let out = vaultops(&["tls", "ca", "--out", &s(&ca_dir), "--force"], None);
        t.case("tls ca --force", "full disk", &out, &[nospace]);
        check_untouched(&mut t, "tls ca on a full disk", &ca_dir, &before);

        let before = files(fs.path());
        let node_args = [
            "tls",
            "node",
            "--ca-dir",
            &s(certs.ca.parent().unwrap()),
            "--name",
            "node1",
            "--days",
            "1",
            "--ip",
            "127.0.0.1",
            "--out",
            &s(fs.path()),
        ];
        t.case(
            "tls node",
            "full disk",
            &vaultops(&node_args, None),
            &[nospace],
        );
        check_untouched(&mut t, "tls node on a full disk", fs.path(), &before);

        let out = vaultops(
            &[
                "--addr",
                &fresh.addrs()[0],
                "--ca-cert",
                &ca,
                "init",
                "--out",
                &s(&fs.path().join("init.json")),
                "--key-shares",
                "1",
                "--key-threshold",
                "1",
                "--age-recipient",
                &recipient,
            ],
            None,
        );
        t.case(
            "init --out",
            "full disk (new bundle path)",
            &out,
            &[nospace],
        );
        check_untouched(&mut t, "init bundle on a full disk", fs.path(), &before);

        let root = dev.client();
        root.auth_enable(
            "approle",
            &vaultops_api::EnableRequest {
                mount_type: "approle".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        root.approle_write_role("approle", "app", &vaultops_api::AppRoleSpec::default())
            .await
            .unwrap();
        let out = vaultops(
            &[
                "--addr",
                dev.addr(),
                "--allow-plain-http",
                "--token",
                dev.root_token().expose(),
                "approle",
                "credentials",
                "--role",
                "app",
                "--env-file",
                &s(&fs.path().join("app.env")),
            ],
            None,
        );
        t.case(
            "approle credentials --env-file",
            "full disk",
            &out,
            &[nospace],
        );
        check_untouched(
            &mut t,
            "credentials sink on a full disk",
            fs.path(),
            &before,
        );
    }

    println!("{}", t.markdown());
    println!(
        "{} cases in {:.1} s",
        t.rows.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        t.failures.is_empty(),
        "{} failure(s):\n{}",
        t.failures.len(),
        t.failures.join("\n---\n")
    );
}

/// Positive control of the checks above: a zero exit, a message that does not name the
/// cause, a changed file and a leftover partial file are each caught; an empty lock file is not.
#[test]
fn the_checks_catch_forged_bad_outcomes() {
    let mut t = Table::default();
    let ok = vaultops(&["--version"], None);
    assert!(ok.status.success());
    t.case("--version", "forged: exit 0", &ok, &["no such cause"]);
    assert_eq!(t.failures.len(), 2, "{:?}", t.failures);
    assert!(t.failures[0].contains("exit Some(0)"), "{}", t.failures[0]);
    assert!(t.failures[1].contains("does not name"), "{}", t.failures[1]);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.env"), "A=1\n").unwrap();
    std::fs::write(dir.path().join("keep.pem"), "KEEP\n").unwrap();
    let before = files(dir.path());
    std::fs::write(dir.path().join("app.env"), "A=2\n").unwrap();
    std::fs::write(dir.path().join(".app.env.tmp123"), "A=").unwrap();
    std::fs::write(dir.path().join(".app.env.vaultops-lock"), "").unwrap();
    let mut t = Table::default();
    check_untouched(&mut t, "forged", dir.path(), &before);
    assert_eq!(t.failures.len(), 2, "{:?}", t.failures);
    assert!(t.failures.iter().any(|f| f.contains("app.env changed")));
    assert!(t.failures.iter().any(|f| f.contains(".app.env.tmp123")));
}
