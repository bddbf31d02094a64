//! The records a scenario run is made of, shared by the workload, the role monitor, the
//! analysis and the reports: the run clock, write attempts and their outcomes, per-node role
//! observations and the scenario's own events. Pure data, no I/O.
//!
//! Every time is a [`Duration`] since the run's [`Clock`] started (one `Instant`), so the
//! workload, the monitor and the fault injection share one time axis. In JSON, times are
//! seconds as floating point numbers (microsecond precision).

use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use vaultops_api::{ApiError, ErrorKind, NodeRole};

/// The time axis of one scenario run.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    t0: Instant,
}

impl Clock {
    /// Starts the clock now.
    pub fn start() -> Self {
        Self { t0: Instant::now() }
    }

    /// Time since the start.
    pub fn now(&self) -> Duration {
        self.t0.elapsed()
    }
}

/// Writer id used for probe writes (sent outside the regular writers, e.g. to a paused node).
pub const PROBE_WRITER: u16 = u16::MAX;

/// One request of the workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// Writer number (0-based), or [`PROBE_WRITER`].
    pub writer: u16,
    /// Index of the node the request was sent to (0 = node1). Standbys forward writes to
    /// the active node, so this is not necessarily the node that committed it.
    pub node: usize,
    #[serde(with = "secs")]
    pub start: Duration,
    #[serde(with = "secs")]
    pub end: Duration,
    pub op: Op,
    pub outcome: Outcome,
}

impl Attempt {
    /// True for an acknowledged write (a unique key or a counter update).
    pub fn is_write_ack(&self) -> bool {
        self.op.is_write() && matches!(self.outcome, Outcome::Ack { .. })
    }
}

/// What the request did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Write of the unique key `<prefix>/w<writer>-<seq>` (probes: `<prefix>/p-<seq>`).
    Write { seq: u64 },
    /// Read of the shared counter (the first half of a check-and-set increment).
    CounterRead,
    /// Check-and-set write of the counter: `value` at version `base_version + 1`.
    CounterWrite { base_version: u64, value: u64 },
}

impl Op {
    /// Writes are what the unavailability window and the lost-write check are about.
    pub fn is_write(&self) -> bool {
        matches!(self, Op::Write { .. } | Op::CounterWrite { .. })
    }
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The server acknowledged it; `version` is the KV version it reported (reads: the
    /// version read).
    Ack { version: u64 },
    /// It failed.
    Error { class: ErrorClass },
}

/// Why a request failed, in the categories a failover produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    /// HTTP 307 from a standby (to the active node, which during a failover is the dead
    /// one). Never followed.
    Standby307,
    /// HTTP 500 `local node not active but active cluster node not found`: no leader.
    NoLeader500,
    /// HTTP 503 `Vault is sealed`.
    Sealed,
    /// No connection (refused, reset, network unreachable).
    Unreachable,
    /// The request did not complete within the client's timeout (a paused node, a leader
    /// waiting for a quorum it does not have).
    Timeout,
    /// The counter's check-and-set version did not match: someone else wrote first. A
    /// retry, not a failure.
    CasConflict,
    /// Any other answer, by HTTP status (0: no HTTP answer, e.g. a TLS failure).
    Other(u16),
}

impl ErrorClass {
    /// Classifies a client error.
    pub(crate) fn of(e: &ApiError) -> Self {
        if e.is_cas_mismatch() {
            return ErrorClass::CasConflict;
        }
        match &e.kind {
            ErrorKind::Standby { status: 307, .. } => ErrorClass::Standby307,
            ErrorKind::Standby { status: 500, .. } => ErrorClass::NoLeader500,
            ErrorKind::Sealed { .. } => ErrorClass::Sealed,
            ErrorKind::Unreachable { .. } => ErrorClass::Unreachable,
            ErrorKind::Timeout { .. } => ErrorClass::Timeout,
            _ => ErrorClass::Other(e.status().unwrap_or(0)),
        }
    }

