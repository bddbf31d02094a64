//! The scenarios. Each one: healthy testbed → workload → fault → recovery → workload stops →
//! verification of every acknowledged write and the counter (in [`Run::finish`]), plus its own
//! checks. Each ends with a healthy cluster again (every node running, unsealed, one active),
//! except `backup-restore`, which replaces the cluster.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde_json::json;
use vaultops_api::{NodeClient, UnsealKey};

use crate::analysis;
use crate::error::{api, ScenarioError};
use crate::model::{Observed, Outcome, PROBE_WRITER};
use crate::run::{id, node_name, Run, NODE_DEADLINE};

/// Every scenario, in the order `run_all` runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scenario {
    /// kill -9 of the active node, restart, unseal: it rejoins as a standby.
    KillActive,
    /// SIGTERM of the active node, restart, unseal.
    StopActive,
    /// kill -9 of a standby: writes continue.
    KillStandby,
    /// `sys/step-down` of the active node.
    StepDown,
    /// Freeze the active node longer than the election timeout, then resume it.
    PauseActive,
    /// Disconnect the active node from the cluster network, then reconnect it.
    PartitionActive,
    /// `sys/seal` of the active node; a wrong key, a reset, then 3 of 5 keys.
    SealActive,
    /// Restart one node at a time (standbys first), unsealing each.
    RollingRestart,
    /// Restart every node at once: Shamir needs every node unsealed again.
    RestartAll,
    /// Restart every node at once on a testbed with an auto-unseal (static) seal: the nodes
    /// come back with no operator input. Runs on its own testbed.
    RestartAllAuto,
    /// kill -9 of both standbys: the active node loses quorum; then restart both.
    QuorumLoss,
    /// Read-after-write through standbys (served locally: may be stale).
    StaleReads,
    /// The same on a testbed rendered with `disable_standby_reads = true` (what deploy/
    /// ships): standbys forward reads, none may be stale. Runs on its own testbed.
    StaleReadsForwarded,
    /// Snapshot, destroy the cluster, fresh cluster, forced restore, unseal with the old keys.
    BackupRestore,
}

/// A testbed other than the shared one (see [`Scenario::own_testbed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TestbedVariant {
    /// `None`: Shamir.
    pub seal: Option<vaultops_testbed::SealKind>,
    pub disable_standby_reads: bool,
}

impl Scenario {
    pub const ALL: [Scenario; 14] = [
        Scenario::KillActive,
        Scenario::StopActive,
        Scenario::KillStandby,
        Scenario::StepDown,
        Scenario::PauseActive,
        Scenario::PartitionActive,
        Scenario::SealActive,
        Scenario::RollingRestart,
        Scenario::RestartAll,
        Scenario::RestartAllAuto,
        Scenario::QuorumLoss,
        Scenario::StaleReads,
        Scenario::StaleReadsForwarded,
        Scenario::BackupRestore,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::KillActive => "kill-active",
            Scenario::StopActive => "stop-active",
            Scenario::KillStandby => "kill-standby",
            Scenario::StepDown => "step-down",
            Scenario::PauseActive => "pause-active",
            Scenario::PartitionActive => "partition-active",
            Scenario::SealActive => "seal-active",
            Scenario::RollingRestart => "rolling-restart",
            Scenario::RestartAll => "restart-all",
            Scenario::RestartAllAuto => "restart-all-auto",
            Scenario::QuorumLoss => "quorum-loss",
            Scenario::StaleReads => "stale-reads",
            Scenario::StaleReadsForwarded => "stale-reads-forwarded",
            Scenario::BackupRestore => "backup-restore",
        }
    }

    /// The testbed this scenario needs when it is not the shared one (Shamir, default
    /// configs): it then gets its own, removed right after.
    pub fn own_testbed(self) -> Option<TestbedVariant> {
        match self {
            Scenario::RestartAllAuto => Some(TestbedVariant {
                seal: Some(vaultops_testbed::SealKind::Static),
                disable_standby_reads: false,
            }),
            Scenario::StaleReadsForwarded => Some(TestbedVariant {
                seal: None,
                disable_standby_reads: true,
            }),
            _ => None,
        }
    }

    /// Every scenario name, in run order.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|s| s.name()).collect()
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = ScenarioError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|x| x.name() == s)
            .ok_or_else(|| ScenarioError::UnknownScenario(s.to_owned()))
    }
}

