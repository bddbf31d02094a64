//! `ca-rotation`: the three phases of `docs/runbooks/cert-rotation.md` §2 under the workload.
//!
//! Before the load, a new CA and the trust bundle (old + new, `vaultops tls bundle`'s
//! `trust_bundle`); the workload, the role monitor and a handshake prober trust the bundle
//! from then on. Phase 1: the bundle into every node's `leader_ca_cert_file` (the testbed's
//! `retry_join` CA). Phase 2: each node's leaf re-issued by the new CA (`tls reissue`'s
//! `reissue_node_cert`), delivered, SIGHUP, served (by fingerprint) before the next. Phase 3:
//! the old CA dropped: the new CA alone in every `leader_ca_cert_file` and in the clients.
//!
//! The prober opens a new TLS connection to every node every [`PROBE_EVERY`] from phase 1 to
//! the end of phase 3 (the workload's pooled connections would not handshake again): 0
//! failures required. Positive controls: a client trusting only the NEW CA fails against
//! every node before phase 2, one trusting only the OLD CA fails after it. The end state is
//! one in which a node can still (re)join: every `leader_ca_cert_file` verifies every node's
//! new leaf and no longer the old ones; then a standby is restarted and must come back,
//! unseal and serve its new-CA leaf.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use vaultops_api::ClientConfig;
use vaultops_testbed::TlsDelivery;
use vaultops_tls::{Ca, CaParams, ServedState};

use crate::error::{testbed, ScenarioError};
use crate::lifecycle::id;
use crate::model::{node_name, Clock, Observed};
use crate::run::Run;

use super::certs::{
    addrs, certs, check_leaf, deliver_leaf, each_node, leaves, log_lines, never_sealed_or_down,
    processes, reload_and_wait, same_processes, served, served_summary, short, status_check,
};
use super::wait_all_unsealed;

/// How often the prober opens a new connection to every node (each round takes a few
/// milliseconds more: one handshake per node).
const PROBE_EVERY: Duration = Duration::from_millis(20);

