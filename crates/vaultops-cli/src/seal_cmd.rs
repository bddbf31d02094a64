//! `vaultops seal migrate`: the seal migration's plan (dry run), the next step for automation,
//! the command's own steps (unseal with `migrate`, unseal, step-down), the check between steps
//! and the custody bundle for the new seal. Every command reads the cluster afresh
//! (re-runnable after any interruption); the config change and restart are the operator's.
//!
//! Exit codes: 0 done / the step was done / the check passed; 2 blocked (the reasons on
//! stderr, or in the JSON); 3 refused; 4 the next step is the operator's (reconfigure).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Serialize;
use vaultops_bootstrap::{
    check_seal_migration, next_seal_action, observe_seal, plan_seal_migration, seal_migration_step,
    NodeSeal, NodeSet, SealAction, SealKind, SealMigrationError, SealPlanStep, SealView,
    SEAL_MIGRATION_POLICY,
};

use crate::cli::{Format, Global};
use crate::output::{autopilot_line, emit, table};
use crate::seal_args::{BundleArgs, MigrateCommand, SealCommand, SealTarget, StepArgs};

const BLOCKED: u8 = 2;
const REFUSED: u8 = 3;
const YOURS: u8 = 4;

/// How long the step-down waits for a migrated node to become active.
const STEP_DOWN_WAIT: Duration = Duration::from_secs(120);

pub async fn run(global: &Global, cmd: &SealCommand) -> anyhow::Result<ExitCode> {
    let SealCommand::Migrate(cmd) = cmd;
    match cmd {
        MigrateCommand::Policy => {
            print!("{SEAL_MIGRATION_POLICY}");
            Ok(ExitCode::SUCCESS)
        }
        MigrateCommand::Plan(t) => plan(global, t).await,
        MigrateCommand::Next(t) => next(global, t).await,
        MigrateCommand::Step(a) if a.dry_run => plan(global, &a.target).await,
        MigrateCommand::Step(a) => step(global, a).await,
        MigrateCommand::Check { target, wait } => check(global, target, *wait).await,
        MigrateCommand::Bundle(a) => bundle(global, a).await,
    }
}

fn target(t: &SealTarget) -> anyhow::Result<SealKind> {
    Ok(t.to.parse::<SealKind>()?)
}

fn exit_for(action: &SealAction) -> ExitCode {
    match action {
        SealAction::Blocked { .. } => ExitCode::from(BLOCKED),
        SealAction::Refused { .. } => ExitCode::from(REFUSED),
        SealAction::Reconfigure { .. } => ExitCode::from(YOURS),
        _ => ExitCode::SUCCESS,
    }
}

/// One line for people: what to do next.
fn action_line(action: &SealAction) -> String {
    match action {
        SealAction::Reconfigure {
            node,
            seal,
            disabled,
            last,
            remaining,
        } => {
            let stanza = match (seal, disabled) {
                (SealKind::Shamir, Some(old)) => format!(
                    "keep its seal \"{old}\" stanza with disabled = \"true\" added (Shamir needs no stanza of its own)"
                ),
                (new, Some(old)) => format!(
                    "add a seal \"{new}\" stanza and mark the seal \"{old}\" stanza disabled = \"true\""
                ),
                (SealKind::Shamir, None) => "remove its seal stanza (Shamir has none)".to_owned(),
                (new, None) if *last => format!("give it only the seal \"{new}\" stanza"),
                (new, None) => format!("add a seal \"{new}\" stanza"),
            };
            let then = if *last {
                "then run `vaultops seal migrate check` (it unseals by itself, or the next step \
                 is its unseal)"
            } else {
                "then run `vaultops seal migrate step` (unseal with migrate)"
            };
            format!(
                "next (yours): {node}: {stanza}, restart it; {then} ({remaining} node(s) left on \
                 the old seal)"
            )
        }
        SealAction::MigrateUnseal { node } => format!(
            "next: {node} waits for the old seal's shares with migrate: run `vaultops seal \
             migrate step --bundle B --identity I`"
        ),
        SealAction::Unseal { node } => format!(
            "next: {node} is sealed (Shamir): run `vaultops seal migrate step --bundle B \
             --identity I`"
        ),
        SealAction::StepDown { node } => format!(
            "next: every standby is migrated: the active {node} steps down (`vaultops seal \
             migrate step`) and a migrated standby completes the migration"
        ),
        SealAction::Done { seal } => format!(
            "done: every node is unsealed on the {seal} seal; write the bundle for it: \
             `vaultops seal migrate bundle --to {seal} --bundle OLD --out NEW`"
        ),
        SealAction::Blocked { reasons } => format!("blocked: {}", reasons.join("; ")),
        SealAction::Refused { reasons } => format!("refused: {}", reasons.join("; ")),
    }
}

fn nodes_table(view: &SealView) -> String {
    let rows: Vec<Vec<String>> = view
        .nodes
        .iter()
        .map(|n| {
            let (state, seal) = match &n.seal {
                NodeSeal::Unreachable { error } => (format!("UNREACHABLE ({error})"), "-".into()),
                NodeSeal::Uninitialized => ("uninitialized".into(), "-".into()),
                NodeSeal::Unsealed { seal_type, role } => (role.to_string(), seal_type.clone()),
                NodeSeal::Sealed {
                    seal_type,
                    migration,
                } => (
                    if *migration {
                        "sealed, migration".into()
                    } else {
                        "sealed".into()
                    },
                    seal_type.clone(),
                ),
                NodeSeal::Mismatch { stored, configured } => (
                    format!("migrated, cluster still stores {stored}"),
                    configured.clone(),
                ),
                NodeSeal::Unreadable { error } => (format!("seal status: {error}"), "-".into()),
            };
            vec![n.addr.clone(), state, seal]
        })
        .collect();
    let mut t = table(&["NODE", "STATE", "CONFIGURED SEAL"], &rows);
    t.push_str(&autopilot_line(
        view.autopilot.as_ref(),
        view.autopilot_error.as_deref(),
    ));
    t
}

