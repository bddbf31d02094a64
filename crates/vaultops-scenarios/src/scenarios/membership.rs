//! `replace-node` and `scale-out-in`: raft membership changes under the workload, made with
//! the code behind `vaultops raft remove-peer|promote|demote|autopilot set`
//! (`vaultops_bootstrap::{plan_member, change_member, read_peers, plan_autopilot_change,
//! apply_autopilot}`) and `vaultops unseal` (`unseal_when_joined`), with a token holding only
//! `MEMBERSHIP_POLICY`, in the order of `docs/runbooks/membership.md`. The testbed side (a
//! container with a new identity, a container removed with its volume) is
//! `Testbed::add_node` / `Testbed::remove_node`.
//!
//! New nodes join through `retry_join` in their config (runbook step 4), not through
//! `vaultops raft join`: that command sends the new node the active node's address as the
//! operator reaches it, and on the testbed that is a port published on the host's loopback,
//! which a container cannot reach. With Shamir the outcome is the same anyway: OpenBao 2.7.2
//! drops `non_voter` on a Shamir join, so the node is a voter-to-be either way, and the
//! runbook's Shamir workaround (demote it, promote it once caught up) is what holds it back;
//! `scale-out-in` runs that workaround on the shared testbed's seal and records what the
//! node was before the demote.

use std::time::Duration;

use vaultops_api::{NodeClient, TokenCreateRequest};
use vaultops_bootstrap::{
    apply_autopilot, change_member, plan_autopilot_change, plan_member, read_peers,
    unseal_when_joined, wait_until, wait_voters, AutopilotChange, MemberAction, MembershipError,
    NodeSet, Peer, MEMBERSHIP_POLICY,
};
use vaultops_testbed::{JoinBy, NodeId};

use crate::error::{api, boot, testbed, ScenarioError};
use crate::lifecycle::id;
use crate::model::Observed;
use crate::run::{Run, NODE_DEADLINE};

/// Deadline of one membership step, its transient refusals re-run included (the runbook:
/// "read the message, wait, re-run").
const STEP_DEADLINE: Duration = Duration::from_secs(90);
/// How often a refused step is re-run and a peer set is read again.
const RETRY_EVERY: Duration = Duration::from_millis(500);
/// SIGTERM grace when a node's container is removed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// The policy name the scenarios' membership token carries.
const POLICY: &str = "vaultops-raft-membership";

pub(super) async fn replace_node(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let token = membership_token(run).await?;
    let active = run.begin().await?;
    let victim = (active + 1) % run.nodes();
    let other = (0..run.nodes())
        .find(|i| *i != active && *i != victim)
        .expect("three nodes");
    let (leader_id, victim_id, other_id) = (id(active), id(victim), id(other));

    run.fault(format!(
        "{victim_id} lost: container killed and removed with its volume"
    ));
    run.tb
        .kill(victim_id)
        .await
        .map_err(testbed("killing the node whose volume is lost"))?;
    run.tb
        .remove_node(victim_id, STOP_GRACE)
        .await
        .map_err(testbed("removing the lost node's container and volume"))?;
    // The commands are given the reachable nodes (a dead node may be left out).
    let live = node_set(run, &[leader_id, other_id], &token);

    // The safety rules on the real cluster, before anything changes. Autopilot calls the
    // dead node unhealthy after its last_contact_threshold: until then the first refusal
    // does not hold yet, so it is waited for.
    let refusal = wait_until(
        "removing the healthy standby to be refused for quorum",
        STEP_DEADLINE,
        RETRY_EVERY,
        || async {
            match plan_member(&live, MemberAction::RemovePeer, &other_id.to_string()).await {
                Err(e @ MembershipError::WouldLoseQuorum { .. }) => Ok(Some(e.to_string())),
                Err(e) => Err(e.to_string()),
                Ok((p, _)) => Err(format!("planned: {p:?}")),
            }
        },
    )
    .await
    .map_err(ScenarioError::Wait)?;
    run.observed(format!("{victim_id} unhealthy per autopilot"));
    let refused = change_member(
        &live,
        MemberAction::RemovePeer,
        &other_id.to_string(),
        NODE_DEADLINE,
    )
    .await;
    run.check(
        "removing a healthy voter while a voter is dead is refused",
        matches!(refused, Err(MembershipError::WouldLoseQuorum { .. }))
            && refusal.contains(&victim_id.to_string()),
        refusal,
    );
    let refused = change_member(
        &live,
        MemberAction::RemovePeer,
        &leader_id.to_string(),
        NODE_DEADLINE,
    )
    .await;
    run.check(
        "removing the leader is refused",
        matches!(refused, Err(MembershipError::IsLeader { .. })),
        refused.map_or_else(|e| e.to_string(), |p| format!("not refused: {p:?}")),
    );
    let peers = peer_ids(&live).await?;
    run.check(
        "the refusals changed nothing",
        peers.len() == 3,
        format!("peers: {}", peers.join(", ")),
    );

    run.recovery(format!("remove-peer {victim_id}"));
    let plan = member_step(&live, MemberAction::RemovePeer, victim_id).await?;
    let again = change_member(
        &live,
        MemberAction::RemovePeer,
        &victim_id.to_string(),
        NODE_DEADLINE,
    )
    .await
    .map_err(step("re-running remove-peer"))?;
    run.check(
        "the dead peer is removed, a re-run is a no-op",
        plan.noop.is_none()
            && !plan.voters_after.contains(&victim_id.to_string())
            && again
                .noop
                .as_deref()
                .is_some_and(|m| m.contains("already removed")),
        format!(
            "voters after: {}; re-run: {}",
            plan.voters_after.join(", "),
            again.noop.unwrap_or_default()
        ),
    );

    let fresh = add_and_unseal(run, JoinBy::RetryJoin).await?;
    let set = node_set(run, &[leader_id, other_id, fresh], &token);
    let leader = read_peers(&set).await.map_err(step("reading the peers"))?.0;
    wait_voters(&leader, 3, STEP_DEADLINE)
        .await
        .map_err(boot("waiting for three healthy voters"))?;
    run.observed(format!("{fresh} a voter; autopilot healthy with 3 voters"));
    run.settle().await?;

    check_voters(
        run,
        &set,
        "peers: the two survivors and the new node, all healthy voters",
        &[leader_id, other_id, fresh],
    )
    .await?;
    let state = leader
        .autopilot_state()
        .await
        .map_err(api("reading autopilot state"))?;
    run.check(
        "autopilot healthy",
        state.healthy_with_voters(3),
        format!("healthy {}, voters {:?}", state.healthy, state.voters),
    );
    Ok(())
}