pub(super) async fn ca_rotation(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let old_ca = run.tb.ca_pem().to_owned();
    let new_bundle = vaultops_tls::create_ca(&CaParams {
        common_name: format!("vaultops testbed {} CA (rotated)", run.tb.name()),
        ..CaParams::default()
    })
    .map_err(certs("creating the new CA"))?;
    let new_ca = Ca::from_bundle(&new_bundle).map_err(certs("loading the new CA"))?;
    let new_ca_pem = new_bundle.cert_pem.clone();
    let (bundle, _) = vaultops_tls::trust_bundle(&[old_ca.clone(), new_ca_pem.clone()])
        .map_err(certs("building the trust bundle"))?;
    // Phase 1 for the clients: every one of them trusts the bundle before the load starts.
    run.tb.trust_ca(&bundle);
    let cfg_bundle = run.tb.client_config().clone();
    let cfg_old = trusting(&cfg_bundle, &old_ca);
    let cfg_new = trusting(&cfg_bundle, &new_ca_pem);

    let active = run.begin().await?;
    wait_all_unsealed(run, "every node unsealed before the rotation").await?;
    let before = processes(run).await?;
    let old = leaves(run).await?;
    let prober = Prober::start(addrs(run), old.clone(), cfg_bundle.clone(), run.clock);

    // Phase 1 for the nodes: the bundle into the file every retry_join names.
    run.fault("phase 1: trust bundle (old + new CA) into every node's leader_ca_cert_file");
    deliver_ca(run, &bundle).await?;
    let held = leader_cas(run).await?;
    run.check(
        "phase 1: every leader_ca_cert_file holds the bundle",
        held.iter().all(|f| *f == bundle),
        format!("{} nodes checked by reading the file back", held.len()),
    );
    let r = served(run, &old, &cfg_bundle).await?;
    run.check(
        "phase 1: the bundle verifies every node (old-CA leaves)",
        r.all_expected,
        served_summary(&r),
    );
    let r = served(run, &old, &cfg_new).await?;
    refused_everywhere(
        run,
        "control: a client trusting only the NEW CA fails the handshake before phase 2",
        &r,
    );

    // Phase 2: new-CA leaves, node by node, standbys first.
    let order: Vec<usize> = (0..run.nodes())
        .filter(|i| *i != active)
        .chain([active])
        .collect();
    let mut new = old.clone();
    for i in order {
        let cert =
            vaultops_tls::reissue_node_cert(&new_ca, &old[i], vaultops_tls::DEFAULT_NODE_DAYS)
                .map_err(certs("re-issuing a node certificate with the new CA"))?;
        check_leaf(&cert, &new_ca_pem, i)?;
        run.recovery(format!(
            "phase 2: deliver {}'s leaf signed by the new CA",
            node_name(i)
        ));
        deliver_leaf(run, i, &cert).await?;
        reload_and_wait(run, i, &cert.cert_pem, &cfg_bundle).await?;
        wait_all_unsealed(run, "every node unsealed between reloads").await?;
        status_check(run, &format!("after {}'s reload", node_name(i))).await;
        new[i] = cert.cert_pem;
    }
    let r = served(run, &new, &cfg_old).await?;
    refused_everywhere(
        run,
        "control: a client trusting only the OLD CA fails the handshake after phase 2",
        &r,
    );
    let r = served(run, &new, &cfg_new).await?;
    run.check(
        "phase 2: the new CA alone verifies every node",
        r.all_expected,
        served_summary(&r),
    );

    // Phase 3: the old CA dropped everywhere phase 1 put the bundle.
    run.recovery(
        "phase 3: old CA dropped: the new CA alone in every leader_ca_cert_file and client",
    );
    deliver_ca(run, &new_ca_pem).await?;
    run.tb.trust_ca(&new_ca_pem);
    rejoin_ready(run, &old, &new).await?;
    let log = prober.stop().await;
    run.check(
        "0 handshake failures for clients trusting the bundle",
        log.failures.is_empty() && log.handshakes > 0,
        log.describe(),
    );
    same_processes(run, &before).await?;
    never_sealed_or_down(run);

    // The proof of the end state: a standby restarted now rejoins and unseals.
    let s = (0..run.nodes())
        .find(|i| *i != active)
        .expect("a 3-node testbed has a standby");
    let logged = log_lines(run, s).await?.len();
    run.recovery(format!(
        "restart {} after the old CA was dropped",
        node_name(s)
    ));
    run.tb
        .restart(id(s), Duration::from_secs(30))
        .await
        .map_err(testbed("restarting a standby"))?;
    run.unseal_when_sealed(&[s]).await?;
    run.wait_role(s, Observed::Standby).await?;
    let after = processes(run).await?;
    run.check(
        "control: the process check sees the deliberate restart",
        after[s] != before[s],
        format!(
            "{} pid {} started {} (before: pid {} started {})",
            node_name(s),
            after[s].pid,
            after[s].started_at,
            before[s].pid,
            before[s].started_at
        ),
    );
    let r = served(run, &new, &cfg_new).await?;
    let joins: Vec<String> = log_lines(run, s)
        .await?
        .into_iter()
        .skip(logged)
        .filter(|l| l.to_ascii_lowercase().contains("join"))
        .take(3)
        .collect();
    run.check(
        "the restarted standby rejoined, unsealed, and serves its new-CA leaf",
        r.all_expected && run.role_now(s).await.as_deref() == Ok("standby"),
        format!(
            "{}; its log since the restart on joining: {}",
            served_summary(&r),
            if joins.is_empty() {
                "no line mentions a join".to_owned()
            } else {
                joins.join(" | ")
            }
        ),
    );
    status_check(run, "at the end, trusting the new CA alone").await;
    run.settle().await?;
    Ok(())
}

/// `base` trusting `ca_pem` only: a client that holds one CA.
fn trusting(base: &ClientConfig, ca_pem: &str) -> ClientConfig {
    ClientConfig {
        ca_pem: Some(ca_pem.as_bytes().to_vec()),
        ..base.clone()
    }
}

/// Writes `pem` over every node's `leader_ca_cert_file`.
async fn deliver_ca(run: &Run<'_>, pem: &str) -> Result<(), ScenarioError> {
    for i in 0..run.nodes() {
        let files = TlsDelivery {
            leaf: None,
            ca: Some(pem.to_owned()),
        };
        run.tb
            .deliver_tls(id(i), &files)
            .await
            .map_err(testbed("delivering a node's leader_ca_cert_file"))?;
    }
    Ok(())
}

async fn leader_cas(run: &Run<'_>) -> Result<Vec<String>, ScenarioError> {
    each_node(run, "reading a node's leader_ca_cert_file", |n| {
        run.tb.node_leader_ca_pem(n)
    })
    .await
}

