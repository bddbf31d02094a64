//! `vaultops tls served|bundle|reissue`: certificate rotation without restart (issue 14).
//!
//! `served` proves which certificate each node serves (read through the API client on a new
//! connection per probe); `bundle` builds the old+new CA trust bundle of a CA rotation;
//! `reissue` moves a node certificate to a new CA keeping its names. The grammar is in
//! `tls_rotate_args`, flattened into `vaultops tls`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use vaultops_tls as tls;

use crate::cli::Global;
use crate::output::{emit, table};
use crate::tls_rotate_args::{ServedArgs, TlsRotateCommand};

/// Exit code of `tls served` when a node does not serve the expected certificate (or none
/// could be read from it).
pub const SERVED_MISMATCH: u8 = 2;

pub async fn run(global: &Global, cmd: &TlsRotateCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TlsRotateCommand::Served(args) => served(global, args).await,
        TlsRotateCommand::Bundle { cas, out, dry_run } => {
            let pems = cas
                .iter()
                .map(|p| read(p))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let (pem, n) = tls::trust_bundle(&pems).with_context(|| {
                format!(
                    "building the bundle from {}",
                    cas.iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            if *dry_run {
                let mut subjects = Vec::new();
                for block in pem.split_inclusive("-----END CERTIFICATE-----\n") {
                    let info = tls::inspect(block).context("reading the bundle back")?;
                    subjects.push(format!("{} (serial {})", info.subject, info.serial));
                }
                eprintln!(
                    "dry run: would write {} with {n} CA certificates: {}",
                    out.display(),
                    subjects.join("; ")
                );
                return Ok(ExitCode::SUCCESS);
            }
            tls::write_bundle(out, &pem).with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "trust bundle written: {} ({n} CA certificates)",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        TlsRotateCommand::Reissue {
            ca_dir,
            cert,
            days,
            dry_run,
        } => {
            let ca = tls::load_ca(ca_dir)
                .with_context(|| format!("loading the CA from {}", ca_dir.display()))?;
            let renewed = tls::reissue_node_cert(&ca, &read(cert)?, *days)
                .with_context(|| format!("re-issuing {}", cert.display()))?;
            let name = cert
                .file_stem()
                .and_then(|s| s.to_str())
                .context("the certificate file name must be NAME.pem")?;
            let dir = cert
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if *dry_run {
                let info =
                    tls::inspect(&renewed.cert_pem).context("reading the new certificate")?;
                let files = tls::node_files(dir, name);
                eprintln!(
                    "dry run: would replace {} and {} with a certificate for {} (DNS [{}], IP [{}]) issued by {}, valid until {}",
                    files.cert.display(),
                    files.key.display(),
                    info.subject,
                    info.dns_sans.join(", "),
                    info.ip_sans.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                    info.issuer,
                    info.not_after.date()
                );
                return Ok(ExitCode::SUCCESS);
            }
            let files = tls::write_node(dir, name, &renewed)
                .with_context(|| format!("writing the new certificate into {}", dir.display()))?;
            eprintln!(
                "re-issued by {}: {} and {}; send SIGHUP to the node to serve it",
                ca_dir.display(),
                files.cert.display(),
                files.key.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

async fn served(global: &Global, args: &ServedArgs) -> anyhow::Result<ExitCode> {
    let addrs = global.addrs()?;
    let pems = args
        .expect
        .iter()
        .map(|p| read(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let expect: Vec<(String, String)> = match pems.len() {
        1 => addrs.iter().map(|a| (a.clone(), pems[0].clone())).collect(),
        n if n == addrs.len() => addrs.iter().cloned().zip(pems).collect(),
        n => bail!(
            "{n} --expect files for {} --addr nodes: give one --expect for every node, or one per --addr in the same order",
            addrs.len()
        ),
    };
    let config = global.client_config()?;
    let report = match args.wait {
        None => vaultops_bootstrap::served_certificates(&expect, &config).await,
        Some(secs) => {
            vaultops_bootstrap::wait_served(
                &expect,
                &config,
                Duration::from_secs(secs),
                Duration::from_millis(500),
            )
            .await
        }
    }
    .context("reading the served certificates")?;
    emit(global.format, &report, || {
        let rows: Vec<Vec<String>> = report
            .nodes
            .iter()
            .map(|n| {
                let (verdict, cert) = match &n.state {
                    tls::ServedState::Expected { cert } => ("expected", Some(cert)),
                    tls::ServedState::Other { cert } => ("OTHER", Some(cert)),
                    tls::ServedState::Unreadable { .. } => ("UNREADABLE", None),
                };
                let mut row = vec![n.addr.clone(), verdict.to_owned()];
                row.extend(match cert {
                    Some(c) => vec![
                        c.info.serial.clone(),
                        c.fingerprint.chars().take(23).collect(),
                        c.info.not_after.date().to_string(),
                        c.info
                            .dns_sans
                            .iter()
                            .cloned()
                            .chain(c.info.ip_sans.iter().map(ToString::to_string))
                            .collect::<Vec<_>>()
                            .join(","),
                    ],
                    None => vec![String::new(); 4],
                });
                row
            })
            .collect();
        table(
            &[
                "node",
                "serves",
                "serial",
                "sha256 (start)",
                "not_after",
                "sans",
            ],
            &rows,
        )
    })?;
    if report.all_expected {
        return Ok(ExitCode::SUCCESS);
    }
    for p in report.problems() {
        eprintln!("error: {p}");
    }
    Ok(ExitCode::from(SERVED_MISMATCH))
}