pub(super) async fn scale_out_in(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let token = membership_token(run).await?;
    run.begin().await?;
    let first: Vec<NodeId> = run.tb.nodes().iter().map(|n| n.id).collect();

    // Dead-server cleanup with a min_quorum safe for the 5 voters to come: 2 is refused.
    let set = node_set(run, &first, &token);
    let change = |min_quorum| AutopilotChange {
        cleanup_dead_servers: Some(true),
        min_quorum: Some(min_quorum),
        dead_server_last_contact_threshold: Some("24h".into()),
        ..AutopilotChange::default()
    };
    let unsafe_min = plan_autopilot_change(&set, &change(2), Some(5)).await;
    run.check(
        "min_quorum 2 for 5 voters is refused",
        matches!(
            unsafe_min,
            Err(MembershipError::UnsafeMinQuorum { safe: 3, .. })
        ),
        unsafe_min.map_or_else(|e| e.to_string(), |p| format!("not refused: {p:?}")),
    );
    let (plan, leader) = plan_autopilot_change(&set, &change(3), Some(5))
        .await
        .map_err(step("planning the autopilot settings"))?;
    apply_autopilot(&leader, &plan)
        .await
        .map_err(step("writing the autopilot settings"))?;
    run.observed(format!(
        "autopilot: cleanup_dead_servers, min_quorum 3 (safe for 5 voters: {})",
        plan.safe_min_quorum
    ));

    // Out: one node at a time, held back as a permanent non-voter until caught up.
    let mut added = Vec::new();
    for _ in 0..2 {
        let label = format!("scale out: node{} joins", first.len() + added.len() + 1);
        if added.is_empty() {
            run.fault(label);
        } else {
            run.recovery(label);
        }
        let fresh = add_and_unseal(run, JoinBy::RetryJoin).await?;
        added.push(fresh);
        let all: Vec<NodeId> = first.iter().chain(&added).copied().collect();
        let set = node_set(run, &all, &token);
        let seen = hold_back(&set, fresh).await?;
        run.observed(format!(
            "{fresh} a caught-up permanent non-voter; states seen: {}",
            seen.join(" → ")
        ));
        run.check(
            &format!("{fresh} demoted before autopilot made it a voter"),
            !seen.contains(&"voter"),
            format!("states seen: {}", seen.join(" → ")),
        );
    }
    let all: Vec<NodeId> = first.iter().chain(&added).copied().collect();
    let set = node_set(run, &all, &token);
    // Both held back at once: autopilot must not have promoted either behind our back.
    let (_, peers) = read_peers(&set).await.map_err(step("reading the peers"))?;
    let voters: Vec<String> = sorted_ids(&peers)
        .into_iter()
        .filter(|n| peers.iter().any(|p| &p.node_id == n && p.voter))
        .collect();
    let first_names: Vec<String> = first.iter().map(NodeId::to_string).collect();
    let held = added.iter().all(|n| {
        peers
            .iter()
            .any(|p| p.node_id == n.to_string() && !p.voter && p.permanent_non_voter && p.healthy)
    });
    run.check(
        "new nodes held back as caught-up permanent non-voters (the runbook's Shamir workaround)",
        voters == first_names && held,
        describe(&peers),
    );
    for n in &added {
        run.recovery(format!("promote {n}"));
        member_step(&set, MemberAction::Promote, *n).await?;
    }
    let (_, peers) = read_peers(&set).await.map_err(step("reading the peers"))?;
    run.check(
        "five healthy voters after the promotions",
        peers.len() == 5 && peers.iter().all(|p| p.voter && p.healthy),
        describe(&peers),
    );

    // In: the newest first; drained from the clients, demoted, removed, then its node goes.
    for n in added.iter().rev() {
        run.recovery(format!("scale in: demote, remove-peer, remove {n}"));
        run.unwatch_writes(n.index());
        member_step(&set, MemberAction::Demote, *n).await?;
        member_step(&set, MemberAction::RemovePeer, *n).await?;
        run.tb
            .remove_node(*n, STOP_GRACE)
            .await
            .map_err(testbed("removing a scaled-in node"))?;
    }
    let set = node_set(run, &first, &token);
    let leader = read_peers(&set).await.map_err(step("reading the peers"))?.0;
    wait_voters(&leader, 3, STEP_DEADLINE)
        .await
        .map_err(boot("waiting for three healthy voters"))?;
    run.observed("back to 3 voters; autopilot healthy");
    run.settle().await?;

    check_voters(
        run,
        &set,
        "peers: the first three, all healthy voters",
        &first,
    )
    .await?;
    let cfg = leader
        .autopilot_config()
        .await
        .map_err(api("reading the autopilot configuration"))?;
    run.check(
        "autopilot keeps dead-server cleanup with min_quorum 3",
        cfg.cleanup_dead_servers && cfg.min_quorum == 3,
        format!(
            "cleanup_dead_servers {}, min_quorum {}, dead_server_last_contact_threshold {}",
            cfg.cleanup_dead_servers, cfg.min_quorum, cfg.dead_server_last_contact_threshold
        ),
    );
    Ok(())
}

