//! `upgrade`: the rolling upgrade 2.6.2 → 2.7.2 under the workload, driven by what
//! `vaultops upgrade next` decides (`vaultops_bootstrap::next_action`): each standby's container
//! replaced by the 2.7.2 image (`Testbed::swap_version`), unsealed, and the check between steps
//! passed (back, unsealed, caught up, autopilot healthy, the target version read from the node)
//! before the next; then the step-down of the old active; then its swap. The versions every
//! node reports are checked at the end.

use std::time::Duration;

use vaultops_bootstrap::{
    check_upgrade, next_action, observe_upgrade, step_down_for_upgrade, wait_until, NodeSet,
    UpgradeAction, UpgradeOptions,
};

use crate::error::{testbed, ScenarioError};
use crate::lifecycle::id;
use crate::model::{node_name, Observed};
use crate::run::{Run, NODE_DEADLINE};

use crate::catalogue::{UPGRADE_FROM as FROM, UPGRADE_TO as TO};

pub(super) async fn upgrade(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    run.begin().await?;
    let nodes = NodeSet::new((0..run.nodes()).map(|i| run.root(i)).collect());
    let addrs: Vec<String> = nodes.nodes().iter().map(|c| c.addr().to_owned()).collect();
    let opts = UpgradeOptions::new(TO.parse().map_err(upgrade_err)?);
    let mut steps = 0usize;
    // 3 swaps and a step-down for 3 nodes; one more round to see "done".
    for _ in 0..=2 * run.nodes() {
        let action = wait_until(
            "the upgrade's next step to be unblocked",
            NODE_DEADLINE,
            Duration::from_millis(250),
            || async {
                match next_action(&observe_upgrade(&nodes).await, &opts) {
                    UpgradeAction::Blocked { reasons } => Err(reasons.join("; ")),
                    other => Ok(Some(other)),
                }
            },
        )
        .await
        .map_err(ScenarioError::Wait)?;
        let label = match &action {
            UpgradeAction::Swap { node, from, to, .. } => {
                let i = index(&addrs, node)?;
                format!("swap {} ({from} -> {to})", node_name(i))
            }
            UpgradeAction::StepDown { node, .. } => {
                format!(
                    "step-down of {} (every standby on {TO})",
                    node_name(index(&addrs, node)?)
                )
            }
            UpgradeAction::Done { .. } => break,
            UpgradeAction::Refused { reasons } | UpgradeAction::Blocked { reasons } => {
                return Err(upgrade_err(reasons.join("; ")))
            }
        };
        if steps == 0 {
            run.fault(label);
        } else {
            run.recovery(label);
        }
        steps += 1;
        match action {
            UpgradeAction::Swap { node, .. } => {
                let i = index(&addrs, &node)?;
                run.tb
                    .swap_version(id(i), TO, Duration::from_secs(30))
                    .await
                    .map_err(testbed("swapping a node's image"))?;
                run.unseal_when_sealed(&[i]).await?;
                run.wait_role(i, Observed::Standby).await?;
                check_upgrade(&nodes, &opts, Some(&node), NODE_DEADLINE)
                    .await
                    .map_err(step("the check after a swap"))?;
                run.observed(format!(
                    "{} on {TO}: unsealed, caught up, autopilot healthy",
                    node_name(i)
                ));
            }
            UpgradeAction::StepDown { .. } => {
                run.anchor_leader_change_now();
                step_down_for_upgrade(&nodes, &opts, NODE_DEADLINE)
                    .await
                    .map_err(step("the step-down"))?;
                run.wait_new_active().await?;
            }
            _ => {}
        }
    }
    run.settle().await?;
    let view = observe_upgrade(&nodes).await;
    let versions: Vec<String> = view
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!(
                "{} {}",
                node_name(i),
                n.version.as_deref().unwrap_or("unknown")
            )
        })
        .collect();
    let all_on_target = view.nodes.iter().all(|n| n.version.as_deref() == Some(TO));
    let done = matches!(next_action(&view, &opts), UpgradeAction::Done { .. });
    run.check(
        "every node upgraded",
        all_on_target && done && steps == run.nodes() + 1,
        format!(
            "{} steps ({} swaps and a step-down expected) from {FROM}; versions read from \
             sys/health: {}",
            steps,
            run.nodes(),
            versions.join(", ")
        ),
    );
    Ok(())
}

fn index(addrs: &[String], node: &str) -> Result<usize, ScenarioError> {
    addrs
        .iter()
        .position(|a| a == node)
        .ok_or_else(|| upgrade_err(format!("{node} is not a node of the testbed")))
}

fn step(step: &'static str) -> impl FnOnce(vaultops_bootstrap::UpgradeError) -> ScenarioError {
    move |source| ScenarioError::UpgradeStep {
        step,
        source: Box::new(source),
    }
}

fn upgrade_err(e: impl ToString) -> ScenarioError {
    ScenarioError::Upgrade {
        reason: e.to_string(),
    }
}
