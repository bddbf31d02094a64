//! Rotating the application's secret-id without downtime.
//!
//! # Order of steps (the invariant: a sink never holds a pair that does not log in)
//!
//! 0. Preflight: every sink passes [`Sink::check`] and is locked against other writers on
//!    this host ([`crate::lock`]: rotations and deliveries of one sink run one at a time),
//!    holds a pair (or, for [`replace_credentials`], may hold none), and that pair's role-id
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
//!    the only one in this crate: it is the delay the operator asked for ([`default_grace`]:
//!    150 s with a Kubernetes Secret, 30 s with env files), so that consumers re-read the
//!    sink (a mounted Kubernetes Secret refreshes within about a minute) before the old
//!    secret-id stops working. It synchronises nothing, and is skipped when nothing is to
//!    be destroyed.
//! 7. [`RotateStep::PreviousDestroyed`]: the sinks are read back once more (a writer on
//!    another host may have replaced them: then nothing is destroyed), and the secret-ids
//!    they held are destroyed by accessor and looked up again to prove they are gone.
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
//! [`DestroyScope::AllOthers`] destroys every secret-id of the role created before the new
//! one (for a role used by this one consumer only: it also sweeps up leftovers of killed
//! rotations); one created after it belongs to a concurrent delivery and is spared. Tokens already issued from a destroyed secret-id live on until their TTL.