/// A token with only [`MEMBERSHIP_POLICY`] (no `default` policy), made with the root token:
/// what an operator is given for `vaultops raft`.
async fn membership_token(run: &Run<'_>) -> Result<vaultops_api::Token, ScenarioError> {
    let set = run.tb.node_set();
    let i = set
        .wait_active(NODE_DEADLINE)
        .await
        .map_err(boot("finding the active node"))?;
    let root = run.tb.root_client(run.tb.nodes()[i].id);
    root.policy_write(POLICY, MEMBERSHIP_POLICY)
        .await
        .map_err(api("writing the membership policy"))?;
    let auth = root
        .token_create_orphan(&TokenCreateRequest {
            policies: vec![POLICY.to_owned()],
            no_default_policy: Some(true),
            ..Default::default()
        })
        .await
        .map_err(api("creating the membership token"))?;
    Ok(auth.client_token)
}

/// The nodes `ids` with `token`, as `vaultops raft --addr …` would be given them.
fn node_set(run: &Run<'_>, ids: &[NodeId], token: &vaultops_api::Token) -> NodeSet {
    NodeSet::new(
        ids.iter()
            .map(|i| run.tb.client(*i).with_token(token.clone()))
            .collect(),
    )
}

/// Adds a node with a new identity, watches it, unseals it once it has joined (`vaultops
/// unseal`'s code), waits until it is a standby and then lets the writers use it too;
/// returns its id.
async fn add_and_unseal(run: &mut Run<'_>, join: JoinBy) -> Result<NodeId, ScenarioError> {
    let fresh = run
        .tb
        .add_node(join)
        .await
        .map_err(testbed("adding a node with a new identity"))?;
    run.recovery(format!(
        "{fresh} started (new node_id, certificate, volume)"
    ));
    let i = run.watch_node(fresh)?;
    let client: NodeClient = run.tb.client(fresh);
    unseal_when_joined(&client, run.tb.threshold_keys(), NODE_DEADLINE)
        .await
        .map_err(boot("unsealing the new node once joined"))?;
    run.recovery(format!("{fresh} joined and unsealed (3 keys)"));
    run.wait_role(i, Observed::Standby).await?;
    run.send_writes_to(fresh)?;
    Ok(fresh)
}

