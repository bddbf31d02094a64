//! The real `vaultops` binary interrupted in the middle of `backup save` and `backup restore`
//! (SIGINT, SIGTERM) against a real server, and `backup save` onto a full disk: no temporary,
//! plaintext or decrypted file remains, the previous backup stays as it was, the target keeps
//! its data. The interruption is made deterministic by a TCP relay between the CLI and the
//! server that stops forwarding one direction after a set number of bytes: the CLI is then
//! stuck mid-stream, with its temporary files on disk, until the signal.

mod common;

use age::secrecy::ExposeSecret;
use common::{dir_digests, one_node_with_baseline, s, set_value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Files of `dir` that are not in `before`.
fn extra(dir: &Path, before: &[(String, String)]) -> Vec<PathBuf> {
    dir_digests(dir)
        .into_iter()
        .filter(|(n, _)| !before.iter().any(|(b, _)| b == n))
        .map(|(n, _)| dir.join(n))
        .collect()
}

/// Polls `f` every 20 ms until it gives a value; panics after `deadline`.
async fn poll<T>(what: &str, deadline: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One direction of the relay: forwards until `limit` bytes went through, then holds.
#[derive(Default)]
struct Valve {
    limit: AtomicU64,
    seen: AtomicU64,
    stalled: AtomicBool,
}

impl Valve {
    fn open() -> Arc<Self> {
        let v = Self::default();
        v.limit.store(u64::MAX, Ordering::SeqCst);
        Arc::new(v)
    }
    fn stall_after(&self, bytes: u64) {
        self.seen.store(0, Ordering::SeqCst);
        self.stalled.store(false, Ordering::SeqCst);
        self.limit.store(bytes, Ordering::SeqCst);
    }
    fn is_stalled(&self) -> bool {
        self.stalled.load(Ordering::SeqCst)
    }
}

async fn pump(
    mut r: tokio::net::tcp::OwnedReadHalf,
    mut w: tokio::net::tcp::OwnedWriteHalf,
    valve: Arc<Valve>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = w.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        let seen = valve.seen.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
        if seen > valve.limit.load(Ordering::SeqCst) {
            valve.stalled.store(true, Ordering::SeqCst);
            // Hold the connection open, forwarding nothing more.
            std::future::pending::<()>().await;
        }
        if w.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A relay on 127.0.0.1 to `target` (`host:port`); returns its port. `up` is client → server.
async fn relay(target: String, up: Arc<Valve>, down: Arc<Valve>) -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = l.accept().await {
            let (target, up, down) = (target.clone(), up.clone(), down.clone());
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::join!(pump(cr, sw, up), pump(sr, cw, down));
            });
        }
    });
    port
}

