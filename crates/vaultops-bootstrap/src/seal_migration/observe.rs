//! The I/O of the seal migration: reading every node's seal ([`observe_seal`]), the command's
//! own steps ([`seal_migration_step`]: migrate-unseal, unseal, step-down) and the check
//! between steps with a deadline ([`check_seal_migration`]), each deciding through the pure
//! [`next_seal_action`].

use std::time::Duration;

use vaultops_api::{ApiError, NodeClient, NodeRole, UnsealKey};

use super::{next_seal_action, NodeSeal, SealAction, SealKind, SealNodeView, SealView};
use crate::error::BootstrapError;
use crate::nodes::{NodeSet, POLL};
use crate::unseal::{migrate_unseal_node, unseal_node};
use crate::upgrade::read_autopilot;
use crate::wait::{self, WaitTimeout};

/// A seal-migration step could not be done.
#[derive(Debug, thiserror::Error)]
pub enum SealMigrationError {
    /// The cluster is not ready (every reason named), or the next step is the operator's.
    #[error("seal migrate {step}: not now: {}", reasons.join("; "))]
    NotNow {
        step: &'static str,
        reasons: Vec<String>,
    },
    /// The migration asked for is never done by this command.
    #[error("seal migrate: refused: {}", reasons.join("; "))]
    Refused { reasons: Vec<String> },
    /// The unseal with `migrate` (or the plain unseal) of a node failed.
    #[error("seal migrate: unsealing {node} failed (migrate: {migrate})")]
    Unseal {
        node: String,
        migrate: bool,
        #[source]
        source: BootstrapError,
    },
    /// The server refused or failed the step-down.
    #[error(
        "seal migrate: step-down of {node} failed (the token needs update and sudo on sys/step-down)"
    )]
    StepDown {
        node: String,
        #[source]
        source: ApiError,
    },
    /// After the step-down no node on the target seal became active before the deadline.
    #[error("seal migrate: after the step-down of {node}, no node on the {target} seal became active in time")]
    NewActive {
        node: String,
        target: SealKind,
        #[source]
        source: WaitTimeout,
    },
    /// The check between steps did not pass before its deadline.
    #[error("seal migrate check: the cluster did not become ready for the next step in time")]
    CheckFailed {
        #[source]
        source: WaitTimeout,
    },
}

/// Reads every node's seal (concurrently; unauthenticated) and autopilot's state from the
/// active node (the token of [`super::SEAL_MIGRATION_POLICY`]).
pub async fn observe_seal(nodes: &NodeSet) -> SealView {
    let handles: Vec<_> = nodes
        .nodes()
        .iter()
        .cloned()
        .map(|n| tokio::spawn(async move { node_seal(&n).await }))
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("seal status task panicked"));
    }
    let active: Vec<usize> = out
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            matches!(
                n.seal,
                NodeSeal::Unsealed {
                    role: NodeRole::Active,
                    ..
                }
            )
        })
        .map(|(i, _)| i)
        .collect();
    let (autopilot, autopilot_error) = match active[..] {
        [i] => read_autopilot(&nodes.nodes()[i]).await,
        _ => (None, Some("no single active node to ask".to_owned())),
    };
    SealView {
        nodes: out,
        autopilot,
        autopilot_error,
    }
}

/// One node's seal. Never fails: an unreachable node is a state.
async fn node_seal(n: &NodeClient) -> SealNodeView {
    let seal = match n.seal_status().await {
        Ok(s) if !s.initialized => NodeSeal::Uninitialized,
        Ok(s) if s.sealed => NodeSeal::Sealed {
            seal_type: s.seal_type,
            migration: s.migration,
        },
        Ok(s) => match n.health().await {
            Ok(h) if !h.body.sealed => NodeSeal::Unsealed {
                seal_type: s.seal_type,
                role: h.role,
            },
            // Sealed between the two requests: the next observation says how.
            Ok(_) => NodeSeal::Unreadable {
                error: "sealed while being observed".to_owned(),
            },
            Err(e) => unanswered(&e),
        },
        Err(e) => match mismatch(&e) {
            Some((stored, configured)) => NodeSeal::Mismatch { stored, configured },
            None => unanswered(&e),
        },
    };
    SealNodeView {
        addr: n.addr().to_owned(),
        seal,
    }
}

fn unanswered(e: &ApiError) -> NodeSeal {
    match e.status() {
        None => NodeSeal::Unreachable {
            error: e.kind.to_string(),
        },
        Some(_) => NodeSeal::Unreadable {
            error: e.kind.to_string(),
        },
    }
}

