//! `vaultops apply`: the declarative configuration, planned, applied and verified.

use crate::cli::{ApplyArgs, Format, Global};
use anyhow::{bail, Context};
use std::process::ExitCode;
use vaultops_bootstrap::{apply, read_current, revoke_root, verify, ApplyError};
use vaultops_rollout::{plan, PlanOptions, Rollout};

pub async fn run(global: &Global, args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let mut nodes = global.clients()?;
    if nodes.len() != 1 {
        bail!("apply talks to ONE node, the active one: pass a single --addr");
    }
    let node = nodes.remove(0);
    if node.token().is_none() {
        bail!("apply needs a token: --token or VAULT_TOKEN (the root token on rollout day)");
    }
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let mut rollout = Rollout::from_yaml(&text, &args.file.display().to_string())?;
    let dir = args
        .file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
        .to_owned();
    rollout.resolve_policy_files(|p| std::fs::read_to_string(dir.join(p)))?;

    let current = read_current(&node, &rollout).await?;
    let plan = plan(&rollout, &current, &PlanOptions { prune: args.prune });
    match global.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        Format::Table => println!("{plan}"),
    }
    if plan.is_blocked() {
        eprintln!("the plan is blocked: nothing was changed");
        return Ok(ExitCode::from(1));
    }
    if args.dry_run {
        eprintln!("dry run: nothing was changed");
        return Ok(ExitCode::SUCCESS);
    }
    let report = apply(&node, &plan).await?;
    eprintln!("{report}");

    if args.verify {
        let v = verify(&node, &rollout).await?;
        eprintln!("{v}");
        if !v.passed() {
            eprintln!(
                "verification failed: the root token was NOT revoked so you can fix and re-run"
            );
            return Ok(ExitCode::from(1));
        }
    }
    if !args.keep_root_token {
        match revoke_root(&node).await {
            Ok(r) => eprintln!("root token revoked (accessor {}); generate one with vaultops root generate when needed", r.accessor),
            Err(ApplyError::NotRoot { .. }) => eprintln!("the token used is not a root token: nothing to revoke"),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(ExitCode::SUCCESS)
}
