//! Unsealing one node with key shares, threshold-aware, with the failures named.

use crate::error::BootstrapError;
use crate::wait;
use std::time::Duration;
use vaultops_api::{NodeClient, UnsealKey};

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
    let fail = |source| BootstrapError::Unseal {
        node: node.addr().to_owned(),
        source,
    };
    let status = node.seal_status().await.map_err(fail)?;
    if !status.initialized {
        return Err(BootstrapError::UnsealNotInitialized {
            node: node.addr().to_owned(),
        });
    }
    if !status.sealed {
        return Ok(UnsealOutcome::AlreadyUnsealed);
    }
    if status.progress > 0 {
        tracing::info!(
            node = node.addr(),
            progress = status.progress,
            "resetting a half-finished unseal attempt"
        );
        node.unseal_reset().await.map_err(fail)?;
    }
    let mut distinct: Vec<&UnsealKey> = Vec::new();
    for k in keys {
        if !distinct.contains(&k) {
            distinct.push(k);
        }
    }
    for (i, key) in distinct.iter().enumerate() {
        match node.unseal(key).await {
            Ok(s) if !s.sealed => {
                return Ok(UnsealOutcome::Unsealed { shares_used: i + 1 });
            }
            // The threshold was reached (progress went back to 0 without an error) but the
            // node is still finishing: a raft node that (re)joins answers `sealed: true`
            // until it has caught up with the leader. Wait for it, with a deadline.
            Ok(s) if s.progress == 0 && i + 1 >= s.t as usize => {
                wait_unsealed(node, FINISH_DEADLINE).await?;
                return Ok(UnsealOutcome::Unsealed { shares_used: i + 1 });
            }
            Ok(_) => {}
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
            Err(e) => return Err(fail(e)),
        }
    }
    Err(BootstrapError::UnsealNotEnoughKeys {
        node: node.addr().to_owned(),
        given: distinct.len(),
        threshold: status.t,
    })
}

async fn wait_unsealed(node: &NodeClient, deadline: Duration) -> Result<(), BootstrapError> {
    wait::until(
        "the node to finish unsealing after the threshold was reached",
        deadline,
        crate::nodes::POLL,
        || async {
            match node.seal_status().await {
                Ok(s) if !s.sealed => Ok(Some(())),
                Ok(s) => Err(format!("sealed, progress {}/{}", s.progress, s.t)),
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

/// Submits `keys` to `node` WITHOUT resetting an attempt in progress: for key ceremonies
/// where several holders each bring fewer shares than the threshold. Stops as soon as the
/// node opens.
pub async fn submit_shares(
    node: &NodeClient,
    keys: &[UnsealKey],
) -> Result<ShareProgress, BootstrapError> {
    let fail = |source| BootstrapError::Unseal {
        node: node.addr().to_owned(),
        source,
    };
    let status = node.seal_status().await.map_err(fail)?;
    if !status.initialized {
        return Err(BootstrapError::UnsealNotInitialized {
            node: node.addr().to_owned(),
        });
    }
    if !status.sealed {
        return Ok(ShareProgress::AlreadyUnsealed);
    }
    let mut last = status;
    for key in keys {
        match node.unseal(key).await {
            Ok(s) if !s.sealed => return Ok(ShareProgress::Unsealed),
            Ok(s) if s.progress == 0 => {
                wait_unsealed(node, FINISH_DEADLINE).await?;
                return Ok(ShareProgress::Unsealed);
            }
            Ok(s) => last = s,
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
            Err(e) => return Err(fail(e)),
        }
    }
    Ok(ShareProgress::Pending {
        progress: last.progress,
        threshold: last.t,
    })
}
