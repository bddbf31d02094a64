//! `vaultops rekey` (new unseal shares into a new bundle) and `vaultops rotate-encryption-key`
//! (a new barrier key term), thin over `vaultops_bootstrap`'s rekey functions.
//!
//! Order that never loses the keys: the old shares are given with verification required, so
//! the server returns the new shares WITHOUT activating them; they are written encrypted to a
//! NEW bundle (0600, never over an existing file); a failure there cancels the attempt (the
//! old shares stay valid); only then a threshold of the new shares is given to the
//! verification step, which activates them. A re-run finds an attempt in progress and resumes
//! it (old shares already given are skipped; an attempt awaiting verification is finished with
//! the new bundle), or `--cancel` drops it.

use crate::cli::{Format, Global, RekeyArgs, RotateEncryptionKeyArgs, UnsealArgs};
use crate::output::emit;
use crate::unseal_cmd::gather_shares;
use anyhow::{bail, Context};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use vaultops_api::{KeySplit, UnsealKey};
use vaultops_bootstrap::{
    plan_rekey, probe_shares, rekey_cancel, rekey_persisted, rekey_verify, NodeSet, RekeyPlan,
};
use vaultops_custody::{
    check_writable, encrypt_shares, public_key_base64, rekeyed_bundle, write_bundle, BundleCluster,
    EncryptedSecret, InitBundle, ShareCustody,
};

#[derive(Serialize)]
struct RekeyReport<'a> {
    plan: &'a RekeyPlan,
    new_bundle: Option<String>,
    activated: bool,
    old_shares_refused: Option<bool>,
    new_shares_accepted: Option<bool>,
}

fn print_plan(format: Format, plan: &RekeyPlan) -> anyhow::Result<()> {
    emit(format, plan, || {
        let mut s = format!(
            "active node {} ({}, {}): current split {} shares / threshold {}; new split {} / {}\n",
            plan.active,
            plan.engine,
            plan.endpoint,
            plan.current_shares,
            plan.current_threshold,
            plan.new_shares,
            plan.new_threshold
        );
        for (i, step) in plan.steps.iter().enumerate() {
            s.push_str(&format!("  {}. {step}\n", i + 1));
        }
        s
    })
}