    /// Whether a write that failed this way may nevertheless have been applied: the
    /// request reached a server that could have committed it before the answer was lost.
    /// Such writes are neither acknowledged nor counted as lost.
    ///
    /// A 307 is one of them: a standby forwards a write to the active node and, when the
    /// forwarding fails because the active node died, answers 307, even if the active node
    /// had committed the write (measured: kill-active, a counter version committed whose
    /// only writer saw 307).
    pub fn may_have_applied(self) -> bool {
        match self {
            ErrorClass::Timeout | ErrorClass::Unreachable | ErrorClass::Standby307 => true,
            ErrorClass::Other(s) => s == 0 || s >= 500,
            _ => false,
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorClass::Standby307 => f.write_str("standby-307"),
            ErrorClass::NoLeader500 => f.write_str("no-leader-500"),
            ErrorClass::Sealed => f.write_str("sealed-503"),
            ErrorClass::Unreachable => f.write_str("unreachable"),
            ErrorClass::Timeout => f.write_str("timeout"),
            ErrorClass::CasConflict => f.write_str("cas-conflict"),
            ErrorClass::Other(0) => f.write_str("other"),
            ErrorClass::Other(s) => write!(f, "http-{s}"),
        }
    }
}

impl std::str::FromStr for ErrorClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "standby-307" => ErrorClass::Standby307,
            "no-leader-500" => ErrorClass::NoLeader500,
            "sealed-503" => ErrorClass::Sealed,
            "unreachable" => ErrorClass::Unreachable,
            "timeout" => ErrorClass::Timeout,
            "cas-conflict" => ErrorClass::CasConflict,
            "other" => ErrorClass::Other(0),
            _ => match s.strip_prefix("http-").and_then(|n| n.parse().ok()) {
                Some(n) => ErrorClass::Other(n),
                None => return Err(format!("unknown error class {s:?}")),
            },
        })
    }
}

impl Serialize for ErrorClass {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ErrorClass {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What the role monitor saw of one node at one poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observed {
    Active,
    Standby,
    Sealed,
    Uninitialized,
    /// No connection (container stopped or killed, or cut off the network).
    Down,
    /// Connected but no answer in time (a paused container).
    NoAnswer,
    /// An answer that is none of the above.
    Other,
}

impl Observed {
    /// The observation for a health answer.
    pub(crate) fn from_role(role: NodeRole) -> Self {
        match role {
            NodeRole::Active => Observed::Active,
            NodeRole::Standby | NodeRole::PerformanceStandby => Observed::Standby,
            NodeRole::Sealed => Observed::Sealed,
            NodeRole::Uninitialized => Observed::Uninitialized,
            _ => Observed::Other,
        }
    }

    /// The observation for a failed health request.
    pub(crate) fn from_error(e: &ApiError) -> Self {
        match &e.kind {
            ErrorKind::Timeout { .. } => Observed::NoAnswer,
            ErrorKind::Unreachable { .. } => Observed::Down,
            ErrorKind::Sealed { .. } => Observed::Sealed,
            _ => Observed::Other,
        }
    }
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Observed::Active => "active",
            Observed::Standby => "standby",
            Observed::Sealed => "sealed",
            Observed::Uninitialized => "uninitialized",
            Observed::Down => "down",
            Observed::NoAnswer => "no-answer",
            Observed::Other => "other",
        })
    }
}

/// A change in what the monitor saw of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    #[serde(with = "secs")]
    pub t: Duration,
    pub seen: Observed,
}

/// One node's observed roles over the run: only the changes are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeTimeline {
    /// `node1`, `node2`, …
    pub node: String,
    pub transitions: Vec<Transition>,
}

impl NodeTimeline {
    /// What was seen at time `t` (the last change at or before `t`).
    pub fn at(&self, t: Duration) -> Option<Observed> {
        self.transitions
            .iter()
            .take_while(|tr| tr.t <= t)
            .last()
            .map(|tr| tr.seen)
    }
}

/// What kind of scenario event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A fault was injected (the first one anchors the measurements).
    Fault,
    /// A recovery action (restart, unseal, reconnect, …).
    Recovery,
    /// Something observed (a new active node, a node back as standby).
    Observation,
}

