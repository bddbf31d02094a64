//! Raft membership planning (`vaultops raft remove-peer|promote|demote|autopilot`): pure
//! safety rules over what the active node reports, unit-tested here; the calls that read
//! the cluster and apply a plan are in `membership_run`.
//!
//! The rules: never remove or demote the leader; never leave the voters without a healthy
//! majority; refuse while another peer is unhealthy (naming it); promote only a caught-up
//! (autopilot-healthy) peer; a `min_quorum` below a majority of the intended voters (and
//! below 3) is refused. A change that is already in effect (the peer is gone, already a
//! voter, already a non-voter) is a no-op success, so an interrupted run can be re-run.

use serde::Serialize;
use std::time::Duration;
use vaultops_api::{ApiError, AutopilotConfig, AutopilotState, RaftConfiguration};

/// The policy `vaultops raft` needs (no root token): read the peer set and autopilot,
/// change the peer set and autopilot's configuration, and read health.
pub const MEMBERSHIP_POLICY: &str = r#"# vaultops raft peers|remove-peer|promote|demote|autopilot
path "sys/storage/raft/configuration" {
  capabilities = ["read"]
}
path "sys/storage/raft/autopilot/state" {
  capabilities = ["read"]
}
path "sys/storage/raft/autopilot/configuration" {
  capabilities = ["read", "update"]
}
path "sys/storage/raft/remove-peer" {
  capabilities = ["update"]
}
path "sys/storage/raft/promote" {
  capabilities = ["update"]
}
path "sys/storage/raft/demote" {
  capabilities = ["update"]
}
"#;

/// A membership step was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    #[error("refusing to start: the cluster is not healthy: {}", problems.join("; "))]
    Unhealthy { problems: Vec<String> },
    #[error("refusing to {action} {node_id}: it is the raft leader; make another node active first (sys/step-down on it), then re-run")]
    IsLeader {
        action: &'static str,
        node_id: String,
    },
    #[error("refusing to {action} {node_id}: the voters left would be {remaining:?}, which need {quorum} healthy for a quorum, but only {healthy:?} are healthy; bring the unhealthy voters back first")]
    WouldLoseQuorum {
        action: &'static str,
        node_id: String,
        remaining: Vec<String>,
        healthy: Vec<String>,
        quorum: usize,
    },
    #[error("no peer {node_id} in the raft configuration (peers: {peers:?}); check the node_id (vaultops raft peers)")]
    UnknownPeer { node_id: String, peers: Vec<String> },
    #[error("refusing to promote {node_id}: autopilot does not report it healthy (caught up) yet ({detail}); wait and re-run")]
    NotCaughtUp { node_id: String, detail: String },
    #[error("refusing min_quorum {given}: the safe value for {voters} voters is at least {safe} (a majority of the voters, and at least 3); below it, dead-server cleanup could shrink the cluster to where a minority decides")]
    UnsafeMinQuorum {
        given: u32,
        safe: u32,
        voters: usize,
    },
    #[error("invalid {field} {value:?}: give a duration such as 30s, 10m or 24h")]
    BadDuration { field: &'static str, value: String },
    #[error("refusing dead_server_last_contact_threshold {dead}: it is shorter than last_contact_threshold {contact}, so a merely slow server would be removed; give a longer one (e.g. 24h)")]
    DeadBeforeUnhealthy { dead: String, contact: String },
    #[error(
        "the server did not keep the autopilot settings written (planned vs read back): {diff:?}"
    )]
    NotKept { diff: Vec<SettingDiff> },
    #[error("{step} on {node} failed")]
    Api {
        step: &'static str,
        node: String,
        #[source]
        source: Box<ApiError>,
    },
    #[error("{step}: the cluster did not settle")]
    NotSettled {
        step: &'static str,
        #[source]
        source: Box<crate::wait::WaitTimeout>,
    },
}

