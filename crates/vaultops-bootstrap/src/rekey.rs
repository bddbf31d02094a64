//! Unseal-key rotation (`vaultops rekey`) and barrier key rotation
//! (`vaultops rotate-encryption-key`), talking to node URLs only.
//!
//! The rekey always runs WITH verification (see `vaultops_api::RekeyStatus`): the final old
//! share returns the new shares but activates nothing; the caller persists them (the new
//! custody bundle) and only then [`rekey_verify`] gives a threshold of the NEW shares, which
//! is the step that makes the old shares stop working. A failure before that step leaves the
//! old shares valid (cancel with [`rekey_cancel`]).
//!
//! Steps, each re-checking the cluster: [`plan_rekey`] (health, engine, current split, any
//! attempt in progress), [`rekey_collect`] (start or resume with the old shares), persist
//! (the caller), [`rekey_verify`], then [`probe_shares`] to show without sealing anything
//! that the old shares are refused and the new ones accepted (a throwaway attempt with
//! verification, always cancelled: it changes nothing).

use crate::nodes::NodeSet;
use crate::status::cluster_status;
use serde::Serialize;
use std::time::Duration;
use vaultops_api::{
    ApiError, KeySplit, KeyStatus, NodeClient, NodeRole, RekeyEndpoint, RekeyRequest, RekeyStatus,
    UnsealKey,
};
use vaultops_types::Engine;

/// A rekey or encryption-key rotation step failed.
#[derive(Debug, thiserror::Error)]
pub enum RekeyError {
    #[error("refusing to start: the cluster is not healthy: {}", problems.join("; "))]
    Unhealthy { problems: Vec<String> },
    #[error("{node} uses the {seal_type} seal: its recovery keys are not rotated by vaultops rekey (only Shamir unseal keys)")]
    NotShamir { node: String, seal_type: String },
    #[error("{node}: a rekey attempt to {n} shares / threshold {t} is in progress ({progress} old share(s) given); run vaultops rekey --cancel (the current shares stay valid) or re-run with --key-shares {n} --key-threshold {t} to resume it")]
    OtherAttempt {
        node: String,
        n: u8,
        t: u8,
        progress: u8,
    },
    #[error("{node}: the current shares were refused at the threshold (they are not this cluster's current shares: an older bundle, or another cluster's); the attempt was cancelled: {message}")]
    WrongOldShares { node: String, message: String },
    #[error("{node}: the new shares of the attempt in progress await verification; give them (the new bundle) to resume, or --cancel (the current shares stay valid)")]
    AwaitingVerification { node: String },
    #[error("{node}: {given} old share(s) accepted, {required} needed; the attempt stays in progress: re-run with more shares to resume, or --cancel")]
    NotEnoughOldShares {
        node: String,
        given: u8,
        required: u8,
    },
    #[error("{node}: {given} new share(s) accepted in verification, {threshold} needed; re-run with more of the new shares")]
    NotEnoughNewShares {
        node: String,
        given: u8,
        threshold: u8,
    },
    #[error("{node}: the active node changed during the rekey (now {now}); the attempt lived in the old active node's memory: re-run vaultops rekey")]
    LeaderChanged { node: String, now: String },
    #[error("{step} on {node} failed")]
    Api {
        step: &'static str,
        node: String,
        #[source]
        source: ApiError,
    },
    #[error("the new shares are active but not yet applied by every node: restart no node until they are (vaultops status)")]
    NotReplicated {
        #[source]
        source: crate::wait::WaitTimeout,
    },
    #[error("the new shares were NOT saved: {reason}; {cancelled}")]
    NotPersisted { reason: String, cancelled: String },
    #[error("{node}: the encryption key term is still {before} after sys/rotate")]
    TermUnchanged { node: String, before: u64 },
}

/// What a rekey would do, and what it found.
#[derive(Debug, Clone, Serialize)]
pub struct RekeyPlan {
    /// The active node: the attempt lives in its memory.
    pub active: String,
    pub engine: Engine,
    /// `sys/rotate/root` (OpenBao) or `sys/rekey` (Vault).
    pub endpoint: &'static str,
    pub current_shares: u8,
    pub current_threshold: u8,
    pub new_shares: u8,
    pub new_threshold: u8,
    /// The attempt in progress, if any.
    pub in_progress: Option<RekeyStatus>,
    pub steps: Vec<String>,
}