/// The runbook's Shamir workaround: demote the new node as soon as it is a peer (a raft
/// non-voter that autopilot would promote after `server_stabilization_time`, or a voter if
/// autopilot was first), then wait until autopilot reports it healthy (caught up) as a
/// permanent non-voter. Returns the states the node was seen in, in order.
async fn hold_back(set: &NodeSet, node: NodeId) -> Result<Vec<&'static str>, ScenarioError> {
    let name = node.to_string();
    let seen = std::sync::Mutex::new(Vec::<&'static str>::new());
    wait_until(
        &format!("{name} a caught-up permanent non-voter"),
        STEP_DEADLINE,
        RETRY_EVERY,
        || async {
            let (_, peers) = read_peers(set).await.map_err(|e| e.to_string())?;
            let p = peers
                .iter()
                .find(|p| p.node_id == name)
                .ok_or_else(|| format!("{name} not a peer yet: {}", describe(&peers)))?;
            let state = match (p.voter, p.permanent_non_voter) {
                (true, _) => "voter",
                (false, true) => "permanent non-voter",
                (false, false) => "non-voter (promotion pending)",
            };
            {
                let mut s = seen.lock().expect("seen lock");
                if s.last() != Some(&state) {
                    s.push(state);
                }
            }
            match (p.voter, p.permanent_non_voter, p.healthy) {
                (false, true, true) => Ok(Some(())),
                (false, true, false) => Err(format!("{name}: {state}, not caught up yet")),
                _ => {
                    change_member(set, MemberAction::Demote, &name, NODE_DEADLINE)
                        .await
                        .map_err(|e| format!("demote: {e}"))?;
                    Err("demoted; reading again".to_owned())
                }
            }
        },
    )
    .await
    .map_err(ScenarioError::Wait)?;
    Ok(seen.into_inner().expect("seen lock"))
}

/// Plans and applies `action` on `node` like `vaultops raft …` (re-run after the transient
/// refusals the runbook names: quorum or health under load, not caught up yet); any other
/// error ends the scenario.
async fn member_step(
    set: &NodeSet,
    action: MemberAction,
    node: NodeId,
) -> Result<vaultops_bootstrap::MemberPlan, ScenarioError> {
    let name = node.to_string();
    let outcome = wait_until(
        &format!("{} {name}", action.verb()),
        STEP_DEADLINE,
        RETRY_EVERY,
        || async {
            match change_member(set, action, &name, NODE_DEADLINE).await {
                Err(
                    e @ (MembershipError::WouldLoseQuorum { .. }
                    | MembershipError::Unhealthy { .. }
                    | MembershipError::NotCaughtUp { .. }),
                ) => Err(e.to_string()),
                // Done, or an error a re-run does not cure: stop waiting either way.
                other => Ok(Some(other)),
            }
        },
    )
    .await
    .map_err(ScenarioError::Wait)?;
    outcome.map_err(step("a membership change"))
}

/// Checks that the peers are exactly `want`, every one a healthy voter.
async fn check_voters(
    run: &mut Run<'_>,
    set: &NodeSet,
    name: &str,
    want: &[NodeId],
) -> Result<(), ScenarioError> {
    let (_, peers) = read_peers(set).await.map_err(step("reading the peers"))?;
    let mut want: Vec<String> = want.iter().map(NodeId::to_string).collect();
    want.sort();
    run.check(
        name,
        sorted_ids(&peers) == want && peers.iter().all(|p| p.voter && p.healthy),
        describe(&peers),
    );
    Ok(())
}

async fn peer_ids(set: &NodeSet) -> Result<Vec<String>, ScenarioError> {
    let (_, peers) = read_peers(set).await.map_err(step("reading the peers"))?;
    Ok(sorted_ids(&peers))
}

fn sorted_ids(peers: &[Peer]) -> Vec<String> {
    let mut ids: Vec<String> = peers.iter().map(|p| p.node_id.clone()).collect();
    ids.sort();
    ids
}

/// `node1 leader healthy, node4 non-voter healthy, …`.
fn describe(peers: &[Peer]) -> String {
    peers
        .iter()
        .map(|p| {
            format!(
                "{} {} {}",
                p.node_id,
                if p.leader {
                    "leader"
                } else if p.voter {
                    "voter"
                } else {
                    "non-voter"
                },
                if p.healthy { "healthy" } else { "UNHEALTHY" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn step(step: &'static str) -> impl FnOnce(MembershipError) -> ScenarioError {
    move |source| ScenarioError::MembershipStep {
        step,
        source: Box::new(source),
    }
}