/// How long a pause or partition is held at least: longer than the 3 s election timeout the
/// testbed's `performance_multiplier = 1` gives after unseal (shared facts).
const HOLD_FAULT: Duration = Duration::from_secs(4);
/// Probe writes queued at a paused active node.
const PAUSE_PROBES: usize = 4;
/// Timeout of the probe writes: they must survive the pause and be answered after it.
const PROBE_TIMEOUT: Duration = Duration::from_secs(40);

/// Runs `scenario` on `run`'s testbed (not `backup-restore`: see `backup`).
pub(crate) async fn run_fault_scenario(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    match run.scenario {
        Scenario::KillActive => kill_active(run).await,
        Scenario::StopActive => stop_active(run).await,
        Scenario::KillStandby => kill_standby(run).await,
        Scenario::StepDown => step_down(run).await,
        Scenario::PauseActive => pause_active(run).await,
        Scenario::PartitionActive => partition_active(run).await,
        Scenario::SealActive => seal_active(run).await,
        Scenario::RollingRestart => rolling_restart(run).await,
        Scenario::RestartAll => restart_all(run).await,
        Scenario::RestartAllAuto => restart_all_auto(run).await,
        Scenario::QuorumLoss => quorum_loss(run).await,
        Scenario::StaleReads => stale_reads(run, false).await,
        Scenario::StaleReadsForwarded => stale_reads(run, true).await,
        Scenario::BackupRestore => Err(ScenarioError::Setup(
            "backup-restore replaces the testbed and runs through suite::run_backup_restore".into(),
        )),
    }
}

async fn kill_active(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let old = run.begin().await?;
    run.fault(format!("kill -9 {} (active)", node_name(old)));
    run.tb.kill(id(old)).await?;
    run.wait_new_active().await?;
    run.start_and_unseal(old).await?;
    run.check(
        "killed node rejoins as standby",
        true,
        format!("{} standby after restart and unseal", node_name(old)),
    );
    run.settle().await
}

async fn stop_active(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let old = run.begin().await?;
    run.fault(format!("SIGTERM {} (active)", node_name(old)));
    run.tb.stop(id(old), Duration::from_secs(30)).await?;
    run.wait_new_active().await?;
    run.start_and_unseal(old).await?;
    run.check(
        "stopped node rejoins as standby",
        true,
        format!("{} standby after restart and unseal", node_name(old)),
    );
    run.settle().await
}

async fn kill_standby(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let active = run.begin().await?;
    let victim = (0..run.nodes()).find(|i| *i != active).expect("3 nodes");
    run.fault(format!("kill -9 {} (standby)", node_name(victim)));
    let t = run.clock.now();
    run.tb.kill(id(victim)).await?;
    // Writes through the two remaining nodes for a while: this is the measurement.
    run.wait_acks(150, "with one standby down").await?;
    run.start_and_unseal(victim).await?;
    run.settle().await?;
    let stayed = analysis::stayed_active(&run.monitor().snapshot(), active, t, run.clock.now());
    run.check(
        "active node unchanged",
        stayed,
        format!("{} active throughout", node_name(active)),
    );
    Ok(())
}

async fn step_down(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let old = run.begin().await?;
    run.fault(format!("step-down {}", node_name(old)));
    run.root(old)
        .step_down()
        .await
        .map_err(api("step-down of the active node"))?;
    run.wait_new_active().await?;
    run.wait_role(old, Observed::Standby).await?;
    run.settle().await
}

