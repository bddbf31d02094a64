//! The syslog audit device's success path, against a real server: the guide asks for file,
//! syslog and socket audit devices, and this machine has no `/dev/log`. The node runs in its
//! own mount namespace where the test's Unix datagram socket is the system's syslog socket
//! (see `ClusterOptions::syslog_dir`); the test checks what arrives: RFC 3164 lines with the
//! configured facility and tag, a request and a response entry for a KV write, and secret
//! values only as HMACs.
//!
//! Needs root (a mount namespace). CI runs as root; elsewhere the test fails with a message
//! saying so, unless `VAULTOPS_SKIP_ROOT_TESTS=1`.

use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vaultops_testkit::SYSLOG_TAG;
use vaultops_testkit::{Cluster, ClusterOptions};

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_audit_device_sends_hmaced_entries_to_the_local_syslog() {
    if !is_root() {
        if std::env::var_os("VAULTOPS_SKIP_ROOT_TESTS").is_some() {
            eprintln!("skipped: needs root for a mount namespace (VAULTOPS_SKIP_ROOT_TESTS set)");
            return;
        }
        panic!("this test needs root (unshare -m); run as root or set VAULTOPS_SKIP_ROOT_TESTS=1");
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = UnixDatagram::bind(dir.path().join("syslog")).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (received, stop) = (received.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 256 * 1024];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(n) = sock.recv(&mut buf) {
                    received
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
            }
        })
    };

    let cluster = Cluster::start(ClusterOptions {
        nodes: 1,
        wait_voters: false,
        syslog_dir: Some(dir.path().to_owned()),
        ..Default::default()
    })
    .await;
    let root = cluster.root_client(cluster.wait_active(Duration::from_secs(60)).await);
    let devices = root.audit_list().await.unwrap();
    assert_eq!(
        devices.get("syslog/").map(|d| d.device_type.as_str()),
        Some("syslog"),
        "{devices:?}"
    );
    root.mount_enable("app", &vaultops_api::EnableRequest::kv_v2())
        .await
        .unwrap();
    let password = "SuperSecret-syslog-5150";
    root.kv_write(
        "app",
        "atmr-api/db",
        &serde_json::json!({ "password": password }),
        None,
    )
    .await
    .unwrap();

    // Both entries of the write must arrive (the device writes before answering).
    let lines = vaultops_bootstrap::wait_until(
        "the write's request and response entries on the syslog socket",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || {
            let received = received.clone();
            async move {
                let got = received.lock().unwrap().clone();
                let of_write: Vec<String> = got
                    .into_iter()
                    .filter(|l| l.contains(r#""path":"app/data/atmr-api/db""#))
                    .collect();
                let kinds = |t: &str| of_write.iter().any(|l| l.contains(t));
                if kinds(r#""type":"request""#) && kinds(r#""type":"response""#) {
                    Ok(Some(of_write))
                } else {
                    Err(format!("{} entries of the write so far", of_write.len()))
                }
            }
        },
    )
    .await
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    reader.join().unwrap();

    let all = received.lock().unwrap().clone();
    for l in &lines {
        // <38>: facility AUTH (4) * 8 + severity info (6); then the tag.
        assert!(l.starts_with("<38>"), "{l}");
        assert!(l.contains(&format!("{SYSLOG_TAG}[")), "{l}");
        assert!(l.contains(r#""password":"hmac-sha256:"#), "{l}");
    }
    let plain = all.iter().filter(|l| l.contains(password)).count();
    assert_eq!(plain, 0, "the secret value reached syslog in clear text");
    // The root token never appears either: tokens are HMACed too.
    let token = cluster.root_token().expose().to_owned();
    assert!(!all.iter().any(|l| l.contains(&token)));
    println!(
        "syslog audit: {} lines received, {} for the write, 0 with the secret in clear",
        all.len(),
        lines.len()
    );
}
