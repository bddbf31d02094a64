//! Verification after recovery: every acknowledged write must be readable, with its value,
//! from the ACTIVE node (standbys serve reads locally and may be behind, so a standby read
//! proves nothing), and the counter must account for every acknowledged increment.
//!
//! Counter rules (see the workload): each successful check-and-set write moves the counter
//! from version `v` to `v + 1` and adds one, and only one write can succeed per base version.
//! So after the run, with versions counted from the counter's creation:
//! - `final value - initial value == final version - initial version` (no increment applied
//!   twice or skipped);
//! - the versions reported by acknowledged increments are distinct and at most the final
//!   version (two acknowledgements for one version would be a lost update);
//! - every version between the initial and the final one is *explained*: either an
//!   acknowledged increment reported it, or an increment based on the version before it
//!   failed ambiguously (a timeout, a broken connection, a 5xx, or a 307 — a standby whose
//!   forwarded write was committed by an active node that died before answering replies
//!   307, measured in kill-active). An unexplained version would be a write nobody sent.
//!
//! With no ambiguous failure this is the exact equality `final == initial + acknowledged`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use vaultops_api::NodeClient;

use crate::error::ScenarioError;
use crate::history::Recorder;
use crate::model::{Clock, Op, Outcome};
use crate::workload::WorkloadLog;
use vaultops_history::{EventType, Func, Value};

/// Reads in flight at once during verification.
const CONCURRENCY: usize = 8;
/// How long one key's read may be retried on transient errors.
const READ_DEADLINE: Duration = Duration::from_secs(15);

/// The result of verifying a workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// The node read from (the active one).
    pub read_from: String,
    /// Acknowledged unique-key writes.
    pub acked_writes: u64,
    /// Of those, found with the written value.
    pub verified: u64,
    /// Acknowledged writes missing or with another value (their keys).
    pub lost_keys: Vec<String>,
    /// Acknowledged unique-key writes missing or wrong.
    pub lost_writes: u64,
    /// Writes that failed ambiguously (may have committed) and were checked.
    pub ambiguous_writes: u64,
    /// Of those, present: they committed although the client saw an error.
    pub ambiguous_present: u64,
    pub counter: CounterCheck,
    /// The run's history (JSONL, Jepsen shape), written with the report.
    #[serde(default)]
    pub history: Option<std::path::PathBuf>,
    /// The checker's verdict on that history (details in the report's `linearizability`).
    #[serde(default)]
    pub linearizable: Option<bool>,
    /// Every node applied every acknowledged write (see [`Convergence`]).
    #[serde(default)]
    pub convergence: Option<Convergence>,
}

impl Verification {
    /// Acknowledged writes lost: unique keys plus counter increments.
    pub fn lost_total(&self) -> u64 {
        self.lost_writes + self.counter.lost_increments
    }
}

/// The counter's bookkeeping against its final state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterCheck {
    pub initial_value: u64,
    pub initial_version: u64,
    pub final_value: u64,
    pub final_version: u64,
    pub acked_increments: u64,
    /// Versions explained only by an ambiguously failed increment (committed although the
    /// client saw an error).
    pub ambiguous_increments: u64,
    /// Versions no acknowledged or ambiguous increment explains.
    pub unexplained_versions: Vec<u64>,
    /// Versions reported by more than one acknowledged increment.
    pub duplicate_versions: Vec<u64>,
    /// Acknowledged increments not reflected in the final value, plus duplicates.
    pub lost_increments: u64,
    /// Every rule of the module docs holds.
    pub consistent: bool,
}