async fn pause_active(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let old = run.begin().await?;
    run.fault(format!(
        "pause {} (active, SIGSTOP via the freezer)",
        node_name(old)
    ));
    let t_pause = run.clock.now();
    run.tb.pause(id(old)).await?;
    // Writes queued at the frozen leader: answered only after it resumes, by which time
    // another node leads. They must fail, or be forwarded and committed by the new leader;
    // an acknowledgement of a write that is then missing would be the old leader acting
    // on a term it no longer has.
    let probe = run.root_with_timeout(old, PROBE_TIMEOUT)?;
    run.workload().probe_writes(old, probe, PAUSE_PROBES);
    run.observed(format!(
        "{PAUSE_PROBES} writes queued at paused {}",
        node_name(old)
    ));
    run.wait_new_active().await?;
    let t_elected = run.clock.now();
    // Hold the pause beyond the election timeout: the fault's definition, not a wait for a
    // condition.
    let held = run.clock.now().saturating_sub(t_pause);
    if held < HOLD_FAULT {
        tokio::time::sleep(HOLD_FAULT - held).await;
    }
    run.recovery(format!("unpause {}", node_name(old)));
    let t_resume = run.clock.now();
    run.tb.unpause(id(old)).await?;
    run.wait_role(old, Observed::Standby).await?;
    run.settle().await?;
    run.details.insert(
        "pause".into(),
        json!({
            "paused_node": node_name(old),
            "pause_s": t_resume.saturating_sub(t_pause).as_secs_f64(),
            "new_active_seen_at_s": t_elected.as_secs_f64(),
            "resumed_at_s": t_resume.as_secs_f64(),
        }),
    );
    Ok(())
}

/// After `finish`: the pause scenario's check on the requests the paused node answered.
/// Definition: a request sent to the paused node P, started before P resumed and answered
/// after the new leader was first seen, is a "stale-leader answer". Each acknowledged one must
/// be present on the new active node (the general lost-write check covers every write; this
/// one reports them separately).
pub(crate) fn pause_check(
    report: &mut crate::report::ScenarioReport,
    log: &crate::workload::WorkloadLog,
) {
    let Some(p) = report.details.get("pause").cloned() else {
        return;
    };
    let node = p["paused_node"].as_str().unwrap_or_default().to_owned();
    let idx: usize = node
        .trim_start_matches("node")
        .parse::<usize>()
        .map_or(usize::MAX, |n| n - 1);
    let elected = Duration::from_secs_f64(p["new_active_seen_at_s"].as_f64().unwrap_or(0.0));
    let resumed = Duration::from_secs_f64(p["resumed_at_s"].as_f64().unwrap_or(0.0));
    let stale: Vec<_> = log
        .attempts
        .iter()
        .filter(|a| a.op.is_write() && a.node == idx && a.start < resumed && a.end > elected)
        .collect();
    let acked: Vec<_> = stale
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Ack { .. }))
        .collect();
    let probes_acked = acked.iter().filter(|a| a.writer == PROBE_WRITER).count();
    let probe_errors: Vec<String> = stale
        .iter()
        .filter(|a| a.writer == PROBE_WRITER)
        .filter_map(|a| match a.outcome {
            Outcome::Error { class } => Some(class.to_string()),
            Outcome::Ack { .. } => None,
        })
        .collect();
    let lost = report.verification.as_ref().map_or(0, |v| {
        acked
            .iter()
            .filter(|a| match a.op {
                crate::model::Op::Write { seq } => {
                    v.lost_keys.contains(&log.keys.key(a.writer, seq))
                }
                _ => false,
            })
            .count()
    });
    let counter_ok = report
        .verification
        .as_ref()
        .is_some_and(|v| v.counter.consistent);
    let passed = lost == 0 && counter_ok;
    report.details.insert(
        "stale_leader_answers".into(),
        json!({
            "requests": stale.len(),
            "acknowledged": acked.len(),
            "probes_acknowledged": probes_acked,
            "probe_errors": probe_errors,
            "acknowledged_but_missing": lost,
        }),
    );
    report.checks.push(crate::report::Check {
        name: "old leader acknowledged nothing after the new leader was elected".into(),
        passed,
        detail: format!(
            "{} requests to paused {node} answered after the new leader appeared: {} acknowledged (probes {probes_acked} of {PAUSE_PROBES}; probe errors: {}), {lost} of them missing",
            stale.len(),
            acked.len(),
            if probe_errors.is_empty() { "none".to_owned() } else { probe_errors.join(", ") }
        ),
    });
    report.passed = report.checks.iter().all(|c| c.passed);
}