impl RekeyPlan {
    fn ep(&self) -> RekeyEndpoint {
        RekeyEndpoint::for_engine(self.engine)
    }
}

/// The new shares returned by the final old share; nothing is active yet.
#[derive(Debug)]
pub struct Collected {
    pub new_keys: Vec<UnsealKey>,
    pub verification_nonce: String,
}

fn api<'a>(step: &'static str, node: &'a NodeClient) -> impl FnOnce(ApiError) -> RekeyError + 'a {
    move |source| RekeyError::Api {
        step,
        node: node.addr().to_owned(),
        source,
    }
}

/// The active node of a healthy cluster, or why there is none.
pub async fn healthy_active(nodes: &NodeSet) -> Result<(NodeClient, Engine), RekeyError> {
    let status = cluster_status(nodes).await;
    if !status.healthy() {
        return Err(RekeyError::Unhealthy {
            problems: status.problems,
        });
    }
    let (i, st) = status
        .nodes
        .iter()
        .enumerate()
        .find(|(_, n)| n.role == Some(NodeRole::Active))
        .expect("a healthy cluster has an active node");
    let engine = st
        .version
        .as_deref()
        .and_then(Engine::detect)
        .unwrap_or(Engine::OpenBao);
    Ok((nodes.nodes()[i].clone(), engine))
}

/// Checks the cluster and reads what a rekey to `new` would start from.
pub async fn plan_rekey(
    nodes: &NodeSet,
    new: KeySplit,
) -> Result<(RekeyPlan, NodeClient), RekeyError> {
    let (node, engine) = healthy_active(nodes).await?;
    let seal = node
        .seal_status()
        .await
        .map_err(api("seal status", &node))?;
    if seal.seal_type != "shamir" {
        return Err(RekeyError::NotShamir {
            node: node.addr().to_owned(),
            seal_type: seal.seal_type,
        });
    }
    let ep = RekeyEndpoint::for_engine(engine);
    let status = node
        .rekey_status(ep)
        .await
        .map_err(api("rekey status", &node))?;
    let in_progress = status.started.then_some(status);
    let path = match ep {
        RekeyEndpoint::RotateRoot => "sys/rotate/root",
        RekeyEndpoint::Legacy => "sys/rekey",
    };
    let mut steps = Vec::new();
    match &in_progress {
        Some(a) if !a.verification_nonce.is_empty() => steps.push(format!(
            "resume the attempt in progress: give a threshold of the NEW shares to {path}/verify"
        )),
        Some(a) => steps.push(format!(
            "resume the attempt in progress ({} of {} old shares given) with its nonce",
            a.progress, a.required
        )),
        None => steps.push(format!(
            "start {path}/init: {} shares, threshold {}, require_verification",
            new.shares(),
            new.threshold()
        )),
    }
    steps.push(format!(
        "give {} of the current shares (from the old bundle) to {path}/update",
        seal.t
    ));
    steps.push("write the new shares, encrypted, to a NEW bundle (0600, never over the old one) before anything activates them".into());
    steps.push(format!(
        "give {} of the new shares to {path}/verify: only then the old shares stop working",
        new.threshold()
    ));
    steps
        .push("probe (throwaway attempt, cancelled): old shares refused, new ones accepted".into());
    Ok((
        RekeyPlan {
            active: node.addr().to_owned(),
            engine,
            endpoint: path,
            current_shares: seal.n,
            current_threshold: seal.t,
            new_shares: new.shares(),
            new_threshold: new.threshold(),
            in_progress,
            steps,
        },
        node,
    ))
}

/// Cancels the attempt in progress (before verification completes, the current shares stay
/// valid).
pub async fn rekey_cancel(node: &NodeClient, plan: &RekeyPlan) -> Result<(), RekeyError> {
    node.rekey_cancel(plan.ep())
        .await
        .map_err(api("rekey cancel", node))
}