fn spawn(args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .env_remove("VAULT_TOKEN")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn kill(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

async fn finish(mut child: Child) -> (std::process::ExitStatus, String) {
    let status = poll("the CLI to exit", Duration::from_secs(30), || {
        child.try_wait().unwrap()
    })
    .await;
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (status, err)
}

/// Secrets that make the snapshot a few MB (random, so nothing compresses them away).
async fn fill(root: &vaultops_api::NodeClient, count: usize, bytes: usize) {
    let mut rnd = std::fs::File::open("/dev/urandom").unwrap();
    for i in 0..count {
        let mut b = vec![0u8; bytes / 2];
        std::io::Read::read_exact(&mut rnd, &mut b).unwrap();
        root.kv_write(
            "secret",
            &format!("bulk/{i}"),
            &serde_json::json!({ "v": hex::encode(b) }),
            None,
        )
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_save_and_restore_leave_no_temporary_file() {
    let (c, root, active) = one_node_with_baseline().await;
    fill(&root, 40, 64 * 1024).await;
    set_value(&root, "before").await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let token = d.join("root.token");
    std::fs::write(&token, c.root_token().expose()).unwrap();
    let id = age::x25519::Identity::generate();
    let key = d.join("backup.key");
    std::fs::write(&key, id.to_string().expose_secret()).unwrap();
    let backups = d.join("backups");
    let safety = d.join("safety");
    std::fs::create_dir(&backups).unwrap();
    std::fs::create_dir(&safety).unwrap();
    let file = backups.join("vault.snap.age");
    let conn = |addr: &str| -> Vec<String> {
        vec![
            "--ca-cert".into(),
            s(&c.ca_path()),
            "--addr".into(),
            addr.into(),
            "--token-file".into(),
            s(&token),
        ]
    };
    let with = |addr: &str, rest: &[&str]| {
        let mut a = conn(addr);
        a.extend(rest.iter().map(|x| x.to_string()));
        a
    };
    let save = |addr: &str| {
        with(
            addr,
            &[
                "backup",
                "save",
                "--out",
                &s(&file),
                "--age-recipient",
                &id.to_public().to_string(),
            ],
        )
    };
    // The previous backup, taken directly.
    let out = Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .args(save(&c.addrs()[active]))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let previous = dir_digests(&backups);
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(
        size > 2_000_000,
        "the snapshot is large enough: {size} bytes"
    );

    let (up, down) = (Valve::open(), Valve::open());
    let server = c.addrs()[active].trim_start_matches("https://").to_owned();
    let port = relay(server, up.clone(), down.clone()).await;
    let via = format!("https://127.0.0.1:{port}");

    // Mid-stream: the server → CLI direction stops after 512 KiB of the snapshot.
    let stuck_save = |what: &'static str| {
        let (down, backups, previous) = (down.clone(), backups.clone(), previous.clone());
        async move {
            poll(what, Duration::from_secs(30), || {
                let tmp = extra(&backups, &previous);
                let written = tmp
                    .iter()
                    .any(|p| std::fs::metadata(p).map(|m| m.len() > 0).unwrap_or(false));
                (down.is_stalled() && written).then_some(tmp)
            })
            .await
        }
    };
    // Positive control: killed outright (SIGKILL cannot be caught), the CLI leaves its
    // temporary files, and this check sees them.
    down.stall_after(512 * 1024);
    let child = spawn(&save(&via));
    let left = stuck_save("the save to be stuck mid-stream (SIGKILL run)").await;
    kill(&child, "-KILL");
    let (status, _) = finish(child).await;
    assert!(!status.success());
    let after_kill = extra(&backups, &previous);
    assert!(!after_kill.is_empty(), "SIGKILL leaves {left:?}");
    for p in &after_kill {
        std::fs::remove_file(p).unwrap();
    }

    // SIGINT: the same save, interrupted the same way, cleans up.
    down.stall_after(512 * 1024);
    let child = spawn(&save(&via));
    let tmp = stuck_save("the save to be stuck mid-stream").await;
    kill(&child, "-INT");
    let (status, err) = finish(child).await;
    assert_eq!(
        dir_digests(&backups),
        previous,
        "left {tmp:?}, or the previous backup changed"
    );
    assert!(!status.success(), "{err}");
    assert!(err.contains("interrupted (SIGINT)"), "{err}");
    eprintln!(
        "save, SIGINT mid-stream: exit {:?}: {}",
        status.code(),
        err.trim_end()
    );
    down.stall_after(u64::MAX);

    // SIGTERM during the restore's upload (client → server stops after 512 KiB): the decrypted
    // copy is removed, the backup and the target's data stay as they were.
    set_value(&root, "after").await;
    up.stall_after(512 * 1024);
    let child = spawn(&with(
        &via,
        &[
            "backup",
            "restore",
            &s(&file),
            "--identity",
            &s(&key),
            "--yes",
            "--safety-dir",
            &s(&safety),
        ],
    ));
    let decrypted = poll(
        "the restore to be stuck mid-upload",
        Duration::from_secs(60),
        || {
            let tmp = extra(&backups, &previous);
            (up.is_stalled() && !tmp.is_empty()).then_some(tmp)
        },
    )
    .await;
    assert!(
        decrypted.iter().all(|p| s(p).contains(".restore.")),
        "{decrypted:?}"
    );
    kill(&child, "-TERM");
    let (status, err) = finish(child).await;
    assert!(!status.success(), "{err}");
    assert!(
        err.contains("interrupted (SIGTERM)") && err.contains("being sent"),
        "{err}"
    );
    assert_eq!(
        dir_digests(&backups),
        previous,
        "the decrypted copy {decrypted:?} is gone"
    );
    eprintln!(
        "restore, SIGTERM mid-upload: exit {:?}: {}",
        status.code(),
        err.trim_end()
    );
    let safety_files: Vec<String> = dir_digests(&safety).into_iter().map(|(n, _)| n).collect();
    assert_eq!(safety_files.len(), 3, "{safety_files:?}");
    assert!(
        safety_files.iter().all(|n| !n.starts_with('.')),
        "no temporary file in the safety directory: {safety_files:?}"
    );
    let v = root.kv_read("secret", "atmr/db").await.unwrap().unwrap();
    assert_eq!(v.data["v"], "after", "the target was not restored");
}

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "this test needs a small full disk: mounting a tmpfs on {} failed (run as root, with mount permitted): {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Self(dir.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_onto_a_full_disk_keeps_the_previous_backup() {
    let (c, root, active) = one_node_with_baseline().await;
    fill(&root, 4, 64 * 1024).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("root.token");
    std::fs::write(&token, c.root_token().expose()).unwrap();
    let full = dir.path().join("full");
    let _mount = Tmpfs::mount(&full, "64k");
    let id = age::x25519::Identity::generate();
    let mut report = Vec::new();
    for (name, encrypt) in [("vault.snap", false), ("vault.snap.age", true)] {
        let out_file = full.join(name);
        std::fs::write(&out_file, format!("previous {name}")).unwrap();
        std::fs::write(
            full.join(format!("{name}.sha256")),
            format!("0123  {name}\n"),
        )
        .unwrap();
        let before = dir_digests(&full);
        let mut args = vec![
            "--ca-cert".to_string(),
            s(&c.ca_path()),
            "--addr".into(),
            c.addrs()[active].clone(),
            "--token-file".into(),
            s(&token),
            "backup".into(),
            "save".into(),
            "--out".into(),
            s(&out_file),
        ];
        if encrypt {
            args.extend(["--age-recipient".into(), id.to_public().to_string()]);
        }
        let out = Command::new(env!("CARGO_BIN_EXE_vaultops"))
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{name}: {err}");
        assert!(
            err.contains("no space left on the disk holding")
                && err.contains("No space left on device"),
            "{name}: {err}"
        );
        assert_eq!(
            dir_digests(&full),
            before,
            "{name}: the previous backup changed or a file was left"
        );
        report.push(format!(
            "save {name} onto a full disk: exit {:?}: {}",
            out.status.code(),
            err.trim_end()
        ));
    }
    eprintln!("{}", report.join("\n"));
}

/// `backup verify` interrupted while it reads the backup (a FIFO the test feeds, so the CLI
/// is stuck mid-read with its decrypted-copy scratch file on disk): the reading task stops at
/// its next read, the scratch file is removed, the exit says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_verify_stops_reading_and_leaves_no_scratch_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("vault.snap");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::fs::write(
        dir.path().join("vault.snap.sha256"),
        format!("{}  vault.snap\n", "0".repeat(64)),
    )
    .unwrap();
    let entries = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let before = entries(dir.path());
    let fed = Arc::new(AtomicBool::new(false));
    let (more, wait_more) = std::sync::mpsc::channel::<()>();
    let writer = {
        let (fifo, fed) = (fifo.clone(), fed.clone());
        std::thread::spawn(move || {
            use std::io::Write;
            let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            w.write_all(&[7u8; 32 * 1024]).unwrap();
            fed.store(true, Ordering::SeqCst);
            // The pipe stays open: the reader waits for more. Once told, one more chunk: the
            // reader's next read must see the interruption (without it, it would wait for
            // the end of a stream that never ends, and the test would time out).
            let _ = wait_more.recv();
            let _ = w.write_all(&[7u8; 1024]);
            let _ = wait_more.recv();
        })
    };
    let mut child = spawn(&["backup".into(), "verify".into(), s(&fifo)]);
    let stderr = Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let (mut pipe, stderr) = (child.stderr.take().unwrap(), stderr.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n) = std::io::Read::read(&mut pipe, &mut buf) {
                if n == 0 {
                    break;
                }
                stderr
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let scratch = poll(
        "the verify to be stuck mid-read",
        Duration::from_secs(30),
        || {
            let now = entries(dir.path());
            let extra: Vec<String> = now.into_iter().filter(|n| !before.contains(n)).collect();
            (fed.load(Ordering::SeqCst) && !extra.is_empty()).then_some(extra)
        },
    )
    .await;
    kill(&child, "-INT");
    // The CLI reports the interruption while its reading task is still blocked.
    poll(
        "the CLI to report the interruption",
        Duration::from_secs(30),
        || stderr.lock().unwrap().contains("interrupted").then_some(()),
    )
    .await;
    assert_eq!(
        child.try_wait().unwrap(),
        None,
        "it waits for the reading task"
    );
    assert!(
        entries(dir.path()).len() > before.len(),
        "the scratch file is still held by the blocked task"
    );
    more.send(()).unwrap();
    let status = poll("the CLI to exit", Duration::from_secs(30), || {
        child.try_wait().unwrap()
    })
    .await;
    drop(more);
    writer.join().unwrap();
    reader.join().unwrap();
    let err = stderr.lock().unwrap().clone();
    assert_eq!(
        entries(dir.path()),
        before,
        "the scratch file {scratch:?} is gone"
    );
    assert!(!status.success(), "{err}");
    assert!(err.contains("interrupted (SIGINT)"), "{err}");
    eprintln!(
        "verify, SIGINT mid-read: exit {:?}: {}",
        status.code(),
        err.trim_end()
    );
}