pub async fn run(global: &Global, args: &RekeyArgs) -> anyhow::Result<ExitCode> {
    let split = KeySplit::new(args.key_shares, args.key_threshold)
        .context("invalid --key-shares/--key-threshold")?;
    let nodes = NodeSet::new(global.clients()?);
    let (plan, active) = plan_rekey(&nodes, split).await?;
    if args.dry_run {
        print_plan(global.format, &plan)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.cancel {
        if plan.in_progress.is_some() {
            rekey_cancel(&active, &plan).await?;
            eprintln!(
                "the rekey attempt on {} was cancelled; the current shares stay valid",
                plan.active
            );
        } else {
            eprintln!("no rekey attempt in progress on {}", plan.active);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if global.format == Format::Table {
        print_plan(Format::Table, &plan)?;
    }
    let out = args
        .out
        .as_ref()
        .context("--out NEW_BUNDLE is required: where the new shares are written")?;
    let old_bundle = args
        .bundle
        .as_ref()
        .context("--bundle FILE is required: the current shares authorize the rekey")?;
    let shares_of = |bundle: &PathBuf| {
        gather_shares(&UnsealArgs {
            bundle: Some(bundle.clone()),
            identities: args.identities.clone(),
            prompt: false,
            wait: 0,
        })
    };
    let (old, old_keys) = shares_of(old_bundle)?;
    let old = old.expect("a bundle was given");
    if let Err(e) = vaultops_custody::check_cluster_identity(&old, nodes.nodes()).await {
        bail!(
            "refusing to rekey with {}: {e}; no share was sent",
            old_bundle.display()
        );
    }

    let awaiting = plan
        .in_progress
        .as_ref()
        .is_some_and(|a| !a.verification_nonce.is_empty());
    let new_keys: Vec<UnsealKey> = if awaiting {
        if !out.exists() {
            bail!("the attempt in progress already returned its new shares, but {} does not hold them: run vaultops rekey --cancel (the current shares stay valid) and start again", out.display());
        }
        eprintln!(
            "finishing the attempt in progress with the new shares of {}",
            out.display()
        );
        shares_of(out)?.1
    } else {
        check_writable(out)?;
        let custody = Custody::from_args(args, split)?;
        let mut whose = old.clone();
        if whose.cluster_id.is_none() {
            // The cluster is unsealed: it shows its id, recorded so that later unseals can
            // refuse another cluster's nodes before sending a share.
            if let Ok(st) = active.seal_status().await {
                whose.cluster_id = st.cluster_id;
                whose.cluster_name = st.cluster_name;
            }
        }
        // Persist first: nothing activates the new shares before they are on disk; a failed
        // write cancels the attempt (the library does), the current shares stay valid.
        let persist = |keys: &[UnsealKey]| -> anyhow::Result<Vec<UnsealKey>> {
            let b = custody.bundle(keys, split, &plan, &whose)?;
            write_bundle(out, &b).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("new shares written to {} (mode 0600, encrypted); the current shares still work until verification", out.display());
            Ok(match custody {
                Custody::Age(_) => keys.to_vec(),
                // The server encrypted them: the holders' gpg keyrings open them.
                Custody::Pgp(_) => shares_of(out)?.1,
            })
        };
        let persist = |keys: &[UnsealKey]| persist(keys).map_err(|e| format!("{e:#}"));
        rekey_persisted(
            &nodes,
            &active,
            &plan,
            &old_keys,
            &custody.pgp_keys(),
            persist,
        )
        .await
        .context("rotating the unseal shares")?
    };
    if awaiting {
        rekey_verify(&nodes, &active, &plan, &new_keys)
            .await
            .context("verifying the new shares (this step activates them)")?;
    }
    eprintln!(
        "the new shares are active; the current bundle {} is void",
        old_bundle.display()
    );
    let (mut refused, mut accepted) = (None, None);
    if !args.no_probe {
        accepted = Some(probe_shares(&active, plan.engine, &new_keys).await?);
        refused = Some(!probe_shares(&active, plan.engine, &old_keys).await?);
    }
    emit(
        global.format,
        &RekeyReport {
            plan: &plan,
            new_bundle: Some(out.display().to_string()),
            activated: true,
            old_shares_refused: refused,
            new_shares_accepted: accepted,
        },
        || match (refused, accepted) {
            (Some(r), Some(a)) => format!(
                "probe: old shares {}, new shares {}\n",
                if r { "refused" } else { "STILL ACCEPTED" },
                if a { "accepted" } else { "REFUSED" }
            ),
            _ => "probe skipped (--no-probe)\n".to_owned(),
        },
    )?;
    Ok(if refused == Some(false) || accepted == Some(false) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn rotate_encryption_key(
    global: &Global,
    args: &RotateEncryptionKeyArgs,
) -> anyhow::Result<ExitCode> {
    let nodes = NodeSet::new(global.clients()?);
    let r = vaultops_bootstrap::rotate_encryption_key(&nodes, args.dry_run).await?;
    emit(global.format, &r, || {
        if args.dry_run {
            format!(
                "active node {}: encryption key term {} ({} encryptions); would rotate to term {} (dry run: nothing changed)\n",
                r.active,
                r.before.term,
                r.before.encryptions.unwrap_or(0),
                r.before.term + 1
            )
        } else {
            format!(
                "active node {}: encryption key term {} -> {}\n",
                r.active, r.before.term, r.after.term
            )
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// How the new shares are protected.
enum Custody {
    Age(Vec<vaultops_custody::AgeRecipient>),
    /// base64 public keys, one per share.
    Pgp(Vec<String>),
}

impl Custody {
    fn from_args(args: &RekeyArgs, split: KeySplit) -> anyhow::Result<Self> {
        if !args.age_recipients.is_empty() {
            let r = crate::init_cmd::recipients_for_split(&args.age_recipients, split)?;
            // Rehearse: a recipient that cannot be encrypted to fails before any share is sent.
            let fake: Vec<UnsealKey> = (0..split.shares())
                .map(|i| UnsealKey::new(format!("rehearsal-{i}")))
                .collect();
            encrypt_shares(&fake, &r).context("encrypting a test share (nothing was sent)")?;
            return Ok(Custody::Age(r));
        }
        if !args.pgp_keys.is_empty() {
            if args.pgp_keys.len() != split.shares() as usize {
                bail!(
                    "{} PGP keys for {} shares: give exactly one public key per share",
                    args.pgp_keys.len(),
                    split.shares()
                );
            }
            let keys = args
                .pgp_keys
                .iter()
                .map(|p| {
                    let bytes =
                        std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
                    public_key_base64(&bytes).with_context(|| format!("{}", p.display()))
                })
                .collect::<anyhow::Result<_>>()?;
            return Ok(Custody::Pgp(keys));
        }
        bail!("choose how the new shares are protected: --age-recipient age1… (one per share, or one for all) or --pgp-keys FILE,… (one per share)")
    }

    fn pgp_keys(&self) -> Vec<String> {
        match self {
            Custody::Pgp(k) => k.clone(),
            Custody::Age(_) => Vec::new(),
        }
    }

    /// The new bundle: the new split, the cluster of the old bundle, no root token (a rekey
    /// does not touch it).
    fn bundle(
        &self,
        keys: &[UnsealKey],
        split: KeySplit,
        plan: &RekeyPlan,
        old: &InitBundle,
    ) -> anyhow::Result<InitBundle> {
        let encrypted_shares = match self {
            Custody::Age(r) => encrypt_shares(keys, r)?,
            Custody::Pgp(_) => keys
                .iter()
                .enumerate()
                .map(|(i, s)| EncryptedSecret {
                    index: i as u32 + 1,
                    custody: ShareCustody::Pgp {
                        key_fingerprint_hint: format!("--pgp-keys entry {}", i + 1),
                    },
                    ciphertext: s.expose().to_owned(),
                })
                .collect(),
        };
        Ok(rekeyed_bundle(
            encrypted_shares,
            split,
            &plan.active,
            BundleCluster {
                id: old.cluster_id.clone(),
                name: old.cluster_name.clone(),
            },
        ))
    }
}
