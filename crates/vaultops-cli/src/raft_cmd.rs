//! `vaultops raft peers|remove-peer|promote|demote|autopilot`: raft membership with a plan
//! first (`--dry-run` stops there) and the safety rules of `vaultops_bootstrap`
//! (docs/runbooks/membership.md). Give the reachable nodes with `--addr`; a dead node may be
//! left out.

use crate::cli::Global;
use crate::output::{emit, table};
use crate::raft_args::{AutopilotCommand, AutopilotSetArgs, JoinArgs, MemberArgs, RaftCommand};
use std::process::ExitCode;
use std::time::Duration;
use vaultops_bootstrap::{
    apply_autopilot, change_member, plan_autopilot_change, plan_member, read_peers,
    AutopilotChange, AutopilotPlan, MemberAction, MemberPlan, NodeSet, MEMBERSHIP_POLICY,
};

pub async fn run(global: &Global, cmd: &RaftCommand) -> anyhow::Result<ExitCode> {
    if let RaftCommand::Policy = cmd {
        print!("{MEMBERSHIP_POLICY}");
        return Ok(ExitCode::SUCCESS);
    }
    let nodes = NodeSet::new(global.clients()?);
    match cmd {
        RaftCommand::Peers => peers(global, &nodes).await,
        RaftCommand::RemovePeer(a) => member(global, &nodes, MemberAction::RemovePeer, a).await,
        RaftCommand::Join(a) => join(global, &nodes, a).await,
        RaftCommand::Promote(a) => member(global, &nodes, MemberAction::Promote, a).await,
        RaftCommand::Demote(a) => member(global, &nodes, MemberAction::Demote, a).await,
        RaftCommand::Autopilot(AutopilotCommand::Show) => {
            let (active, _) = read_peers(&nodes).await?;
            let cfg = active.autopilot_config().await?;
            emit(global.format, &cfg, || {
                let rows = [
                    ("cleanup_dead_servers", cfg.cleanup_dead_servers.to_string()),
                    ("min_quorum", cfg.min_quorum.to_string()),
                    (
                        "dead_server_last_contact_threshold",
                        cfg.dead_server_last_contact_threshold.clone(),
                    ),
                    ("last_contact_threshold", cfg.last_contact_threshold.clone()),
                    ("max_trailing_logs", cfg.max_trailing_logs.to_string()),
                    (
                        "server_stabilization_time",
                        cfg.server_stabilization_time.clone(),
                    ),
                ];
                let rows: Vec<Vec<String>> = rows
                    .into_iter()
                    .map(|(k, v)| vec![k.to_owned(), v])
                    .collect();
                table(&["SETTING", "VALUE"], &rows)
            })?;
            Ok(ExitCode::SUCCESS)
        }
        RaftCommand::Autopilot(AutopilotCommand::Set(a)) => autopilot_set(global, &nodes, a).await,
        RaftCommand::Policy => unreachable!("handled above"),
    }
}