/// A timestamped step of the scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(with = "secs")]
    pub t: Duration,
    pub kind: EventKind,
    pub label: String,
}

/// One named pass/fail check of a scenario (budgets and expected behaviour).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    /// What was measured, and the limit.
    pub detail: String,
}

/// `node<i+1>`: the name of node index `i` in reports, events and role timelines.
pub(crate) fn node_name(i: usize) -> String {
    format!("node{}", i + 1)
}

/// Serde for a node index as its name (`node1`, …).
pub(crate) mod node {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(i: &usize, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::node_name(*i))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
        let s = String::deserialize(d)?;
        s.strip_prefix("node")
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .ok_or_else(|| serde::de::Error::custom(format!("not a node name: {s:?}")))
    }
}

/// Serde for durations as seconds (f64, microsecond precision).
pub mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(round_us(d.as_secs_f64()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let f = f64::deserialize(d)?;
        Duration::try_from_secs_f64(f).map_err(serde::de::Error::custom)
    }

    /// Rounds seconds to whole microseconds (stable JSON).
    pub fn round_us(s: f64) -> f64 {
        (s * 1e6).round() / 1e6
    }

    /// `Option<Duration>` as `null` or seconds.
    pub mod opt {
        use super::*;
        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_some(&round_us(d.as_secs_f64())),
                None => s.serialize_none(),
            }
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            match Option::<f64>::deserialize(d)? {
                Some(f) => Duration::try_from_secs_f64(f)
                    .map(Some)
                    .map_err(serde::de::Error::custom),
                None => Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_classes_round_trip_as_strings() {
        for c in [
            ErrorClass::Standby307,
            ErrorClass::NoLeader500,
            ErrorClass::Sealed,
            ErrorClass::Unreachable,
            ErrorClass::Timeout,
            ErrorClass::CasConflict,
            ErrorClass::Other(0),
            ErrorClass::Other(502),
        ] {
            let s = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<ErrorClass>(&s).unwrap(), c, "{s}");
        }
        assert!("http-x".parse::<ErrorClass>().is_err());
    }

    #[test]
    fn only_answers_that_may_have_committed_are_ambiguous() {
        assert!(ErrorClass::Timeout.may_have_applied());
        assert!(ErrorClass::Other(500).may_have_applied());
        assert!(ErrorClass::Standby307.may_have_applied());
        assert!(!ErrorClass::NoLeader500.may_have_applied());
        assert!(!ErrorClass::Sealed.may_have_applied());
        assert!(!ErrorClass::CasConflict.may_have_applied());
        assert!(!ErrorClass::Other(400).may_have_applied());
    }

    #[test]
    fn attempt_json_shape() {
        let a = Attempt {
            writer: 1,
            node: 2,
            start: Duration::from_micros(1_500_000),
            end: Duration::from_micros(1_512_345),
            op: Op::CounterWrite {
                base_version: 4,
                value: 4,
            },
            outcome: Outcome::Error {
                class: ErrorClass::Standby307,
            },
        };
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"writer":1,"node":2,"start":1.5,"end":1.512345,
                "op":{"op":"counter_write","base_version":4,"value":4},
                "outcome":{"outcome":"error","class":"standby-307"}})
        );
        assert_eq!(serde_json::from_value::<Attempt>(v).unwrap(), a);
    }

    #[test]
    fn timeline_answers_what_was_seen_at_a_time() {
        let tl = NodeTimeline {
            node: "node1".into(),
            transitions: vec![
                Transition {
                    t: Duration::from_millis(10),
                    seen: Observed::Active,
                },
                Transition {
                    t: Duration::from_millis(500),
                    seen: Observed::Down,
                },
            ],
        };
        assert_eq!(tl.at(Duration::from_millis(5)), None);
        assert_eq!(tl.at(Duration::from_millis(10)), Some(Observed::Active));
        assert_eq!(tl.at(Duration::from_millis(499)), Some(Observed::Active));
        assert_eq!(tl.at(Duration::from_secs(9)), Some(Observed::Down));
    }
}
