//! `seal-migration`: Shamir → static under the workload, driven by what `vaultops seal migrate
//! next` decides (`vaultops_bootstrap::next_seal_action`): the testbed plays the operator when
//! the next step is `reconfigure` (`Testbed::change_seal`: the new stanza rendered by the
//! shared templates, the container restarted), and the production library does the rest
//! (`seal_migration_step`: unseal with `migrate` from the init keys, the step-down). Then every
//! node is restarted at once and must come back unsealed by the static seal with no unseal
//! call; every node must report the static seal with recovery keys.

use std::time::Duration;

use vaultops_bootstrap::{
    check_seal_migration, seal_migration_step, NodeSet, SealAction, SealKind,
};
use vaultops_testbed::SealKind as TestbedSeal;

use crate::error::{testbed, ScenarioError};
use crate::lifecycle::id;
use crate::model::node_name;
use crate::run::{Run, NODE_DEADLINE};

use super::wait_all_unsealed;

const FROM: SealKind = SealKind::Shamir;
const TO: SealKind = SealKind::Static;

pub(super) async fn seal_migration(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    run.begin().await?;
    let nodes = NodeSet::new((0..run.nodes()).map(|i| run.root(i)).collect());
    let addrs: Vec<String> = nodes.nodes().iter().map(|c| c.addr().to_owned()).collect();
    let keys = run
        .tb
        .init()
        .map(|i| i.keys_base64.clone())
        .ok_or_else(|| fail("the testbed has no init output (unseal keys)"))?;
    let mut steps = Vec::new();
    // Per standby: reconfigure, migrate-unseal; then step-down, the old active; then done.
    for _ in 0..=3 * run.nodes() {
        let action = check_seal_migration(&nodes, TO, NODE_DEADLINE)
            .await
            .map_err(step("the check between steps"))?;
        let label = match &action {
            SealAction::Reconfigure { node, last, .. } => format!(
                "{}: {} static seal stanza, restart",
                node_name(index(&addrs, node)?),
                if *last { "only the" } else { "add the" }
            ),
            SealAction::MigrateUnseal { node } => format!(
                "{}: unseal with migrate (the Shamir keys)",
                node_name(index(&addrs, node)?)
            ),
            SealAction::Unseal { node } => format!("{}: unseal", node_name(index(&addrs, node)?)),
            SealAction::StepDown { node } => format!(
                "step-down of {} (every standby migrated)",
                node_name(index(&addrs, node)?)
            ),
            SealAction::Done { .. } => break,
            SealAction::Refused { reasons } | SealAction::Blocked { reasons } => {
                return Err(fail(reasons.join("; ")))
            }
        };
        if steps.is_empty() {
            run.fault(label);
        } else {
            run.recovery(label);
        }
        steps.push(
            serde_json::to_value(&action)
                .ok()
                .and_then(|v| v["action"].as_str().map(str::to_owned))
                .unwrap_or_default(),
        );
        match action {
            SealAction::Reconfigure { node, last, .. } => {
                let i = index(&addrs, &node)?;
                let from = if last { tb_seal(TO) } else { tb_seal(FROM) };
                run.tb
                    .change_seal(id(i), from, tb_seal(TO), Duration::from_secs(30))
                    .await
                    .map_err(testbed("changing a node's seal stanza"))?;
            }
            SealAction::StepDown { .. } => {
                run.anchor_leader_change_now();
                seal_migration_step(&nodes, TO, &keys, NODE_DEADLINE)
                    .await
                    .map_err(step("the step-down"))?;
                run.wait_new_active().await?;
            }
            _ => {
                seal_migration_step(&nodes, TO, &keys, NODE_DEADLINE)
                    .await
                    .map_err(step("the unseal"))?;
            }
        }
    }
    run.tb.record_seal(TestbedSeal::Static);
    run.observed(format!("migrated to static: {}", steps.join(", ")));

    // Every node at once, no unseal call from here on.
    run.recovery("restart every node (SIGTERM, start): static seal, no operator input");
    let tb = run.tb.clone();
    let restarts = (0..run.nodes()).map(|i| tb.restart(id(i), Duration::from_secs(30)));
    for r in futures_util::future::join_all(restarts).await {
        r.map_err(testbed("restarting every node"))?;
    }
    run.wait_new_active().await?;
    wait_all_unsealed(run, "every node unsealed by the static seal").await?;
    let mut seen = Vec::new();
    for i in 0..run.nodes() {
        seen.push(match run.root(i).seal_status().await {
            Ok(s) => format!(
                "{} {} {}{}",
                node_name(i),
                s.seal_type,
                if s.sealed { "sealed" } else { "unsealed" },
                if s.recovery_seal {
                    ", recovery keys"
                } else {
                    ""
                }
            ),
            Err(e) => format!("{} unanswered: {e}", node_name(i)),
        });
    }
    let expected_steps = [
        "reconfigure",
        "migrate-unseal",
        "reconfigure",
        "migrate-unseal",
        "step-down",
        "reconfigure",
    ];
    run.check(
        "migrated to static, back with no operator input",
        steps == expected_steps
            && seen
                .iter()
                .all(|s| s.ends_with("static unsealed, recovery keys")),
        format!(
            "steps: {}; after restart-all (no key entered): {}",
            steps.join(", "),
            seen.join("; ")
        ),
    );
    run.settle().await
}

fn tb_seal(k: SealKind) -> TestbedSeal {
    match k {
        SealKind::Shamir => TestbedSeal::Shamir,
        SealKind::Static => TestbedSeal::Static,
        SealKind::Transit => TestbedSeal::Transit,
    }
}

fn index(addrs: &[String], node: &str) -> Result<usize, ScenarioError> {
    addrs
        .iter()
        .position(|a| a == node)
        .ok_or_else(|| fail(format!("{node} is not a node of the testbed")))
}

fn step(
    step: &'static str,
) -> impl FnOnce(vaultops_bootstrap::SealMigrationError) -> ScenarioError {
    move |source| ScenarioError::SealMigrationStep {
        step,
        source: Box::new(source),
    }
}

fn fail(e: impl ToString) -> ScenarioError {
    ScenarioError::SealMigration {
        reason: e.to_string(),
    }
}
