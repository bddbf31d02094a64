//! `cert-rotation`, and the steps it shares with `ca-rotation` (`ca_rotation`): the runbook
//! `docs/runbooks/cert-rotation.md` under the workload, through the same library calls as
//! `vaultops tls renew|reissue|served` (`vaultops_tls::{renew_node_cert, reissue_node_cert}`,
//! `vaultops_bootstrap::{served_certificates, wait_served}`).
//!
//! `cert-rotation`: a new certificate from the same CA for every node, delivered over the
//! files the node's configuration names (certificate and key in one upload); the control that
//! every node still serves its OLD certificate before any reload; then SIGHUP one node at a
//! time, each seen serving its new certificate (by fingerprint, on a new connection) before
//! the next. The server processes must not restart: same pid and container start time, and
//! the role monitor never saw a node sealed or down (nothing was unsealed).

use std::time::Duration;

use vaultops_api::ClientConfig;
use vaultops_testbed::{NodeId, ServerProcess, TestbedError, TlsDelivery};
use vaultops_tls::{NodeCert, ServedReport, ServedState};

use crate::error::{testbed, ScenarioError};
use crate::lifecycle::id;
use crate::model::{node_name, Observed};
use crate::run::Run;

use super::wait_all_unsealed;

/// How long a node may take to serve its new certificate after SIGHUP (the runbook's
/// `tls served --wait 30`).
pub(super) const RELOAD_DEADLINE: Duration = Duration::from_secs(30);
/// Poll interval of `wait_served` (the CLI polls every 0.5 s; the scenario measures closer).
const SERVED_POLL: Duration = Duration::from_millis(100);

pub(super) async fn cert_rotation(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let active = run.begin().await?;
    // Runbook step 1: a healthy cluster before anything changes.
    wait_all_unsealed(run, "every node unsealed before the rotation").await?;
    status_check(run, "before the rotation").await;
    let before = processes(run).await?;
    let old = leaves(run).await?;

    // Step 2: a new certificate per node from the same CA, checked before delivery.
    let ca = vaultops_tls::load_ca(&run.tb.state().tls_dir()).map_err(certs("loading the CA"))?;
    let mut new = Vec::with_capacity(old.len());
    for (i, pem) in old.iter().enumerate() {
        let cert = vaultops_tls::renew_node_cert(&ca, pem, vaultops_tls::DEFAULT_NODE_DAYS)
            .map_err(certs("renewing a node certificate"))?;
        check_leaf(&cert, ca.cert_pem(), i)?;
        new.push(cert);
    }

    // Step 3: delivered over the files the configuration names, certificate and key together.
    run.fault("deliver a new same-CA certificate and key to every node (no reload yet)");
    for (i, cert) in new.iter().enumerate() {
        deliver_leaf(run, i, cert).await?;
    }
    let new_pems: Vec<String> = new.iter().map(|c| c.cert_pem.clone()).collect();

    // Step 4, the control: what the nodes serve is still the OLD certificate.
    let cfg = run.tb.client_config().clone();
    let r = served(run, &new_pems, &cfg).await?;
    still_serving_old(run, &r, &old);

    // Step 5: one node at a time, standbys first.
    let order: Vec<usize> = (0..run.nodes())
        .filter(|i| *i != active)
        .chain([active])
        .collect();
    for i in order {
        reload_and_wait(run, i, &new_pems[i], &cfg).await?;
    }

    // Step 6: every node serves its new certificate; the processes did not restart.
    let r = served(run, &new_pems, &cfg).await?;
    run.check(
        "every node serves its new certificate",
        r.all_expected,
        served_summary(&r),
    );
    status_check(run, "after the rotation").await;
    same_processes(run, &before).await?;
    never_sealed_or_down(run);
    run.settle().await?;
    Ok(())
}

/// `vaultops status` exits 0 (`vaultops_bootstrap::cluster_status`), with the trust the
/// testbed's clients have now.
pub(super) async fn status_check(run: &mut Run<'_>, when: &str) {
    let st = vaultops_bootstrap::cluster_status(&run.tb.node_set()).await;
    run.check(
        &format!("vaultops status healthy {when}"),
        st.healthy(),
        if st.healthy() {
            format!("{} nodes answered, unsealed, one active", st.nodes.len())
        } else {
            st.problems.join("; ")
        },
    );
}

