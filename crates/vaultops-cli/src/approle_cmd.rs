//! `vaultops approle credentials|rotate|login-check` and `vaultops migrate-env`.

use crate::cli::{ApproleCommand, Format, Global, IssueArgs, MigrateEnvArgs, SinkArgs};
use anyhow::{bail, Context};
use std::process::ExitCode;
use std::time::Duration;
use vaultops_api::Ttl;
use vaultops_approle as ar;

fn one_client(global: &Global) -> anyhow::Result<vaultops_api::NodeClient> {
    let mut nodes = global.clients()?;
    if nodes.len() != 1 {
        bail!("pass a single --addr (any node: standbys forward writes)");
    }
    Ok(nodes.remove(0))
}

fn duration(what: &str, text: &str) -> anyhow::Result<Duration> {
    Ttl::from(text)
        .as_secs()
        .map(Duration::from_secs)
        .with_context(|| format!("{what}: {text:?} is not a duration like 90s, 5m or 1h"))
}

fn issue_options(a: &IssueArgs, wrap_ttl: Option<&str>) -> anyhow::Result<ar::IssueOptions> {
    let mut metadata = std::collections::BTreeMap::new();
    for kv in &a.metadata {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--metadata {kv:?}: expected KEY=VALUE"))?;
        metadata.insert(k.to_owned(), v.to_owned());
    }
    Ok(ar::IssueOptions {
        wrap_ttl: wrap_ttl.map(Ttl::from),
        cidr_list: a.cidrs.clone(),
        token_bound_cidrs: a.token_bound_cidrs.clone(),
        metadata,
    })
}

fn sinks(global: &Global, a: &SinkArgs) -> anyhow::Result<Vec<ar::Sink>> {
    let mut out = Vec::new();
    if let Some(path) = &a.env_file {
        let vault_addr = a
            .vault_addr
            .clone()
            .or_else(|| global.addrs().ok().and_then(|v| v.into_iter().next()));
        out.push(ar::Sink::EnvFile(ar::EnvFileSink {
            path: path.clone(),
            vault_addr,
            ca_cert: a.vault_cacert.clone().or_else(|| global.ca_cert()),
        }));
    }
    if let Some(path) = &a.k8s_secret {
        out.push(ar::Sink::K8sSecret(ar::K8sSecretSink {
            path: path.clone(),
            namespace: a.namespace.clone(),
            name: a.name.clone(),
        }));
    }
    Ok(out)
}