async fn partition_active(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let old = run.begin().await?;
    run.fault(format!(
        "disconnect {} (active) from the cluster network",
        node_name(old)
    ));
    let t = run.clock.now();
    run.tb.disconnect(id(old)).await?;
    run.wait_new_active().await?;
    let held = run.clock.now().saturating_sub(t);
    if held < HOLD_FAULT {
        tokio::time::sleep(HOLD_FAULT - held).await;
    }
    run.recovery(format!("reconnect {}", node_name(old)));
    run.tb.reconnect(id(old)).await?;
    run.wait_role(old, Observed::Standby).await?;
    run.settle().await
}

/// A syntactically valid share that belongs to no cluster (33 bytes, base64).
fn wrong_key() -> UnsealKey {
    use base64::Engine as _;
    UnsealKey::new(base64::engine::general_purpose::STANDARD.encode([0x5Au8; 33]))
}

async fn seal_active(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let keys: Vec<UnsealKey> = run
        .tb
        .init()
        .map(|i| i.keys_base64.clone())
        .ok_or_else(|| ScenarioError::Setup("the testbed has no init.json".into()))?;
    if keys.len() < 5 {
        return Err(ScenarioError::Setup(format!(
            "seal-active needs the 5 shares of a 5/3 split; init.json has {}",
            keys.len()
        )));
    }
    let old = run.begin().await?;
    run.fault(format!("operator seal {} (active)", node_name(old)));
    run.root(old)
        .seal()
        .await
        .map_err(api("sealing the active node"))?;
    run.wait_new_active().await?;
    run.wait_role(old, Observed::Sealed).await?;
    let c = run.tb.client(id(old));

    // A wrong share is only detected when the threshold is reached: 2 good + 1 wrong.
    run.recovery(format!("{}: 2 good keys + 1 wrong key", node_name(old)));
    c.unseal(&keys[0]).await.map_err(api("unseal (key 1)"))?;
    c.unseal(&keys[1]).await.map_err(api("unseal (key 2)"))?;
    let wrong = c.unseal(&wrong_key()).await;
    let status = c.seal_status().await.map_err(api("seal status"))?;
    let (refused, msg) = match &wrong {
        Err(e) => (
            e.status() == Some(400)
                && e.server_errors()
                    .iter()
                    .any(|m| m.contains("message authentication failed")),
            e.to_string(),
        ),
        Ok(s) => (
            false,
            format!("accepted: sealed={} progress={}", s.sealed, s.progress),
        ),
    };
    run.check(
        "wrong key refused, progress reset",
        refused && status.sealed && status.progress == 0,
        format!(
            "{msg}; afterwards sealed={} progress={}",
            status.sealed, status.progress
        ),
    );
    run.details.insert("wrong_key_error".into(), json!(msg));

    // A reset discards the shares given so far.
    run.recovery(format!("{}: 1 key, then reset", node_name(old)));
    let one = c.unseal(&keys[0]).await.map_err(api("unseal (key 1)"))?;
    let reset = c.unseal_reset().await.map_err(api("unseal reset"))?;
    run.check(
        "reset discards the given shares",
        one.progress == 1 && reset.progress == 0 && reset.sealed,
        format!(
            "progress {} after one key, {} after reset",
            one.progress, reset.progress
        ),
    );

    // Any 3 of the 5 shares open it: keys 3, 4 and 5.
    run.recovery(format!("{}: keys 3, 4, 5", node_name(old)));
    let p = vaultops_bootstrap::submit_shares(&c, &keys[2..5])
        .await
        .map_err(crate::error::boot("unsealing with keys 3, 4, 5"))?;
    run.check(
        "3 of 5 keys (3, 4, 5) unseal",
        p == vaultops_bootstrap::ShareProgress::Unsealed,
        format!("{p:?}"),
    );
    run.wait_role(old, Observed::Standby).await?;
    run.settle().await
}

