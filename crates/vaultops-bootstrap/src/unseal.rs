//! Unsealing one node with key shares, threshold-aware, with the failures named.
//!
//! Two entry points share one submission loop: [`unseal_node`] (automation: it has the
//! whole threshold, so it resets a stale attempt first) and [`submit_shares`] (key
//! ceremonies: each holder brings part of the threshold, so others' progress is kept);
//! [`migrate_unseal_node`] is [`unseal_node`] with `migrate: true` (seal migration).

use crate::error::BootstrapError;
use crate::wait;
use std::time::Duration;
use vaultops_api::{NodeClient, SealStatus, UnsealKey};

/// How long a node may take to open once the threshold of shares was accepted.
const FINISH_DEADLINE: Duration = Duration::from_secs(60);

/// What happened to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsealOutcome {
    /// It was already unsealed: nothing sent.
    AlreadyUnsealed,
    /// It is unsealed now, after this many shares.
    Unsealed { shares_used: usize },
}

/// Where a node stands after [`submit_shares`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareProgress {
    /// Already unsealed: nothing sent.
    AlreadyUnsealed,
    /// Opened by these shares.
    Unsealed,
    /// Still sealed: `progress` of `threshold` shares given so far (by anyone).
    Pending { progress: u8, threshold: u8 },
}

/// Unseals `node` with `keys`: skips an unsealed node, resets a half-finished attempt (its
/// shares are unknown to us), then submits shares until the node opens.
///
/// A wrong share (or one from another cluster) is only detected by the server when the
/// threshold is reached; it answers 400 and resets progress, which becomes
/// [`BootstrapError::UnsealWrongKeys`].
pub async fn unseal_node(
    node: &NodeClient,
    keys: &[UnsealKey],
) -> Result<UnsealOutcome, BootstrapError> {
    let Some(status) = sealed_status(node).await? else {
        return Ok(UnsealOutcome::AlreadyUnsealed);
    };
    if status.progress > 0 {
        tracing::info!(
            node = node.addr(),
            progress = status.progress,
            "resetting a half-finished unseal attempt"
        );
        node.unseal_reset().await.map_err(|e| fail(node, e))?;
    }
    let distinct = distinct(keys);
    match submit(node, &distinct, Mode::Plain).await? {
        Submitted::Opened { shares_used } => Ok(UnsealOutcome::Unsealed { shares_used }),
        Submitted::Pending(_) => Err(BootstrapError::UnsealNotEnoughKeys {
            node: node.addr().to_owned(),
            given: distinct.len(),
            threshold: status.t,
        }),
    }
}

/// Submits `keys` to `node` WITHOUT resetting an attempt in progress: for key ceremonies
/// where several holders each bring fewer shares than the threshold. Stops as soon as the
/// node opens.
pub async fn submit_shares(
    node: &NodeClient,
    keys: &[UnsealKey],
) -> Result<ShareProgress, BootstrapError> {
    let Some(status) = sealed_status(node).await? else {
        return Ok(ShareProgress::AlreadyUnsealed);
    };
    Ok(match submit(node, &distinct(keys), Mode::Plain).await? {
        Submitted::Opened { .. } => ShareProgress::Unsealed,
        Submitted::Pending(last) => {
            let last = last.unwrap_or(status);
            ShareProgress::Pending {
                progress: last.progress,
                threshold: last.t,
            }
        }
    })
}