use crate::credentials::{issue, Credentials, IssueError, IssueOptions, IssuedSecret};
use crate::lock::{lock_sinks, LockError};
use crate::login::{login, revoke_login_token, LoginError};
use crate::pair::CredentialPair;
use crate::publish::{run_publish, PublishCommand};
use crate::sink::{Sink, SinkError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use vaultops_api::{ApiError, NodeClient};

/// The default grace with env files only: the file is replaced by rename on the
/// consumer's own host, so a consumer that reads it at each login sees the new pair at
/// once; the grace covers a login already under way with the old pair, and the retries of
/// a client that re-reads on a refused login.
pub const ENV_FILE_GRACE: Duration = Duration::from_secs(30);

/// The default grace with a Kubernetes Secret sink: the kubelet refreshes a Secret mounted
/// as a volume on its sync period plus its cache TTL (about a minute by default), so pods
/// see the new files up to that long after `kubectl apply`.
pub const KUBERNETES_GRACE: Duration = Duration::from_secs(150);

/// The grace that lets every consumer of `sinks` see the new pair before the old one is
/// destroyed: [`KUBERNETES_GRACE`] when a Secret manifest is among them, else
/// [`ENV_FILE_GRACE`].
///
/// It is NOT the role's token TTL: tokens issued from the old secret-id keep working
/// until their own TTL whatever happens to it; what the old secret-id serves is the next
/// *login*, and a consumer that reads its credentials at each login needs them valid only
/// until the new ones have reached it. A consumer that read them once at start needs a
/// restart instead (within the grace, e.g. through the publish command): no grace helps it.
pub fn default_grace(sinks: &[Sink]) -> Duration {
    if sinks.iter().any(|s| matches!(s, Sink::K8sSecret(_))) {
        KUBERNETES_GRACE
    } else {
        ENV_FILE_GRACE
    }
}

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

/// How to rotate.
#[derive(Debug, Clone, Default)]
pub struct RotateOptions {
    /// Wait between publishing and destroying the previous secret-ids (callers usually
    /// take [`default_grace`]; skipped when nothing is to be destroyed).
    pub grace: Duration,
    /// How long to wait for another process writing the same sinks (see [`crate::lock`]).
    pub lock_wait: Duration,
    /// Called when a sink's lock is held by another process (progress output).
    pub on_lock_wait: Option<fn(&Path)>,
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
    /// It no longer existed (expired, destroyed before, or destroyed by another writer of a
    /// sink that shared it).
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
    /// With [`DestroyScope::AllOthers`]: accessors created after the new secret-id, left
    /// alone (a concurrent delivery or rotation owns them).
    pub others_spared: Vec<String>,
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
    /// Another process is writing the same sinks; nothing was changed.
    #[error("the sinks are busy; nothing was changed")]
    Lock(#[source] LockError),
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
    /// Just before destroying, a sink no longer held the new pair: another writer replaced
    /// it. Nothing was destroyed.
    #[error("{sink} no longer holds the pair this rotation wrote (another delivery or rotation replaced it); nothing was destroyed: check who writes it, then rotate again")]
    Superseded {
        /// The sink.
        sink: String,
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
                | RotateError::Superseded { .. }
                | RotateError::Publish { .. }
                | RotateError::Destroy { .. }
                | RotateError::StillExists { .. }
        )
    }
}

/// Rotates the secret-id held by `sinks` (all of them receive the same new pair). See the
/// module docs for the order of steps and what is destroyed. Every sink must already hold
/// a pair of `role`.
pub async fn rotate(
    client: &NodeClient,
    mount: &str,
    role: &str,
    sinks: &[Sink],
    opts: &RotateOptions,
) -> Result<RotateReport, RotateError> {
    run(client, mount, role, sinks, opts, Held::Required)
        .await
        .map(|(report, _)| report)
}

/// Delivers new credentials to `sinks` that may hold nothing yet (`vaultops approle
/// credentials`): the same steps as [`rotate`], so that a pair of `role` a sink held before
/// is retired after the grace instead of staying valid forever. A sink that holds another
/// role's pair is overwritten with a warning, and that pair is left alone. Returns the
/// report and the new credentials.
pub async fn replace_credentials(
    client: &NodeClient,
    mount: &str,
    role: &str,
    sinks: &[Sink],
    opts: &RotateOptions,
) -> Result<(RotateReport, Credentials), RotateError> {
    run(client, mount, role, sinks, opts, Held::Optional).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Held {
    /// Every sink must hold a pair of the role (rotation).
    Required,
    /// A sink may hold nothing or another role's pair (first delivery, replacement).
    Optional,
}

async fn run(
    client: &NodeClient,
    mount: &str,
    role: &str,
    sinks: &[Sink],
    opts: &RotateOptions,
    mode: Held,
) -> Result<(RotateReport, Credentials), RotateError> {
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

    // 0. Preflight: nothing changes before every sink is usable, locked against other
    // writers on this host, and its pair understood.
    for s in sinks {
        s.check().map_err(RotateError::Sink)?;
    }
    let on_wait = |p: &Path| {
        tracing::warn!(lock = %p.display(), "another vaultops process writes this sink; waiting");
        if let Some(f) = opts.on_lock_wait {
            f(p);
        }
    };
    let _locks = lock_sinks(sinks, opts.lock_wait, &on_wait)
        .await
        .map_err(RotateError::Lock)?;
    let mut held = Vec::with_capacity(sinks.len());
    for s in sinks {
        match s.read_pair() {
            Ok(stored) => held.push(Some(stored.pair)),
            Err(SinkError::NoCredentials { .. }) if mode == Held::Optional => held.push(None),
            Err(e) => return Err(RotateError::Sink(e)),
        }
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
    let mut warnings = Vec::new();
    for (s, pair) in sinks.iter().zip(held.iter_mut()) {
        let Some(p) = pair.as_ref() else { continue };
        if p.role_id == role_id {
            continue;
        }
        if mode == Held::Required {
            return Err(RotateError::ForeignRoleId {
                sink: s.to_string(),
                role: role.to_owned(),
                mount: mount.to_owned(),
                expected: role_id,
                found: p.role_id.clone(),
            });
        }
        warnings.push(format!(
            "{s} held a pair of another role (role-id {}); it is replaced and left valid: destroy it from its own role if it is no longer used",
            p.role_id
        ));
        *pair = None;
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
        let back = still_holds(s, &new_pair).map_err(|what| RotateError::ReadBack {
            sink: s.to_string(),
            what,
        })?;
        let auth = login(client, mount, &back)
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

    // 6. The grace period: consumers re-read the sinks (see [`default_grace`]). A
    // deliberate delay, not a wait for a condition; pointless when nothing is destroyed.
    let destroys = !previous_accessors.is_empty() || opts.destroy == DestroyScope::AllOthers;
    let grace = if destroys { opts.grace } else { Duration::ZERO };
    if !grace.is_zero() {
        tokio::time::sleep(grace).await;
    }
    step(RotateStep::GraceElapsed);

    // 7. Destroy what the sinks held (or every other secret-id of the role), unless a
    // writer on another host replaced a sink meanwhile.
    for s in sinks {
        still_holds(s, &new_pair).map_err(|_| RotateError::Superseded {
            sink: s.to_string(),
        })?;
    }
    let mut previous = previous;
    for p in &mut previous {
        let Some(acc) = &p.accessor else { continue };
        p.outcome = destroy_and_confirm(client, mount, role, acc).await?;
    }
    let (others_destroyed, others_spared) = if opts.destroy == DestroyScope::AllOthers {
        destroy_all_older(client, mount, role, &new_accessor, &previous_accessors).await?
    } else {
        (Vec::new(), Vec::new())
    };
    step(RotateStep::PreviousDestroyed);

    warnings.extend(creds.warnings.iter().cloned());
    let report = RotateReport {
        node: client.addr().to_owned(),
        mount: mount.to_owned(),
        role: role.to_owned(),
        role_id,
        new_accessor,
        sinks: written,
        previous,
        others_destroyed,
        others_spared,
        grace_secs: grace.as_secs(),
        warnings,
    };
    Ok((report, creds))
}

/// Reads `sink` back: it must hold `expected`. `Err` says what went wrong.
fn still_holds(sink: &Sink, expected: &CredentialPair) -> Result<CredentialPair, String> {
    let back = sink
        .read_pair()
        .map_err(|e| format!("cannot be read back: {e}"))?;
    if back.pair != *expected {
        return Err("reads back a different pair (was it changed concurrently?)".into());
    }
    Ok(back.pair)
}

/// [`DestroyScope::AllOthers`]: destroys every secret-id of the role created before the
/// new one (except the ones already handled); spares the ones created after it, which
/// belong to a concurrent delivery. Returns (destroyed, spared).
async fn destroy_all_older(
    client: &NodeClient,
    mount: &str,
    role: &str,
    new_accessor: &str,
    handled: &[String],
) -> Result<(Vec<String>, Vec<String>), RotateError> {
    let fail = |accessor: &str, source| RotateError::Destroy {
        mount: mount.to_owned(),
        role: role.to_owned(),
        accessor: accessor.to_owned(),
        source,
    };
    let created = |info: Option<vaultops_api::SecretIdInfo>| {
        info.and_then(|i| OffsetDateTime::parse(&i.creation_time, &Rfc3339).ok())
    };
    let ours = created(
        client
            .approle_lookup_secret_id_accessor(mount, role, new_accessor)
            .await
            .map_err(|e| fail(new_accessor, e))?,
    );
    let all = client
        .approle_list_secret_id_accessors(mount, role)
        .await
        .map_err(|e| fail("(listing the role's accessors)", e))?;
    let (mut destroyed, mut spared) = (Vec::new(), Vec::new());
    for acc in all {
        if acc == new_accessor || handled.contains(&acc) {
            continue;
        }
        let info = client
            .approle_lookup_secret_id_accessor(mount, role, &acc)
            .await
            .map_err(|e| fail(&acc, e))?;
        let Some(when) = created(info) else { continue }; // gone meanwhile
        if ours.is_some_and(|ours| when > ours) {
            spared.push(acc);
            continue;
        }
        if destroy_and_confirm(client, mount, role, &acc).await? == PreviousOutcome::Destroyed {
            destroyed.push(acc);
        }
    }
    Ok((destroyed, spared))
}

/// The distinct secret-ids the sinks hold, with their accessors (looked up by value).
async fn previous_secret_ids(
    client: &NodeClient,
    mount: &str,
    role: &str,
    sinks: &[Sink],
    held: &[Option<CredentialPair>],
) -> Result<Vec<PreviousSecretId>, RotateError> {
    let mut by_secret: BTreeMap<&str, (&CredentialPair, Vec<usize>)> = BTreeMap::new();
    for (i, pair) in held.iter().enumerate() {
        let Some(pair) = pair else { continue };
        by_secret
            .entry(pair.secret_id.expose())
            .or_insert((pair, Vec::new()))
            .1
            .push(i);
    }
    let mut out = Vec::new();
    for (pair, idx) in by_secret.values() {
        let first = idx[0];
        let info = client
            .approle_lookup_secret_id(mount, role, &pair.secret_id)
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

/// Destroys a secret-id by accessor and proves it is gone. One that another writer
/// destroyed first (two sinks sharing a secret-id, rotated separately; the server answers
/// 500 "failed to find accessor entry") is [`PreviousOutcome::AlreadyGone`], not an error.
async fn destroy_and_confirm(
    client: &NodeClient,
    mount: &str,
    role: &str,
    accessor: &str,
) -> Result<PreviousOutcome, RotateError> {
    let fail = |source| RotateError::Destroy {
        mount: mount.to_owned(),
        role: role.to_owned(),
        accessor: accessor.to_owned(),
        source,
    };
    if let Err(e) = client
        .approle_destroy_secret_id_accessor(mount, role, accessor)
        .await
    {
        let gone = client
            .approle_lookup_secret_id_accessor(mount, role, accessor)
            .await
            .is_ok_and(|info| info.is_none());
        return if gone {
            Ok(PreviousOutcome::AlreadyGone)
        } else {
            Err(fail(e))
        };
    }
    let still = client
        .approle_lookup_secret_id_accessor(mount, role, accessor)
        .await
        .map_err(fail)?;
    if still.is_some() {
        return Err(RotateError::StillExists {
            accessor: accessor.to_owned(),
        });
    }
    Ok(PreviousOutcome::Destroyed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{EnvFileSink, K8sSecretSink};

    #[test]
    fn steps_are_numbered_in_order() {
        let n: Vec<usize> = RotateStep::ALL.iter().map(|s| s.number()).collect();
        assert_eq!(n, [1, 2, 3, 4, 5, 6, 7]);
        assert!(!RotateStep::NewPairVerified.sinks_updated());
        assert!(RotateStep::SinksWritten.sinks_updated());
    }

    #[test]
    fn the_default_grace_covers_how_the_sinks_reach_consumers() {
        let env = Sink::EnvFile(EnvFileSink::new("a.env"));
        let k8s = Sink::K8sSecret(K8sSecretSink {
            path: "s.yaml".into(),
            namespace: None,
            name: None,
        });
        assert_eq!(default_grace(std::slice::from_ref(&env)), ENV_FILE_GRACE);
        assert_eq!(default_grace(&[env, k8s]), KUBERNETES_GRACE);
        assert!(KUBERNETES_GRACE > ENV_FILE_GRACE && !ENV_FILE_GRACE.is_zero());
    }
}