/// A positive control: every node's handshake failed (nothing read), with an unknown issuer.
fn refused_everywhere(run: &mut Run<'_>, name: &str, r: &vaultops_tls::ServedReport) {
    let ok = r.nodes.iter().all(|n| match &n.state {
        ServedState::Unreadable { error } => error.contains("unknown issuer"),
        _ => false,
    });
    run.check(name, ok, served_summary(r));
}

/// The state a (re)joining node needs: every node's `leader_ca_cert_file` verifies what every
/// other node serves now (its new leaf, for the name `retry_join` dials, and in a live
/// handshake) and no longer the old leaves (the old CA is gone).
async fn rejoin_ready(
    run: &mut Run<'_>,
    old: &[String],
    new: &[String],
) -> Result<(), ScenarioError> {
    let files = leader_cas(run).await?;
    let mut problems = Vec::new();
    for (i, file) in files.iter().enumerate() {
        for j in (0..run.nodes()).filter(|j| *j != i) {
            if let Err(e) = vaultops_tls::verify_for_host(&new[j], file, &id(j).hostname()) {
                problems.push(format!(
                    "{}'s file does not verify {}'s new leaf: {e}",
                    node_name(i),
                    node_name(j)
                ));
            }
            if vaultops_tls::verify(&old[j], file).is_ok() {
                problems.push(format!(
                    "{}'s file still verifies {}'s old leaf",
                    node_name(i),
                    node_name(j)
                ));
            }
        }
        // Live: a client holding exactly this file completes a handshake with every node.
        let cfg = trusting(run.tb.client_config(), file);
        let r = served(run, new, &cfg).await?;
        if !r.all_expected {
            problems.push(format!(
                "a client holding {}'s file: {}",
                node_name(i),
                served_summary(&r)
            ));
        }
    }
    run.check(
        "phase 3: every leader_ca_cert_file verifies the new leaves and not the old ones",
        problems.is_empty(),
        if problems.is_empty() {
            format!(
                "{} files, each against every other node's leaf (names as retry_join dials \
                 them) and in a live handshake with every node",
                files.len()
            )
        } else {
            problems.join("; ")
        },
    );
    Ok(())
}

/// New TLS handshakes with every node at a steady pace, counted.
struct Prober {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<ProbeLog>,
}

#[derive(Debug, Default)]
struct ProbeLog {
    handshakes: u64,
    failures: Vec<String>,
    /// Per node: the issuers of the leaves it presented.
    issuers: Vec<BTreeSet<String>>,
}

impl ProbeLog {
    fn describe(&self) -> String {
        let seen = self
            .issuers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    "{} presented leaves of {}",
                    node_name(i),
                    s.iter().cloned().collect::<Vec<_>>().join(" and ")
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let failures = if self.failures.is_empty() {
            String::new()
        } else {
            format!(
                "; {} failures, e.g. {}",
                self.failures.len(),
                self.failures[..self.failures.len().min(3)].join(", ")
            )
        };
        format!(
            "{} handshakes (a new connection each) from phase 1 to phase 3; {seen}{failures}",
            self.handshakes
        )
    }
}

impl Prober {
    fn start(addrs: Vec<String>, expect: Vec<String>, cfg: ClientConfig, clock: Clock) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            let mut log = ProbeLog {
                issuers: vec![BTreeSet::new(); addrs.len()],
                ..ProbeLog::default()
            };
            let mut tick = tokio::time::interval(PROBE_EVERY);
            while !flag.load(Ordering::Relaxed) {
                tick.tick().await;
                for (i, pair) in addrs
                    .iter()
                    .cloned()
                    .zip(expect.iter().cloned())
                    .enumerate()
                {
                    log.handshakes += 1;
                    let at = clock.now().as_secs_f64();
                    match vaultops_bootstrap::served_certificates(&[pair], &cfg).await {
                        Ok(r) => match &r.nodes[0].state {
                            ServedState::Unreadable { error } => log.failures.push(format!(
                                "{} at {at:.2} s: {}",
                                node_name(i),
                                short(error)
                            )),
                            ServedState::Expected { cert } | ServedState::Other { cert } => {
                                log.issuers[i].insert(cert.info.issuer.clone());
                            }
                        },
                        Err(e) => log
                            .failures
                            .push(format!("{} at {at:.2} s: {e}", node_name(i))),
                    }
                }
            }
            log
        });
        Prober { stop, task }
    }

    async fn stop(self) -> ProbeLog {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or_else(|e| ProbeLog {
            failures: vec![format!("the prober task failed: {e}")],
            ..ProbeLog::default()
        })
    }
}
