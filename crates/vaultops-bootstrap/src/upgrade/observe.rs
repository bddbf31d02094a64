//! The I/O of the rolling upgrade: reading the cluster ([`observe_upgrade`]), the check between
//! steps with a deadline ([`check_upgrade`]), and the step-down of the old active node
//! ([`step_down_for_upgrade`]), each deciding through the pure functions of `upgrade.rs`.

use std::time::Duration;

use vaultops_api::{ApiError, NodeRole};

use super::{next_action, problems, Action, AutopilotView, UpgradeOptions, UpgradeView};
use crate::nodes::{NodeSet, POLL};
use crate::status::cluster_status;
use crate::wait::{self, WaitTimeout};

/// A rolling-upgrade command could not do its step.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// The cluster is not ready for the step (or the step is not the next one).
    #[error("upgrade {step}: not now: {}", reasons.join("; "))]
    NotNow {
        step: &'static str,
        reasons: Vec<String>,
    },
    /// The check between steps did not pass before its deadline.
    #[error("upgrade check: the cluster did not pass before the deadline")]
    CheckFailed {
        #[source]
        source: WaitTimeout,
    },
    /// The server refused or failed the step-down.
    #[error(
        "upgrade step-down of {node} failed (the token needs update and sudo on sys/step-down)"
    )]
    StepDown {
        node: String,
        #[source]
        source: ApiError,
    },
    /// After the step-down no upgraded node became active before the deadline.
    #[error("upgrade step-down of {node}: no node on the target became active in time")]
    NewActive {
        node: String,
        #[source]
        source: WaitTimeout,
    },
}

/// Reads what the upgrade decides on: every node's health and leader answer (unauthenticated),
/// and autopilot's state from the active node (needs the token of [`super::UPGRADE_POLICY`]).
pub async fn observe_upgrade(nodes: &NodeSet) -> UpgradeView {
    let status = cluster_status(nodes).await;
    let active: Vec<usize> = status
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.role == Some(NodeRole::Active))
        .map(|(i, _)| i)
        .collect();
    let (autopilot, autopilot_error) = match active[..] {
        [i] => read_autopilot(&nodes.nodes()[i]).await,
        _ => (None, Some("no single active node to ask".to_owned())),
    };
    UpgradeView {
        nodes: status.nodes,
        autopilot,
        autopilot_error,
    }
}

/// Autopilot's state from `active` as the upgrade and the seal migration judge it, or why it
/// could not be read (the token needs read on `sys/storage/raft/autopilot/state`).
pub(crate) async fn read_autopilot(
    active: &vaultops_api::NodeClient,
) -> (Option<AutopilotView>, Option<String>) {
    match active.autopilot_state().await {
        Ok(state) => (
            Some(AutopilotView {
                healthy: state.healthy,
                failure_tolerance: state.failure_tolerance,
                voters: state.voters.len(),
                unhealthy: state
                    .servers
                    .values()
                    .filter(|s| !s.healthy)
                    .map(|s| s.id.clone())
                    .collect(),
            }),
            None,
        ),
        Err(e) => (
            None,
            Some(format!(
                "{e} (the token needs read on sys/storage/raft/autopilot/state)"
            )),
        ),
    }
}

/// The check between steps: waits (polling, until `deadline`) for the cluster to have no
/// [`problems`] and, when `node` is given, for that node to report the target version. Returns
/// the last view; on timeout the error carries the last reasons.
pub async fn check_upgrade(
    nodes: &NodeSet,
    opts: &UpgradeOptions,
    node: Option<&str>,
    deadline: Duration,
) -> Result<UpgradeView, UpgradeError> {
    wait::until(
        "the cluster to pass the upgrade check",
        deadline,
        POLL,
        || async {
            let view = observe_upgrade(nodes).await;
            let mut reasons = problems(&view, opts);
            if let Some(addr) = node {
                match view.nodes.iter().find(|n| n.addr == addr) {
                    None => reasons.push(format!("{addr} is not one of the nodes given (--addr)")),
                    Some(n) => {
                        let want = opts.target.to_string();
                        let runs = n.version.as_deref().and_then(|v| v.parse().ok());
                        if runs != Some(opts.target) {
                            reasons.push(format!(
                                "{addr} reports version {}, expected {want}",
                                n.version.as_deref().unwrap_or("unknown")
                            ));
                        }
                    }
                }
            }
            if reasons.is_empty() {
                Ok(Some(view))
            } else {
                Err(reasons.join("; "))
            }
        },
    )
    .await
    .map_err(|source| UpgradeError::CheckFailed { source })
}

/// Steps the active node down when that is the next action (every standby on the target, the
/// active below it), then waits until a node on the target is active. Returns the address of
/// the new active node. Refuses (naming why) when the next action is anything else, so a second
/// run after a finished step-down changes nothing.
pub async fn step_down_for_upgrade(
    nodes: &NodeSet,
    opts: &UpgradeOptions,
    deadline: Duration,
) -> Result<String, UpgradeError> {
    let view = observe_upgrade(nodes).await;
    let old = match next_action(&view, opts) {
        Action::StepDown { node, .. } => node,
        other => {
            return Err(UpgradeError::NotNow {
                step: "step-down",
                reasons: vec![describe(&other)],
            })
        }
    };
    let Some(client) = nodes.nodes().iter().find(|c| c.addr() == old) else {
        return Err(UpgradeError::NotNow {
            step: "step-down",
            reasons: vec![format!("{old} is not one of the nodes given")],
        });
    };
    client
        .step_down()
        .await
        .map_err(|source| UpgradeError::StepDown {
            node: old.clone(),
            source,
        })?;
    wait::until(
        "an upgraded node to become active",
        deadline,
        POLL,
        || async {
            let status = cluster_status(nodes).await;
            let active: Vec<_> = status
                .nodes
                .iter()
                .filter(|n| n.role == Some(NodeRole::Active))
                .collect();
            match active[..] {
                [n] if n.version.as_deref().and_then(|v| v.parse().ok()) == Some(opts.target) => {
                    Ok(Some(n.addr.clone()))
                }
                [n] => Err(format!(
                    "{} is active and runs {}",
                    n.addr,
                    n.version.as_deref().unwrap_or("unknown")
                )),
                _ => Err(format!("{} active node(s)", active.len())),
            }
        },
    )
    .await
    .map_err(|source| UpgradeError::NewActive { node: old, source })
}

/// One line for an action that is not the one a command expected.
pub(crate) fn describe(action: &Action) -> String {
    match action {
        Action::Swap { node, from, to, .. } => {
            format!("the next step is the swap of {node} ({from} -> {to}), not a step-down")
        }
        Action::StepDown { node, .. } => format!("the next step is the step-down of {node}"),
        Action::Done { version } => format!("every node already runs {version}"),
        Action::Blocked { reasons } => format!("blocked: {}", reasons.join("; ")),
        Action::Refused { reasons } => reasons.join("; "),
    }
}
