//! `vaultops backup restore`, with its safeguards, in this order: check the backup completely
//! (checksum file required unless --no-checksum, decryption, archive, description), show the
//! target and what will replace it, refuse a snapshot of another cluster without --force and a
//! target that is not the active node, ask (type the cluster's name on a terminal; --yes
//! otherwise, never a hang on a pipe), take a safety snapshot of the target (encrypted like
//! `backup save`), then restore.
//!
//! Also the signal handling `backup save` shares: SIGINT and SIGTERM are caught from the
//! start, and the step running when one arrives is dropped, which removes its temporary and
//! decrypted files (`vaultops-backup` stops its blocking work too) before the exit.

use crate::cli::{Format, Global, RestoreArgs};
use anyhow::{bail, Context};
use std::future::Future;
use std::path::Path;
use std::process::ExitCode;
use tokio::signal::unix::{signal, Signal, SignalKind};
use vaultops_backup::{self as backup, ClusterMatch, PreparedRestore, TargetInfo};
use vaultops_custody::{parse_recipients, AgeRecipient};

/// SIGINT and SIGTERM, caught from the moment this exists (the default action would kill the
/// process with its temporary files in place).
pub(crate) struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    pub(crate) fn install() -> anyhow::Result<Self> {
        Ok(Self {
            int: signal(SignalKind::interrupt()).context("catching SIGINT")?,
            term: signal(SignalKind::terminate()).context("catching SIGTERM")?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }

    /// Runs `step` unless a signal comes first; then `step` is dropped (its files removed) and
    /// the error says `what` happened.
    pub(crate) async fn or_stop<T>(
        &mut self,
        step: impl Future<Output = anyhow::Result<T>>,
        what: impl FnOnce() -> String,
    ) -> anyhow::Result<T> {
        tokio::select! {
            r = step => r,
            s = self.recv() => bail!("interrupted ({s}): {}", what()),
        }
    }
}

pub(crate) fn identities(
    paths: &[std::path::PathBuf],
) -> anyhow::Result<vaultops_custody::Identities> {
    let mut out = vaultops_custody::Identities::default();
    for p in paths {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        out.extend(
            vaultops_custody::Identities::from_text(&text)
                .with_context(|| format!("{}", p.display()))?,
        );
    }
    Ok(out)
}

pub async fn run(global: &Global, args: &RestoreArgs) -> anyhow::Result<ExitCode> {
    let mut nodes = global.clients()?;
    if nodes.len() != 1 {
        bail!("backup restore talks to ONE node, the active one: pass a single --addr");
    }
    let node = nodes.remove(0);
    let ids = identities(&args.identities)?;
    // Caught from here on, before the first file is written (a token typed on standard
    // input above is still interrupted by Ctrl-C the usual way).
    let mut sigs = Signals::install()?;
    let file = &args.file;
    eprintln!("checking {} …", file.display());
    let prepared = sigs
        .or_stop(
            async {
                Ok(backup::prepare_restore(file, &ids, !args.no_checksum, None).await?)
            },
            || "while the backup was checked: nothing was sent to the target, no decrypted copy is left".into(),
        )
        .await?;
    let target = sigs
        .or_stop(async { Ok(backup::describe_target(&node).await?) }, || {
            "nothing was sent to the target, no decrypted copy is left".into()
        })
        .await?;
    let (recipients, safety) = if args.no_safety_snapshot {
        (Vec::new(), None)
    } else {
        let r = safety_recipients(args, &ids, &prepared)?;
        let dir = args
            .safety_dir
            .clone()
            .unwrap_or_else(|| parent_dir(file).to_owned());
        let path = backup::safety_snapshot_path(&dir, &target, !r.is_empty());
        (r, Some(path))
    };
    let cluster = backup::check_cluster(&prepared, &target, args.force);
    print_plan(
        &prepared,
        &target,
        cluster.as_ref().ok(),
        safety.as_deref(),
        &recipients,
    );
    let cluster = cluster?;
    if target.role != "active" {
        bail!(
            "{} is {}, not the active node: a restore goes through the active node; pass its address (vaultops status shows which one it is). Nothing was changed.",
            target.addr,
            target.role
        );
    }
    if !args.yes {
        if let Answer::Interrupted(s) = confirm(&mut sigs, &target).await? {
            // The prompt's reading thread cannot be stopped, and the runtime would wait for
            // it: remove the decrypted copy, then exit at once.
            drop(prepared);
            eprintln!("error: interrupted ({s}) at the question: nothing was changed, no decrypted copy is left");
            std::process::exit(130);
        }
    }
    let safety_info = match &safety {
        None => None,
        Some(path) => {
            let info = sigs
                .or_stop(
                    async { Ok(backup::save(&node, path, &recipients).await?) },
                    || format!("while the safety snapshot was taken: nothing was restored, no temporary or decrypted file is left ({} was not written)", path.display()),
                )
                .await
                .with_context(|| format!("taking the safety snapshot of the target into {}; nothing was restored (--safety-dir DIR writes it elsewhere)", path.display()))?;
            eprintln!(
                "safety snapshot of the target written: {} ({} bytes, {}), checksum {}",
                info.path.display(),
                info.bytes,
                if info.encrypted {
                    "age-encrypted"
                } else {
                    "NOT encrypted, mode 0600"
                },
                info.checksum_file.display()
            );
            Some(info)
        }
    };
    let undo = safety.as_ref().map_or_else(
        || "no safety snapshot was taken".to_owned(),
        |p| format!("the safety snapshot is {}", p.display()),
    );
    sigs.or_stop(
        async { Ok(backup::restore_prepared(&node, &prepared, args.force).await?) },
        || format!("while the snapshot was being sent: the server discards an incomplete upload, but if the upload had completed the restore may still take effect: check the target (vaultops status); {undo}; no decrypted copy is left"),
    )
    .await
    .with_context(|| format!("restoring {} into {}; {undo}", file.display(), target.addr))?;
    drop(prepared);
    let sealing = args.force || cluster == ClusterMatch::Other;
    match global.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "restored": file,
                "target": target,
                "cluster": cluster,
                "safety_snapshot": safety_info,
            }))?
        ),
        Format::Table => eprintln!(
            "restored {} into {}{}",
            file.display(),
            target.addr,
            if sealing {
                "; the nodes will seal themselves: unseal them with the SNAPSHOT's cluster keys"
            } else {
                ""
            }
        ),
    }
    Ok(ExitCode::SUCCESS)
}

