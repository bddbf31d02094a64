//! `vaultops backup save|verify|restore`: thin shell over `vaultops-backup`.

use crate::cli::{BackupCommand, Format, Global};
use anyhow::{bail, Context};
use std::process::ExitCode;
use vaultops_backup as backup;

fn identities(paths: &[std::path::PathBuf]) -> anyhow::Result<Vec<backup::AgeIdentity>> {
    let mut out = Vec::new();
    for p in paths {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        out.extend(backup::parse_identities(&text).with_context(|| format!("{}", p.display()))?);
    }
    Ok(out)
}

pub async fn run(global: &Global, cmd: &BackupCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BackupCommand::Save {
            out,
            age_recipients,
        } => {
            let mut nodes = global.clients()?;
            if nodes.len() != 1 {
                bail!("backup save talks to ONE node: pass a single --addr");
            }
            let node = nodes.remove(0);
            let recipients = backup::parse_recipients(age_recipients)?;
            let info = backup::save(&node, out, &recipients).await?;
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
        } => {
            let ids = identities(ids)?;
            let report = backup::verify_file(file, &ids)?;
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
        BackupCommand::Restore {
            file,
            identities: ids,
            force,
        } => {
            let mut nodes = global.clients()?;
            if nodes.len() != 1 {
                bail!("backup restore talks to ONE node, the active one: pass a single --addr");
            }
            let node = nodes.remove(0);
            let ids = identities(ids)?;
            backup::restore(&node, file, &ids, *force).await?;
            eprintln!(
                "restored {}{}",
                file.display(),
                if *force {
                    "; the nodes will seal themselves: unseal them with the SNAPSHOT's cluster keys"
                } else {
                    ""
                }
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
