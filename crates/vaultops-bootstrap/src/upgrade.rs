//! Rolling upgrade: the order (standbys one at a time, then a step-down, then the old active),
//! the checks between steps, and the refusal of a downgrade.
//!
//! Everything is decided from what the cluster reports now ([`UpgradeView`], read by
//! [`observe_upgrade`] through the API: `sys/health` and `sys/leader` of every node, autopilot's
//! state from the active node), never from a record of earlier steps: a run interrupted anywhere
//! is finished by running the same command again. The binary swap itself is the operator's
//! (package, image tag, StatefulSet `OnDelete`); [`next_action`] says which node is next.
//!
//! The pure part ([`next_action`], [`problems`], [`plan_steps`]) takes the view and the target
//! and decides; [`observe_upgrade`], [`check_upgrade`] and [`step_down_for_upgrade`] (in
//! `upgrade/observe.rs`) do the I/O. The token needs only [`UPGRADE_POLICY`].

mod observe;

pub(crate) use observe::read_autopilot;
pub use observe::{check_upgrade, observe_upgrade, step_down_for_upgrade, UpgradeError};

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use vaultops_api::NodeRole;

use crate::status::{judge, NodeStatus};

/// The policy a token needs for every `vaultops upgrade` command: autopilot's state (read) and
/// the step-down (`update` with `sudo`). Health, seal status and leader are unauthenticated.
pub const UPGRADE_POLICY: &str = r#"# vaultops upgrade: plan, next, check, step-down
path "sys/storage/raft/autopilot/state" {
  capabilities = ["read"]
}
path "sys/step-down" {
  capabilities = ["update", "sudo"]
}
"#;

/// Default of [`UpgradeOptions::max_lag`]: raft entries a standby may trail the active node by
/// and still count as caught up.
pub const DEFAULT_MAX_LAG: u64 = 250;

/// A server version `MAJOR.MINOR.PATCH` as `sys/health` reports it (`2.7.2`; a leading `v` and
/// a suffix such as `-beta1` or `+ent` are ignored for ordering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

/// A version string that is not `MAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not a server version: expected MAJOR.MINOR.PATCH, e.g. 2.7.2")]
pub struct InvalidVersion {
    pub given: String,
}

impl FromStr for ServerVersion {
    type Err = InvalidVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidVersion {
            given: s.to_owned(),
        };
        let t = s.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let core = t.split(['-', '+', ' ']).next().unwrap_or_default();
        let parts: Vec<u32> = core
            .split('.')
            .map(|p| p.parse::<u32>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        match parts[..] {
            [major, minor, patch] => Ok(Self {
                major,
                minor,
                patch,
            }),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Serialize for ServerVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What autopilot (read from the active node) says.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AutopilotView {
    pub healthy: bool,
    pub failure_tolerance: u32,
    pub voters: usize,
    /// Node ids autopilot does not call healthy.
    pub unhealthy: Vec<String>,
}

/// The cluster as the upgrade sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UpgradeView {
    /// Every node given, in the order given.
    pub nodes: Vec<NodeStatus>,
    /// Autopilot's state, when it could be read.
    pub autopilot: Option<AutopilotView>,
    /// Why autopilot's state could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autopilot_error: Option<String>,
}

/// The target and the tolerances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpgradeOptions {
    pub target: ServerVersion,
    /// Raft entries a standby may trail the active by (see [`DEFAULT_MAX_LAG`]).
    pub max_lag: u64,
}

impl UpgradeOptions {
    pub fn new(target: ServerVersion) -> Self {
        Self {
            target,
            max_lag: DEFAULT_MAX_LAG,
        }
    }
}

/// The one thing to do next (`vaultops upgrade next`; JSON: `{"action": "swap", …}`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Replace the binary of this standby and restart it (then unseal it if it is not
    /// auto-unsealed), then `vaultops upgrade check --node NODE`.
    Swap {
        node: String,
        from: String,
        to: ServerVersion,
        /// Nodes still below the target, this one included.
        remaining: usize,
    },
    /// Every standby runs the target: the active node (still on `from`) must step down
    /// (`vaultops upgrade step-down`); it is swapped next, as a standby.
    StepDown {
        node: String,
        from: String,
        to: ServerVersion,
    },
    /// Every node runs the target and the cluster is healthy.
    Done { version: ServerVersion },
    /// The cluster is not healthy now; fix (or wait for) every reason, then ask again.
    Blocked { reasons: Vec<String> },
    /// The target is older than what a node runs: a downgrade, never done by this command.
    Refused { reasons: Vec<String> },
}

/// Nodes running a version newer than the target, named: a downgrade is refused.
pub fn downgrade_reasons(view: &UpgradeView, target: ServerVersion) -> Vec<String> {
    view.nodes
        .iter()
        .filter_map(|n| {
            let v = n.version.as_deref()?;
            let parsed = v.parse::<ServerVersion>().ok()?;
            (parsed > target).then(|| {
                format!(
                    "downgrade refused: {} runs {v}, newer than the target {target}",
                    n.addr
                )
            })
        })
        .collect()
}