/// Starts (or resumes) the attempt and gives the old shares until the server returns the new
/// ones (encrypted to `pgp_keys`, one per new share, when given). Nothing is activated: see
/// [`rekey_verify`].
pub async fn rekey_collect(
    node: &NodeClient,
    plan: &RekeyPlan,
    old_keys: &[UnsealKey],
    pgp_keys: &[String],
) -> Result<Collected, RekeyError> {
    let ep = plan.ep();
    let addr = node.addr().to_owned();
    let mut status = match &plan.in_progress {
        Some(a) if !a.verification_nonce.is_empty() => {
            return Err(RekeyError::AwaitingVerification { node: addr })
        }
        Some(a) if a.n != plan.new_shares || a.t != plan.new_threshold => {
            return Err(RekeyError::OtherAttempt {
                node: addr,
                n: a.n,
                t: a.t,
                progress: a.progress,
            })
        }
        Some(a) => a.clone(),
        None => {
            let split = KeySplit::new(plan.new_shares.into(), plan.new_threshold.into())
                .expect("the plan holds a valid split");
            node.rekey_start(
                ep,
                &RekeyRequest {
                    split,
                    pgp_keys: pgp_keys.to_vec(),
                    require_verification: true,
                },
            )
            .await
            .map_err(api("rekey start", node))?
        }
    };
    let nonce = status.nonce.clone();
    for k in distinct(old_keys) {
        if status.complete {
            break;
        }
        match node.rekey_update(ep, k, &nonce).await {
            Ok(s) => status = s,
            // Resuming: this share was given before the interruption.
            Err(e) if already_given(&e) => continue,
            Err(e) if refused_shares(&e) => {
                // The server dropped the shares given; an attempt left behind would only
                // confuse the next run.
                let _ = node.rekey_cancel(ep).await;
                return Err(RekeyError::WrongOldShares {
                    node: addr,
                    message: e.server_errors().join("; "),
                });
            }
            Err(e) => return Err(api("rekey update (old share)", node)(e)),
        }
    }
    if !status.complete {
        // The last answer may predate skipped shares: ask again.
        status = node
            .rekey_status(ep)
            .await
            .map_err(api("rekey status", node))?;
    }
    if !status.complete {
        return Err(RekeyError::NotEnoughOldShares {
            node: addr,
            given: status.progress,
            required: status.required.max(plan.current_threshold),
        });
    }
    Ok(Collected {
        new_keys: status.keys_base64,
        verification_nonce: status.verification_nonce,
    })
}

/// The whole rotation in the order that never loses the keys: [`rekey_collect`], then
/// `persist` (write the new bundle; it returns the new shares to verify with, in clear), then
/// [`rekey_verify`]. When `persist` fails the attempt is cancelled, so the current shares stay
/// valid, and [`RekeyError::NotPersisted`] says whether the cancel worked. Returns the new
/// shares `persist` gave back.
pub async fn rekey_persisted<E: std::fmt::Display>(
    nodes: &NodeSet,
    node: &NodeClient,
    plan: &RekeyPlan,
    old_keys: &[UnsealKey],
    pgp_keys: &[String],
    persist: impl FnOnce(&[UnsealKey]) -> Result<Vec<UnsealKey>, E>,
) -> Result<Vec<UnsealKey>, RekeyError> {
    let collected = rekey_collect(node, plan, old_keys, pgp_keys).await?;
    let keys = match persist(&collected.new_keys) {
        Ok(k) => k,
        Err(e) => {
            let cancelled = rekey_cancel(node, plan).await;
            return Err(RekeyError::NotPersisted {
                reason: e.to_string(),
                cancelled: match cancelled {
                    Ok(()) => "the attempt was cancelled: the current shares stay valid".into(),
                    Err(c) => format!("cancelling the attempt failed too ({}); the new shares are NOT active (verification pending): run vaultops rekey --cancel", vaultops_types::error_report(&c)),
                },
            });
        }
    };
    rekey_verify(nodes, node, plan, &keys).await?;
    Ok(keys)
}