/// One raft peer as the active node sees it (configuration joined with autopilot state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peer {
    /// Raft node id.
    pub node_id: String,
    /// Cluster address.
    pub address: String,
    /// Votes.
    pub voter: bool,
    /// Is the raft leader.
    pub leader: bool,
    /// Autopilot reports it healthy (reachable, caught up).
    pub healthy: bool,
    /// Autopilot's node type is `non-voter`: it stays a non-voter until promoted. A raft
    /// non-voter whose node type is `voter` is only waiting for autopilot to promote it.
    pub permanent_non_voter: bool,
    /// Time since the leader last heard from it (Go duration), when autopilot knows it.
    pub last_contact: String,
}

/// The peers of `config`, with autopilot's health for each (a peer autopilot does not list
/// counts as unhealthy).
pub fn peers(config: &RaftConfiguration, state: &AutopilotState) -> Vec<Peer> {
    config
        .servers
        .iter()
        .map(|s| {
            let ap = state.servers.get(&s.node_id);
            Peer {
                node_id: s.node_id.clone(),
                address: s.address.clone(),
                voter: s.voter,
                leader: s.leader,
                healthy: ap.is_some_and(|a| a.healthy),
                permanent_non_voter: ap.is_some_and(|a| a.node_type == "non-voter"),
                last_contact: ap.map(|a| a.last_contact.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

/// A peer-set change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberAction {
    /// `sys/storage/raft/remove-peer`.
    RemovePeer,
    /// `sys/storage/raft/promote`: non-voter → voter.
    Promote,
    /// `sys/storage/raft/demote`: voter → permanent non-voter.
    Demote,
}

impl MemberAction {
    /// The verb, for messages.
    pub fn verb(self) -> &'static str {
        match self {
            MemberAction::RemovePeer => "remove",
            MemberAction::Promote => "promote",
            MemberAction::Demote => "demote",
        }
    }
}

/// What a change would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberPlan {
    /// The change.
    pub action: MemberAction,
    /// The peer it applies to.
    pub node_id: String,
    /// Set when nothing needs doing (why): a re-run after the change took effect.
    pub noop: Option<String>,
    /// Voters now (sorted).
    pub voters_before: Vec<String>,
    /// Voters after the change (sorted).
    pub voters_after: Vec<String>,
}

/// The node ids of the voters among `peers`, sorted.
fn voter_ids<'a>(peers: impl Iterator<Item = &'a Peer>) -> Vec<String> {
    let mut v: Vec<String> = peers
        .filter(|p| p.voter)
        .map(|p| p.node_id.clone())
        .collect();
    v.sort();
    v
}

/// The majority of `n` voters.
pub fn quorum(n: usize) -> usize {
    n / 2 + 1
}

/// Plans `action` on `node_id` against `peers` (from the active node), applying the rules
/// of the module doc.
pub fn plan_member_change(
    peers: &[Peer],
    action: MemberAction,
    node_id: &str,
) -> Result<MemberPlan, MembershipError> {
    let voters_before = voter_ids(peers.iter());
    let plan = |noop: Option<String>, voters_after: Vec<String>| MemberPlan {
        action,
        node_id: node_id.to_owned(),
        noop,
        voters_before: voters_before.clone(),
        voters_after,
    };
    let Some(target) = peers.iter().find(|p| p.node_id == node_id) else {
        return match action {
            MemberAction::RemovePeer => Ok(plan(
                Some(format!("{node_id} is not a raft peer (already removed)")),
                voters_before.clone(),
            )),
            _ => Err(MembershipError::UnknownPeer {
                node_id: node_id.to_owned(),
                peers: peers.iter().map(|p| p.node_id.clone()).collect(),
            }),
        };
    };
    let others = || peers.iter().filter(|p| p.node_id != node_id);
    // Voters after the change, and which of them are healthy.
    let after: Vec<&Peer> = match action {
        MemberAction::Promote if target.voter => {
            return Ok(plan(
                Some(format!("{node_id} is already a voter")),
                voters_before.clone(),
            ))
        }
        // A raft non-voter that autopilot is about to promote is demoted like a voter: OpenBao
        // 2.7.2 answers 204 and makes it a permanent non-voter that autopilot leaves alone
        // (measured: a Shamir node joined by retry_join, demoted while pending, stayed a
        // non-voter past server_stabilization_time). That is how a new Shamir node is held
        // back before it ever votes (the join's `non_voter` is lost under Shamir).
        MemberAction::Demote if !target.voter && target.permanent_non_voter => {
            return Ok(plan(
                Some(format!("{node_id} is already a non-voter")),
                voters_before.clone(),
            ))
        }
        MemberAction::Promote if !target.permanent_non_voter => {
            return Ok(plan(
                Some(format!("{node_id} is not a permanent non-voter: autopilot promotes it by itself once it has been healthy for server_stabilization_time")),
                voters_before.clone(),
            ))
        }
        MemberAction::Promote => {
            if !target.healthy {
                return Err(MembershipError::NotCaughtUp {
                    node_id: node_id.to_owned(),
                    detail: format!("last contact {:?}", target.last_contact),
                });
            }
            peers
                .iter()
                .filter(|p| p.voter || p.node_id == node_id)
                .collect()
        }
        MemberAction::RemovePeer | MemberAction::Demote => {
            if target.leader {
                return Err(MembershipError::IsLeader {
                    action: action.verb(),
                    node_id: node_id.to_owned(),
                });
            }
            others().filter(|p| p.voter).collect()
        }
    };
    let healthy: Vec<String> = after
        .iter()
        .filter(|p| p.healthy)
        .map(|p| p.node_id.clone())
        .collect();
    if after.is_empty() || healthy.len() < quorum(after.len()) {
        return Err(MembershipError::WouldLoseQuorum {
            action: action.verb(),
            node_id: node_id.to_owned(),
            remaining: after.iter().map(|p| p.node_id.clone()).collect(),
            healthy,
            quorum: quorum(after.len()),
        });
    }
    let problems: Vec<String> = others()
        .filter(|p| !p.healthy)
        .map(|p| {
            format!(
                "peer {} ({}) is not healthy per autopilot (last contact {:?})",
                p.node_id,
                if p.voter { "voter" } else { "non-voter" },
                p.last_contact
            )
        })
        .collect();
    if !problems.is_empty() {
        return Err(MembershipError::Unhealthy { problems });
    }
    let mut voters_after: Vec<String> = after.iter().map(|p| p.node_id.clone()).collect();
    voters_after.sort();
    Ok(plan(None, voters_after))
}

/// What `vaultops raft autopilot set` changes; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutopilotChange {
    /// Remove servers dead for `dead_server_last_contact_threshold`.
    pub cleanup_dead_servers: Option<bool>,
    /// Cleanup never shrinks the voters below this.
    pub min_quorum: Option<u32>,
    /// A server not heard from for this long is dead.
    pub dead_server_last_contact_threshold: Option<String>,
    /// A server not heard from for this long is unhealthy.
    pub last_contact_threshold: Option<String>,
    /// How long a new server is healthy before autopilot promotes it.
    pub server_stabilization_time: Option<String>,
}