/// Shorthand for mapping a TLS step's error.
pub(super) fn certs<E>(step: &'static str) -> impl FnOnce(E) -> ScenarioError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| ScenarioError::CertRotation {
        step,
        source: Box::new(e),
    }
}

/// The address of every node (its published port on 127.0.0.1, a SAN of every certificate).
pub(super) fn addrs(run: &Run<'_>) -> Vec<String> {
    run.tb.nodes().iter().map(|n| n.host_addr()).collect()
}

/// Runbook step 2's check of node `i`'s new certificate: it chains to `ca_pem` and names the
/// node as the clients (127.0.0.1) and its peers' `retry_join` (`node<i>`) reach it.
pub(super) fn check_leaf(cert: &NodeCert, ca_pem: &str, i: usize) -> Result<(), ScenarioError> {
    for host in ["127.0.0.1".to_owned(), id(i).hostname()] {
        vaultops_tls::verify_for_host(&cert.cert_pem, ca_pem, &host)
            .map_err(certs("checking a new node certificate"))?;
    }
    Ok(())
}

/// Runbook step 3 for node `i`: its new certificate and key over the files its configuration
/// names, in one upload.
pub(super) async fn deliver_leaf(
    run: &Run<'_>,
    i: usize,
    cert: &NodeCert,
) -> Result<(), ScenarioError> {
    let files = TlsDelivery {
        leaf: Some((cert.cert_pem.clone(), cert.key_pem.clone())),
        ca: None,
    };
    run.tb
        .deliver_tls(id(i), &files)
        .await
        .map_err(testbed("delivering a node's new certificate"))
}

/// `f` on every node in turn (node order), its testbed errors named after `step`.
pub(super) async fn each_node<T, Fut>(
    run: &Run<'_>,
    step: &'static str,
    f: impl Fn(NodeId) -> Fut,
) -> Result<Vec<T>, ScenarioError>
where
    Fut: std::future::Future<Output = Result<T, TestbedError>>,
{
    let mut out = Vec::with_capacity(run.nodes());
    for i in 0..run.nodes() {
        out.push(f(id(i)).await.map_err(testbed(step))?);
    }
    Ok(out)
}

/// The certificate each node's configuration names, read from its container.
pub(super) async fn leaves(run: &Run<'_>) -> Result<Vec<String>, ScenarioError> {
    each_node(run, "reading a node's certificate file", |n| {
        run.tb.node_cert_pem(n)
    })
    .await
}

/// Every node's server process now.
pub(super) async fn processes(run: &Run<'_>) -> Result<Vec<ServerProcess>, ScenarioError> {
    each_node(run, "reading a node's server process", |n| {
        run.tb.server_process(n)
    })
    .await
}

/// What every node serves, once, on a new connection each, against `expect` (one PEM per
/// node), trusting what `cfg` trusts: `vaultops tls served`.
pub(super) async fn served(
    run: &Run<'_>,
    expect: &[String],
    cfg: &ClientConfig,
) -> Result<ServedReport, ScenarioError> {
    let pairs: Vec<(String, String)> = addrs(run).into_iter().zip(expect.to_vec()).collect();
    vaultops_bootstrap::served_certificates(&pairs, cfg)
        .await
        .map_err(certs("reading the served certificates"))
}

/// One line per node of the whole-cluster report `r`: its verdict and the serial and issuer
/// it serves.
pub(super) fn served_summary(r: &ServedReport) -> String {
    summary_of(r, 0)
}

