//! Rotating the application's secret-id without downtime.
//!
//! # Order of steps (the invariant: a sink never holds a pair that does not log in)
//!
//! 0. Preflight: every sink passes [`Sink::check`], holds a pair, and that pair's role-id
//!    is the role's; the secret-id each sink holds is looked up **by value**
//!    (`secret-id/lookup`) to learn its accessor. Nothing is stored next to the pair:
//!    the server is the one source of truth, and a secret-id that no longer exists
//!    (expired, destroyed by hand) is simply reported as already gone.
//! 1. [`RotateStep::Issued`]: a new secret-id is issued (the old one still works).
//! 2. [`RotateStep::NewPairVerified`]: a login with the new pair succeeds (its token is
//!    revoked at once). If it fails, the new secret-id is destroyed and the sinks are
//!    left alone.
//! 3. [`RotateStep::SinksWritten`]: each sink is written atomically (rename), so at any
//!    instant it holds the old pair or the new one, and both work.
//! 4. [`RotateStep::SinksVerified`]: each sink is read back and its pair logs in.
//! 5. [`RotateStep::Published`]: the optional publish command runs once per sink (e.g.
//!    `kubectl apply -f {path}`), so the live copy is updated while the old pair still
//!    works.
//! 6. [`RotateStep::GraceElapsed`]: the grace period passes. This is a plain sleep, and
//!    the only one in this crate: it is the delay the operator asked for (default 0), so
//!    that consumers re-read the sink (a mounted Kubernetes Secret refreshes within about a
//!    minute) before the old secret-id stops working. It synchronises nothing.
//! 7. [`RotateStep::PreviousDestroyed`]: the secret-ids the sinks held are destroyed by
//!    accessor and looked up again to prove they are gone.
//!
//! A kill between any two steps leaves every sink holding a working pair; at worst an
//! unused new secret-id (killed after 1 or 2) or a still-valid old one (killed after 3–6)
//! remains, named by accessor in the audit log, and the next rotation or
//! [`DestroyScope::AllOthers`] removes it.
//!
//! # What is destroyed
//!
//! By default ([`DestroyScope::SinkHeld`]) only the secret-ids these sinks held: with one
//! secret-id per instance, other instances' secret-ids must survive this sink's rotation.
//! [`DestroyScope::AllOthers`] destroys every secret-id of the role except the new one
//! (for a role used by this one consumer only: it also sweeps up leftovers of killed
//! rotations). Tokens already issued from a destroyed secret-id live on until their TTL.

use crate::credentials::{issue, IssueError, IssueOptions, IssuedSecret};
use crate::login::{login, revoke_login_token, LoginError};
use crate::pair::CredentialPair;
use crate::sink::{Sink, SinkError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;
use vaultops_api::{ApiError, NodeClient};

/// The points between rotation steps, in order (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RotateStep {
    /// A new secret-id exists.
    Issued,
    /// The new pair logs in.
    NewPairVerified,
    /// Every sink holds the new pair.
    SinksWritten,
    /// Every sink's pair was read back and logs in.
    SinksVerified,
    /// The publish command ran (or there is none).
    Published,
    /// The grace period passed.
    GraceElapsed,
    /// The previous secret-ids are destroyed.
    PreviousDestroyed,
}

impl RotateStep {
    /// Every step, in order.
    pub const ALL: [RotateStep; 7] = [
        RotateStep::Issued,
        RotateStep::NewPairVerified,
        RotateStep::SinksWritten,
        RotateStep::SinksVerified,
        RotateStep::Published,
        RotateStep::GraceElapsed,
        RotateStep::PreviousDestroyed,
    ];

    /// 1-based position in [`RotateStep::ALL`].
    pub fn number(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }

    /// True once the sinks hold the new pair.
    pub fn sinks_updated(self) -> bool {
        self >= RotateStep::SinksWritten
    }
}

impl fmt::Display for RotateStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RotateStep::Issued => "new secret-id issued",
            RotateStep::NewPairVerified => "new pair logs in",
            RotateStep::SinksWritten => "sinks written",
            RotateStep::SinksVerified => "sinks read back and log in",
            RotateStep::Published => "published",
            RotateStep::GraceElapsed => "grace period over",
            RotateStep::PreviousDestroyed => "previous secret-ids destroyed",
        })
    }
}

/// Which secret-ids the rotation destroys at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DestroyScope {
    /// Only the secret-ids the sinks held (the default).
    #[default]
    SinkHeld,
    /// Every secret-id of the role except the new one.
    AllOthers,
}

