//! `vaultops upgrade` on real `bao` processes: a 3-node raft cluster on OpenBao 2.6.2 is
//! upgraded to 2.7.2 by following `vaultops upgrade next --format json` until it says done
//! (each swap: the node restarted on the 2.7.2 binary, unsealed, `upgrade check --node`; the
//! step-down through `upgrade step-down`), with a writer running throughout whose acknowledged
//! writes must all be readable at the end. Versions are checked through the API after each
//! step. The commands run with a token holding only `UPGRADE_POLICY`, never root.
//!
//! Positive controls: the check and `next` refuse while the swapped node is left sealed, the
//! step-down is refused when it is not the next step, and a downgrade is refused.

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use vaultops_api::{NodeClient, NodeRole, TokenCreateRequest};
use vaultops_bootstrap::{wait_until, KV_MOUNT, UPGRADE_POLICY};
use vaultops_testkit::{bao_bin_version, Cluster, ClusterOptions};

const FROM: &str = "2.6.2";
const TO: &str = "2.7.2";

fn vaultops(c: &Cluster, token: &str, args: &[&str]) -> Output {
    let mut a = vec![
        "--ca-cert".to_string(),
        c.ca_path().to_string_lossy().into_owned(),
    ];
    for addr in c.addrs() {
        a.extend(["--addr".into(), addr]);
    }
    a.extend(args.iter().map(|s| s.to_string()));
    Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .args(&a)
        .env("VAULT_TOKEN", token)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `upgrade next --format json`, parsed.
fn next(c: &Cluster, token: &str) -> (Output, serde_json::Value) {
    let out = vaultops(
        c,
        token,
        &["--format", "json", "upgrade", "next", "--to", TO],
    );
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, v)
}

/// Every node's version as `sys/seal-status` reports it.
async fn versions(c: &Cluster) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..c.nodes().len() {
        let s = c.client(i).seal_status().await.unwrap();
        out.push(s.version.unwrap_or_default());
    }
    out
}

async fn role(client: &NodeClient) -> Option<NodeRole> {
    client.health().await.ok().map(|h| h.role)
}