enum Answer {
    Yes,
    Interrupted(&'static str),
}

/// The confirmation: on a terminal, the target's cluster name (or `yes` when it has none) must
/// be typed; elsewhere `--yes` is required (a question on a pipe would hang or read garbage).
async fn confirm(sigs: &mut Signals, target: &TargetInfo) -> anyhow::Result<Answer> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        bail!("standard input is not a terminal, so the restore cannot be confirmed: nothing was changed; read the plan above and pass --yes to restore without the question");
    }
    let expected = target
        .cluster_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "yes".into());
    eprint!(
        "This REPLACES all data of {}. Type {} to restore, anything else cancels: ",
        target.addr,
        if expected == "yes" {
            "yes".to_owned()
        } else {
            format!("the target's cluster name ({expected})")
        }
    );
    let read = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    });
    let line = tokio::select! {
        r = read => r.context("the task reading the answer stopped")?.context("reading the answer")?,
        s = sigs.recv() => return Ok(Answer::Interrupted(s)),
    };
    if !confirmed(&line, &expected) {
        bail!("not confirmed (expected {expected:?}): nothing was changed");
    }
    Ok(Answer::Yes)
}

fn confirmed(answer: &str, expected: &str) -> bool {
    answer.trim() == expected
}

/// Who the safety snapshot is encrypted to: --age-recipient, else the identities' public keys.
fn safety_recipients(
    args: &RestoreArgs,
    ids: &vaultops_custody::Identities,
    prepared: &PreparedRestore,
) -> anyhow::Result<Vec<AgeRecipient>> {
    if !args.age_recipients.is_empty() {
        return Ok(parse_recipients(&args.age_recipients)?);
    }
    let derived = ids.x25519_recipients();
    if derived.is_empty() && prepared.report.encrypted {
        bail!("the safety snapshot of the target would be encrypted like the backup, but no age recipient can be derived from the --identity files (not X25519 keys): pass --age-recipient RECIPIENT (or --no-safety-snapshot). Nothing was changed.");
    }
    Ok(derived)
}