/// Pure: the counter rules, given the final value and version.
pub fn check_counter(log: &WorkloadLog, final_value: u64, final_version: u64) -> CounterCheck {
    let mut acked = 0u64;
    let mut versions: BTreeMap<u64, u64> = BTreeMap::new();
    let mut ambiguous_bases: BTreeSet<u64> = BTreeSet::new();
    for a in &log.attempts {
        if let Op::CounterWrite { base_version, .. } = a.op {
            match a.outcome {
                Outcome::Ack { version } => {
                    acked += 1;
                    *versions.entry(version).or_insert(0) += 1;
                }
                Outcome::Error { class } if class.may_have_applied() => {
                    ambiguous_bases.insert(base_version);
                }
                Outcome::Error { .. } => {}
            }
        }
    }
    let duplicate_versions: Vec<u64> = versions
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(v, _)| *v)
        .collect();
    let beyond_final = versions.keys().filter(|v| **v > final_version).count() as u64;
    let start = log.counter_start;
    let applied = final_value.saturating_sub(start.value);
    let steps_match = final_value >= start.value
        && final_version >= start.version
        && applied == final_version - start.version;
    let mut ambiguous = 0u64;
    let mut unexplained = Vec::new();
    for v in start.version + 1..=final_version {
        if versions.contains_key(&v) {
            continue;
        }
        if ambiguous_bases.contains(&(v - 1)) {
            ambiguous += 1;
        } else {
            unexplained.push(v);
        }
    }
    // A lost increment shows as a shortfall in the final value, as an acknowledged version
    // beyond the final one, or both: count it once.
    let lost_increments = acked.saturating_sub(applied).max(beyond_final)
        + versions.values().map(|n| n.saturating_sub(1)).sum::<u64>();
    let consistent = steps_match
        && duplicate_versions.is_empty()
        && beyond_final == 0
        && acked <= applied
        && unexplained.is_empty();
    CounterCheck {
        initial_value: start.value,
        initial_version: start.version,
        final_value,
        final_version,
        acked_increments: acked,
        ambiguous_increments: ambiguous,
        unexplained_versions: unexplained,
        duplicate_versions,
        lost_increments,
        consistent,
    }
}

/// Where verification records its reads: the run's history and clock. Each read is one
/// operation from its first attempt to the answer used (retries on transient errors included),
/// by a process of its own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Observer<'h> {
    pub history: &'h Recorder,
    pub clock: Clock,
}

impl Observer<'_> {
    /// Records the read of `name` that `read` performs; `seen` turns its answer into the
    /// value read (`None`: absent).
    async fn read<T, F>(
        &self,
        name: &str,
        read: F,
        seen: impl FnOnce(&T) -> Option<String>,
    ) -> Result<T, ScenarioError>
    where
        F: std::future::Future<Output = Result<T, ScenarioError>>,
    {
        let mut p = self.history.process();
        let op = self
            .history
            .invoke(&p, None, Func::Read, name, Value::None, self.clock.now());
        let r = read.await;
        let (kind, value) = match &r {
            Ok(t) => (EventType::Ok, Some(seen(t).map_or(Value::None, Value::One))),
            Err(_) => (EventType::Info, None),
        };
        self.history
            .complete(&mut p, op, kind, value, self.clock.now());
        r
    }
}

/// Verifies `log` by reading from `active` (a root client of the active node); every read is
/// recorded through `obs`, the registers included. Fails if `active` stops being the active
/// node during the reads.
pub(crate) async fn verify(
    active: &NodeClient,
    log: &WorkloadLog,
    obs: Observer<'_>,
) -> Result<Verification, ScenarioError> {
    let keys = &log.keys;
    let mut acked: Vec<(u16, u64)> = Vec::new();
    let mut ambiguous: BTreeSet<(u16, u64)> = BTreeSet::new();
    for a in &log.attempts {
        if let Op::Write { seq } = a.op {
            match a.outcome {
                Outcome::Ack { .. } => acked.push((a.writer, seq)),
                Outcome::Error { class } if class.may_have_applied() => {
                    ambiguous.insert((a.writer, seq));
                }
                Outcome::Error { .. } => {}
            }
        }
    }
    ensure_active(active).await?;
    let reads = acked
        .iter()
        .map(|k| (*k, true))
        .chain(ambiguous.iter().map(|k| (*k, false)))
        .map(|((w, seq), was_acked)| async move {
            let key = keys.key(w, seq);
            let name = keys.history_key(&key).to_owned();
            let want = keys.value(w, seq);
            let r = obs
                .read(&name, read_with_retry(active, &keys.mount, &key), |d| {
                    d.as_ref().map(|d| {
                        if d.get("writer") == want.get("writer") && d.get("seq") == want.get("seq")
                        {
                            name.clone()
                        } else {
                            format!("unexpected {}", serde_json::Value::Object(d.clone()))
                        }
                    })
                })
                .await;
            (w, seq, key, was_acked, r)
        });
    let results: Vec<_> = futures_util::stream::iter(reads)
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut v = Verification {
        read_from: active.addr().to_owned(),
        acked_writes: acked.len() as u64,
        verified: 0,
        lost_keys: Vec::new(),
        lost_writes: 0,
        ambiguous_writes: ambiguous.len() as u64,
        ambiguous_present: 0,
        counter: check_counter(log, 0, 0),
        history: None,
        linearizable: None,
        convergence: None,
    };
    for (w, seq, key, was_acked, r) in results {
        let data = r?;
        let matches = data.as_ref().is_some_and(|d| {
            let want = keys.value(w, seq);
            d.get("writer") == want.get("writer") && d.get("seq") == want.get("seq")
        });
        match (was_acked, matches) {
            (true, true) => v.verified += 1,
            (true, false) => {
                v.lost_writes += 1;
                v.lost_keys.push(key);
            }
            (false, true) => v.ambiguous_present += 1,
            (false, false) => {}
        }
    }
    let counter = obs
        .read(
            "counter",
            read_with_retry_meta(active, &keys.mount, &keys.counter()),
            |c| c.as_ref().and_then(|c| c.2.clone()),
        )
        .await?;
    let (value, version, _) = counter.ok_or_else(|| ScenarioError::CounterMissing {
        key: keys.counter(),
    })?;
    for r in 0..log.registers {
        let key = keys.register(r);
        obs.read(
            &format!("r{r}"),
            read_with_retry(active, &keys.mount, &key),
            |d| {
                d.as_ref().map(|d| {
                    d.get("v")
                        .and_then(serde_json::Value::as_str)
                        .map_or_else(|| format!("unexpected {d:?}"), str::to_owned)
                })
            },
        )
        .await?;
    }
    v.counter = check_counter(log, value, version);
    ensure_active(active).await?;
    v.lost_keys.sort();
    Ok(v)
}

