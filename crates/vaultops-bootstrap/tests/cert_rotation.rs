//! Certificate rotation without restart, against a real 3-node TLS raft cluster:
//! (a) new node certificates from the same CA, written over the files the nodes use and
//! reloaded with SIGHUP: `served_certificates` proves every node serves its new certificate,
//! the process ids are unchanged and a writer/reader doing a fresh handshake per request
//! never fails; before the SIGHUP the same check fails naming the node and its old serial,
//! and a reload of an unreadable file leaves the node serving its old certificate;
//! (b) CA rotation: a client trusting the bundle (old + new CA) never fails a handshake while
//! the nodes move to leaves of the new CA; a client trusting only the old CA fails after;
//! (c) a node joining after the CA rotation needs the bundle in `leader_ca_cert_file` and a
//! restart (a waiting node does not re-read that file).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vaultops_api::{ClientConfig, EnableRequest, NodeClient};
use vaultops_bootstrap::{served_certificates, wait_served};
use vaultops_testkit::{Cluster, ClusterOptions};
use vaultops_tls::{create_node_cert, load_ca, trust_bundle, write_node, Ca, NodeParams};

const DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);

fn tls_dir(c: &Cluster) -> PathBuf {
    c.ca_path().parent().unwrap().to_path_buf()
}