/// Gives the NEW shares to the verification stage: on completion they replace the old ones.
/// Re-checks first that the node holding the attempt is still the active one.
pub async fn rekey_verify(
    nodes: &NodeSet,
    node: &NodeClient,
    plan: &RekeyPlan,
    new_keys: &[UnsealKey],
) -> Result<(), RekeyError> {
    let (active, _) = healthy_active(nodes).await?;
    if active.addr() != node.addr() {
        return Err(RekeyError::LeaderChanged {
            node: node.addr().to_owned(),
            now: active.addr().to_owned(),
        });
    }
    let ep = plan.ep();
    let mut verify = node
        .rekey_verify_status(ep)
        .await
        .map_err(api("rekey verify status", node))?;
    // The verification nonce is the same on every read; take it from the attempt.
    let status = node
        .rekey_status(ep)
        .await
        .map_err(api("rekey status", node))?;
    let nonce = if status.verification_nonce.is_empty() {
        verify.nonce.clone()
    } else {
        status.verification_nonce
    };
    for k in distinct(new_keys) {
        if verify.complete {
            break;
        }
        match node.rekey_verify(ep, k, &nonce).await {
            Ok(v) => verify = v,
            Err(e) if already_given(&e) => continue,
            Err(e) => return Err(api("rekey verify (new share)", node)(e)),
        }
    }
    if !verify.complete {
        verify = node
            .rekey_verify_status(ep)
            .await
            .map_err(api("rekey verify status", node))?;
        return Err(RekeyError::NotEnoughNewShares {
            node: node.addr().to_owned(),
            given: verify.progress,
            threshold: plan.new_threshold,
        });
    }
    wait_replicated(nodes, node, REPLICATION_DEADLINE).await
}

/// How long the new seal configuration may take to reach every node.
const REPLICATION_DEADLINE: Duration = Duration::from_secs(60);

/// Waits until every node has applied the raft log up to the active node's index after the
/// rotation. Measured on OpenBao 2.7.2: a standby killed right after the rotation, before it
/// applied the last entry (the new seal configuration), comes back with the OLD split in
/// `sys/seal-status` while its keyring already needs the new key; and an unsealed standby's
/// `sys/seal-status` keeps showing the old split (a cache), so the index is what is compared.
async fn wait_replicated(
    nodes: &NodeSet,
    active: &NodeClient,
    deadline: Duration,
) -> Result<(), RekeyError> {
    let target = active
        .leader()
        .await
        .map_err(api("leader", active))?
        .raft_applied_index
        .unwrap_or(0);
    crate::wait::until(
        "every node to apply the rotation",
        deadline,
        crate::nodes::POLL,
        || async {
            let mut behind = Vec::new();
            for n in nodes.nodes() {
                match n.leader().await {
                    Ok(l) if l.raft_applied_index.unwrap_or(0) >= target => {}
                    Ok(l) => behind.push(format!(
                        "{} at index {:?} < {target}",
                        n.addr(),
                        l.raft_applied_index
                    )),
                    Err(e) => behind.push(format!("{}: {}", n.addr(), e.kind)),
                }
            }
            if behind.is_empty() {
                Ok(Some(()))
            } else {
                Err(behind.join(", "))
            }
        },
    )
    .await
    .map_err(|source| RekeyError::NotReplicated { source })
}

/// Whether `keys` are (a threshold of) the CURRENT unseal shares, asked without sealing
/// anything: a throwaway attempt with verification is started, the keys are given, and the
/// attempt is cancelled whatever happens (before verification nothing changes). `Ok(false)`
/// when the server refuses them at the threshold. Needs no attempt in progress.
pub async fn probe_shares(
    node: &NodeClient,
    engine: Engine,
    keys: &[UnsealKey],
) -> Result<bool, RekeyError> {
    let ep = RekeyEndpoint::for_engine(engine);
    let seal = node.seal_status().await.map_err(api("seal status", node))?;
    let split = KeySplit::new(seal.n.into(), seal.t.into()).unwrap_or(
        KeySplit::new(seal.t.max(2).into(), seal.t.max(2).into())
            .expect("t..t with t >= 2 is a valid split"),
    );
    let start = node
        .rekey_start(
            ep,
            &RekeyRequest {
                split,
                pgp_keys: Vec::new(),
                require_verification: true,
            },
        )
        .await
        .map_err(api("rekey probe start", node))?;
    let outcome = probe_submit(node, ep, &start, keys).await;
    let cancelled = node
        .rekey_cancel(ep)
        .await
        .map_err(api("rekey probe cancel", node));
    let accepted = outcome?;
    cancelled?;
    Ok(accepted)
}