/// How long every node gets to apply the log up to the active node's commit index.
const CONVERGE_DEADLINE: Duration = Duration::from_secs(30);

/// Convergence after verification: every node, the old leader included, applies the raft log
/// up to the index the active node had committed once every acknowledged write was verified
/// on it (`sys/leader`'s `raft_applied_index`, each node about itself). A node that got there
/// holds every acknowledged write in its own state machine; with `disable_standby_reads` a
/// read through it is forwarded, so the index is what can be observed of its own copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Convergence {
    /// The active node's commit index after verification.
    pub target_index: u64,
    /// Each node's applied index when it got there, or the last one seen (`None`: no answer).
    pub applied: Vec<Option<u64>>,
    /// Every node reached the target within the deadline.
    pub converged: bool,
}

/// Waits until every node in `nodes` has applied the active node's commit index.
pub(crate) async fn converge(
    active: &NodeClient,
    nodes: &[NodeClient],
) -> Result<Convergence, ScenarioError> {
    let leader = active
        .leader()
        .await
        .map_err(crate::error::api("reading the active node's commit index"))?;
    let target = leader
        .raft_committed_index
        .ok_or(ScenarioError::NoRaftIndex)?;
    let reads = nodes.iter().map(|n| async move {
        let mut last = None;
        let got = vaultops_bootstrap::wait_until(
            &format!("{} to apply index {target}", n.addr()),
            CONVERGE_DEADLINE,
            Duration::from_millis(100),
            || async {
                match n.leader().await {
                    Ok(l) => Ok(l.raft_applied_index.filter(|i| *i >= target)),
                    Err(e) => Err(e.to_string()),
                }
            },
        )
        .await;
        if let Ok(i) = got {
            last = Some(i);
        } else if let Ok(l) = n.leader().await {
            last = l.raft_applied_index;
        }
        (got.is_ok(), last)
    });
    let results = futures_util::future::join_all(reads).await;
    Ok(Convergence {
        target_index: target,
        converged: results.iter().all(|(ok, _)| *ok),
        applied: results.into_iter().map(|(_, i)| i).collect(),
    })
}

async fn ensure_active(node: &NodeClient) -> Result<(), ScenarioError> {
    let h = node
        .health()
        .await
        .map_err(crate::error::api("checking the verification node"))?;
    if h.role != vaultops_api::NodeRole::Active {
        return Err(ScenarioError::VerifiedOnStandby {
            node: node.addr().to_string(),
            role: h.role.to_string(),
        });
    }
    Ok(())
}