/// Every reason the cluster is not ready for the next step (empty when it is): a node down,
/// sealed or uninitialized, not exactly one active node, a version missing or unreadable, a
/// standby not caught up with the active, autopilot unhealthy or unreadable.
pub fn problems(view: &UpgradeView, opts: &UpgradeOptions) -> Vec<String> {
    let mut p = judge(&view.nodes);
    for n in view.nodes.iter().filter(|n| n.reachable) {
        match n.version.as_deref() {
            None => p.push(format!("{} does not report its version", n.addr)),
            Some(v) => {
                if let Err(e) = v.parse::<ServerVersion>() {
                    p.push(format!("{}: {e}", n.addr));
                }
            }
        }
    }
    let active: Vec<&NodeStatus> = view
        .nodes
        .iter()
        .filter(|n| n.role == Some(NodeRole::Active))
        .collect();
    if let [active] = active[..] {
        match active.raft_applied_index {
            None => p.push(format!(
                "the active node {} does not report its raft applied index",
                active.addr
            )),
            Some(leader) => {
                for n in view
                    .nodes
                    .iter()
                    .filter(|n| n.role == Some(NodeRole::Standby) && n.sealed == Some(false))
                {
                    match n.raft_applied_index {
                        None => p.push(format!(
                            "{} does not report its raft applied index (not caught up?)",
                            n.addr
                        )),
                        Some(i) if leader.saturating_sub(i) > opts.max_lag => p.push(format!(
                            "{} is not caught up: raft applied index {i}, the active's {leader} \
                             (behind by {} > {})",
                            n.addr,
                            leader - i,
                            opts.max_lag
                        )),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    match (&view.autopilot, &view.autopilot_error) {
        (Some(a), _) => {
            if !a.healthy {
                let who = if a.unhealthy.is_empty() {
                    String::new()
                } else {
                    format!(" (not healthy: {})", a.unhealthy.join(", "))
                };
                p.push(format!("autopilot reports the cluster unhealthy{who}"));
            }
            if a.voters < view.nodes.len() {
                p.push(format!(
                    "autopilot counts {} voter(s) for the {} node(s) given",
                    a.voters,
                    view.nodes.len()
                ));
            } else if a.voters > view.nodes.len() {
                // A node left out of --addr would never be upgraded, yet "done" would be said.
                p.push(format!(
                    "autopilot counts {} voters but {} node(s) were given: give every node of \
                     the cluster with --addr",
                    a.voters,
                    view.nodes.len()
                ));
            }
        }
        (None, Some(e)) => p.push(format!("autopilot state unreadable: {e}")),
        (None, None) => p.push("autopilot state unreadable: no active node to ask".to_owned()),
    }
    p
}

fn parsed(n: &NodeStatus) -> Option<ServerVersion> {
    n.version.as_deref()?.parse().ok()
}

/// The next action: refused (downgrade), blocked (the reasons of [`problems`]), done, the next
/// standby below the target (in the order the nodes were given), or the step-down of an active
/// node below the target once every standby runs it.
pub fn next_action(view: &UpgradeView, opts: &UpgradeOptions) -> Action {
    let refused = downgrade_reasons(view, opts.target);
    if !refused.is_empty() {
        return Action::Refused { reasons: refused };
    }
    let reasons = problems(view, opts);
    if !reasons.is_empty() {
        return Action::Blocked { reasons };
    }
    let below: Vec<&NodeStatus> = view
        .nodes
        .iter()
        .filter(|n| parsed(n).is_some_and(|v| v < opts.target))
        .collect();
    let remaining = below.len();
    if let Some(n) = below.iter().find(|n| n.role == Some(NodeRole::Standby)) {
        return Action::Swap {
            node: n.addr.clone(),
            from: n.version.clone().unwrap_or_default(),
            to: opts.target,
            remaining,
        };
    }
    match below.first() {
        Some(active) => Action::StepDown {
            node: active.addr.clone(),
            from: active.version.clone().unwrap_or_default(),
            to: opts.target,
        },
        None => Action::Done {
            version: opts.target,
        },
    }
}

/// One step of the dry-run plan.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PlanStep {
    /// `swap` or `step-down`.
    pub step: &'static str,
    pub node: String,
    /// What the node runs now.
    pub from: String,
    pub to: ServerVersion,
    /// Why this node is at this place in the order.
    pub note: String,
}

/// The whole remaining order from the view (`vaultops upgrade plan`): every standby below the
/// target, one at a time in the order given; then, if the active node is below the target, its
/// step-down and its swap. Health does not change the order; [`next_action`] gates each step.
pub fn plan_steps(view: &UpgradeView, target: ServerVersion) -> Vec<PlanStep> {
    let below = |n: &&NodeStatus| parsed(n).is_none_or(|v| v < target);
    let mut steps: Vec<PlanStep> = view
        .nodes
        .iter()
        .filter(|n| n.role != Some(NodeRole::Active))
        .filter(below)
        .map(|n| PlanStep {
            step: "swap",
            node: n.addr.clone(),
            from: n.version.clone().unwrap_or_else(|| "unknown".into()),
            to: target,
            note: match n.role {
                Some(NodeRole::Standby) => "standby".into(),
                Some(r) => format!("{r}: must be back and unsealed first"),
                None => "unreachable: must be back first".into(),
            },
        })
        .collect();
    if let Some(active) = view
        .nodes
        .iter()
        .find(|n| n.role == Some(NodeRole::Active))
        .filter(below)
    {
        let from = active.version.clone().unwrap_or_else(|| "unknown".into());
        steps.push(PlanStep {
            step: "step-down",
            node: active.addr.clone(),
            from: from.clone(),
            to: target,
            note: "the active node hands over to an upgraded standby".into(),
        });
        steps.push(PlanStep {
            step: "swap",
            node: active.addr.clone(),
            from,
            to: target,
            note: "the old active, now a standby".into(),
        });
    }
    steps
}

#[cfg(test)]
mod tests;
