//! Faults on node processes: kill -9 or SIGTERM of the active node, kill -9 of a standby, a
//! step-down, and kill -9 of both standbys (quorum loss).

use std::time::Duration;

use crate::analysis;
use crate::details::Outage;
use crate::error::{api, testbed, ScenarioError};
use crate::lifecycle::id;
use crate::model::{node_name, Observed};
use crate::run::{Run, NODE_DEADLINE};

use super::{wait_all_unsealed, HOLD_FAULT};

pub(super) async fn kill_active(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let old = run.begin().await?;
    run.fault(format!("kill -9 {} (active)", node_name(old)));
    run.tb
        .kill(id(old))
        .await
        .map_err(testbed("killing the active node"))?;
    run.wait_new_active().await?;
    run.start_and_unseal(old).await?;
    let role = run.role_now(old).await;
    run.check(
        "killed node rejoins as standby",
        role.as_deref() == Ok("standby"),
        format!(
            "{} answers {} after restart and unseal",
            node_name(old),
            role.unwrap_or_else(|e| e)
        ),
    );
    run.settle().await
}

pub(super) async fn stop_active(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let old = run.begin().await?;
    run.fault(format!("SIGTERM {} (active)", node_name(old)));
    run.tb
        .stop(id(old), Duration::from_secs(30))
        .await
        .map_err(testbed("stopping the active node"))?;
    run.wait_new_active().await?;
    run.start_and_unseal(old).await?;
    let role = run.role_now(old).await;
    run.check(
        "stopped node rejoins as standby",
        role.as_deref() == Ok("standby"),
        format!(
            "{} answers {} after restart and unseal",
            node_name(old),
            role.unwrap_or_else(|e| e)
        ),
    );
    run.settle().await
}

pub(super) async fn kill_standby(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let active = run.begin().await?;
    let victim = (0..run.nodes()).find(|i| *i != active).expect("3 nodes");
    run.fault(format!("kill -9 {} (standby)", node_name(victim)));
    let t = run.clock.now();
    run.tb
        .kill(id(victim))
        .await
        .map_err(testbed("killing a standby"))?;
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

pub(super) async fn step_down(run: &mut Run<'_>) -> Result<(), ScenarioError> {
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

pub(super) async fn quorum_loss(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let active = run.begin().await?;
    let down: Vec<usize> = (0..run.nodes()).filter(|i| *i != active).collect();
    let names: Vec<String> = down.iter().map(|i| node_name(*i)).collect();
    run.fault(format!(
        "kill -9 {} (2 of 3: quorum lost)",
        names.join(" and ")
    ));
    let tb = run.tb.clone();
    for r in futures_util::future::join_all(down.iter().map(|i| tb.kill(id(*i)))).await {
        r.map_err(testbed("killing the standbys"))?;
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
        run.tb
            .start(id(*i))
            .await
            .map_err(testbed("starting the killed standbys"))?;
    }
    run.unseal_when_sealed(&down).await?;
    run.wait_new_active().await?;
    wait_all_unsealed(run, "every node unsealed").await?;
    run.settle().await?;
    run.details.outage = Some(Outage {
        no_leader_from: t_lost,
        recovery_from: t_recover,
    });
    Ok(())
}