/// A command run after the sinks are written and verified, once per sink, before the
/// grace period: `{path}` in any argument is replaced by the sink's path (an argument of its
/// own; never splice it into shell text: pass it as `$1` of `sh -c`). The command runs without
/// the token variables of vaultops' environment. A non-zero exit or the timeout stops the
/// rotation before anything is destroyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishCommand {
    /// Program and arguments (no shell: use `["sh", "-c", "…"]` for one).
    pub argv: Vec<String>,
    /// Deadline for each run; the command is killed when it passes.
    pub timeout: Duration,
}

/// How to rotate.
#[derive(Debug, Clone, Default)]
pub struct RotateOptions {
    /// Wait between publishing and destroying the previous secret-ids (default 0).
    pub grace: Duration,
    /// What to destroy at the end.
    pub destroy: DestroyScope,
    /// What the new secret-id carries (`wrap_ttl` must be `None`: sinks need the plain
    /// secret-id).
    pub issue: IssueOptions,
    /// Run after writing, e.g. `kubectl apply -f {path}`.
    pub publish: Option<PublishCommand>,
    /// Called after each step (progress output; tests use it to kill the process there).
    pub after_step: Option<fn(RotateStep)>,
}

/// What happened to a secret-id a sink held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PreviousOutcome {
    /// Destroyed, and a lookup by accessor confirms it is gone.
    Destroyed,
    /// It no longer existed when the rotation started (expired or destroyed before).
    AlreadyGone,
}

/// A secret-id one or more sinks held before the rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviousSecretId {
    /// Its accessor (`None` when it no longer existed).
    pub accessor: Option<String>,
    /// The sinks that held it.
    pub sinks: Vec<PathBuf>,
    /// What happened to it.
    pub outcome: PreviousOutcome,
}

/// The outcome of a rotation. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotateReport {
    /// The node asked.
    pub node: String,
    /// The AppRole mount.
    pub mount: String,
    /// The role.
    pub role: String,
    /// The role-id the sinks hold.
    pub role_id: String,
    /// The new secret-id's accessor.
    pub new_accessor: String,
    /// The sinks, all holding the new pair.
    pub sinks: Vec<PathBuf>,
    /// The secret-ids the sinks held before.
    pub previous: Vec<PreviousSecretId>,
    /// With [`DestroyScope::AllOthers`]: the other accessors destroyed.
    pub others_destroyed: Vec<String>,
    /// The grace period waited, seconds.
    pub grace_secs: u64,
    /// Warnings from issuing (the role's settings).
    pub warnings: Vec<String>,
}