/// [`served_summary`] of a report whose first entry is node index `first`.
fn summary_of(r: &ServedReport, first: usize) -> String {
    r.nodes
        .iter()
        .enumerate()
        .map(|(k, n)| (first + k, n))
        .map(|(i, n)| match &n.state {
            ServedState::Expected { cert } => format!(
                "{} expected (serial {}, issuer {})",
                node_name(i),
                cert.info.serial,
                cert.info.issuer
            ),
            ServedState::Other { cert } => format!(
                "{} OTHER (serial {}, issuer {})",
                node_name(i),
                cert.info.serial,
                cert.info.issuer
            ),
            ServedState::Unreadable { error } => {
                format!("{} UNREADABLE ({})", node_name(i), short(error))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The first clause of an error report (up to the first `;`, at most 160 characters): for
/// a handshake failure, the address and the TLS problem without the advice.
pub(super) fn short(s: &str) -> String {
    let first = s.lines().next().unwrap_or(s);
    first
        .split(';')
        .next()
        .unwrap_or(first)
        .chars()
        .take(160)
        .collect()
}

/// The control before any reload: every node serves exactly its OLD certificate (by
/// fingerprint), so the check after the reload cannot pass by accident.
pub(super) fn still_serving_old(run: &mut Run<'_>, r: &ServedReport, old: &[String]) {
    let ok = r.nodes.iter().zip(old).all(|(n, pem)| match &n.state {
        ServedState::Other { cert } => {
            vaultops_tls::fingerprint_pem(pem).is_ok_and(|f| f == cert.fingerprint)
        }
        _ => false,
    });
    run.check(
        "control: before the reload every node serves its OLD certificate",
        ok && !r.all_expected,
        served_summary(r),
    );
}

/// Runbook step 5 for node `i`: SIGHUP, then `tls served --wait` until it serves `new_pem`.
pub(super) async fn reload_and_wait(
    run: &mut Run<'_>,
    i: usize,
    new_pem: &str,
    cfg: &ClientConfig,
) -> Result<(), ScenarioError> {
    let logged = log_lines(run, i).await?.len();
    run.recovery(format!("SIGHUP {}", node_name(i)));
    let t0 = run.clock.now();
    run.tb
        .signal(id(i), "SIGHUP")
        .await
        .map_err(testbed("sending SIGHUP"))?;
    let addr = addrs(run)[i].clone();
    let r = vaultops_bootstrap::wait_served(
        &[(addr, new_pem.to_owned())],
        cfg,
        RELOAD_DEADLINE,
        SERVED_POLL,
    )
    .await
    .map_err(certs("waiting for a node to serve its new certificate"))?;
    let took = run.clock.now().saturating_sub(t0);
    let fp = vaultops_tls::fingerprint_pem(new_pem).unwrap_or_default();
    // The runbook tells the operator to look for the reload in the server's log.
    let reload: Vec<String> = log_lines(run, i)
        .await?
        .into_iter()
        .skip(logged)
        .filter(|l| l.to_ascii_lowercase().contains("reload"))
        .take(2)
        .collect();
    run.check(
        &format!("{} serves its new certificate after SIGHUP", node_name(i)),
        r.all_expected && !reload.is_empty(),
        format!(
            "{} (fingerprint {}) within {:.2} s of the signal; its log: {}",
            summary_of(&r, i),
            &fp[..fp.len().min(23)],
            took.as_secs_f64(),
            if reload.is_empty() {
                "no line mentions a reload".to_owned()
            } else {
                reload.join(" | ")
            }
        ),
    );
    Ok(())
}

/// Log lines read from a node (far more than a testbed run writes).
const LOG_LINES: usize = 100_000;

/// Node `i`'s server log, one entry per line, each cut to 160 characters.
pub(super) async fn log_lines(run: &Run<'_>, i: usize) -> Result<Vec<String>, ScenarioError> {
    let log = run
        .tb
        .logs(id(i), LOG_LINES)
        .await
        .map_err(testbed("reading a node's log"))?;
    Ok(log
        .lines()
        .map(|l| l.trim().chars().take(160).collect())
        .collect())
}

/// The server processes are those of `before`: same pid, same container start.
pub(super) async fn same_processes(
    run: &mut Run<'_>,
    before: &[ServerProcess],
) -> Result<(), ScenarioError> {
    let after = processes(run).await?;
    let same = before == after.as_slice();
    let detail = after
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{} pid {} started {}", node_name(i), p.pid, p.started_at))
        .collect::<Vec<_>>()
        .join("; ");
    run.check(
        "no server process restarted",
        same,
        if same {
            detail
        } else {
            format!("{detail} (before: {before:?})")
        },
    );
    Ok(())
}

/// The role monitor saw every node only active or standby from the first fault on: none was
/// sealed, down or restarted, so none needed an unseal.
pub(super) fn never_sealed_or_down(run: &mut Run<'_>) {
    let snap = run.monitor().snapshot();
    let bad: Vec<String> = snap
        .iter()
        .flat_map(|tl| {
            tl.transitions
                .iter()
                .filter(|t| !matches!(t.seen, Observed::Active | Observed::Standby))
                .map(move |t| format!("{} {} at {:.2} s", tl.node, t.seen, t.t.as_secs_f64()))
        })
        .collect();
    run.check(
        "every node stayed unsealed (no restart, no unseal)",
        bad.is_empty(),
        if bad.is_empty() {
            "the role monitor saw only active and standby".to_owned()
        } else {
            bad.join(", ")
        },
    );
}
