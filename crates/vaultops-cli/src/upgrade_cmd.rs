//! `vaultops upgrade`: the rolling upgrade's plan (dry run), the next step for automation, the
//! check between steps and the step-down of the old active node. Every command reads the
//! cluster afresh (re-runnable after any interruption); the binary swap is the operator's.
//!
//! Exit codes: 0 done / the step can go ahead / the check passed; 2 blocked (the reasons on
//! stderr, or in the JSON); 3 refused (a downgrade).

use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;
use vaultops_bootstrap::{
    check_upgrade, next_action, observe_upgrade, plan_steps, problems, step_down_for_upgrade,
    NodeSet, PlanStep, ServerVersion, UpgradeAction, UpgradeOptions, UpgradeView, UPGRADE_POLICY,
};

use crate::cli::{Format, Global, UpgradeCommand, UpgradeTarget};
use crate::output::{autopilot_line, emit, table};

const BLOCKED: u8 = 2;
const REFUSED: u8 = 3;

pub async fn run(global: &Global, cmd: &UpgradeCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        UpgradeCommand::Policy => {
            print!("{UPGRADE_POLICY}");
            Ok(ExitCode::SUCCESS)
        }
        UpgradeCommand::Plan(t) => plan(global, t).await,
        UpgradeCommand::Next(t) => next(global, t).await,
        UpgradeCommand::Check { target, node, wait } => {
            check(global, target, node.as_deref(), *wait).await
        }
        UpgradeCommand::StepDown {
            target,
            dry_run: true,
            ..
        } => plan(global, target).await,
        UpgradeCommand::StepDown { target, wait, .. } => step_down(global, target, *wait).await,
    }
}

fn options(t: &UpgradeTarget) -> anyhow::Result<UpgradeOptions> {
    let target: ServerVersion = t.to.parse()?;
    Ok(UpgradeOptions {
        target,
        max_lag: t.max_lag,
    })
}

fn exit_for(action: &UpgradeAction) -> ExitCode {
    match action {
        UpgradeAction::Blocked { .. } => ExitCode::from(BLOCKED),
        UpgradeAction::Refused { .. } => ExitCode::from(REFUSED),
        _ => ExitCode::SUCCESS,
    }
}

/// One line for people: what to do next.
fn action_line(action: &UpgradeAction) -> String {
    match action {
        UpgradeAction::Swap {
            node,
            from,
            to,
            remaining,
        } => format!(
            "next: swap {node} ({from} -> {to}; {remaining} node(s) left below {to}): replace \
             its binary, restart and unseal it, then run `vaultops upgrade check --to {to} \
             --node {node} --wait 300`"
        ),
        UpgradeAction::StepDown { node, from, to } => format!(
            "next: step-down of the active {node} (still {from}; every standby runs {to}): run \
             `vaultops upgrade step-down --to {to}`"
        ),
        UpgradeAction::Done { version } => {
            format!("done: every node runs {version} and the cluster is healthy")
        }
        UpgradeAction::Blocked { reasons } => format!("blocked: {}", reasons.join("; ")),
        UpgradeAction::Refused { reasons } => format!(
            "refused: {}; vaultops upgrade only moves forward (to go back, restore a snapshot \
             taken before the upgrade onto a cluster of the old version)",
            reasons.join("; ")
        ),
    }
}

fn nodes_table(view: &UpgradeView) -> String {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = view
        .nodes
        .iter()
        .map(|n| {
            vec![
                n.addr.clone(),
                if n.reachable {
                    opt(n.role.map(|r| r.to_string()))
                } else {
                    "UNREACHABLE".into()
                },
                opt(n.version.clone()),
                opt(n.raft_applied_index.map(|i| i.to_string())),
            ]
        })
        .collect();
    let mut t = table(&["NODE", "ROLE", "VERSION", "APPLIED_INDEX"], &rows);
    t.push_str(&autopilot_line(
        view.autopilot.as_ref(),
        view.autopilot_error.as_deref(),
    ));
    t
}

#[derive(Serialize)]
struct PlanOut<'a> {
    target: ServerVersion,
    view: &'a UpgradeView,
    steps: &'a [PlanStep],
    next: &'a UpgradeAction,
}