async fn restart_all(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    run.begin().await?;
    let all: Vec<usize> = (0..run.nodes()).collect();
    run.fault("restart every node (SIGTERM, start)");
    let tb = run.tb.clone();
    let restarts = all
        .iter()
        .map(|i| tb.restart(id(*i), Duration::from_secs(30)));
    for r in futures_util::future::join_all(restarts).await {
        r?;
    }
    // Shamir: every node comes back sealed and none becomes active without the keys.
    let t_sealed = run
        .monitor()
        .wait_for("every node to answer sealed", NODE_DEADLINE, |tls| {
            tls.iter()
                .all(|tl| tl.transitions.last().map(|t| t.seen) == Some(Observed::Sealed))
                .then_some(())
        })
        .await
        .map(|()| run.clock.now())?;
    run.observed("every node sealed");
    run.unseal_when_sealed(&all).await?;
    let t_unseal = run.clock.now();
    let snap = run.monitor().snapshot();
    let active_before_keys = snap.iter().any(|tl| {
        tl.transitions
            .iter()
            .any(|t| t.t >= t_sealed && t.t < t_unseal && t.seen == Observed::Active)
    });
    run.check(
        "sealed until unsealed (Shamir)",
        !active_before_keys,
        "every node came back sealed; none was active before the keys were given",
    );
    run.wait_new_active().await?;
    run.monitor()
        .wait_for("every node unsealed", NODE_DEADLINE, |tls| {
            tls.iter()
                .all(|tl| {
                    matches!(
                        tl.transitions.last().map(|t| t.seen),
                        Some(Observed::Active | Observed::Standby)
                    )
                })
                .then_some(())
        })
        .await?;
    run.settle().await
}

async fn restart_all_auto(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    run.begin().await?;
    let all: Vec<usize> = (0..run.nodes()).collect();
    run.fault("restart every node (SIGTERM, start); static auto-unseal seal");
    let tb = run.tb.clone();
    let restarts = all
        .iter()
        .map(|i| tb.restart(id(*i), Duration::from_secs(30)));
    for r in futures_util::future::join_all(restarts).await {
        r?;
    }
    // No unseal call from here on: the nodes must come back by themselves.
    run.wait_new_active().await?;
    run.monitor()
        .wait_for("every node unsealed by itself", NODE_DEADLINE, |tls| {
            tls.iter()
                .all(|tl| {
                    matches!(
                        tl.transitions.last().map(|t| t.seen),
                        Some(Observed::Active | Observed::Standby)
                    )
                })
                .then_some(())
        })
        .await?;
    run.observed("every node unsealed, no operator input");
    run.check(
        "auto-unseal: back with no operator input",
        true,
        "every node unsealed itself after the restart; no key was entered",
    );
    run.settle().await
}

