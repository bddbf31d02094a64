//! `vaultops backup save|verify|restore`: thin shell over `vaultops-backup`.

use crate::cli::{BackupCommand, Format, Global, UnsealArgs, VerifyRestoreArgs};
use crate::restore_cmd::{identities, Signals};
use crate::unseal_cmd::gather_shares;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use vaultops_backup as backup;
use vaultops_custody::{parse_recipients, Identities};

pub async fn run(global: &Global, cmd: &BackupCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BackupCommand::Save {
            out,
            age_recipients,
            metrics_file,
        } => {
            let mut nodes = global.clients()?;
            if nodes.len() != 1 {
                bail!("backup save talks to ONE node: pass a single --addr");
            }
            let node = nodes.remove(0);
            let recipients = parse_recipients(age_recipients)?;
            // Caught from here on (nothing is written before): not during a token typed on
            // standard input above, which Ctrl-C must still interrupt.
            let mut sigs = Signals::install()?;
            let info = sigs
                .or_stop(
                    async { backup::save(&node, out, &recipients).await.map_err(|e| save_error(e, out)) },
                    || format!("no temporary, plaintext or partial file is left; {} is as it was (or, when the signal came while the new backup was being moved into place, complete, with a matching checksum)", out.display()),
                )
                .await?;
            if let Some(m) = metrics_file {
                backup::write_metrics(m, &info).with_context(|| {
                    format!(
                        "the backup {} was saved, but its metrics file was not written",
                        out.display()
                    )
                })?;
            }
            match global.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&info)?),
                Format::Table => eprintln!(
                    "backup written: {} ({} bytes{}), checksum {}",
                    info.path.display(),
                    info.bytes,
                    if info.encrypted {
                        ", age-encrypted"
                    } else {
                        ""
                    },
                    info.checksum_file.display()
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Verify {
            file,
            identities: ids,
            no_checksum,
            restore,
        } => {
            let ids = identities(ids)?;
            if restore.restore {
                if !no_checksum {
                    backup::require_checksum(file)?;
                }
                return verify_restore(global, file, &ids, restore).await;
            }
            let mut sigs = Signals::install()?;
            let report = sigs
                .or_stop(
                    async { Ok(backup::verify_backup(file, &ids, !no_checksum).await?) },
                    || "the check stopped; no decrypted copy is left".into(),
                )
                .await?;
            match global.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Table => {
                    println!(
                        "{}: intact (checksum {:?}, encrypted {})",
                        file.display(),
                        report.checksum,
                        report.encrypted
                    );
                    for (name, size) in &report.entries {
                        println!("  {name}  {size} bytes");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Restore(args) => crate::restore_cmd::run(global, args).await,
    }
}

/// A failed save, with what to do when the disk is full (the previous backup is untouched).
fn save_error(e: backup::BackupError, out: &Path) -> anyhow::Error {
    let full = {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        let mut found = false;
        while let Some(c) = cur {
            if let Some(io) = c.downcast_ref::<std::io::Error>() {
                found |= io.kind() == std::io::ErrorKind::StorageFull;
            }
            cur = c.source();
        }
        found
    };
    let e = anyhow::Error::new(e);
    if full {
        return e.context(format!(
            "no space left on the disk holding {}: free space there or pass another --out; the previous backup there (if any) is untouched and no partial file is left",
            out.display()
        ));
    }
    e
}

/// `backup verify --restore`: the old cluster's shares, the server binary, then the library.
async fn verify_restore(
    global: &Global,
    file: &Path,
    ids: &Identities,
    args: &VerifyRestoreArgs,
) -> anyhow::Result<ExitCode> {
    if args.bundle.is_none() && !args.prompt {
        bail!("--restore unseals the restored copy with the keys of the cluster the backup was taken from: pass --bundle FILE --key-identity KEY, or --prompt");
    }
    let unseal = UnsealArgs {
        bundle: args.bundle.clone(),
        identities: args.key_identities.clone(),
        prompt: args.prompt,
        wait: args.wait,
    };
    let (_, keys) = gather_shares(&unseal)?;
    let server_bin = match server_bin_choice(
        args.server_bin.clone(),
        std::env::var_os(vaultops_install::BAO_BIN_ENV),
    ) {
        ServerBin::Explicit(p) => p,
        ServerBin::Pinned => tokio::task::spawn_blocking(|| {
            vaultops_install::install_pinned(&vaultops_install::default_cache_dir()?)
        })
        .await
        .context("the task installing the pinned OpenBao stopped")?
        .context(
            "installing the pinned, checksum-verified OpenBao for the throwaway node (or pass \
             --server-bin PATH, or set VAULTOPS_BAO_BIN)",
        )?,
    };
    let mut opts = backup::ScratchOptions::new(server_bin);
    opts.deadline = Duration::from_secs(args.wait);
    eprintln!(
        "restoring {} into a throwaway node ({})…",
        file.display(),
        opts.server_bin.display()
    );
    // Ctrl-C drops the check: the throwaway node is killed and its directory removed.
    let check = tokio::select! {
        r = backup::verify_by_restore(file, ids, &keys, &opts) => r?,
        _ = tokio::signal::ctrl_c() => {
            bail!("interrupted: the throwaway node was stopped and its directory removed")
        }
    };
    match global.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&check)?),
        Format::Table => {
            let inv = &check.inventory;
            println!(
                "{}: restored and unsealed with {} of {} old shares on {}; {} secret(s) in {} KV engine(s)",
                file.display(),
                check.threshold,
                check.shares,
                check.server_version,
                inv.secrets,
                inv.kv.len()
            );
            for kv in &inv.kv {
                println!(
                    "  {:<24} kv v{}  {} secret(s)",
                    format!("{}/", kv.mount),
                    kv.version,
                    kv.secrets
                );
            }
            for m in &inv.engines {
                println!("  {:<24} {}", format!("{}/", m.path), m.kind);
            }
            for m in &inv.auth_methods {
                println!("  auth/{:<19} {}", format!("{}/", m.path), m.kind);
            }
            println!(
                "  {} polic(ies): {}",
                inv.policies.len(),
                inv.policies.join(", ")
            );
            println!("  took {:.1} s", check.timings.total_s);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Which server binary the throwaway node runs. It receives the old cluster's unseal shares,
/// so it is never whatever `bao` or `vault` comes first on PATH: the one the operator names
/// (`--server-bin`, else `$VAULTOPS_BAO_BIN`), else the pinned, checksum-verified OpenBao.
#[derive(Debug, PartialEq, Eq)]
enum ServerBin {
    Explicit(PathBuf),
    Pinned,
}

fn server_bin_choice(flag: Option<PathBuf>, env: Option<std::ffi::OsString>) -> ServerBin {
    match flag.or_else(|| env.filter(|v| !v.is_empty()).map(PathBuf::from)) {
        Some(p) => ServerBin::Explicit(p),
        None => ServerBin::Pinned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_binary_is_named_or_pinned_never_taken_from_path() {
        assert_eq!(server_bin_choice(None, None), ServerBin::Pinned);
        assert_eq!(server_bin_choice(None, Some("".into())), ServerBin::Pinned);
        assert_eq!(
            server_bin_choice(None, Some("/opt/bao".into())),
            ServerBin::Explicit("/opt/bao".into())
        );
        assert_eq!(
            server_bin_choice(Some("/usr/bin/vault".into()), Some("/opt/bao".into())),
            ServerBin::Explicit("/usr/bin/vault".into())
        );
    }
}
