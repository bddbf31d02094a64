//! `vaultops unseal`: open every sealed node with shares from the bundle or a prompt.
//!
//! Whose cluster: before any share is sent, a bundle is refused when a node shows another
//! cluster (`vaultops_custody::check_cluster_identity`). A sealed Shamir node shows no
//! cluster id, so when every node is sealed and the splits match, a bundle of another cluster
//! is only refused by the server at the threshold: the unseal then stops at that node. The
//! first node that the bundle's shares open has its cluster id recorded in the bundle.

use crate::cli::{Global, UnsealArgs};
use anyhow::{bail, Context};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use vaultops_api::UnsealKey;
use vaultops_bootstrap::{submit_shares, unseal_when_joined, ShareProgress, UnsealOutcome};
use vaultops_custody::ShareCustody;
use vaultops_custody::{
    decrypt_with_gpg, read_bundle, record_cluster_id, ClusterIdRecord, Identities, InitBundle,
};

pub async fn run(global: &Global, args: &UnsealArgs) -> anyhow::Result<ExitCode> {
    let nodes = global.clients()?;
    let (bundle, keys) = gather_shares(args)?;
    if keys.is_empty() {
        bail!("no share to submit: the identities given decrypt none of the bundle's shares, or none was typed");
    }
    // The threshold: the bundle's, else what the nodes report (typed shares).
    let mut threshold = bundle.as_ref().map(|b| b.threshold);
    if threshold.is_none() {
        for n in &nodes {
            if let Ok(st) = n.seal_status().await {
                if st.initialized {
                    threshold = Some(st.t);
                    break;
                }
            }
        }
    }
    if let Some(b) = &bundle {
        // Before any share leaves: a share sent to another cluster's node is a share given
        // away.
        if let Err(e) = vaultops_custody::check_cluster_identity(b, &nodes).await {
            bail!(
                "refusing to unseal with {}: {e}; no share was sent",
                args.bundle
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
        }
    }

    let deadline = Duration::from_secs(args.wait);
    let mut failed = 0;
    let mut pending = 0;
    for node in &nodes {
        let result = if threshold.is_some_and(|t| keys.len() >= t as usize) {
            // Enough shares in hand: the production path (waits for a node to join, resets
            // a stale attempt, names a wrong share).
            unseal_when_joined(node, &keys, deadline)
                .await
                .map(|o| match o {
                    UnsealOutcome::AlreadyUnsealed => ShareProgress::AlreadyUnsealed,
                    UnsealOutcome::Unsealed { .. } => ShareProgress::Unsealed,
                })
        } else {
            // A ceremony: this holder brings part of the threshold; keep others' progress.
            match submit_shares(node, &keys).await {
                Err(vaultops_bootstrap::BootstrapError::UnsealNotInitialized { node: addr }) => {
                    pending += 1;
                    eprintln!("{addr}: has not joined the cluster yet (it joins once the active node is unsealed); run again then");
                    continue;
                }
                other => other,
            }
        };
        match result {
            Ok(ShareProgress::AlreadyUnsealed) => {
                eprintln!("{}: already unsealed, skipped", node.addr())
            }
            Ok(ShareProgress::Unsealed) => {
                eprintln!("{}: unsealed", node.addr());
                if let (Some(path), Some(b)) = (&args.bundle, &bundle) {
                    remember_cluster(node, path, b).await;
                }
            }
            Ok(ShareProgress::Pending {
                progress,
                threshold,
            }) => {
                pending += 1;
                eprintln!(
                    "{}: still sealed, {progress}/{threshold} shares given; the next holder runs vaultops unseal with theirs",
                    node.addr()
                );
            }
            Err(e @ vaultops_bootstrap::BootstrapError::UnsealWrongKeys { .. }) => {
                // A sealed Shamir node shows nothing of its cluster: the shares of a bundle of
                // another cluster are only refused at the threshold. Stop here, so that they
                // reach no other node.
                eprintln!("error: {}", vaultops_types::error_report(&e));
                let whose = match &bundle {
                    Some(b) => format!("the bundle's shares (of {})", b.cluster_label()),
                    None => "the shares given".to_owned(),
                };
                bail!(
                    "{} refused {whose} at the threshold: they belong to another cluster, or one is wrong; stopped there, no share was sent to the nodes after it",
                    node.addr()
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {}", vaultops_types::error_report(&e));
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} node(s) failed; fix the cause and run vaultops unseal again: unsealed nodes are skipped");
        return Ok(ExitCode::from(1));
    }
    Ok(if pending > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// Records in the bundle the id of the cluster that its shares just opened (a Shamir cluster
/// has none before its first unseal, so init could not), so that later unseals can refuse the
/// bundle on a node of another cluster before any share is sent. A failure only warns: the
/// node is unsealed either way.
async fn remember_cluster(node: &vaultops_api::NodeClient, path: &Path, bundle: &InitBundle) {
    if bundle.cluster_id.is_some() {
        return;
    }
    let status = match node.seal_status().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "warning: the cluster id was not recorded in {}: {}",
                path.display(),
                vaultops_types::error_report(&e)
            );
            return;
        }
    };
    let Some(id) = status.cluster_id.as_deref() else {
        return;
    };
    match record_cluster_id(path, id, status.cluster_name.as_deref()) {
        Ok(ClusterIdRecord::Recorded) => eprintln!(
            "cluster id {id} recorded in {} (later unseals refuse a node of another cluster before sending a share)",
            path.display()
        ),
        Ok(ClusterIdRecord::AlreadyKnown) => {}
        Err(e) => eprintln!(
            "warning: the cluster id {id} was not recorded in {}: {}",
            path.display(),
            vaultops_types::error_report(&e)
        ),
    }
}

/// The shares `args` give: those of the bundle (if any) that the identities or the gpg keyring
/// can open, then those typed at the prompt (with `--prompt`); and the bundle itself.
pub fn gather_shares(args: &UnsealArgs) -> anyhow::Result<(Option<InitBundle>, Vec<UnsealKey>)> {
    let bundle = match &args.bundle {
        Some(p) => Some(read_bundle(p)?),
        None => None,
    };
    let mut keys = match &bundle {
        Some(b) => shares_from_bundle(b, args)?,
        None => Vec::new(),
    };
    if args.prompt {
        keys.extend(prompt_shares()?);
    }
    Ok((bundle, keys))
}

/// Decrypts every share the given identities (or the gpg keyring) can open.
fn shares_from_bundle(b: &InitBundle, args: &UnsealArgs) -> anyhow::Result<Vec<UnsealKey>> {
    let mut ids = Vec::new();
    for p in &args.identities {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        ids.push(Identities::from_text(&text).with_context(|| format!("{}", p.display()))?);
    }
    let mut keys = Vec::new();
    let mut age_recipients = Vec::new();
    for s in &b.encrypted_shares {
        match &s.custody {
            ShareCustody::Age { recipient } => {
                age_recipients.push(recipient.clone());
                for id in &ids {
                    if let Some(plain) = id.decrypt(s)? {
                        keys.push(UnsealKey::new(plain));
                        break;
                    }
                }
            }
            ShareCustody::Pgp { .. } => {
                // Only the holder whose secret key is in the keyring can open it; the
                // others are skipped quietly.
                if let Ok(plain) = decrypt_with_gpg(&s.ciphertext) {
                    keys.push(UnsealKey::new(plain));
                }
            }
        }
    }
    if keys.is_empty() && !args.prompt {
        if !age_recipients.is_empty() && ids.is_empty() {
            bail!("the bundle's shares are age-encrypted: pass --identity FILE (a holder's AGE-SECRET-KEY file)");
        }
        bail!(
            "none of the bundle's {} shares is encrypted to the identities given (the bundle's recipients: {})",
            b.encrypted_shares.len(),
            age_recipients.join(", ")
        );
    }
    eprintln!(
        "{} of {} shares decrypted (threshold {})",
        keys.len(),
        b.shares,
        b.threshold
    );
    Ok(keys)
}

/// Reads shares without echo from the terminal; from a pipe (automation, tests) line by
/// line, where there is nothing to echo.
fn prompt_shares() -> anyhow::Result<Vec<UnsealKey>> {
    use std::io::{BufRead, IsTerminal};
    let tty = std::io::stdin().is_terminal();
    let mut keys = Vec::new();
    loop {
        eprint!("Unseal share {} (empty to finish): ", keys.len() + 1);
        let line = if tty {
            rpassword::read_password().context("reading a share")?
        } else {
            let mut l = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut l)
                .context("reading a share")?;
            l
        };
        let line = line.trim();
        if line.is_empty() {
            break;
        }
        keys.push(vaultops_custody::parse_share_text(line, keys.len() + 1)?);
    }
    Ok(keys)
}