async fn rolling_restart(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let active = run.begin().await?;
    let mut order: Vec<usize> = (0..run.nodes()).filter(|i| *i != active).collect();
    order.push(active);
    let mut phases = Vec::new();
    for (k, i) in order.iter().copied().enumerate() {
        let is_active = i == active;
        let label = format!(
            "restart {} ({})",
            node_name(i),
            if is_active { "active" } else { "standby" }
        );
        if k == 0 {
            run.fault(label.clone());
        } else {
            run.recovery(label.clone());
        }
        if is_active {
            run.anchor_leader_change_now();
        }
        let from = run.clock.now();
        run.tb.restart(id(i), Duration::from_secs(30)).await?;
        run.unseal_when_sealed(&[i]).await?;
        if is_active {
            run.wait_new_active().await?;
        }
        run.wait_role(i, Observed::Standby).await?;
        // The production procedure: the next node only once raft is healthy again.
        let leader = run
            .monitor()
            .wait_for("an active node", NODE_DEADLINE, |tls| {
                tls.iter()
                    .position(|tl| tl.transitions.last().map(|t| t.seen) == Some(Observed::Active))
            })
            .await?;
        vaultops_bootstrap::raft::wait_voters(&run.root(leader), run.nodes(), NODE_DEADLINE)
            .await
            .map_err(crate::error::boot("waiting for autopilot after a restart"))?;
        run.observed(format!("{} back, autopilot healthy", node_name(i)));
        phases.push((node_name(i), is_active, from, run.clock.now()));
    }
    run.settle().await?;
    run.details.insert(
        "phases".into(),
        json!(phases
            .iter()
            .map(|(n, a, f, t)| json!({"node": n, "was_active": a, "from_s": f.as_secs_f64(), "to_s": t.as_secs_f64()}))
            .collect::<Vec<_>>()),
    );
    Ok(())
}

/// After `finish`: the rolling restart's check that writes continued while standbys restarted.
pub(crate) fn rolling_check(
    report: &mut crate::report::ScenarioReport,
    log: &crate::workload::WorkloadLog,
    standby_budget: Duration,
) {
    let Some(phases) = report
        .details
        .get("phases")
        .and_then(|p| p.as_array())
        .cloned()
    else {
        return;
    };
    let acks = analysis::ack_times(&log.attempts);
    let mut worst = Duration::ZERO;
    let mut out = Vec::new();
    for p in &phases {
        let from = Duration::from_secs_f64(p["from_s"].as_f64().unwrap_or(0.0));
        let to = Duration::from_secs_f64(p["to_s"].as_f64().unwrap_or(0.0));
        let gap = analysis::largest_gap_within(&acks, from, to);
        let was_active = p["was_active"].as_bool().unwrap_or(false);
        if !was_active {
            worst = worst.max(gap);
        }
        out.push(json!({"node": p["node"], "was_active": was_active, "largest_write_gap_s": gap.as_secs_f64()}));
    }
    report.details.insert("phase_gaps".into(), json!(out));
    report.checks.push(crate::report::Check {
        name: "writes continue while standbys restart".into(),
        passed: worst <= standby_budget,
        detail: format!(
            "largest write gap during a standby's restart {:.2} s (budget {:.1} s)",
            worst.as_secs_f64(),
            standby_budget.as_secs_f64()
        ),
    });
    report.passed = report.checks.iter().all(|c| c.passed);
}

async fn quorum_loss(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let active = run.begin().await?;
    let down: Vec<usize> = (0..run.nodes()).filter(|i| *i != active).collect();
    let names: Vec<String> = down.iter().map(|i| node_name(*i)).collect();
    run.fault(format!(
        "kill -9 {} (2 of 3: quorum lost)",
        names.join(" and ")
    ));
    let tb = run.tb.clone();
    for r in futures_util::future::join_all(down.iter().map(|i| tb.kill(id(*i)))).await {
        r?;
    }
    // The survivor cannot reach a majority: it must give up leadership.
    run.monitor()
        .wait_for("the survivor to give up leadership", NODE_DEADLINE, |tls| {
            tls.iter()
                .all(|tl| tl.transitions.last().map(|t| t.seen) != Some(Observed::Active))
                .then_some(())
        })
        .await?;
    run.observed(format!(
        "{} no longer active (no quorum)",
        node_name(active)
    ));
    let t_lost = run.clock.now();
    // Writes during the outage: at least this long, to record how they fail.
    tokio::time::sleep(HOLD_FAULT).await;
    let t_recover = run.clock.now();
    run.recovery(format!("start {}", names.join(", ")));
    for i in &down {
        run.tb.start(id(*i)).await?;
    }
    run.unseal_when_sealed(&down).await?;
    run.wait_new_active().await?;
    run.monitor()
        .wait_for("every node unsealed", NODE_DEADLINE, |tls| {
            tls.iter()
                .all(|tl| {
                    matches!(
                        tl.transitions.last().map(|t| t.seen),
                        Some(Observed::Active | Observed::Standby)
                    )
                })
                .then_some(())
        })
        .await?;
    run.settle().await?;
    run.details.insert(
        "outage".into(),
        json!({"no_leader_from_s": t_lost.as_secs_f64(), "recovery_from_s": t_recover.as_secs_f64()}),
    );
    Ok(())
}