/// Issues node `i`'s certificate with the testkit's names from `ca` and writes it over the
/// files node `i` uses; returns the new certificate PEM.
fn reissue(c: &Cluster, ca: &Ca, i: usize) -> String {
    let name = c.nodes()[i].name.clone();
    let cert = create_node_cert(
        ca,
        &NodeParams {
            name: name.clone(),
            dns: vec![name.clone(), "localhost".into()],
            ips: vec![std::net::Ipv4Addr::LOCALHOST.into()],
            days: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let files = write_node(&tls_dir(c), &name, &cert).unwrap();
    assert_eq!(files.cert, c.node_tls_files(i).cert);
    cert.cert_pem
}

/// A writer/reader on the active node: every request builds a new client, so every request
/// makes a new TLS handshake against whatever certificate the node serves now.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    errors: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    fn start(addr: String, config: ClientConfig) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let (s, o, e) = (stop.clone(), ok.clone(), errors.clone());
        let task = tokio::spawn(async move {
            let mut n = 0u64;
            while !s.load(Ordering::SeqCst) {
                n += 1;
                let client = NodeClient::new(&addr, &config).unwrap();
                let r = async {
                    client
                        .kv_write("kv", "load", &serde_json::json!({ "n": n }), None)
                        .await?;
                    client.kv_read("kv", "load").await
                }
                .await;
                match r {
                    Ok(Some(_)) => {
                        o.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(None) => e.lock().unwrap().push(format!("request {n}: read nothing")),
                    Err(err) => e.lock().unwrap().push(format!(
                        "request {n}: {}",
                        vaultops_types::error_report(&err)
                    )),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        Self {
            stop,
            ok,
            errors,
            task,
        }
    }

    /// Waits until `more` further requests succeeded (with a deadline).
    async fn advance(&self, more: u64) {
        let target = self.ok.load(Ordering::SeqCst) + more;
        vaultops_bootstrap::wait_until("the load to advance", DEADLINE, POLL, || async {
            let now = self.ok.load(Ordering::SeqCst);
            Ok(if now >= target { Some(()) } else { None })
        })
        .await
        .unwrap_or_else(|e| panic!("{e}; errors: {:?}", self.errors.lock().unwrap()));
    }

    async fn finish(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap();
        let errors = self.errors.lock().unwrap().clone();
        (self.ok.load(Ordering::SeqCst), errors)
    }
}

async fn prepare(c: &Cluster) -> usize {
    let active = c.wait_active(DEADLINE).await;
    let mut kv = EnableRequest::new("kv");
    kv.options.insert("version".into(), "2".into());
    c.root_client(active).mount_enable("kv", &kv).await.unwrap();
    active
}

fn config_trusting(c: &Cluster, ca_pem: &str, with_root: bool) -> ClientConfig {
    ClientConfig {
        ca_pem: Some(ca_pem.as_bytes().to_vec()),
        token: with_root.then(|| c.root_token().clone()),
        ..c.client_config().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_ca_rotation_with_sighup_serves_the_new_serial_without_restart() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let active = prepare(&c).await;
    let n = c.nodes().len();
    let pids: Vec<u32> = (0..n).map(|i| c.node_pid(i).unwrap()).collect();
    let config = config_trusting(&c, c.ca_pem(), false);
    let load = Load::start(
        c.addrs()[active].clone(),
        config_trusting(&c, c.ca_pem(), true),
    );
    load.advance(5).await;

    // A failed reload (an unreadable certificate file) leaves node 0 serving its old
    // certificate, unsealed, and the load going: the server logs why.
    let files = c.node_tls_files(0);
    let old0 = std::fs::read_to_string(&files.cert).unwrap();
    std::fs::write(&files.cert, "not a certificate").unwrap();
    c.reload_node(0);
    let log = c.nodes()[0].log_path.clone();
    vaultops_bootstrap::wait_until("node 0 to log its failed reload", DEADLINE, POLL, || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        async move {
            Ok(text
                .contains("error encountered reloading listener")
                .then_some(()))
        }
    })
    .await
    .unwrap();
    let still = served_certificates(&[(c.addrs()[0].clone(), old0)], &config)
        .await
        .unwrap();
    assert!(still.all_expected, "{:?}", still.problems());
    load.advance(5).await;

    let ca = load_ca(&tls_dir(&c)).unwrap();
    let new: Vec<String> = (0..n).map(|i| reissue(&c, &ca, i)).collect();
    let expect: Vec<(String, String)> = c.addrs().into_iter().zip(new.clone()).collect();

    // Positive control: the files changed, the nodes were not told: still the old serials.
    let before = served_certificates(&expect, &config).await.unwrap();
    assert!(!before.all_expected, "{before:?}");
    let problems = before.problems();
    assert_eq!(problems.len(), n, "{problems:?}");
    for (i, p) in problems.iter().enumerate() {
        let old_serial = match &before.nodes[i].state {
            vaultops_tls::ServedState::Other { cert } => cert.info.serial.clone(),
            other => panic!("node {i}: {other:?}"),
        };
        assert!(
            p.starts_with(&format!("{} serves serial {old_serial}", c.addrs()[i])),
            "{p}"
        );
    }

    for i in 0..n {
        c.reload_node(i);
    }
    let after = wait_served(&expect, &config, DEADLINE, POLL).await.unwrap();
    assert!(after.all_expected, "{:?}", after.problems());
    load.advance(20).await;
    let (ok, errors) = load.finish().await;
    assert!(errors.is_empty(), "{ok} ok, failures: {errors:?}");
    for (i, pid) in pids.iter().enumerate() {
        assert_eq!(c.node_pid(i), Some(*pid), "node {i} was restarted");
    }
    assert_unsealed(&c, &config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_rotation_in_phases_never_fails_a_bundle_client() {
    let c = Cluster::start(ClusterOptions::default()).await;
    let active = prepare(&c).await;
    let n = c.nodes().len();
    let old_ca_pem = c.ca_pem().to_owned();

    // Phase 1: a new CA, and a trust bundle old + new handed to the clients.
    let new_bundle = vaultops_tls::create_ca(&vaultops_tls::CaParams {
        common_name: "vaultops testkit CA 2".into(),
        days: 2,
        ..Default::default()
    })
    .unwrap();
    let new_ca = Ca::from_bundle(&new_bundle).unwrap();
    let (bundle, count) = trust_bundle(&[old_ca_pem.clone(), new_bundle.cert_pem.clone()]).unwrap();
    assert_eq!(count, 2);
    let bundle_config = config_trusting(&c, &bundle, false);
    let load = Load::start(
        c.addrs()[active].clone(),
        config_trusting(&c, &bundle, true),
    );
    load.advance(5).await;
    let old_only = config_trusting(&c, &old_ca_pem, false);
    old_only_reaches(&c, &old_only, true).await;

    // Phase 2: leaves of the new CA, one node at a time, each checked before the next.
    let mut expect = Vec::new();
    for i in 0..n {
        let pem = reissue(&c, &new_ca, i);
        c.reload_node(i);
        let one = vec![(c.addrs()[i].clone(), pem)];
        let r = wait_served(&one, &bundle_config, DEADLINE, POLL)
            .await
            .unwrap();
        assert!(r.all_expected, "{:?}", r.problems());
        load.advance(5).await;
        expect.extend(one);
    }
    let all = served_certificates(&expect, &bundle_config).await.unwrap();
    assert!(all.all_expected, "{:?}", all.problems());

    // Positive control: a client that trusts only the old CA now fails the handshake.
    old_only_reaches(&c, &old_only, false).await;

    // Phase 3: the old CA dropped; a client trusting the new CA alone works.
    let new_only = config_trusting(&c, &new_bundle.cert_pem, false);
    let r = served_certificates(&expect, &new_only).await.unwrap();
    assert!(r.all_expected, "{:?}", r.problems());

    let (ok, errors) = load.finish().await;
    assert!(
        errors.is_empty(),
        "{ok} ok, handshake/request failures: {errors:?}"
    );
    assert_unsealed(&c, &new_only).await;
}

/// Every node answers `sys/health` to a client trusting only the old CA (`expect` true), or
/// none does and each failure is a TLS verification failure (`expect` false).
async fn old_only_reaches(c: &Cluster, config: &ClientConfig, expect: bool) {
    for addr in c.addrs() {
        let r = NodeClient::new(&addr, config).unwrap().health().await;
        match (expect, r) {
            (true, Ok(_)) => {}
            (false, Err(e)) => {
                let text = vaultops_types::error_report(&e);
                assert!(text.contains("certificate"), "{addr}: {text}");
            }
            (true, Err(e)) => panic!("{addr}: {}", vaultops_types::error_report(&e)),
            (false, Ok(h)) => {
                panic!("{addr} still answered a client trusting only the old CA: {h:?}")
            }
        }
    }
}

/// Every node answers, initialised and unsealed.
async fn assert_unsealed(c: &Cluster, config: &ClientConfig) {
    for addr in c.addrs() {
        let s = NodeClient::new(&addr, config)
            .unwrap()
            .seal_status()
            .await
            .unwrap_or_else(|e| panic!("{addr}: {}", vaultops_types::error_report(&e)));
        assert!(s.initialized && !s.sealed, "{addr}: {s:?}");
    }
}

/// After a CA rotation, a node joining the cluster (here: node 2, removed and wiped) verifies
/// the leader against its `retry_join` `leader_ca_cert_file`: with the old CA alone the join
/// fails the handshake (positive control); the running node does not re-read that file
/// (its next attempts still fail); restarted with the bundle in the file, it joins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_after_the_ca_rotation_needs_the_bundle_in_leader_ca_cert_file() {
    let mut c = Cluster::start(ClusterOptions::default()).await;
    let n = c.nodes().len();
    let new_bundle = vaultops_tls::create_ca(&vaultops_tls::CaParams {
        common_name: "vaultops testkit CA 2".into(),
        days: 2,
        ..Default::default()
    })
    .unwrap();
    let new_ca = Ca::from_bundle(&new_bundle).unwrap();
    let (bundle, _) = trust_bundle(&[c.ca_pem().to_owned(), new_bundle.cert_pem.clone()]).unwrap();
    let config = config_trusting(&c, &bundle, false);
    let mut expect = Vec::new();
    for i in 0..n {
        let pem = reissue(&c, &new_ca, i);
        c.reload_node(i);
        expect.push((c.addrs()[i].clone(), pem));
    }
    let r = wait_served(&expect, &config, DEADLINE, POLL).await.unwrap();
    assert!(r.all_expected, "{:?}", r.problems());

    // Node 2 leaves the cluster for good and comes back empty: it must join again.
    let name = c.nodes()[2].name.clone();
    c.kill_node(2);
    let active = {
        let root = config_trusting(&c, &bundle, true);
        let mut found = None;
        for i in 0..2 {
            let client = NodeClient::new(&c.addrs()[i], &root).unwrap();
            if matches!(
                client.health().await.map(|h| h.role),
                Ok(vaultops_api::NodeRole::Active)
            ) {
                found = Some(client);
            }
        }
        found.expect("an active node among the two left")
    };
    active.raft_remove_peer(&name).await.unwrap();
    let data = c.dir().join(&name).join("data");
    std::fs::remove_dir_all(&data).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    c.start_node(2);

    // leader_ca_cert_file (the testkit's tls/ca.pem) holds the old CA only: the join fails.
    let log = c.nodes()[2].log_path.clone();
    const REFUSED: &str = "certificate signed by unknown authority";
    let refusals = |want: usize| {
        let log = log.clone();
        async move {
            vaultops_bootstrap::wait_until(
                &format!("node 2 to log {want} refused join handshakes"),
                DEADLINE,
                POLL,
                || {
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    async move {
                        let n = text.matches(REFUSED).count();
                        Ok((n >= want).then_some(n))
                    }
                },
            )
            .await
            .unwrap()
        }
    };
    let before = refusals(1).await;

    // The bundle into leader_ca_cert_file. The RUNNING node keeps the CA it read at start:
    // two more join attempts (both leaders each) are still refused.
    vaultops_tls::write_bundle(&c.ca_path(), &bundle).unwrap();
    refusals(before + 4).await;
    let node2 = NodeClient::new(&c.addrs()[2], &config).unwrap();
    assert!(!node2.seal_status().await.unwrap().initialized);

    // Restarted, it reads the bundle and joins.
    c.kill_node(2);
    c.start_node(2);
    vaultops_bootstrap::unseal_when_joined(&node2, c.unseal_keys(), DEADLINE)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{}\n{}",
                vaultops_types::error_report(&e),
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
    assert_unsealed(&c, &config).await;
}