pub async fn run(global: &Global, cmd: &ApproleCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ApproleCommand::Credentials {
            role,
            mount,
            sinks: sink_args,
            stdout,
            wrap_ttl,
            issue,
        } => {
            let client = one_client(global)?;
            let opts = issue_options(issue, wrap_ttl.as_deref())?;
            let sinks = sinks(global, sink_args)?;
            let creds = match ar::deliver(&client, mount, role, &sinks, &opts).await {
                Ok(c) => c,
                Err(e @ (ar::DeliverError::Write { .. } | ar::DeliverError::Verify { .. })) => {
                    eprintln!("error: {}", vaultops_types::error_report(&e));
                    return Ok(ExitCode::from(3));
                }
                Err(e) => return Err(e.into()),
            };
            for w in &creds.warnings {
                eprintln!("warning: {w}");
            }
            if *stdout || sinks.is_empty() {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&creds.to_json_with_secret())?
                );
            } else {
                let paths: Vec<String> = sinks
                    .iter()
                    .map(|s| s.path().display().to_string())
                    .collect();
                let summary = serde_json::json!({
                    "role": role, "role_id": creds.role_id,
                    "secret_id_accessor": creds.secret_id_accessor, "sinks": paths,
                });
                match global.format {
                    Format::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
                    Format::Table => eprintln!(
                        "delivered a new secret-id for {role} (accessor {}) to {}; each sink logs in",
                        creds.secret_id_accessor,
                        paths.join(", ")
                    ),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ApproleCommand::Rotate {
            role,
            mount,
            sinks: sink_args,
            grace,
            destroy_all_others,
            publish_cmd,
            publish_timeout,
            issue,
        } => {
            let client = one_client(global)?;
            let sinks = sinks(global, sink_args)?;
            if sinks.is_empty() {
                bail!("rotate needs the sink that holds the current pair: --env-file PATH and/or --k8s-secret PATH");
            }
            let opts = ar::RotateOptions {
                grace: duration("--grace", grace)?,
                destroy: if *destroy_all_others {
                    ar::DestroyScope::AllOthers
                } else {
                    ar::DestroyScope::SinkHeld
                },
                issue: issue_options(issue, None)?,
                publish: match publish_cmd {
                    Some(c) => Some(ar::PublishCommand {
                        argv: publish_argv(c),
                        timeout: duration("--publish-timeout", publish_timeout)?,
                    }),
                    None => None,
                },
                after_step: Some(|s| eprintln!("rotate: {}/7 {s}", s.number())),
            };
            match ar::rotate(&client, mount, role, &sinks, &opts).await {
                Ok(report) => {
                    match global.format {
                        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                        Format::Table => eprintln!(
                            "rotated {role}: new secret-id accessor {}",
                            report.new_accessor
                        ),
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) if e.sinks_updated() => {
                    eprintln!("error: {}\nthe sinks hold the NEW working pair; the old secret-id may still be valid: re-run to finish", vaultops_types::error_report(&e));
                    Ok(ExitCode::from(3))
                }
                Err(e) => {
                    eprintln!(
                        "error: {}\nnothing changed: the sinks still hold the old, working pair",
                        vaultops_types::error_report(&e)
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
        ApproleCommand::LoginCheck {
            env_file,
            k8s_secret,
            mount,
            expect_policy,
            expect_read,
            expect_deny,
        } => {
            let sink = match (env_file, k8s_secret) {
                (Some(p), None) => ar::Sink::EnvFile(ar::EnvFileSink {
                    path: p.clone(),
                    vault_addr: None,
                    ca_cert: None,
                }),
                (None, Some(p)) => ar::Sink::K8sSecret(ar::K8sSecretSink {
                    path: p.clone(),
                    namespace: None,
                    name: None,
                }),
                _ => bail!("give exactly one of --env-file or --k8s-secret"),
            };
            let stored = sink.read_pair()?;
            // Address and CA: the global options, else what the env file says (the app's view).
            let mut g = Global {
                addr: global.addr.clone(),
                ca_cert: global.ca_cert.clone(),
                token: None,
                token_file: None,
                format: global.format,
                timeout: global.timeout,
                allow_plain_http: global.allow_plain_http,
            };
            if g.addr.is_empty()
                && std::env::var_os("VAULT_ADDR").is_none()
                && std::env::var_os("BAO_ADDR").is_none()
            {
                if let Some(a) = &stored.vault_addr {
                    g.addr = vec![a.clone()];
                }
            }
            if g.ca_cert().is_none() {
                g.ca_cert = stored.ca_cert.clone();
            }
            let client = one_client(&g)?.without_token();
            let exp = ar::Expectations {
                policies: expect_policy.clone(),
                read: expect_read.clone(),
                deny: expect_deny.clone(),
            };
            match ar::login_check(&client, mount, &stored.pair, &exp).await {
                Ok(report) => {
                    match global.format {
                        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                        Format::Table => println!("{report}"),
                    }
                    Ok(if report.passed() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    })
                }
                Err(e @ ar::LoginCheckError::Login { .. }) => {
                    eprintln!("error: {}", vaultops_types::error_report(&e));
                    Ok(ExitCode::from(4))
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

pub async fn migrate_env(global: &Global, a: &MigrateEnvArgs) -> anyhow::Result<ExitCode> {
    let client = one_client(global)?;
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(&a.file)
            .with_context(|| format!("reading {}", a.file.display()))?,
    );
    let entries = ar::parse_dotenv(&text).with_context(|| format!("{}", a.file.display()))?;
    let opts = ar::MigrateOptions {
        dry_run: a.dry_run,
        force: a.force,
    };
    match ar::migrate(&client, &a.mount, &a.path, &entries, &opts).await {
        Ok(report) => {
            match global.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Table => println!("{report}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ (ar::MigrateError::Conflict { .. } | ar::MigrateError::KeepsChanging { .. })) => {
            eprintln!("error: {}", vaultops_types::error_report(&e));
            Ok(ExitCode::from(4))
        }
        Err(e) => Err(e.into()),
    }
}

/// `--publish-cmd CMD` as argv: `sh -c` with every `{path}` in CMD turned into `"$1"` and the
/// path passed as `$1`, so a path with spaces or shell syntax is never parsed as shell text.
fn publish_argv(cmd: &str) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        cmd.replace("{path}", "\"$1\""),
        "vaultops-publish".into(),
        "{path}".into(),
    ]
}

#[cfg(test)]
mod publish_tests {
    #[test]
    fn the_path_is_an_argument_not_shell_text() {
        assert_eq!(
            super::publish_argv("kubectl apply -f {path} && echo {path}"),
            [
                "sh",
                "-c",
                "kubectl apply -f \"$1\" && echo \"$1\"",
                "vaultops-publish",
                "{path}"
            ]
        );
    }
}