async fn read_with_retry(
    node: &NodeClient,
    mount: &str,
    key: &str,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, ScenarioError> {
    vaultops_bootstrap::wait_until(
        &format!("a read of {key}"),
        READ_DEADLINE,
        Duration::from_millis(100),
        || async {
            match node.kv_read(mount, key).await {
                Ok(s) => Ok(Some(s.map(|s| s.data))),
                Err(e) => Err(e.to_string()),
            }
        },
    )
    .await
    .map_err(ScenarioError::Wait)
}

/// The counter's value, version and tag.
async fn read_with_retry_meta(
    node: &NodeClient,
    mount: &str,
    key: &str,
) -> Result<Option<(u64, u64, Option<String>)>, ScenarioError> {
    vaultops_bootstrap::wait_until(
        &format!("a read of {key}"),
        READ_DEADLINE,
        Duration::from_millis(100),
        || async {
            match node.kv_read(mount, key).await {
                Ok(Some(s)) => {
                    let tag = s
                        .data
                        .get("tag")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_owned);
                    Ok(Some(
                        s.data
                            .get("value")
                            .and_then(serde_json::Value::as_u64)
                            .map(|v| (v, s.metadata.version, tag)),
                    ))
                }
                Ok(None) => Ok(Some(None)),
                Err(e) => Err(e.to_string()),
            }
        },
    )
    .await
    .map_err(ScenarioError::Wait)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Attempt, ErrorClass};
    use crate::workload::{CounterStart, Keyspace};

    /// An increment from `base`: acknowledged (the version it made) or failed with `class`.
    fn inc(base: u64, version: Option<u64>, class: Option<ErrorClass>) -> Attempt {
        Attempt {
            writer: 0,
            node: 0,
            start: Duration::ZERO,
            end: Duration::ZERO,
            op: Op::CounterWrite {
                base_version: base,
                value: base,
            },
            outcome: match (version, class) {
                (Some(v), _) => Outcome::Ack { version: v },
                (None, Some(c)) => Outcome::Error { class: c },
                (None, None) => unreachable!(),
            },
        }
    }

    fn log(attempts: Vec<Attempt>) -> WorkloadLog {
        WorkloadLog {
            registers: 0,
            keys: Keyspace::new("secret", "t"),
            counter_start: CounterStart {
                value: 0,
                version: 1,
            },
            attempts,
            error_samples: Default::default(),
        }
    }

    #[test]
    fn exact_count_without_ambiguity() {
        let l = log(vec![
            inc(1, Some(2), None),
            inc(2, Some(3), None),
            inc(2, None, Some(ErrorClass::CasConflict)),
        ]);
        let c = check_counter(&l, 2, 3);
        assert!(c.consistent, "{c:?}");
        assert_eq!(c.lost_increments, 0);
        // One acknowledged increment missing from the final value: lost.
        let c = check_counter(&l, 1, 2);
        assert!(!c.consistent);
        assert_eq!(c.lost_increments, 1, "{c:?}");
    }

    #[test]
    fn ambiguous_increments_may_have_committed() {
        let l = log(vec![
            inc(1, Some(2), None),
            inc(2, None, Some(ErrorClass::Timeout)),
        ]);
        assert!(check_counter(&l, 2, 3).consistent);
        assert!(check_counter(&l, 1, 2).consistent);
        let c = check_counter(&l, 3, 4);
        assert!(!c.consistent, "version 4 has no writer: {c:?}");
        assert_eq!(c.unexplained_versions, vec![4]);
    }

    #[test]
    fn a_307_may_hide_a_committed_forwarded_write() {
        // Measured in kill-active: version 3 committed, its client saw 307.
        let l = log(vec![
            inc(1, Some(2), None),
            inc(2, None, Some(ErrorClass::Standby307)),
            inc(2, None, Some(ErrorClass::Standby307)),
            inc(3, Some(4), None),
        ]);
        let c = check_counter(&l, 3, 4);
        assert!(c.consistent, "{c:?}");
        assert_eq!(c.ambiguous_increments, 1);
        // A refused write (sealed) explains nothing.
        let l = log(vec![
            inc(1, Some(2), None),
            inc(2, None, Some(ErrorClass::Sealed)),
            inc(3, Some(4), None),
        ]);
        assert_eq!(check_counter(&l, 3, 4).unexplained_versions, vec![3]);
    }

    #[test]
    fn two_acks_for_one_version_are_a_lost_update() {
        let l = log(vec![inc(1, Some(2), None), inc(1, Some(2), None)]);
        let c = check_counter(&l, 2, 3);
        assert_eq!(c.duplicate_versions, vec![2]);
        assert!(!c.consistent);
        assert!(c.lost_increments >= 1);
    }

    #[test]
    fn value_and_version_must_move_together() {
        let l = log(vec![inc(1, Some(2), None)]);
        assert!(!check_counter(&l, 1, 4).consistent);
    }
}
