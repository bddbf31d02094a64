//! `vaultops init`: initialize through one node and leave only encrypted shares on disk.
//!
//! The answer of `sys/init` is the only copy of the keys and the root token, so: everything
//! that can fail locally is checked before (bundle path, recipients, a rehearsal of the
//! encryption); the answer is awaited without the ordinary request timeout, with a "still
//! waiting" line now and then; the bundle is written right after the answer, before any other
//! request; and `--insecure-print` prints the keys even when the bundle could not be written.

use crate::cli::{Global, InitArgs};
use anyhow::{bail, Context};
use std::process::ExitCode;
use std::time::Duration;
use vaultops_api::{InitRequest, KeySplit, UnsealKey};
use vaultops_bootstrap::{init_cluster_reporting, InitProgress};
use vaultops_custody::{
    check_writable, encrypt_shares, encrypt_token, parse_recipients, public_key_base64,
    record_cluster_id, write_bundle, AgeRecipient,
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
    custody
        .rehearse(split)
        .context("encrypting a test share to the recipients given (nothing was sent)")?;

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

    // The answer of sys/init is the only copy of the keys: wait for it as long as the server
    // needs, and say so while waiting.
    let every = Duration::from_secs(global.timeout).min(PROGRESS_EVERY);
    let init = init_cluster_reporting(&node, &req, every, |p| match p {
        InitProgress::Sending => eprintln!(
            "sending sys/init to {}; its answer holds the only copy of the keys: waiting for it as long as the server needs (do not interrupt)",
            node.addr()
        ),
        InitProgress::StillWaiting(waited) => eprintln!(
            "still waiting for sys/init on {} ({}s)",
            node.addr(),
            waited.as_secs()
        ),
    })
    .await
    .context("initializing the cluster")?;
    let shares: &[UnsealKey] = if auto_unseal {
        &init.recovery_keys_base64
    } else {
        &init.keys_base64
    };
    let kind = if auto_unseal { "recovery" } else { "unseal" };

    // Persist first: nothing that can fail (a network call, an unseal, ...) comes between the
    // answer and the bundle on disk.
    let saved = custody
        .encrypt(shares, &init.root_token)
        .map(|(encrypted_shares, root_token)| {
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
                // A Shamir cluster has no id before its first unseal: `vaultops unseal`
                // records it then. An auto-unseal cluster may show it below.
                cluster_id: None,
                cluster_name: None,
                encrypted_shares,
                root_token,
                integrity_sha256: String::new(),
            };
            bundle.seal_integrity();
            bundle
        });
    let written: anyhow::Result<()> = match &saved {
        Ok(bundle) => write_bundle(&args.out, bundle).map_err(anyhow::Error::from),
        Err(e) => Err(anyhow::anyhow!("encrypting the shares: {e:#}")),
    };
    if args.insecure_print {
        print_keys(shares, &init.root_token, auto_unseal);
    }
    if let Err(e) = written {
        // The cluster IS initialized now: never lose its keys. The bundle holds only
        // ciphertext, so printing it is safe.
        let mut shown = Vec::new();
        if args.insecure_print {
            shown.push(format!("the plaintext {kind} shares and root token"));
        }
        if let Ok(bundle) = &saved {
            if !bundle.encrypted_shares.is_empty() {
                println!("{}", bundle.to_json());
                shown.push("the encrypted bundle".to_owned());
            }
        }
        let shown = if shown.is_empty() {
            "nothing was shown and the keys are LOST: initialize a new cluster".to_owned()
        } else {
            format!(
                "{} are shown above and are the only copy: save them now",
                shown.join(" and ")
            )
        };
        bail!(
            "the bundle was NOT saved to {}: {e:#}; the cluster {} IS initialized: {shown}",
            args.out.display(),
            node.addr()
        );
    }
    eprintln!(
        "initialized {} ({} {kind} shares, threshold {}); bundle written to {} (mode 0600{})",
        node.addr(),
        split.shares(),
        split.threshold(),
        args.out.display(),
        if matches!(custody, Custody::PrintOnly) {
            ", no share stored: --insecure-print alone"
        } else {
            ", shares encrypted"
        }
    );

    // Only now, with the keys safe: an auto-unsealed cluster may already show its id.
    if let Ok(status) = node.seal_status().await {
        if let Some(id) = status.cluster_id.as_deref() {
            match record_cluster_id(&args.out, id, status.cluster_name.as_deref()) {
                Ok(_) => eprintln!("cluster id {id} recorded in {}", args.out.display()),
                Err(e) => eprintln!(
                    "warning: the cluster id {id} was not recorded in the bundle: {}",
                    vaultops_types::error_report(&e)
                ),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How often "still waiting for sys/init" is said at most (more often with a short --timeout).
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

fn print_keys(shares: &[UnsealKey], root: &vaultops_api::Token, auto_unseal: bool) {
    for (i, k) in shares.iter().enumerate() {
        println!(
            "{} Key {}: {}",
            if auto_unseal { "Recovery" } else { "Unseal" },
            i + 1,
            k.expose()
        );
    }
    println!("Initial Root Token: {}", root.expose());
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

/// The `--age-recipient` values for `split`: one per share, or exactly one for all (shared
/// by `init` and `rekey`).
pub(crate) fn recipients_for_split(
    texts: &[String],
    split: KeySplit,
) -> anyhow::Result<Vec<vaultops_custody::AgeRecipient>> {
    let r = parse_recipients(texts)?;
    if r.len() != 1 && r.len() != split.shares() as usize {
        bail!(
            "{} --age-recipient for {} shares: give one per share, or exactly one for all",
            r.len(),
            split.shares()
        );
    }
    Ok(r)
}

impl Custody {
    fn from_args(args: &InitArgs, split: KeySplit) -> anyhow::Result<Self> {
        if !args.age_recipients.is_empty() {
            let shares = recipients_for_split(&args.age_recipients, split)?;
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

    /// Encrypts throwaway secrets the way [`Custody::encrypt`] will encrypt the real ones,
    /// so that a recipient that cannot be encrypted to fails BEFORE the cluster is
    /// initialized.
    fn rehearse(&self, split: KeySplit) -> anyhow::Result<()> {
        if let Custody::Age { .. } = self {
            let fake: Vec<UnsealKey> = (0..split.shares())
                .map(|i| UnsealKey::new(format!("rehearsal-{i}")))
                .collect();
            self.encrypt(&fake, &vaultops_api::Token::new("rehearsal"))?;
        }
        Ok(())
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