/// Unseals `node`, restarted with a new seal configuration (`sys/seal-status` shows
/// `migration: true`), with the OLD seal's shares and `migrate: true` (seal migration). Like
/// [`unseal_node`]: skips an unsealed node, resets a half-finished attempt, names wrong keys.
pub async fn migrate_unseal_node(
    node: &NodeClient,
    keys: &[UnsealKey],
) -> Result<UnsealOutcome, BootstrapError> {
    let Some(status) = sealed_status(node).await? else {
        return Ok(UnsealOutcome::AlreadyUnsealed);
    };
    if status.progress > 0 {
        node.unseal_reset().await.map_err(|e| fail(node, e))?;
    }
    let distinct = distinct(keys);
    match submit(node, &distinct, Mode::Migrate).await? {
        Submitted::Opened { shares_used } => Ok(UnsealOutcome::Unsealed { shares_used }),
        Submitted::Pending(_) => Err(BootstrapError::UnsealNotEnoughKeys {
            node: node.addr().to_owned(),
            given: distinct.len(),
            threshold: status.t,
        }),
    }
}

/// A plain unseal, or one with `migrate: true`.
#[derive(Clone, Copy)]
enum Mode {
    Plain,
    Migrate,
}

fn fail(node: &NodeClient, source: vaultops_api::ApiError) -> BootstrapError {
    BootstrapError::Unseal {
        node: node.addr().to_owned(),
        source,
    }
}

/// The seal status of a sealed, initialized node; `None` when it is already unsealed.
async fn sealed_status(node: &NodeClient) -> Result<Option<SealStatus>, BootstrapError> {
    let status = node.seal_status().await.map_err(|e| fail(node, e))?;
    if !status.initialized {
        return Err(BootstrapError::UnsealNotInitialized {
            node: node.addr().to_owned(),
        });
    }
    Ok(status.sealed.then_some(status))
}

/// The keys without repeats (the server ignores a repeated share, so it must not count).
fn distinct(keys: &[UnsealKey]) -> Vec<&UnsealKey> {
    let mut out: Vec<&UnsealKey> = Vec::new();
    for k in keys {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

enum Submitted {
    Opened {
        shares_used: usize,
    },
    /// Still sealed; the last status the server sent, if any share was sent.
    Pending(Option<SealStatus>),
}

/// Sends shares one by one until the node opens.
async fn submit(
    node: &NodeClient,
    keys: &[&UnsealKey],
    mode: Mode,
) -> Result<Submitted, BootstrapError> {
    let mut last = None;
    for (i, key) in keys.iter().enumerate() {
        let sent = match mode {
            Mode::Plain => node.unseal(key).await,
            Mode::Migrate => node.unseal_migrate(key).await,
        };
        match sent {
            Ok(s) if !s.sealed => return Ok(Submitted::Opened { shares_used: i + 1 }),
            // The threshold was reached (progress went back to 0 without an error) but the
            // node is still finishing: a raft node that (re)joins answers `sealed: true`
            // until it has caught up with the leader. Wait for it, with a deadline.
            Ok(s) if s.progress == 0 => {
                wait_unsealed(node, FINISH_DEADLINE).await?;
                return Ok(Submitted::Opened { shares_used: i + 1 });
            }
            Ok(s) => last = Some(s),
            Err(e)
                if e.status() == Some(400)
                    && e.server_errors()
                        .iter()
                        .any(|m| m.contains("message authentication failed")) =>
            {
                return Err(BootstrapError::UnsealWrongKeys {
                    node: node.addr().to_owned(),
                    message: e.server_errors().join("; "),
                });
            }
            Err(e) => return Err(fail(node, e)),
        }
    }
    Ok(Submitted::Pending(last))
}

async fn wait_unsealed(node: &NodeClient, deadline: Duration) -> Result<(), BootstrapError> {
    wait::until(
        "the node to finish unsealing after the threshold was reached",
        deadline,
        crate::nodes::POLL,
        // Health, not seal-status: a standby unsealed with `migrate` answers seal-status
        // with HTTP 500 until the migration completes on the active node.
        || async {
            match node.health().await {
                Ok(h) if !h.body.sealed => Ok(Some(())),
                Ok(h) => Err(format!("sealed ({})", h.role)),
                Err(e) => Err(e.kind.to_string()),
            }
        },
    )
    .await
    .map_err(|source| BootstrapError::Wait {
        step: "unseal",
        source,
    })
}