/// After `finish`: quorum loss must refuse writes with clear errors while it lasts.
pub(crate) fn quorum_check(
    report: &mut crate::report::ScenarioReport,
    log: &crate::workload::WorkloadLog,
) {
    let Some(o) = report.details.get("outage").cloned() else {
        return;
    };
    let from = Duration::from_secs_f64(o["no_leader_from_s"].as_f64().unwrap_or(0.0));
    let to = Duration::from_secs_f64(o["recovery_from_s"].as_f64().unwrap_or(0.0));
    let during: Vec<_> = log
        .attempts
        .iter()
        .filter(|a| a.op.is_write() && a.start >= from && a.end <= to)
        .collect();
    let acked = during.iter().filter(|a| a.is_write_ack()).count();
    let mut kinds = std::collections::BTreeMap::new();
    for a in &during {
        if let Outcome::Error { class } = a.outcome {
            *kinds.entry(class.to_string()).or_insert(0u64) += 1;
        }
    }
    let samples: serde_json::Map<String, serde_json::Value> = log
        .error_samples
        .iter()
        .filter(|(k, _)| kinds.contains_key(&k.to_string()))
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    report.details.insert(
        "writes_without_quorum".into(),
        json!({"requests": during.len(), "acknowledged": acked, "errors_by_kind": kinds, "error_messages": samples}),
    );
    report.checks.push(crate::report::Check {
        name: "no write acknowledged without quorum".into(),
        passed: acked == 0 && !during.is_empty(),
        detail: format!(
            "{} writes sent while no leader could exist: {acked} acknowledged; errors {:?}",
            during.len(),
            kinds
        ),
    });
    report.passed = report.checks.iter().all(|c| c.passed);
}