fn parent_dir(p: &Path) -> &Path {
    p.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn or_unknown(v: Option<&str>) -> &str {
    v.filter(|s| !s.is_empty()).unwrap_or("unknown")
}

/// The target, what replaces it, the cluster check and the safety snapshot (standard error).
fn print_plan(
    prepared: &PreparedRestore,
    target: &TargetInfo,
    cluster: Option<&ClusterMatch>,
    safety: Option<&Path>,
    recipients: &[AgeRecipient],
) {
    let index = |v: Option<u64>| v.map_or_else(|| "unknown".to_owned(), |i| i.to_string());
    eprintln!(
        "target:    {} ({}), cluster {} (id {}), server {}
           leader {}, raft committed index {}, applied index {}",
        target.addr,
        target.role,
        or_unknown(target.cluster_name.as_deref()),
        or_unknown(target.cluster_id.as_deref()),
        or_unknown(target.server_version.as_deref()),
        or_unknown(target.leader.as_deref()),
        index(target.raft_committed_index),
        index(target.raft_applied_index),
    );
    let r = &prepared.report;
    eprintln!(
        "replaced by: {} ({} bytes{}, checksum {}), raft snapshot index {}",
        prepared.file.display(),
        prepared.bytes,
        if r.encrypted { ", age-encrypted" } else { "" },
        match r.checksum {
            backup::ChecksumState::Matches => "matches",
            backup::ChecksumState::Absent => "ABSENT (--no-checksum)",
        },
        index(prepared.snapshot_index()),
    );
    match prepared.backup_meta() {
        Some(m) => eprintln!(
            "           taken {} from {}, cluster {} (id {}), server {}",
            m.taken_at,
            m.source,
            or_unknown(m.cluster_name.as_deref()),
            or_unknown(m.cluster_id.as_deref()),
            or_unknown(m.server_version.as_deref()),
        ),
        None => eprintln!(
            "           no description ({}): its cluster and date are unknown",
            backup::meta_path(&prepared.file).display()
        ),
    }
    eprintln!(
        "cluster:   {}",
        match cluster {
            Some(ClusterMatch::Same) => "the same cluster: keys and tokens stay valid, data written since the backup is lost",
            Some(ClusterMatch::Other) => "ANOTHER cluster (--force): afterwards its unseal keys and root token apply and the nodes seal themselves",
            Some(ClusterMatch::Unknown) => "unknown: the server refuses another cluster's snapshot without --force",
            None => "ANOTHER cluster: refused without --force",
        }
    );
    match safety {
        Some(p) => eprintln!(
            "safety snapshot of the target first: {} ({})",
            p.display(),
            if recipients.is_empty() {
                "NOT encrypted (the backup is not either; --age-recipient encrypts it), mode 0600"
                    .to_owned()
            } else {
                format!("age-encrypted to {} recipient(s)", recipients.len())
            }
        ),
        None => eprintln!("safety snapshot: none (--no-safety-snapshot)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_name_confirms() {
        assert!(confirmed("prod-eu\n", "prod-eu"));
        assert!(confirmed("  yes \n", "yes"));
        for wrong in ["", "\n", "y", "prod", "prod-eu2", "PROD-EU"] {
            assert!(!confirmed(wrong, "prod-eu"), "{wrong:?}");
        }
    }
}
