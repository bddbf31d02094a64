//! `vaultops approle credentials|rotate|login-check` and `vaultops migrate-env`.

use crate::approle_args::{ApproleCommand, IssueArgs, MigrateEnvArgs, RetireArgs, SinkArgs};
use crate::cli::{Format, Global};
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

/// Which command builds the sinks: a first delivery may fill in the operator's address and
/// CA where the env file has none; a rotation never touches them unless told.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SinkUse {
    Deliver,
    Rotate,
}

/// The value written for an application setting: the explicit flag, else (first delivery
/// only) the operator's own value for a file that has none, else the file's.
fn app_setting<T>(explicit: Option<T>, operator: Option<T>, usage: SinkUse) -> ar::EnvValue<T> {
    match (explicit, operator) {
        (Some(v), _) => ar::EnvValue::Set(v),
        (None, Some(v)) if usage == SinkUse::Deliver => ar::EnvValue::IfAbsent(v),
        _ => ar::EnvValue::Keep,
    }
}

fn sinks(global: &Global, a: &SinkArgs, usage: SinkUse) -> anyhow::Result<Vec<ar::Sink>> {
    let mut out = Vec::new();
    if let Some(path) = &a.env_file {
        let operator_addr = global.addrs().ok().and_then(|v| v.into_iter().next());
        out.push(ar::Sink::EnvFile(ar::EnvFileSink {
            path: path.clone(),
            vault_addr: app_setting(a.vault_addr.clone(), operator_addr, usage),
            ca_cert: app_setting(a.vault_cacert.clone(), global.ca_cert(), usage),
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
            retire,
            issue,
        } => {
            let client = one_client(global)?;
            let opts = issue_options(issue, wrap_ttl.as_deref())?;
            let sinks = sinks(global, sink_args, SinkUse::Deliver)?;
            let creds = if sinks.is_empty() {
                match ar::deliver(&client, mount, role, &sinks, &opts).await {
                    Ok(c) => c,
                    Err(e) => return Err(e.into()),
                }
            } else {
                let ropts = ar::RotateOptions {
                    issue: opts,
                    ..retire_options(retire, &sinks, None)?
                };
                match ar::replace_credentials(&client, mount, role, &sinks, &ropts).await {
                    Ok((report, c)) => {
                        for p in &report.previous {
                            if let Some(acc) = &p.accessor {
                                eprintln!("the secret-id the sinks held before (accessor {acc}) was destroyed");
                            }
                        }
                        c
                    }
                    Err(e) => return Ok(rotation_failed(&e)),
                }
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
            retire,
            destroy_all_others,
            publish_cmd,
            publish_timeout,
            issue,
        } => {
            let client = one_client(global)?;
            let sinks = sinks(global, sink_args, SinkUse::Rotate)?;
            if sinks.is_empty() {
                bail!("rotate needs the sink that holds the current pair: --env-file PATH and/or --k8s-secret PATH");
            }
            let opts = ar::RotateOptions {
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
                ..retire_options(retire, &sinks, publish_cmd.as_deref())?
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
                    for w in &report.warnings {
                        eprintln!("warning: {w}");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(rotation_failed(&e)),
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
                (Some(p), None) => ar::Sink::EnvFile(ar::EnvFileSink::new(p.clone())),
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
/// Grace, lock wait and progress output shared by `credentials` and `rotate`; prints the
/// warning for env files that a consumer may read only once at start.
fn retire_options(
    a: &RetireArgs,
    sinks: &[ar::Sink],
    publish_cmd: Option<&str>,
) -> anyhow::Result<ar::RotateOptions> {
    let grace = if a.grace == "auto" {
        ar::default_grace(sinks)
    } else {
        duration("--grace", &a.grace)?
    };
    eprintln!(
        "a secret-id the sinks held before is destroyed after a {} s grace (--grace)",
        grace.as_secs()
    );
    if publish_cmd.is_none() {
        for s in sinks {
            if let ar::Sink::EnvFile(e) = s {
                eprintln!(
                    "note: {} is replaced in place; a consumer that reads it at each login (docs/app-integration.md) picks up the new pair at once. One that read it only at start (python-dotenv at import, `env_file:` in Compose, systemd EnvironmentFile=) keeps the old pair and fails its next login after the {} s grace: restart it within the grace (--publish-cmd), or switch to the documented client",
                    e.path.display(),
                    grace.as_secs()
                );
            }
        }
    }
    Ok(ar::RotateOptions {
        grace,
        lock_wait: duration("--lock-wait", &a.lock_wait)?,
        on_lock_wait: Some(|p| {
            eprintln!(
                "waiting for another vaultops process that writes this sink (lock {})",
                p.display()
            )
        }),
        after_step: Some(|s| eprintln!("rotate: {}/7 {s}", s.number())),
        ..Default::default()
    })
}

/// The exit code and message of a failed rotation or replacement: 3 when the sinks hold
/// the new pair already, 1 when nothing changed.
fn rotation_failed(e: &ar::RotateError) -> ExitCode {
    if e.sinks_updated() {
        eprintln!("error: {}\nthe sinks hold the NEW working pair; the old secret-id may still be valid: re-run to finish", vaultops_types::error_report(e));
        ExitCode::from(3)
    } else {
        eprintln!(
            "error: {}\nnothing changed: the sinks still hold their previous pair",
            vaultops_types::error_report(e)
        );
        ExitCode::from(1)
    }
}

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