async fn probe_submit(
    node: &NodeClient,
    ep: RekeyEndpoint,
    start: &RekeyStatus,
    keys: &[UnsealKey],
) -> Result<bool, RekeyError> {
    let mut status = start.clone();
    for k in distinct(keys) {
        match node.rekey_update(ep, k, &start.nonce).await {
            Ok(s) if s.complete => return Ok(true),
            Ok(s) => status = s,
            // The threshold was reached and the shares did not open the root key. Measured on
            // OpenBao 2.7.2: HTTP 400 "failed to read root key: … cipher: message
            // authentication failed". Any other error (a wrong nonce is a 400 too) is not a
            // refusal of the shares.
            Err(e) if status.progress + 1 >= start.required && refused_shares(&e) => {
                tracing::info!(node = node.addr(), error = %e, "probe: shares refused");
                return Ok(false);
            }
            Err(e) => return Err(api("rekey probe update", node)(e)),
        }
    }
    Err(RekeyError::NotEnoughOldShares {
        node: node.addr().to_owned(),
        given: status.progress,
        required: start.required,
    })
}

/// The server refuses a share it already holds for this attempt (a resumed run gives it
/// again): not an error.
fn already_given(e: &ApiError) -> bool {
    e.server_errors()
        .iter()
        .any(|m| m.contains("has already been provided"))
}

/// The server combined a threshold of shares that do not open the root key (HTTP 400
/// "… message authentication failed"; a wrong nonce is a 400 too, and is not this).
fn refused_shares(e: &ApiError) -> bool {
    e.status() == Some(400)
        && e.server_errors()
            .iter()
            .any(|m| m.contains("message authentication failed"))
}

/// The keys without repeats (the server would not count a repeated share).
fn distinct(keys: &[UnsealKey]) -> Vec<&UnsealKey> {
    let mut out: Vec<&UnsealKey> = Vec::new();
    for k in keys {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

/// What `vaultops rotate-encryption-key` did.
#[derive(Debug, Clone, Serialize)]
pub struct EncryptionKeyRotation {
    pub active: String,
    pub before: KeyStatus,
    pub after: KeyStatus,
}

/// Checks the cluster, reads the key term on the active node; with `dry_run` stops there
/// (`after` = `before`), else rotates and shows the term went up.
pub async fn rotate_encryption_key(
    nodes: &NodeSet,
    dry_run: bool,
) -> Result<EncryptionKeyRotation, RekeyError> {
    let (node, _) = healthy_active(nodes).await?;
    let before = node.key_status().await.map_err(api("key status", &node))?;
    if dry_run {
        return Ok(EncryptionKeyRotation {
            active: node.addr().to_owned(),
            after: before.clone(),
            before,
        });
    }
    node.rotate_encryption_key()
        .await
        .map_err(api("rotate encryption key", &node))?;
    let after = node.key_status().await.map_err(api("key status", &node))?;
    if after.term <= before.term {
        return Err(RekeyError::TermUnchanged {
            node: node.addr().to_owned(),
            before: before.term,
        });
    }
    Ok(EncryptionKeyRotation {
        active: node.addr().to_owned(),
        before,
        after,
    })
}

/// The policy `vaultops rekey` needs on OpenBao (no `sudo`, no root token): the
/// authenticated rotate-keys paths. `sys/health`, `sys/seal-status` and `sys/leader` are
/// unauthenticated. On Vault `sys/rekey/*` takes no token at all.
pub const REKEY_POLICY: &str = r#"# vaultops rekey (OpenBao sys/rotate/root/*)
path "sys/rotate/root/init" {
  capabilities = ["read", "update", "delete"]
}
path "sys/rotate/root/update" {
  capabilities = ["update"]
}
path "sys/rotate/root/verify" {
  capabilities = ["read", "update", "delete"]
}
"#;

/// The policy `vaultops rotate-encryption-key` needs: `sys/rotate` is a `sudo` path.
pub const ROTATE_ENCRYPTION_KEY_POLICY: &str = r#"# vaultops rotate-encryption-key
path "sys/rotate" {
  capabilities = ["update", "sudo"]
}
path "sys/key-status" {
  capabilities = ["read"]
}
"#;
