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

/// What [`join_node`] would do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JoinPlan {
    /// The node asked to join.
    pub node: String,
    /// The active node it joins through.
    pub leader: String,
    /// Joins as a permanent non-voter (promote it later).
    pub non_voter: bool,
    /// Set when nothing needs doing (why).
    pub noop: Option<String>,
}

/// Plans asking the uninitialised node `node` to join the cluster of `nodes`: the cluster
/// must have an active node and every peer healthy; a node that is already initialised
/// (joined before, or another cluster's) is a no-op with a message.
pub async fn plan_join(
    nodes: &NodeSet,
    node: &NodeClient,
    non_voter: bool,
) -> Result<(JoinPlan, NodeClient), MembershipError> {
    let (active, peers) = read_peers(nodes).await?;
    let problems: Vec<String> = peers
        .iter()
        .filter(|p| !p.healthy)
        .map(|p| format!("peer {} is not healthy per autopilot", p.node_id))
        .collect();
    if !problems.is_empty() {
        return Err(MembershipError::Unhealthy { problems });
    }
    let health = node.health().await.map_err(api("health", node))?;
    let noop = (health.role != vaultops_api::NodeRole::Uninitialized).then(|| {
        format!(
            "{} is already initialized ({}): it has joined already (unseal it if sealed) or belongs to another cluster",
            node.addr(),
            health.role
        )
    });
    Ok((
        JoinPlan {
            node: node.addr().to_owned(),
            leader: active.addr().to_owned(),
            non_voter,
            noop,
        },
        active,
    ))
}

/// Plans, then sends `sys/storage/raft/join` to `node` (leader: the active node, verified
/// with `leader_ca_pem`) and waits until the node reports itself initialised. A Shamir node
/// then needs the unseal keys; an auto-unseal node unseals itself. OpenBao 2.7.2 drops
/// `non_voter` when the joining node uses Shamir (see `vaultops_api::RaftJoinRequest`).
pub async fn join_node(
    nodes: &NodeSet,
    node: &NodeClient,
    non_voter: bool,
    leader_ca_pem: Option<String>,
    deadline: Duration,
) -> Result<JoinPlan, MembershipError> {
    let (plan, active) = plan_join(nodes, node, non_voter).await?;
    if plan.noop.is_some() {
        return Ok(plan);
    }
    let req = vaultops_api::RaftJoinRequest {
        non_voter,
        ..vaultops_api::RaftJoinRequest::new(active.addr(), leader_ca_pem)
    };
    let joined = node.raft_join(&req).await.map_err(api("raft join", node))?;
    if !joined {
        return Err(MembershipError::Unhealthy {
            problems: vec![format!(
                "{} answered joined=false: it could not join through {}",
                node.addr(),
                active.addr()
            )],
        });
    }
    wait::until(
        &format!("{} initialized after joining", node.addr()),
        deadline,
        Duration::from_millis(200),
        || async {
            match node.health().await {
                Ok(h) if h.role != vaultops_api::NodeRole::Uninitialized => Ok(Some(())),
                Ok(h) => Err(format!("role {}", h.role)),
                Err(e) => Err(e.to_string()),
            }
        },
    )
    .await
    .map_err(|source| MembershipError::NotSettled {
        step: "join",
        source: Box::new(source),
    })?;
    Ok(plan)
}