/// Why a rotation stopped. [`RotateError::sinks_updated`] tells whether the sinks already
/// hold the new pair (they hold a working pair either way).
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// No sink given.
    #[error("rotation needs at least one sink (an env file or a Secret manifest)")]
    NoSinks,
    /// A wrap TTL was given.
    #[error("rotation writes the plain secret-id to its sinks; a wrap TTL cannot be used with it")]
    Wrapped,
    /// A sink failed its preflight or holds no pair; nothing was changed.
    #[error("a sink is not ready; nothing was changed")]
    Sink(#[source] SinkError),
    /// A sink holds credentials of another role.
    #[error("{sink} holds role-id {found}, but role {role:?} at auth/{mount}/ has role-id {expected}: the sink belongs to another role (or the role was re-created). Check --role; to replace its credentials deliberately, use `vaultops approle credentials`. Nothing was changed")]
    ForeignRoleId {
        /// The sink.
        sink: String,
        /// The role.
        role: String,
        /// The mount.
        mount: String,
        /// The role's role-id.
        expected: String,
        /// The sink's role-id.
        found: String,
    },
    /// Reading the role or issuing the new secret-id failed; nothing was changed.
    #[error("issuing the new secret-id failed; nothing was changed")]
    Issue(#[source] IssueError),
    /// Looking up the secret-id a sink holds failed; nothing was changed.
    #[error("looking up the secret-id that {sink} holds (nothing was changed)")]
    Lookup {
        /// The sink.
        sink: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// The new pair does not log in; the new secret-id was destroyed (when possible) and
    /// the sinks were not changed.
    #[error("the new secret-id (accessor {accessor}) does not log in, so the sinks were NOT changed{}", if *.destroyed { " and it was destroyed" } else { "; destroy it by accessor" })]
    NewPairRefused {
        /// The new secret-id's accessor.
        accessor: String,
        /// Whether it was destroyed again.
        destroyed: bool,
        /// The login error.
        #[source]
        source: LoginError,
    },
    /// Writing a sink failed. Sinks in `written` hold the new pair, the others the old
    /// one; both pairs work.
    #[error("writing a sink failed; sinks already holding the new pair (accessor {accessor}): [{}]; the others keep the previous pair, which still works; fix the cause and rotate again", written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    Write {
        /// The new secret-id's accessor.
        accessor: String,
        /// Sinks written before the failure.
        written: Vec<PathBuf>,
        /// The write error.
        #[source]
        source: SinkError,
    },
    /// A written sink did not read back as the new pair, or its pair did not log in;
    /// nothing was destroyed.
    #[error("{sink} was written but {what}; the previous secret-ids were NOT destroyed")]
    ReadBack {
        /// The sink.
        sink: String,
        /// What went wrong.
        what: String,
    },
    /// The publish command failed; the sinks hold the new pair, the previous secret-ids
    /// still work and were not destroyed.
    #[error("publish command for {sink} failed: {detail}. The sinks hold the new pair; the previous secret-ids (accessors [{}]) still work and were NOT destroyed: fix the publish step, apply the sink by hand, then destroy them by accessor", previous.join(", "))]
    Publish {
        /// The sink.
        sink: String,
        /// Exit status or timeout, with the end of its stderr.
        detail: String,
        /// Accessors of the previous secret-ids.
        previous: Vec<String>,
    },
    /// Destroying a previous secret-id failed; the sinks hold the new pair.
    #[error("the sinks hold the new pair, but the previous secret-id with accessor {accessor} could not be destroyed; destroy it by accessor (auth/{mount}/role/{role}/secret-id-accessor/destroy)")]
    Destroy {
        /// The mount.
        mount: String,
        /// The role.
        role: String,
        /// The accessor.
        accessor: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// A destroyed secret-id still looks up.
    #[error("the previous secret-id with accessor {accessor} still exists after it was destroyed; check for a concurrent writer and destroy it by accessor")]
    StillExists {
        /// The accessor.
        accessor: String,
    },
}

impl RotateError {
    /// True when the sinks already hold the new pair (the failure is in publishing or
    /// clean-up, and the old secret-id may still be valid).
    pub fn sinks_updated(&self) -> bool {
        matches!(
            self,
            RotateError::ReadBack { .. }
                | RotateError::Publish { .. }
                | RotateError::Destroy { .. }
                | RotateError::StillExists { .. }
        )
    }
}

/// Rotates the secret-id held by `sinks` (all of them receive the same new pair). See the
/// module docs for the order of steps and what is destroyed.
pub async fn rotate(
    client: &NodeClient,
    mount: &str,
    role: &str,
    sinks: &[Sink],
    opts: &RotateOptions,
) -> Result<RotateReport, RotateError> {
    if sinks.is_empty() {
        return Err(RotateError::NoSinks);
    }
    if opts.issue.wrap_ttl.is_some() {
        return Err(RotateError::Wrapped);
    }
    let step = |s: RotateStep| {
        tracing::info!(step = s.number(), "rotation: {s}");
        if let Some(f) = opts.after_step {
            f(s);
        }
    };

    // 0. Preflight: nothing changes before every sink is usable and its pair understood.
    for s in sinks {
        s.check().map_err(RotateError::Sink)?;
    }
    let mut held = Vec::with_capacity(sinks.len());
    for s in sinks {
        held.push(s.read_pair().map_err(RotateError::Sink)?.pair);
    }
    let role_id = match client.approle_role_id(mount, role).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            return Err(RotateError::Issue(IssueError::RoleNotFound {
                role: role.to_owned(),
                mount: mount.to_owned(),
                node: client.addr().to_owned(),
                known: client.approle_list_roles(mount).await.ok(),
            }))
        }
        Err(source) => {
            return Err(RotateError::Issue(IssueError::Api {
                step: "reading the role-id",
                role: role.to_owned(),
                source,
            }))
        }
    };
    for (s, pair) in sinks.iter().zip(&held) {
        if pair.role_id != role_id {
            return Err(RotateError::ForeignRoleId {
                sink: s.to_string(),
                role: role.to_owned(),
                mount: mount.to_owned(),
                expected: role_id,
                found: pair.role_id.clone(),
            });
        }
    }
    let previous = previous_secret_ids(client, mount, role, sinks, &held).await?;

    // 1. Issue.
    let creds = issue(client, mount, role, &opts.issue)
        .await
        .map_err(RotateError::Issue)?;
    let IssuedSecret::Plain(secret_id) = &creds.secret else {
        return Err(RotateError::Wrapped);
    };
    let new_pair = CredentialPair {
        role_id: creds.role_id.clone(),
        secret_id: secret_id.clone(),
    };
    let new_accessor = creds.secret_id_accessor.clone();
    step(RotateStep::Issued);

    // 2. The new pair must log in before any sink sees it.
    match login(client, mount, &new_pair).await {
        Ok(auth) => {
            revoke_login_token(client, &auth).await;
        }
        Err(source) => {
            let destroyed = client
                .approle_destroy_secret_id_accessor(mount, role, &new_accessor)
                .await
                .is_ok();
            return Err(RotateError::NewPairRefused {
                accessor: new_accessor,
                destroyed,
                source,
            });
        }
    }
    step(RotateStep::NewPairVerified);

    // 3. Write each sink (atomic rename: old or new pair, both valid).
    let mut written = Vec::new();
    for s in sinks {
        s.write(&new_pair).map_err(|source| RotateError::Write {
            accessor: new_accessor.clone(),
            written: written.clone(),
            source,
        })?;
        written.push(s.path().to_owned());
    }
    step(RotateStep::SinksWritten);

    // 4. What the sinks hold now is what a consumer will read: it must log in.
    for s in sinks {
        let back = s.read_pair().map_err(|e| RotateError::ReadBack {
            sink: s.to_string(),
            what: format!("cannot be read back: {e}"),
        })?;
        if back.pair != new_pair {
            return Err(RotateError::ReadBack {
                sink: s.to_string(),
                what: "reads back a different pair (was it changed concurrently?)".into(),
            });
        }
        let auth = login(client, mount, &back.pair)
            .await
            .map_err(|e| RotateError::ReadBack {
                sink: s.to_string(),
                what: format!("its pair does not log in: {e}"),
            })?;
        revoke_login_token(client, &auth).await;
    }
    step(RotateStep::SinksVerified);

    // 5. Publish.
    let previous_accessors: Vec<String> =
        previous.iter().filter_map(|p| p.accessor.clone()).collect();
    if let Some(cmd) = &opts.publish {
        for s in sinks {
            run_publish(cmd, s)
                .await
                .map_err(|detail| RotateError::Publish {
                    sink: s.to_string(),
                    detail,
                    previous: previous_accessors.clone(),
                })?;
        }
    }
    step(RotateStep::Published);

    // 6. The operator's grace period (see the module docs: a deliberate delay, not a wait
    // for a condition).
    if !opts.grace.is_zero() {
        tokio::time::sleep(opts.grace).await;
    }
    step(RotateStep::GraceElapsed);

    // 7. Destroy what the sinks held (or every other secret-id of the role).
    let mut previous = previous;
    for p in &mut previous {
        let Some(acc) = &p.accessor else { continue };
        destroy_and_confirm(client, mount, role, acc).await?;
        p.outcome = PreviousOutcome::Destroyed;
    }
    let mut others_destroyed = Vec::new();
    if opts.destroy == DestroyScope::AllOthers {
        let all = client
            .approle_list_secret_id_accessors(mount, role)
            .await
            .map_err(|source| RotateError::Destroy {
                mount: mount.to_owned(),
                role: role.to_owned(),
                accessor: "(listing the role's accessors)".into(),
                source,
            })?;
        for acc in all {
            if acc == new_accessor || previous_accessors.contains(&acc) {
                continue;
            }
            destroy_and_confirm(client, mount, role, &acc).await?;
            others_destroyed.push(acc);
        }
    }
    step(RotateStep::PreviousDestroyed);

    Ok(RotateReport {
        node: client.addr().to_owned(),
        mount: mount.to_owned(),
        role: role.to_owned(),
        role_id,
        new_accessor,
        sinks: written,
        previous,
        others_destroyed,
        grace_secs: opts.grace.as_secs(),
        warnings: creds.warnings,
    })
}