/// Writes `upgrade/k<i>` = i through whichever node takes it, until told to stop; returns the
/// acknowledged writes. Bounded: at most 20 000 writes, one every 20 ms.
async fn writer(clients: Vec<NodeClient>, stop: Arc<AtomicBool>) -> BTreeMap<u64, u64> {
    let mut acked = BTreeMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut at = 0usize;
    for i in 0..20_000u64 {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        tick.tick().await;
        let data = serde_json::json!({ "v": i });
        for k in 0..clients.len() {
            let n = &clients[(at + k) % clients.len()];
            if n.kv_write(KV_MOUNT, &format!("upgrade/k{i}"), &data, None)
                .await
                .is_ok()
            {
                acked.insert(i, i);
                at = (at + k) % clients.len();
                break;
            }
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_upgrade_2_6_2_to_2_7_2_under_load() {
    let new_bao = bao_bin_version(TO);
    let mut c = Cluster::start(ClusterOptions {
        bao_version: Some(FROM.into()),
        ..Default::default()
    })
    .await;
    assert_eq!(versions(&c).await, [FROM, FROM, FROM]);
    let active = c.wait_active(Duration::from_secs(30)).await;
    let root = c.root_client(active);
    vaultops_bootstrap::apply_baseline(&root).await.unwrap();
    root.policy_write("upgrade", UPGRADE_POLICY).await.unwrap();
    let op = root
        .token_create_orphan(&TokenCreateRequest {
            policies: vec!["upgrade".into()],
            no_default_policy: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let token = op.client_token.expose().to_owned();

    // A downgrade is refused, naming a node and its version; nothing changes.
    let out = vaultops(
        &c,
        &token,
        &["--format", "json", "upgrade", "next", "--to", "2.6.1"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["action"], "refused", "{v}");
    assert!(
        v["reasons"][0].as_str().unwrap().contains("runs 2.6.2"),
        "{v}"
    );

    // The dry run: standbys, then the step-down, then the old active.
    let out = vaultops(
        &c,
        &token,
        &["--format", "json", "upgrade", "plan", "--to", TO],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps: Vec<(String, String)> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_owned(),
                s["node"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let addrs = c.addrs();
    let active_addr = addrs[active].clone();
    assert_eq!(steps.len(), 4, "{plan:#}");
    assert!(steps[..2]
        .iter()
        .all(|(s, n)| s == "swap" && *n != active_addr));
    assert_eq!(steps[2], ("step-down".to_owned(), active_addr.clone()));
    assert_eq!(steps[3], ("swap".to_owned(), active_addr.clone()));

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<NodeClient> = (0..addrs.len()).map(|i| c.root_client(i)).collect();
    let load = tokio::spawn(writer(clients, stop.clone()));

    let mut swapped = Vec::new();
    let mut stepped_down = false;
    let mut sealed_control_done = false;
    // 3 swaps + 1 step-down + done; each `next` may be blocked for a while after a step.
    for _ in 0..5 {
        let action = wait_until(
            "upgrade next to be unblocked",
            Duration::from_secs(120),
            Duration::from_millis(500),
            || {
                let (out, v) = next(&c, &token);
                async move {
                    match v["action"].as_str() {
                        Some("blocked") => Err(v["reasons"].to_string()),
                        Some(_) => Ok(Some(v)),
                        None => Err(text(&out)),
                    }
                }
            },
        )
        .await
        .unwrap();
        match action["action"].as_str().unwrap() {
            "swap" => {
                let node = action["node"].as_str().unwrap().to_owned();
                assert_eq!(action["from"], FROM, "{action}");
                assert_eq!(action["to"], TO, "{action}");
                let i = addrs.iter().position(|a| *a == node).unwrap();
                assert_eq!(
                    role(&c.client(i)).await,
                    Some(NodeRole::Standby),
                    "only standbys are swapped"
                );
                c.restart_node_with(i, &new_bao, Duration::from_secs(30))
                    .await;
                wait_until("the swapped node to answer", Duration::from_secs(30),
                    Duration::from_millis(100), || {
                        let client = c.client(i);
                        async move {
                            Ok((role(&client).await == Some(NodeRole::Sealed)).then_some(()))
                        }
                    })
                    .await
                    .unwrap();
                if !sealed_control_done {
                    // Positive control: left sealed, the node stops every next step.
                    let out = vaultops(
                        &c,
                        &token,
                        &["upgrade", "check", "--to", TO, "--node", &node],
                    );
                    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
                    let err = String::from_utf8_lossy(&out.stderr);
                    assert!(err.contains(&format!("{node} is sealed")), "{}", text(&out));
                    let (out, v) = next(&c, &token);
                    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
                    assert_eq!(v["action"], "blocked", "{v}");
                    let out = vaultops(&c, &token, &["upgrade", "step-down", "--to", TO]);
                    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
                    sealed_control_done = true;
                }
                c.unseal(i).await;
                let out = vaultops(
                    &c,
                    &token,
                    &[
                        "upgrade", "check", "--to", TO, "--node", &node, "--wait", "120",
                    ],
                );
                assert_eq!(out.status.code(), Some(0), "{}", text(&out));
                // Checked through the API, not only by the command.
                let s = c.client(i).seal_status().await.unwrap();
                assert_eq!(s.version.as_deref(), Some(TO));
                assert!(!s.sealed);
                swapped.push(i);
            }
            "step-down" => {
                assert_eq!(
                    swapped.len(),
                    2,
                    "step-down only after both standbys: {action}"
                );
                assert_eq!(action["node"], active_addr, "{action}");
                // The dry run shows the step and changes nothing.
                let out = vaultops(
                    &c,
                    &token,
                    &["upgrade", "step-down", "--to", TO, "--dry-run"],
                );
                assert_eq!(out.status.code(), Some(0), "{}", text(&out));
                let shown = String::from_utf8_lossy(&out.stdout);
                assert!(
                    shown.starts_with("dry run: nothing is changed"),
                    "{}",
                    text(&out)
                );
                assert!(
                    shown.contains(&format!("next: step-down of the active {active_addr}")),
                    "{}",
                    text(&out)
                );
                assert_eq!(
                    role(&c.client(active)).await,
                    Some(NodeRole::Active),
                    "still active"
                );
                let out = vaultops(
                    &c,
                    &token,
                    &["upgrade", "step-down", "--to", TO, "--wait", "60"],
                );
                assert_eq!(out.status.code(), Some(0), "{}", text(&out));
                let now = c.wait_active(Duration::from_secs(30)).await;
                assert_ne!(now, active, "another node is active");
                let s = c.client(now).seal_status().await.unwrap();
                assert_eq!(
                    s.version.as_deref(),
                    Some(TO),
                    "the new active runs the target"
                );
                stepped_down = true;
            }
            "done" => break,
            other => panic!("unexpected action {other}: {action}"),
        }
    }
    assert!(stepped_down);
    assert_eq!(swapped.len(), 3);
    assert_eq!(
        *swapped.last().unwrap(),
        active,
        "the old active is swapped last"
    );
    assert_eq!(versions(&c).await, [TO, TO, TO]);
    let (out, v) = next(&c, &token);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(v, serde_json::json!({"action": "done", "version": TO}));
    // Re-running a finished step changes nothing and says why.
    let out = vaultops(&c, &token, &["upgrade", "step-down", "--to", TO]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("every node already runs 2.7.2"),
        "{}",
        text(&out)
    );

    stop.store(true, Ordering::Relaxed);
    let acked = load.await.unwrap();
    assert!(
        acked.len() > 50,
        "the writer ran throughout: {} writes",
        acked.len()
    );
    let now = c.wait_active(Duration::from_secs(30)).await;
    let reader = c.root_client(now);
    let mut lost = Vec::new();
    for (&k, &val) in &acked {
        let got = reader
            .kv_read(KV_MOUNT, &format!("upgrade/k{k}"))
            .await
            .unwrap()
            .and_then(|s| s.data.get("v").and_then(serde_json::Value::as_u64));
        if got != Some(val) {
            lost.push(k);
        }
    }
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
}