#[derive(Serialize)]
struct PlanOut<'a> {
    target: SealKind,
    view: &'a SealView,
    steps: &'a [SealPlanStep],
    next: &'a SealAction,
}

async fn plan(global: &Global, t: &SealTarget) -> anyhow::Result<ExitCode> {
    let to = target(t)?;
    let nodes = NodeSet::new(global.clients()?);
    let view = observe_seal(&nodes).await;
    let steps = plan_seal_migration(&view, to);
    let action = next_seal_action(&view, to);
    let out = PlanOut {
        target: to,
        view: &view,
        steps: &steps,
        next: &action,
    };
    emit(global.format, &out, || {
        let mut s = format!("dry run: nothing is changed\n{}", nodes_table(&view));
        if steps.is_empty() {
            s.push_str("plan: nothing left to change\n");
        } else {
            s.push_str(&format!("plan to {to}:\n"));
            for (i, st) in steps.iter().enumerate() {
                s.push_str(&format!(
                    "  {}. {} {}: {}\n",
                    i + 1,
                    st.step,
                    st.node,
                    st.note
                ));
            }
        }
        s.push_str(&action_line(&action));
        s.push('\n');
        s
    })?;
    Ok(exit_for(&action))
}

async fn next(global: &Global, t: &SealTarget) -> anyhow::Result<ExitCode> {
    let to = target(t)?;
    let nodes = NodeSet::new(global.clients()?);
    let action = next_seal_action(&observe_seal(&nodes).await, to);
    match global.format {
        Format::Json => println!("{}", serde_json::to_string(&action)?),
        Format::Table => println!("{}", action_line(&action)),
    }
    Ok(exit_for(&action))
}

async fn step(global: &Global, a: &StepArgs) -> anyhow::Result<ExitCode> {
    let to = target(&a.target)?;
    let clients = global.clients()?;
    let (bundle, keys) = crate::unseal_cmd::gather_shares(&a.shares)?;
    if let Some(b) = &bundle {
        // Before any share leaves: a share sent to another cluster's node is given away.
        vaultops_custody::check_cluster_identity(b, &clients)
            .await
            .context("refusing the bundle; no share was sent")?;
    }
    let nodes = NodeSet::new(clients);
    match seal_migration_step(&nodes, to, &keys, STEP_DOWN_WAIT).await {
        Ok(action) => {
            let line = match &action {
                SealAction::MigrateUnseal { node } => {
                    format!("{node}: unsealed with migrate; next: `vaultops seal migrate next`")
                }
                SealAction::Unseal { node } => format!("{node}: unsealed"),
                SealAction::StepDown { node } => format!(
                    "{node} stepped down; a node on the {to} seal is active; the migration is \
                     complete in storage; next: `vaultops seal migrate next`"
                ),
                other => action_line(other),
            };
            match global.format {
                Format::Json => println!("{}", serde_json::to_string(&action)?),
                Format::Table => println!("{line}"),
            }
            Ok(exit_for(&action))
        }
        Err(e @ SealMigrationError::NotNow { .. }) => {
            eprintln!("{e}");
            Ok(ExitCode::from(BLOCKED))
        }
        Err(e @ SealMigrationError::Refused { .. }) => {
            eprintln!("{e}");
            Ok(ExitCode::from(REFUSED))
        }
        Err(e) => Err(e.into()),
    }
}

async fn check(global: &Global, t: &SealTarget, wait: u64) -> anyhow::Result<ExitCode> {
    let to = target(t)?;
    let nodes = NodeSet::new(global.clients()?);
    match check_seal_migration(&nodes, to, Duration::from_secs(wait)).await {
        Ok(action) => {
            match global.format {
                Format::Json => println!("{}", serde_json::to_string(&action)?),
                Format::Table => println!("check passed; {}", action_line(&action)),
            }
            Ok(exit_for(&action))
        }
        Err(_) => {
            // Report the cluster as it is now, with every reason.
            let view = observe_seal(&nodes).await;
            let action = next_seal_action(&view, to);
            emit(global.format, &action, || nodes_table(&view))?;
            if let SealAction::Blocked { reasons } = &action {
                for r in reasons {
                    eprintln!("problem: {r}");
                }
            }
            Ok(ExitCode::from(BLOCKED))
        }
    }
}

async fn bundle(global: &Global, a: &BundleArgs) -> anyhow::Result<ExitCode> {
    let to = target(&a.target)?;
    let nodes = NodeSet::new(global.clients()?);
    let action = next_seal_action(&observe_seal(&nodes).await, to);
    if !matches!(action, SealAction::Done { .. }) {
        bail!(
            "the migration to {to} is not done, so the old bundle still describes the cluster: \
             {}",
            action_line(&action)
        );
    }
    let old = vaultops_custody::read_bundle(&a.bundle)?;
    let new = old.after_seal_migration(to.as_str(), vaultops_custody::now_rfc3339());
    vaultops_custody::write_bundle(&a.out, &new)
        .with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "{}: the same {} shares, now {} keys of the {to} seal (threshold {}); keep {} until \
         the new bundle is in custody, then retire it",
        a.out.display(),
        new.shares,
        match new.key_kind {
            vaultops_custody::KeyKind::Recovery => "recovery",
            vaultops_custody::KeyKind::Unseal => "unseal",
        },
        new.threshold,
        a.bundle.display()
    );
    Ok(ExitCode::SUCCESS)
}