async fn plan(global: &Global, t: &UpgradeTarget) -> anyhow::Result<ExitCode> {
    let opts = options(t)?;
    let nodes = NodeSet::new(global.clients()?);
    let view = observe_upgrade(&nodes).await;
    let steps = plan_steps(&view, opts.target);
    let action = next_action(&view, &opts);
    let out = PlanOut {
        target: opts.target,
        view: &view,
        steps: &steps,
        next: &action,
    };
    emit(global.format, &out, || {
        let mut s = format!("dry run: nothing is changed\n{}", nodes_table(&view));
        if matches!(action, UpgradeAction::Refused { .. }) {
            s.push_str("plan: none\n");
        } else if steps.is_empty() {
            s.push_str(&format!(
                "plan: nothing to do, every node runs {}\n",
                opts.target
            ));
        } else {
            s.push_str(&format!("plan to {}:\n", opts.target));
            for (i, st) in steps.iter().enumerate() {
                s.push_str(&format!(
                    "  {}. {} {} ({} -> {}): {}\n",
                    i + 1,
                    st.step,
                    st.node,
                    st.from,
                    st.to,
                    st.note
                ));
            }
            s.push_str(
                "  after each swap: `vaultops upgrade check --node NODE` (back, unsealed, caught \
                 up, autopilot healthy, version)\n",
            );
        }
        s.push_str(&action_line(&action));
        s.push('\n');
        s
    })?;
    Ok(exit_for(&action))
}

async fn next(global: &Global, t: &UpgradeTarget) -> anyhow::Result<ExitCode> {
    let opts = options(t)?;
    let nodes = NodeSet::new(global.clients()?);
    let view = observe_upgrade(&nodes).await;
    let action = next_action(&view, &opts);
    match global.format {
        Format::Json => println!("{}", serde_json::to_string(&action)?),
        Format::Table => println!("{}", action_line(&action)),
    }
    Ok(exit_for(&action))
}

#[derive(Serialize)]
struct CheckOut<'a> {
    passed: bool,
    problems: &'a [String],
    view: &'a UpgradeView,
}

async fn check(
    global: &Global,
    t: &UpgradeTarget,
    node: Option<&str>,
    wait: u64,
) -> anyhow::Result<ExitCode> {
    let opts = options(t)?;
    let nodes = NodeSet::new(global.clients()?);
    if let Some(n) = node {
        anyhow::ensure!(
            nodes.nodes().iter().any(|c| c.addr() == n),
            "--node {n} is not one of the nodes given with --addr (or VAULT_ADDR); give the \
             address exactly as in --addr"
        );
    }
    let (view, reasons) = match check_upgrade(&nodes, &opts, node, Duration::from_secs(wait)).await
    {
        Ok(view) => (view, Vec::new()),
        Err(e) => {
            // Report the cluster as it is now, with every reason.
            let view = observe_upgrade(&nodes).await;
            let mut reasons = problems(&view, &opts);
            if reasons.is_empty() {
                reasons.push(vaultops_types::error_report(&e));
            }
            (view, reasons)
        }
    };
    let passed = reasons.is_empty();
    let out = CheckOut {
        passed,
        problems: &reasons,
        view: &view,
    };
    emit(global.format, &out, || {
        let mut s = nodes_table(&view);
        if passed {
            s.push_str(&match node {
                Some(n) => format!("check passed: {n} runs {}, cluster healthy\n", opts.target),
                None => "check passed: cluster healthy\n".to_owned(),
            });
        }
        s
    })?;
    if passed {
        Ok(ExitCode::SUCCESS)
    } else {
        for r in &reasons {
            eprintln!("problem: {r}");
        }
        Ok(ExitCode::from(BLOCKED))
    }
}

async fn step_down(global: &Global, t: &UpgradeTarget, wait: u64) -> anyhow::Result<ExitCode> {
    let opts = options(t)?;
    let nodes = NodeSet::new(global.clients()?);
    match step_down_for_upgrade(&nodes, &opts, Duration::from_secs(wait)).await {
        Ok(active) => {
            println!(
                "stepped down; {active} (on {}) is active; next: `vaultops upgrade next --to {}`",
                opts.target, opts.target
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ vaultops_bootstrap::UpgradeError::NotNow { .. }) => {
            eprintln!("{e}");
            Ok(ExitCode::from(BLOCKED))
        }
        Err(e) => Err(e.into()),
    }
}