/// One changed setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingDiff {
    /// The field name as the server spells it.
    pub field: &'static str,
    /// Current value.
    pub before: String,
    /// New value.
    pub after: String,
}

/// What an autopilot change would write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutopilotPlan {
    /// The configuration now.
    pub before: AutopilotConfig,
    /// The configuration to write (whole: the endpoint takes every field).
    pub after: AutopilotConfig,
    /// The settings that change (empty: nothing to do).
    pub diff: Vec<SettingDiff>,
    /// The smallest `min_quorum` accepted for the intended voters.
    pub safe_min_quorum: u32,
}

/// The smallest safe `min_quorum` for `voters` intended voters: a majority, at least 3.
pub fn safe_min_quorum(voters: usize) -> u32 {
    u32::try_from(quorum(voters)).unwrap_or(u32::MAX).max(3)
}

/// Parses a Go-style duration (`90s`, `1h30m`, `24h0m0s`, `500ms`).
pub fn parse_go_duration(field: &'static str, value: &str) -> Result<Duration, MembershipError> {
    let bad = || MembershipError::BadDuration {
        field,
        value: value.to_owned(),
    };
    let mut rest = value.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ns" => Duration::from_nanos(1),
            "us" | "µs" => Duration::from_micros(1),
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        let part = unit
            .checked_mul(u32::try_from(n).map_err(|_| bad())?)
            .ok_or_else(bad)?;
        total = total.checked_add(part).ok_or_else(bad)?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// Plans an autopilot change for a cluster meant to have `intended_voters` voters: the
/// whole new configuration and its diff. Refuses an unsafe `min_quorum` (given, or in
/// effect while cleanup is on), a malformed duration, and a dead-server threshold shorter
/// than the unhealthy threshold.
pub fn plan_autopilot(
    current: &AutopilotConfig,
    change: &AutopilotChange,
    intended_voters: usize,
) -> Result<AutopilotPlan, MembershipError> {
    let mut after = current.clone();
    if let Some(v) = change.cleanup_dead_servers {
        after.cleanup_dead_servers = v;
    }
    if let Some(v) = change.min_quorum {
        after.min_quorum = v;
    }
    let durations = [
        (
            "dead_server_last_contact_threshold",
            &change.dead_server_last_contact_threshold,
            &mut after.dead_server_last_contact_threshold,
        ),
        (
            "last_contact_threshold",
            &change.last_contact_threshold,
            &mut after.last_contact_threshold,
        ),
        (
            "server_stabilization_time",
            &change.server_stabilization_time,
            &mut after.server_stabilization_time,
        ),
    ];
    for (field, given, slot) in durations {
        if let Some(v) = given {
            parse_go_duration(field, v)?;
            v.clone_into(slot);
        }
    }
    let safe = safe_min_quorum(intended_voters);
    let min_quorum_matters = after.cleanup_dead_servers || change.min_quorum.is_some();
    if min_quorum_matters && after.min_quorum < safe {
        return Err(MembershipError::UnsafeMinQuorum {
            given: after.min_quorum,
            safe,
            voters: intended_voters,
        });
    }
    let dead = parse_go_duration(
        "dead_server_last_contact_threshold",
        &after.dead_server_last_contact_threshold,
    )?;
    let contact = parse_go_duration("last_contact_threshold", &after.last_contact_threshold)?;
    if after.cleanup_dead_servers && dead < contact {
        return Err(MembershipError::DeadBeforeUnhealthy {
            dead: after.dead_server_last_contact_threshold,
            contact: after.last_contact_threshold,
        });
    }
    let diff = diff_configs(current, &after);
    Ok(AutopilotPlan {
        before: current.clone(),
        after,
        diff,
        safe_min_quorum: safe,
    })
}

/// The settings that differ between `before` and `after` (durations compared by value: the
/// server returns "24h0m0s" for "24h").
pub fn diff_configs(before: &AutopilotConfig, after: &AutopilotConfig) -> Vec<SettingDiff> {
    let mut diff = Vec::new();
    let mut push = |field: &'static str, a: String, b: String| {
        diff.push(SettingDiff {
            field,
            before: a,
            after: b,
        });
    };
    if before.cleanup_dead_servers != after.cleanup_dead_servers {
        push(
            "cleanup_dead_servers",
            before.cleanup_dead_servers.to_string(),
            after.cleanup_dead_servers.to_string(),
        );
    }
    if before.min_quorum != after.min_quorum {
        push(
            "min_quorum",
            before.min_quorum.to_string(),
            after.min_quorum.to_string(),
        );
    }
    if before.max_trailing_logs != after.max_trailing_logs {
        push(
            "max_trailing_logs",
            before.max_trailing_logs.to_string(),
            after.max_trailing_logs.to_string(),
        );
    }
    for (field, a, b) in [
        (
            "dead_server_last_contact_threshold",
            &before.dead_server_last_contact_threshold,
            &after.dead_server_last_contact_threshold,
        ),
        (
            "last_contact_threshold",
            &before.last_contact_threshold,
            &after.last_contact_threshold,
        ),
        (
            "server_stabilization_time",
            &before.server_stabilization_time,
            &after.server_stabilization_time,
        ),
    ] {
        let same = matches!(
            (parse_go_duration(field, a), parse_go_duration(field, b)),
            (Ok(x), Ok(y)) if x == y
        );
        if !same {
            push(field, a.clone(), b.clone());
        }
    }
    diff
}

#[cfg(test)]
#[path = "membership_tests.rs"]
mod tests;
