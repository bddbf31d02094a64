//! `vaultops unseal` with a node down in the middle: the others are unsealed, the failure is
//! named, and re-running after the node is back finishes the job.

use std::process::Command;
use std::time::Duration;
use vaultops_api::NodeRole;
use vaultops_testkit::{Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_node_does_not_stop_the_others() {
    let mut c = Cluster::start(ClusterOptions {
        wait_voters: false,
        ..Default::default()
    })
    .await;
    let active = c.wait_active(Duration::from_secs(30)).await;
    let (a, b) = ((active + 1) % 3, (active + 2) % 3);
    c.root_client(a).seal().await.unwrap();
    c.root_client(b).seal().await.unwrap();
    c.kill_node(a);

    let keys: String = c.unseal_keys()[..3]
        .iter()
        .map(|k| format!("{}\n", k.expose()))
        .collect::<String>()
        + "\n";
    let ca = c.ca_path().to_string_lossy().into_owned();
    let addrs = c.addrs();
    let run = || {
        let mut args = vec!["--ca-cert".to_string(), ca.clone()];
        for addr in addrs.clone() {
            args.extend(["--addr".into(), addr]);
        }
        args.extend([
            "unseal".into(),
            "--prompt".into(),
            "--wait".into(),
            "5".into(),
        ]);
        let mut child = Command::new(env!("CARGO_BIN_EXE_vaultops"))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(keys.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };

    let out = run();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("{}: unsealed", c.addrs()[b])),
        "{err}"
    );
    assert!(
        err.contains(&c.addrs()[a]) && err.contains("run vaultops unseal again"),
        "{err}"
    );
    assert_eq!(c.client(b).health().await.unwrap().role, NodeRole::Standby);

    c.start_node(a);
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("{}: already unsealed, skipped", c.addrs()[b])),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}: unsealed", c.addrs()[a])),
        "{err}"
    );
}