/// Reads of a just-written key through every node, `iterations` times. `forwarded`: the
/// testbed renders `disable_standby_reads = true`, so no read may be stale.
async fn stale_reads(run: &mut Run<'_>, forwarded: bool) -> Result<(), ScenarioError> {
    let active = run.start_monitor().await?;
    let iterations = run.opts.stale_read_iterations;
    let mount = run.keys.mount.clone();
    let key = format!("{}/read-after-write", run.keys.prefix);
    let writer = run.root(active);
    let readers: Vec<(usize, NodeClient)> = (0..run.nodes()).map(|i| (i, run.root(i))).collect();
    let mut stale = vec![0u64; run.nodes()];
    let mut lag_ms: Vec<Vec<f64>> = vec![Vec::new(); run.nodes()];
    let mut never = vec![0u64; run.nodes()];
    run.observed(format!(
        "{iterations} writes via {}, each read at once through every node",
        node_name(active)
    ));
    for n in 0..iterations {
        let meta = writer
            .kv_write(&mount, &key, &json!({ "n": n }), None)
            .await
            .map_err(api("writing the read-after-write key"))?;
        let written = std::time::Instant::now();
        let reads = readers.iter().map(|(i, c)| {
            let (mount, key) = (&mount, &key);
            async move { (*i, c.kv_read(mount, key).await) }
        });
        for (i, r) in futures_util::future::join_all(reads).await {
            let seen = r
                .map_err(api("reading the read-after-write key"))?
                .map_or(0, |s| s.metadata.version);
            if seen < meta.version {
                stale[i] += 1;
                // How long until this node shows the write (polled every 5 ms).
                let c = &readers[i].1;
                let got = vaultops_bootstrap::wait::until(
                    "the write to become visible",
                    Duration::from_secs(5),
                    Duration::from_millis(5),
                    || async {
                        match c.kv_read(&mount, &key).await {
                            Ok(Some(s)) if s.metadata.version >= meta.version => Ok(Some(())),
                            Ok(_) => Ok(None),
                            Err(e) => Err(e.to_string()),
                        }
                    },
                )
                .await;
                match got {
                    Ok(()) => lag_ms[i].push(written.elapsed().as_secs_f64() * 1e3),
                    Err(_) => never[i] += 1,
                }
            }
        }
    }
    let per_node: Vec<_> = (0..run.nodes())
        .map(|i| {
            json!({
                "node": node_name(i),
                "role": if i == active { "active" } else { "standby" },
                "stale": stale[i],
                "reads": iterations,
                "stale_rate": stale[i] as f64 / iterations.max(1) as f64,
                "visible_after_ms_median": analysis::median(&lag_ms[i]),
                "visible_after_ms_max": lag_ms[i].iter().copied().fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x)))),
                "not_visible_within_5s": never[i],
            })
        })
        .collect();
    let standby_stale: u64 = (0..run.nodes())
        .filter(|i| *i != active)
        .map(|i| stale[i])
        .sum();
    let standby_reads = (run.nodes() as u64 - 1) * iterations as u64;
    run.say(&format!(
        "stale reads: active {}/{iterations}, standbys {standby_stale}/{standby_reads}",
        stale[active]
    ));
    run.details.insert(
        "read_after_write".into(),
        json!({
            "config": if forwarded {
                "disable_standby_reads = true (standbys forward reads to the active node)"
            } else {
                "default (standby reads served locally; disable_standby_reads not set)"
            },
            "standby_stale_rate": standby_stale as f64 / standby_reads.max(1) as f64,
            "nodes": per_node,
        }),
    );
    run.check(
        "reads on the active node are never stale",
        stale[active] == 0,
        format!("{} of {iterations} stale", stale[active]),
    );
    if forwarded {
        run.check(
            "with disable_standby_reads, no read through a standby is stale",
            standby_stale == 0,
            format!("{standby_stale} of {standby_reads} standby reads stale"),
        );
    }
    run.check(
        "standbys converge",
        never.iter().all(|n| *n == 0),
        format!("{} reads still stale after 5 s", never.iter().sum::<u64>()),
    );
    Ok(())
}

/// The checks computed from the whole log after the run (they need the verification).
pub(crate) fn post_checks(
    report: &mut crate::report::ScenarioReport,
    log: &crate::workload::WorkloadLog,
    budgets: &crate::suite::Budgets,
) {
    match report.scenario.parse::<Scenario>() {
        Ok(Scenario::PauseActive) => pause_check(report, log),
        Ok(Scenario::RollingRestart) => rolling_check(report, log, budgets.standby_unavailability),
        Ok(Scenario::QuorumLoss) => quorum_check(report, log),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for s in Scenario::ALL {
            assert_eq!(s.name().parse::<Scenario>().unwrap(), s);
        }
        let e = "kill".parse::<Scenario>().unwrap_err().to_string();
        assert!(e.contains("unknown scenario \"kill\""), "{e}");
        assert!(e.contains("kill-active"), "{e}");
    }

    #[test]
    fn wrong_key_is_valid_base64_of_33_bytes() {
        use base64::Engine as _;
        let k = wrong_key();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(k.expose())
                .unwrap()
                .len(),
            33
        );
    }
}