/// The distinct secret-ids the sinks hold, with their accessors (looked up by value).
async fn previous_secret_ids(
    client: &NodeClient,
    mount: &str,
    role: &str,
    sinks: &[Sink],
    held: &[CredentialPair],
) -> Result<Vec<PreviousSecretId>, RotateError> {
    let mut by_secret: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, pair) in held.iter().enumerate() {
        by_secret
            .entry(pair.secret_id.expose())
            .or_default()
            .push(i);
    }
    let mut out = Vec::new();
    for idx in by_secret.values() {
        let first = idx[0];
        let info = client
            .approle_lookup_secret_id(mount, role, &held[first].secret_id)
            .await
            .map_err(|source| RotateError::Lookup {
                sink: sinks[first].to_string(),
                source,
            })?;
        out.push(PreviousSecretId {
            outcome: PreviousOutcome::AlreadyGone,
            accessor: info.map(|i| i.secret_id_accessor),
            sinks: idx.iter().map(|i| sinks[*i].path().to_owned()).collect(),
        });
    }
    Ok(out)
}

async fn destroy_and_confirm(
    client: &NodeClient,
    mount: &str,
    role: &str,
    accessor: &str,
) -> Result<(), RotateError> {
    let fail = |source| RotateError::Destroy {
        mount: mount.to_owned(),
        role: role.to_owned(),
        accessor: accessor.to_owned(),
        source,
    };
    client
        .approle_destroy_secret_id_accessor(mount, role, accessor)
        .await
        .map_err(fail)?;
    let still = client
        .approle_lookup_secret_id_accessor(mount, role, accessor)
        .await
        .map_err(fail)?;
    if still.is_some() {
        return Err(RotateError::StillExists {
            accessor: accessor.to_owned(),
        });
    }
    Ok(())
}

