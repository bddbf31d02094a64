//! Restarts: every node at once (Shamir: all sealed until the keys are given; static seal: back
//! with no operator input) and a rolling restart, standbys first, the active node last.

use std::time::Duration;

use crate::details::RestartPhase;
use crate::error::{boot, testbed, ScenarioError};
use crate::lifecycle::id;
use crate::model::{node_name, Observed};
use crate::run::{Run, NODE_DEADLINE};

use super::wait_all_unsealed;

pub(super) async fn restart_all(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    run.begin().await?;
    let all: Vec<usize> = (0..run.nodes()).collect();
    run.fault("restart every node (SIGTERM, start)");
    let tb = run.tb.clone();
    let restarts = all
        .iter()
        .map(|i| tb.restart(id(*i), Duration::from_secs(30)));
    for r in futures_util::future::join_all(restarts).await {
        r.map_err(testbed("restarting every node"))?;
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
    wait_all_unsealed(run, "every node unsealed").await?;
    run.settle().await
}

pub(super) async fn restart_all_auto(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    run.begin().await?;
    let all: Vec<usize> = (0..run.nodes()).collect();
    run.fault("restart every node (SIGTERM, start); static auto-unseal seal");
    let tb = run.tb.clone();
    let restarts = all
        .iter()
        .map(|i| tb.restart(id(*i), Duration::from_secs(30)));
    for r in futures_util::future::join_all(restarts).await {
        r.map_err(testbed("restarting every node"))?;
    }
    // No unseal call from here on: the nodes must come back by themselves.
    run.wait_new_active().await?;
    wait_all_unsealed(run, "every node unsealed by itself").await?;
    run.observed("every node unsealed, no operator input");
    let mut seen = Vec::new();
    for i in &all {
        seen.push(match run.root(*i).seal_status().await {
            Ok(s) => (s.sealed, s.seal_type),
            Err(e) => (true, format!("unanswered: {e}")),
        });
    }
    let unsealed_by_seal = seen.iter().all(|(sealed, t)| !sealed && t != "shamir");
    run.check(
        "auto-unseal: back with no operator input",
        unsealed_by_seal,
        format!(
            "no key was entered; seal status per node: {}",
            seen.iter()
                .map(|(sealed, t)| format!("{t} {}", if *sealed { "sealed" } else { "unsealed" }))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    run.settle().await
}

pub(super) async fn rolling_restart(run: &mut Run<'_>) -> Result<(), ScenarioError> {
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
        run.tb
            .restart(id(i), Duration::from_secs(30))
            .await
            .map_err(testbed("restarting a node"))?;
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
        vaultops_bootstrap::wait_voters(&run.root(leader), run.nodes(), NODE_DEADLINE)
            .await
            .map_err(boot("waiting for autopilot after a restart"))?;
        run.observed(format!("{} back, autopilot healthy", node_name(i)));
        phases.push(RestartPhase {
            node: i,
            was_active: is_active,
            from,
            to: run.clock.now(),
        });
    }
    run.settle().await?;
    run.details.phases = Some(phases);
    Ok(())
}