/// `barrier seal type of "A" does not match loaded type of "B"` (a migrated standby) or
/// `… does not match expected type of "B"` (the old active after the migration): the seal
/// stored in the cluster (A) and the node's configured one (B), as OpenBao 2.7.2 words them.
fn mismatch(e: &ApiError) -> Option<(String, String)> {
    e.server_errors().iter().find_map(|m| {
        let rest = m.split("barrier seal type of \"").nth(1)?;
        let (stored, rest) = rest.split_once('"')?;
        let rest = rest.split(" type of \"").nth(1)?;
        let (configured, _) = rest.split_once('"')?;
        Some((stored.to_owned(), configured.to_owned()))
    })
}

/// Does the next step when it is the command's (migrate-unseal, unseal, step-down) and returns
/// it; returns the next action without doing anything when it is the operator's
/// ([`SealAction::Reconfigure`]) or [`SealAction::Done`]. Blocked and refused are errors that
/// name every reason. `keys` are the old seal's shares (the same shares on both sides: unseal
/// keys of Shamir, recovery keys of an auto-unseal seal).
pub async fn seal_migration_step(
    nodes: &NodeSet,
    target: SealKind,
    keys: &[UnsealKey],
    deadline: Duration,
) -> Result<SealAction, SealMigrationError> {
    let view = observe_seal(nodes).await;
    let action = next_seal_action(&view, target);
    let client = |addr: &str| nodes.nodes().iter().find(|c| c.addr() == addr);
    match &action {
        SealAction::Blocked { reasons } => {
            return Err(SealMigrationError::NotNow {
                step: "step",
                reasons: reasons.clone(),
            })
        }
        SealAction::Refused { reasons } => {
            return Err(SealMigrationError::Refused {
                reasons: reasons.clone(),
            })
        }
        SealAction::MigrateUnseal { node } | SealAction::Unseal { node } => {
            let migrate = matches!(action, SealAction::MigrateUnseal { .. });
            let c = client(node).expect("the view's nodes are the set's");
            let done = if migrate {
                migrate_unseal_node(c, keys).await
            } else {
                unseal_node(c, keys).await
            };
            done.map_err(|source| SealMigrationError::Unseal {
                node: node.clone(),
                migrate,
                source,
            })?;
        }
        SealAction::StepDown { node } => {
            let c = client(node).expect("the view's nodes are the set's");
            c.step_down()
                .await
                .map_err(|source| SealMigrationError::StepDown {
                    node: node.clone(),
                    source,
                })?;
            wait_target_active(nodes, target, deadline)
                .await
                .map_err(|source| SealMigrationError::NewActive {
                    node: node.clone(),
                    target,
                    source,
                })?;
        }
        SealAction::Reconfigure { .. } | SealAction::Done { .. } => {}
    }
    Ok(action)
}

async fn wait_target_active(
    nodes: &NodeSet,
    target: SealKind,
    deadline: Duration,
) -> Result<(), WaitTimeout> {
    wait::until(
        "a node on the target seal to become active",
        deadline,
        POLL,
        || async {
            let view = observe_seal(nodes).await;
            let active: Vec<&String> = view
                .nodes
                .iter()
                .filter_map(|n| match &n.seal {
                    NodeSeal::Unsealed {
                        seal_type,
                        role: NodeRole::Active,
                    } => Some(seal_type),
                    _ => None,
                })
                .collect();
            match active[..] {
                [t] if t == target.as_str() => Ok(Some(())),
                [t] => Err(format!("the active node reports the {t} seal")),
                _ => Err(format!("{} active node(s)", active.len())),
            }
        },
    )
    .await
}

/// The check between steps: waits (polling, until `deadline`) until the next action is not
/// blocked, and returns it (the next step, done, or refused).
pub async fn check_seal_migration(
    nodes: &NodeSet,
    target: SealKind,
    deadline: Duration,
) -> Result<SealAction, SealMigrationError> {
    wait::until(
        "the cluster to be ready for the next seal-migration step",
        deadline,
        POLL,
        || async {
            match next_seal_action(&observe_seal(nodes).await, target) {
                SealAction::Blocked { reasons } => Err(reasons.join("; ")),
                other => Ok(Some(other)),
            }
        },
    )
    .await
    .map_err(|source| SealMigrationError::CheckFailed { source })
}
