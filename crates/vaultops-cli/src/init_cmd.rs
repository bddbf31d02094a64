//! `vaultops init`: initialize through one node and leave only encrypted shares on disk.

use crate::cli::{Global, InitArgs};
use anyhow::{bail, Context};
use std::process::ExitCode;
use vaultops_api::{InitRequest, KeySplit, UnsealKey};
use vaultops_bootstrap::init_cluster;
use vaultops_custody::{
    check_writable, encrypt_shares, encrypt_token, parse_recipients, public_key_base64,
    write_bundle, AgeRecipient,
};
use vaultops_custody::{now_rfc3339, EncryptedSecret, InitBundle, KeyKind, ShareCustody, FORMAT};

pub async fn run(global: &Global, args: &InitArgs) -> anyhow::Result<ExitCode> {
    let addrs = global.addrs()?;
    if addrs.len() != 1 {
        bail!(
            "init talks to ONE node: pass a single --addr (the others join it through retry_join)"
        );
    }
    let split = KeySplit::new(args.key_shares, args.key_threshold)
        .context("invalid --key-shares/--key-threshold")?;

    // Everything that can fail locally is checked BEFORE the cluster is initialized: a
    // cluster whose keys cannot be stored is lost.
    check_writable(&args.out)?;
    let custody = Custody::from_args(args, split)?;

    let node = global.clients()?.remove(0);
    let seal = node
        .seal_status()
        .await
        .with_context(|| format!("reading the seal status of {}", node.addr()))?;
    let auto_unseal = seal.seal_type != "shamir";
    let mut req = if auto_unseal {
        eprintln!(
            "seal type {}: initializing with {} RECOVERY shares (threshold {}); the seal unseals the nodes",
            seal.seal_type,
            split.shares(),
            split.threshold()
        );
        InitRequest::auto_unseal(split)
    } else {
        InitRequest::shamir(split)
    };
    if let Custody::Pgp { keys, root } = &custody {
        if auto_unseal {
            req.recovery_pgp_keys = keys.clone();
        } else {
            req.pgp_keys = keys.clone();
        }
        req.root_token_pgp_key = root.clone();
    }

    let init = init_cluster(&node, &req)
        .await
        .context("initializing the cluster")?;
    let shares: &[UnsealKey] = if auto_unseal {
        &init.recovery_keys_base64
    } else {
        &init.keys_base64
    };

    let (encrypted_shares, root_token) = custody.encrypt(shares, &init.root_token)?;
    let status_after = node.seal_status().await.ok();
    let mut bundle = InitBundle {
        format: FORMAT.to_owned(),
        created_at: now_rfc3339(),
        initialized_via: node.addr().to_owned(),
        seal_type: seal.seal_type.clone(),
        key_kind: if auto_unseal {
            KeyKind::Recovery
        } else {
            KeyKind::Unseal
        },
        shares: split.shares(),
        threshold: split.threshold(),
        cluster_id: status_after.as_ref().and_then(|s| s.cluster_id.clone()),
        cluster_name: status_after.as_ref().and_then(|s| s.cluster_name.clone()),
        encrypted_shares,
        root_token,
        integrity_sha256: String::new(),
    };
    bundle.seal_integrity();
    if let Err(e) = write_bundle(&args.out, &bundle) {
        // The cluster IS initialized now: never lose its keys. The bundle holds only
        // ciphertext, so printing it is safe.
        println!("{}", bundle.to_json());
        bail!(
            "{}; the cluster is initialized: the bundle above (encrypted) is the only copy, save it now",
            vaultops_types::error_report(&e)
        );
    }
    eprintln!(
        "initialized {} ({} {} shares, threshold {}); bundle written to {} (mode 0600, shares encrypted)",
        node.addr(),
        split.shares(),
        if auto_unseal { "recovery" } else { "unseal" },
        split.threshold(),
        args.out.display()
    );
    if args.insecure_print {
        for (i, k) in shares.iter().enumerate() {
            println!(
                "{} Key {}: {}",
                if auto_unseal { "Recovery" } else { "Unseal" },
                i + 1,
                k.expose()
            );
        }
        println!("Initial Root Token: {}", init.root_token.expose());
    }
    Ok(ExitCode::SUCCESS)
}

/// How shares are protected, decided before the cluster is touched.
enum Custody {
    Age {
        shares: Vec<AgeRecipient>,
        root: AgeRecipient,
    },
    Pgp {
        keys: Vec<String>,
        root: Option<String>,
    },
    /// Only with --insecure-print: nothing secret is stored, the operator copies the output.
    PrintOnly,
}

impl Custody {
    fn from_args(args: &InitArgs, split: KeySplit) -> anyhow::Result<Self> {
        if !args.age_recipients.is_empty() {
            let shares = parse_recipients(&args.age_recipients)?;
            if shares.len() != 1 && shares.len() != split.shares() as usize {
                bail!(
                    "{} --age-recipient for {} shares: give one per share, or exactly one for all",
                    shares.len(),
                    split.shares()
                );
            }
            let root = match &args.root_token_age_recipient {
                Some(r) => parse_recipients(std::slice::from_ref(r))?.remove(0),
                None => shares[0].clone(),
            };
            return Ok(Custody::Age { shares, root });
        }
        if !args.pgp_keys.is_empty() {
            if args.pgp_keys.len() != split.shares() as usize {
                bail!(
                    "{} PGP keys for {} shares: give exactly one public key per share",
                    args.pgp_keys.len(),
                    split.shares()
                );
            }
            let read = |p: &std::path::Path| -> anyhow::Result<String> {
                let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
                public_key_base64(&bytes).with_context(|| format!("{}", p.display()))
            };
            let keys = args
                .pgp_keys
                .iter()
                .map(|p| read(p))
                .collect::<anyhow::Result<_>>()?;
            let root = match &args.root_token_pgp_key {
                Some(p) => Some(read(p)?),
                None => bail!("--pgp-keys needs --root-token-pgp-key too: the root token must not be stored in clear"),
            };
            return Ok(Custody::Pgp { keys, root });
        }
        if args.insecure_print {
            return Ok(Custody::PrintOnly);
        }
        bail!("choose how the shares are protected: --age-recipient age1… (one per share) or --pgp-keys FILE,… (one per share); or --insecure-print to see them in clear (nothing secret is stored then)")
    }

    fn encrypt(
        &self,
        shares: &[UnsealKey],
        root: &vaultops_api::Token,
    ) -> anyhow::Result<(Vec<EncryptedSecret>, Option<EncryptedSecret>)> {
        Ok(match self {
            Custody::Age {
                shares: rs,
                root: rr,
            } => (encrypt_shares(shares, rs)?, Some(encrypt_token(root, rr)?)),
            Custody::Pgp { .. } => {
                // The server already encrypted them: keys_base64 and root_token hold base64
                // PGP messages.
                let enc = shares
                    .iter()
                    .enumerate()
                    .map(|(i, s)| EncryptedSecret {
                        index: i as u32 + 1,
                        custody: ShareCustody::Pgp {
                            key_fingerprint_hint: format!("--pgp-keys entry {}", i + 1),
                        },
                        ciphertext: s.expose().to_owned(),
                    })
                    .collect();
                let root = EncryptedSecret {
                    index: 0,
                    custody: ShareCustody::Pgp {
                        key_fingerprint_hint: "--root-token-pgp-key".into(),
                    },
                    ciphertext: root.expose().to_owned(),
                };
                (enc, Some(root))
            }
            Custody::PrintOnly => (Vec::new(), None),
        })
    }
}
