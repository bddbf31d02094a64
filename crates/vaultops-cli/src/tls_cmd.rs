//! `vaultops tls ca|node|inspect|renew`: certificate files for a TLS raft cluster (the
//! rotation commands `served|bundle|reissue` are in `tls_rotate_cmd`).

use crate::cli::{Global, TlsCommand};
use crate::output::{emit, table};
use anyhow::{bail, Context};
use std::path::Path;
use std::process::ExitCode;
use vaultops_tls as tls;

pub fn run(global: &Global, cmd: &TlsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TlsCommand::Ca {
            out,
            common_name,
            days,
            force,
        } => {
            let bundle = tls::create_ca(&tls::CaParams {
                common_name: common_name.clone(),
                days: *days,
                ..Default::default()
            })
            .context("creating the CA")?;
            let mode = if *force {
                tls::Overwrite::Force
            } else {
                tls::Overwrite::Refuse
            };
            let files = tls::write_ca(out, &bundle, mode)
                .with_context(|| format!("writing the CA into {}", out.display()))?;
            eprintln!(
                "CA written: {} (certificate), {} (private key, mode 0600)",
                files.cert.display(),
                files.key.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        TlsCommand::Node {
            ca_dir,
            name,
            dns,
            ips,
            out,
            days,
        } => {
            let ca = tls::load_ca(ca_dir)
                .with_context(|| format!("loading the CA from {}", ca_dir.display()))?;
            let mut dns = dns.clone();
            if !dns.iter().any(|d| d.eq_ignore_ascii_case(name)) && looks_like_dns(name) {
                dns.insert(0, name.clone());
            }
            let cert = tls::create_node_cert(
                &ca,
                &tls::NodeParams {
                    name: name.clone(),
                    dns,
                    ips: ips.clone(),
                    days: *days,
                    ..Default::default()
                },
            )
            .with_context(|| format!("issuing the certificate for {name}"))?;
            let files = tls::write_node(out, name, &cert)
                .with_context(|| format!("writing {name}'s certificate into {}", out.display()))?;
            eprintln!(
                "certificate written: {} and {} (private key, mode 0600)",
                files.cert.display(),
                files.key.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        TlsCommand::Inspect { file, ca, host } => {
            inspect(global, file, ca.as_deref(), host.as_deref())
        }
        TlsCommand::Renew { ca_dir, cert, days } => {
            let ca = tls::load_ca(ca_dir)
                .with_context(|| format!("loading the CA from {}", ca_dir.display()))?;
            let pem = read(cert)?;
            let renewed = tls::renew_node_cert(&ca, &pem, *days)
                .with_context(|| format!("renewing {}", cert.display()))?;
            let name = cert
                .file_stem()
                .and_then(|s| s.to_str())
                .context("the certificate file name must be NAME.pem")?;
            let dir = cert
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let files = tls::write_node(dir, name, &renewed).with_context(|| {
                format!("writing the renewed certificate into {}", dir.display())
            })?;
            eprintln!(
                "renewed: {} and {}",
                files.cert.display(),
                files.key.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        TlsCommand::Rotate(_) => unreachable!("main dispatches the rotation commands"),
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn looks_like_dns(s: &str) -> bool {
    !s.is_empty()
        && s.parse::<std::net::IpAddr>().is_err()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

fn inspect(
    global: &Global,
    file: &Path,
    ca: Option<&Path>,
    host: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let pem = read(file)?;
    let info = tls::inspect(&pem).with_context(|| format!("reading {}", file.display()))?;
    let verdict = match ca {
        Some(ca_path) => {
            let ca_pem = read(ca_path)?;
            let r = match host {
                Some(h) => tls::verify_for_host(&pem, &ca_pem, h),
                None => tls::verify(&pem, &ca_pem),
            };
            Some(r.map_err(|e| format!("{}: {}", file.display(), vaultops_types::error_report(&e))))
        }
        None if host.is_some() => bail!("--host needs --ca to verify against"),
        None => None,
    };
    #[derive(serde::Serialize)]
    struct Out<'a> {
        #[serde(flatten)]
        info: &'a tls::CertInfo,
        #[serde(skip_serializing_if = "Option::is_none")]
        verified: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        verify_error: Option<String>,
    }
    let out = Out {
        info: &info,
        verified: verdict.as_ref().map(Result::is_ok),
        verify_error: verdict.as_ref().and_then(|r| r.as_ref().err().cloned()),
    };
    emit(global.format, &out, || {
        let mut rows = vec![
            vec!["subject".into(), info.subject.clone()],
            vec!["issuer".into(), info.issuer.clone()],
            vec!["serial".into(), info.serial.clone()],
            vec!["dns".into(), info.dns_sans.join(", ")],
            vec![
                "ip".into(),
                info.ip_sans
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            ],
            vec!["not_before".into(), info.not_before.to_string()],
            vec!["not_after".into(), info.not_after.to_string()],
            vec!["days_left".into(), info.days_left.to_string()],
            vec!["is_ca".into(), info.is_ca.to_string()],
        ];
        if let Some(v) = &verdict {
            rows.push(vec![
                "verified".into(),
                match v {
                    Ok(()) => "ok".into(),
                    Err(e) => format!("FAILED: {e}"),
                },
            ]);
        }
        table(&["field", "value"], &rows)
    })?;
    match verdict {
        Some(Err(e)) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
