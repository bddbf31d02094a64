//! Reads the peer set from the active node and applies membership plans
//! (`crate::membership`), re-checking the cluster before and after each step.

use crate::membership::{
    diff_configs, peers, plan_autopilot, plan_member_change, AutopilotChange, AutopilotPlan,
    MemberAction, MemberPlan, MembershipError, Peer,
};
use crate::nodes::NodeSet;
use crate::wait;
use std::time::Duration;
use vaultops_api::{ApiError, NodeClient};

fn api<'a>(
    step: &'static str,
    node: &'a NodeClient,
) -> impl FnOnce(ApiError) -> MembershipError + 'a {
    move |source| MembershipError::Api {
        step,
        node: node.addr().to_owned(),
        source: Box::new(source),
    }
}

/// The active node among `nodes` (the reachable node URLs; a dead node may be left out) and
/// the peer set it reports, with autopilot's health.
pub async fn read_peers(nodes: &NodeSet) -> Result<(NodeClient, Vec<Peer>), MembershipError> {
    let Some(i) = nodes.active_index().await else {
        let states = nodes.states().await;
        return Err(MembershipError::Unhealthy {
            problems: vec![format!(
                "no single active node among the given nodes ({})",
                nodes.describe(&states)
            )],
        });
    };
    let active = nodes.nodes()[i].clone();
    let config = active
        .raft_configuration()
        .await
        .map_err(api("raft configuration", &active))?;
    let state = active
        .autopilot_state()
        .await
        .map_err(api("autopilot state", &active))?;
    Ok((active, peers(&config, &state)))
}

/// Plans `action` on `node_id` from the cluster as it is now (for `--dry-run`, and as the
/// first step of [`change_member`]).
pub async fn plan_member(
    nodes: &NodeSet,
    action: MemberAction,
    node_id: &str,
) -> Result<(MemberPlan, NodeClient), MembershipError> {
    let (active, peers) = read_peers(nodes).await?;
    Ok((plan_member_change(&peers, action, node_id)?, active))
}

/// Plans and applies `action` on `node_id`, then waits (up to `deadline`) until the active
/// node's peer set shows the change and autopilot reports every remaining peer healthy. A
/// change already in effect returns its no-op plan without calling the server.
pub async fn change_member(
    nodes: &NodeSet,
    action: MemberAction,
    node_id: &str,
    deadline: Duration,
) -> Result<MemberPlan, MembershipError> {
    let (plan, active) = plan_member(nodes, action, node_id).await?;
    if plan.noop.is_some() {
        return Ok(plan);
    }
    match action {
        MemberAction::RemovePeer => active
            .raft_remove_peer(node_id)
            .await
            .map_err(api("raft remove-peer", &active))?,
        MemberAction::Promote => active
            .raft_promote(node_id)
            .await
            .map_err(api("raft promote", &active))?,
        MemberAction::Demote => active
            .raft_demote(node_id)
            .await
            .map_err(api("raft demote", &active))?,
    }
    let want = plan.voters_after.clone();
    wait::until(
        &format!(
            "{} {node_id}: voters {want:?}, every peer healthy",
            action.verb()
        ),
        deadline,
        Duration::from_millis(250),
        || async {
            let (_, now) = read_peers(nodes).await.map_err(|e| e.to_string())?;
            let present = now.iter().any(|p| p.node_id == node_id);
            let mut voters: Vec<String> = now
                .iter()
                .filter(|p| p.voter)
                .map(|p| p.node_id.clone())
                .collect();
            voters.sort();
            let settled = (action != MemberAction::RemovePeer || !present)
                && voters == want
                && now.iter().all(|p| p.healthy);
            if settled {
                Ok(Some(()))
            } else {
                Err(format!("peers now: {now:?}"))
            }
        },
    )
    .await
    .map_err(|source| MembershipError::NotSettled {
        step: action.verb(),
        source: Box::new(source),
    })?;
    Ok(plan)
}

/// Plans an autopilot change from the active node's current configuration; the intended
/// voter count defaults to the voters now.
pub async fn plan_autopilot_change(
    nodes: &NodeSet,
    change: &AutopilotChange,
    intended_voters: Option<usize>,
) -> Result<(AutopilotPlan, NodeClient), MembershipError> {
    let (active, peers) = read_peers(nodes).await?;
    let voters = intended_voters.unwrap_or_else(|| peers.iter().filter(|p| p.voter).count());
    let current = active
        .autopilot_config()
        .await
        .map_err(api("autopilot config read", &active))?;
    Ok((plan_autopilot(&current, change, voters)?, active))
}

/// Writes `plan.after` (when the diff is not empty) and reads it back: every changed field
/// must now read as planned (durations by value).
pub async fn apply_autopilot(
    active: &NodeClient,
    plan: &AutopilotPlan,
) -> Result<(), MembershipError> {
    if plan.diff.is_empty() {
        return Ok(());
    }
    active
        .set_autopilot_config(&plan.after)
        .await
        .map_err(api("autopilot config write", active))?;
    let back = active
        .autopilot_config()
        .await
        .map_err(api("autopilot config read", active))?;
    let left = diff_configs(&plan.after, &back);
    if left.is_empty() {
        Ok(())
    } else {
        Err(MembershipError::NotKept { diff: left })
    }
}