async fn peers(global: &Global, nodes: &NodeSet) -> anyhow::Result<ExitCode> {
    let (_, peers) = read_peers(nodes).await?;
    emit(global.format, &peers, || {
        let rows: Vec<Vec<String>> = peers
            .iter()
            .map(|p| {
                vec![
                    p.node_id.clone(),
                    p.address.clone(),
                    if p.leader {
                        "leader"
                    } else if p.voter {
                        "voter"
                    } else if p.permanent_non_voter {
                        "non-voter (permanent)"
                    } else {
                        "non-voter (promotion pending)"
                    }
                    .to_owned(),
                    if p.healthy { "healthy" } else { "UNHEALTHY" }.to_owned(),
                    p.last_contact.clone(),
                ]
            })
            .collect();
        table(
            &["NODE_ID", "ADDRESS", "ROLE", "HEALTH", "LAST_CONTACT"],
            &rows,
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

fn describe(plan: &MemberPlan, dry_run: bool) -> String {
    if let Some(why) = &plan.noop {
        return format!("nothing to do: {why}\n");
    }
    format!(
        "plan: {} {}\n  voters now:   {}\n  voters after: {}\n{}",
        plan.action.verb(),
        plan.node_id,
        plan.voters_before.join(", "),
        plan.voters_after.join(", "),
        if dry_run {
            "dry run: nothing changed\n"
        } else {
            ""
        }
    )
}

async fn member(
    global: &Global,
    nodes: &NodeSet,
    action: MemberAction,
    a: &MemberArgs,
) -> anyhow::Result<ExitCode> {
    let (plan, _) = plan_member(nodes, action, &a.node_id).await?;
    if a.dry_run || plan.noop.is_some() {
        emit(global.format, &plan, || describe(&plan, a.dry_run))?;
        return Ok(ExitCode::SUCCESS);
    }
    if global.format == crate::cli::Format::Table {
        print!("{}", describe(&plan, false));
    }
    // change_member plans again against the cluster as it is now, then applies and waits.
    let done = change_member(nodes, action, &a.node_id, Duration::from_secs(a.wait)).await?;
    emit(global.format, &done, || {
        format!(
            "done: {} {}; voters: {}\n",
            done.action.verb(),
            done.node_id,
            done.voters_after.join(", ")
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

fn describe_autopilot(plan: &AutopilotPlan, dry_run: bool) -> String {
    if plan.diff.is_empty() {
        return "nothing to do: autopilot already has these settings\n".into();
    }
    let mut s = format!(
        "plan: autopilot configuration (safe min_quorum: {})\n",
        plan.safe_min_quorum
    );
    for d in &plan.diff {
        s.push_str(&format!("  {}: {} -> {}\n", d.field, d.before, d.after));
    }
    if dry_run {
        s.push_str("dry run: nothing changed\n");
    }
    s
}

async fn autopilot_set(
    global: &Global,
    nodes: &NodeSet,
    a: &AutopilotSetArgs,
) -> anyhow::Result<ExitCode> {
    let change = AutopilotChange {
        cleanup_dead_servers: a.cleanup_dead_servers,
        min_quorum: a.min_quorum,
        dead_server_last_contact_threshold: a.dead_server_threshold.clone(),
        last_contact_threshold: a.last_contact_threshold.clone(),
        server_stabilization_time: a.server_stabilization_time.clone(),
    };
    if change == AutopilotChange::default() {
        anyhow::bail!("nothing to set: give at least one of --cleanup-dead-servers, --min-quorum, --dead-server-threshold, --last-contact-threshold, --server-stabilization-time");
    }
    let (plan, active) = plan_autopilot_change(nodes, &change, a.voters).await?;
    emit(global.format, &plan, || {
        describe_autopilot(&plan, a.dry_run)
    })?;
    if !a.dry_run {
        apply_autopilot(&active, &plan).await?;
        if global.format == crate::cli::Format::Table && !plan.diff.is_empty() {
            println!("done: autopilot configuration written and read back");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn join(global: &Global, nodes: &NodeSet, a: &JoinArgs) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    let cfg = vaultops_api::ClientConfig {
        token: None, // an uninitialised node needs none: do not hand it ours
        ..global.client_config()?
    };
    let node = vaultops_api::NodeClient::new(&a.node, &cfg)?;
    let ca_pem = match &global.ca_cert {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("reading the CA certificate {}", p.display()))?,
        ),
        None => None,
    };
    let describe = |p: &vaultops_bootstrap::JoinPlan, dry: bool| match &p.noop {
        Some(why) => format!("nothing to do: {why}\n"),
        None => format!(
            "plan: {} joins through {}{}\n{}",
            p.node,
            p.leader,
            if p.non_voter {
                " as a permanent non-voter"
            } else {
                ""
            },
            if dry {
                "dry run: nothing changed\n"
            } else {
                ""
            }
        ),
    };
    let (plan, _) = vaultops_bootstrap::plan_join(nodes, &node, a.non_voter).await?;
    if a.dry_run || plan.noop.is_some() {
        emit(global.format, &plan, || describe(&plan, a.dry_run))?;
        return Ok(ExitCode::SUCCESS);
    }
    let done = vaultops_bootstrap::join_node(
        nodes,
        &node,
        a.non_voter,
        ca_pem,
        Duration::from_secs(a.wait),
    )
    .await?;
    emit(global.format, &done, || {
        format!(
            "{}done: {} joined; unseal it unless it auto-unseals (vaultops unseal --addr {})\n",
            describe(&done, false),
            done.node,
            done.node
        )
    })?;
    Ok(ExitCode::SUCCESS)
}