/// Runs the publish command for one sink, with its deadline. `Err` carries the exit
/// status or timeout and the end of stderr.
async fn run_publish(cmd: &PublishCommand, sink: &Sink) -> Result<(), String> {
    let path = sink.path().to_string_lossy();
    let argv: Vec<String> = cmd
        .argv
        .iter()
        .map(|a| a.replace("{path}", &path))
        .collect();
    let Some((program, args)) = argv.split_first() else {
        return Err("the publish command is empty".into());
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .env_clear()
        .envs(vaultops_types::without_tokens(std::env::vars_os()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {program:?}: {e}"))?;
    let out = match tokio::time::timeout(cmd.timeout, child.wait_with_output()).await {
        Ok(r) => r.map_err(|e| format!("waiting for {program:?}: {e}"))?,
        Err(_) => {
            return Err(format!(
                "{program:?} did not finish within {} s and was killed",
                cmd.timeout.as_secs()
            ))
        }
    };
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: String = {
        let t = stderr.trim();
        let start = t.len().saturating_sub(2000);
        let start = (start..=t.len())
            .find(|i| t.is_char_boundary(*i))
            .unwrap_or(t.len());
        t[start..].to_owned()
    };
    Err(format!("{program:?} exited with {}: {tail}", out.status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::EnvFileSink;

    #[test]
    fn steps_are_numbered_in_order() {
        let n: Vec<usize> = RotateStep::ALL.iter().map(|s| s.number()).collect();
        assert_eq!(n, [1, 2, 3, 4, 5, 6, 7]);
        assert!(!RotateStep::NewPairVerified.sinks_updated());
        assert!(RotateStep::SinksWritten.sinks_updated());
    }

    fn sink(path: &str) -> Sink {
        Sink::EnvFile(EnvFileSink {
            path: path.into(),
            vault_addr: None,
            ca_cert: None,
        })
    }

    #[tokio::test]
    async fn publish_substitutes_the_path_and_reports_failures() {
        let tmp = tempfile::tempdir().unwrap();
        let marker = tmp.path().join("published");
        let ok = PublishCommand {
            argv: vec![
                "sh".into(),
                "-c".into(),
                format!("echo {{path}} > {}", marker.display()),
            ],
            timeout: Duration::from_secs(10),
        };
        run_publish(&ok, &sink("/x/a.env")).await.unwrap();
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "/x/a.env\n");

        let fails = PublishCommand {
            argv: vec!["sh".into(), "-c".into(), "echo denied >&2; exit 3".into()],
            timeout: Duration::from_secs(10),
        };
        let e = run_publish(&fails, &sink("a.env")).await.unwrap_err();
        assert!(e.contains("exit status: 3") && e.contains("denied"), "{e}");

        // A path with shell syntax in it stays one argument: nothing runs but the script.
        let weird = tmp.path().join("a b; touch pwned $(id).env");
        let quoted = PublishCommand {
            argv: vec![
                "sh".into(),
                "-c".into(),
                format!("printf '%s' \"$1\" > {}", marker.display()),
                "publish".into(),
                "{path}".into(),
            ],
            timeout: Duration::from_secs(10),
        };
        run_publish(&quoted, &sink(weird.to_str().unwrap()))
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&marker).unwrap(),
            weird.to_str().unwrap()
        );
        assert!(!std::path::Path::new("pwned").exists());

        let slow = PublishCommand {
            argv: vec!["sleep".into(), "30".into()],
            timeout: Duration::from_millis(200),
        };
        let e = run_publish(&slow, &sink("a.env")).await.unwrap_err();
        assert!(e.contains("did not finish"), "{e}");
    }
}
