//! The measurements, computed from the records of a run (pure): the unavailability window,
//! the time from a fault to a new active node, time without any active node, errors by kind.
//!
//! Definitions (also in `docs/scenarios.md`):
//! - **Unavailability window**: the longest interval between two consecutive acknowledged
//!   writes (by completion time) among the acknowledgements after the fault, starting from
//!   the last acknowledgement at or before the fault. Completion times, not start times: a
//!   request in flight when the fault hits may still complete, and the first acknowledgement
//!   after the outage is what a client experiences as "writes work again". With 4 writers
//!   pacing at 25 ms the resolution is ~10 ms.
//! - **Time to a new active node**: from the fault to the first poll (every 50 ms) at which a
//!   node other than the active one at the fault is active, or the same node is active again
//!   after having been seen not active.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{Attempt, ErrorClass, NodeTimeline, Observed, Outcome};

/// The gap between two acknowledged writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// Completion of the last acknowledgement before the gap.
    #[serde(with = "crate::model::secs")]
    pub from: Duration,
    /// Completion of the first acknowledgement after it; `None`: no acknowledgement came
    /// (the workload ended first: not recovered).
    #[serde(with = "crate::model::secs::opt")]
    pub to: Option<Duration>,
}

impl Gap {
    /// Its length (`None` when open-ended).
    pub fn len(&self) -> Option<Duration> {
        self.to.map(|t| t.saturating_sub(self.from))
    }
}

/// Completion times of every acknowledged write, sorted.
pub fn ack_times(attempts: &[Attempt]) -> Vec<Duration> {
    let mut v: Vec<Duration> = attempts
        .iter()
        .filter(|a| a.is_write_ack())
        .map(|a| a.end)
        .collect();
    v.sort();
    v
}

/// The unavailability window after `fault` (see the module docs) within `[fault, until]`.
/// `None` when no write was acknowledged at or before the fault (nothing to measure from).
pub fn unavailability(acks: &[Duration], fault: Duration, until: Duration) -> Option<Gap> {
    let split = acks.partition_point(|t| *t <= fault);
    let mut prev = *acks[..split].last()?;
    let mut best: Option<Gap> = None;
    for &t in acks[split..].iter().take_while(|t| **t <= until) {
        let g = Gap {
            from: prev,
            to: Some(t),
        };
        if best.is_none_or(|b| g.len() > b.len()) {
            best = Some(g);
        }
        prev = t;
    }
    match best {
        Some(g) => Some(g),
        None => Some(Gap {
            from: prev,
            to: None,
        }),
    }
}

/// The largest gap between acknowledgements whose both ends lie within `[from, to]`, with
/// the window's edges counting as ends: the worst write stall during a phase (e.g. while a
/// standby restarts).
pub fn largest_gap_within(acks: &[Duration], from: Duration, to: Duration) -> Duration {
    let mut prev = from;
    let mut best = Duration::ZERO;
    for &t in acks.iter().filter(|t| **t >= from && **t <= to) {
        best = best.max(t - prev);
        prev = t;
    }
    best.max(to.saturating_sub(prev))
}

/// The first time at or after `t` at which a node is active that is "new": a node other
/// than `old`, or `old` itself after it was seen not active at or after `t`. Returns the
/// node index and the time.
pub fn new_active_after(
    timelines: &[NodeTimeline],
    t: Duration,
    old: Option<usize>,
) -> Option<(usize, Duration)> {
    let mut best: Option<(usize, Duration)> = None;
    for (i, tl) in timelines.iter().enumerate() {
        let found = if Some(i) == old {
            let mut left = false;
            tl.transitions
                .iter()
                .filter(|tr| tr.t >= t)
                .find(|tr| {
                    if tr.seen != Observed::Active {
                        left = true;
                        false
                    } else {
                        left
                    }
                })
                .map(|tr| tr.t)
        } else if tl.at(t) == Some(Observed::Active) {
            Some(t)
        } else {
            tl.transitions
                .iter()
                .find(|tr| tr.t >= t && tr.seen == Observed::Active)
                .map(|tr| tr.t)
        };
        if let Some(at) = found {
            if best.is_none_or(|(_, b)| at < b) {
                best = Some((i, at));
            }
        }
    }
    best
}

/// Total time within `[from, to]` during which no node was seen active.
pub fn time_without_active(timelines: &[NodeTimeline], from: Duration, to: Duration) -> Duration {
    let mut cuts: Vec<Duration> = timelines
        .iter()
        .flat_map(|tl| tl.transitions.iter().map(|tr| tr.t))
        .filter(|t| *t > from && *t < to)
        .collect();
    cuts.push(from);
    cuts.push(to);
    cuts.sort();
    cuts.dedup();
    let mut total = Duration::ZERO;
    for w in cuts.windows(2) {
        let any_active = timelines
            .iter()
            .any(|tl| tl.at(w[0]) == Some(Observed::Active));
        if !any_active {
            total += w[1] - w[0];
        }
    }
    total
}

/// Whether node `i` was seen active without interruption over `[from, to]`.
pub fn stayed_active(timelines: &[NodeTimeline], i: usize, from: Duration, to: Duration) -> bool {
    let Some(tl) = timelines.get(i) else {
        return false;
    };
    tl.at(from) == Some(Observed::Active)
        && tl
            .transitions
            .iter()
            .filter(|tr| tr.t > from && tr.t <= to)
            .all(|tr| tr.seen == Observed::Active)
}

/// Failed requests by kind (check-and-set conflicts excluded: they are retries).
pub fn errors_by_kind(attempts: &[Attempt]) -> BTreeMap<ErrorClass, u64> {
    let mut m = BTreeMap::new();
    for a in attempts {
        if let Outcome::Error { class } = a.outcome {
            if class != ErrorClass::CasConflict {
                *m.entry(class).or_insert(0) += 1;
            }
        }
    }
    m
}

/// The median of `v` (the mean of the middle two for an even count); `None` when empty.
pub fn median(v: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Op, Transition};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn ack(end: u64) -> Attempt {
        Attempt {
            writer: 0,
            node: 0,
            start: ms(end.saturating_sub(5)),
            end: ms(end),
            op: Op::Write { seq: end },
            outcome: Outcome::Ack { version: 1 },
        }
    }

    fn tl(name: &str, tr: &[(u64, Observed)]) -> NodeTimeline {
        NodeTimeline {
            node: name.into(),
            transitions: tr
                .iter()
                .map(|(t, s)| Transition {
                    t: ms(*t),
                    seen: *s,
                })
                .collect(),
        }
    }

    #[test]
    fn unavailability_is_the_longest_gap_after_the_fault() {
        let a: Vec<Attempt> = [100, 110, 120, 1005, 2900, 2910, 2920]
            .iter()
            .map(|t| ack(*t))
            .collect();
        let acks = ack_times(&a);
        // The in-flight ack at 1005 does not hide the outage that follows it.
        let g = unavailability(&acks, ms(1000), ms(5000)).unwrap();
        assert_eq!(g.from, ms(1005));
        assert_eq!(g.to, Some(ms(2900)));
        assert_eq!(g.len(), Some(ms(1895)));
    }

    #[test]
    fn unavailability_without_recovery_is_open_ended() {
        let acks = vec![ms(100), ms(200)];
        let g = unavailability(&acks, ms(300), ms(5000)).unwrap();
        assert_eq!(
            g,
            Gap {
                from: ms(200),
                to: None
            }
        );
        assert_eq!(g.len(), None);
        // Nothing acknowledged before the fault: nothing to measure from.
        assert!(unavailability(&acks, ms(50), ms(5000)).is_none());
        assert!(unavailability(&[], ms(50), ms(5000)).is_none());
    }

    #[test]
    fn failed_writes_are_not_acks() {
        let mut a = vec![ack(100)];
        a.push(Attempt {
            outcome: Outcome::Error {
                class: ErrorClass::Timeout,
            },
            ..ack(150)
        });
        a.push(Attempt {
            op: Op::CounterRead,
            ..ack(160)
        });
        assert_eq!(ack_times(&a), vec![ms(100)]);
        let e = errors_by_kind(&a);
        assert_eq!(e.get(&ErrorClass::Timeout), Some(&1));
    }

    #[test]
    fn largest_gap_counts_the_window_edges() {
        let acks = vec![ms(100), ms(150), ms(900)];
        assert_eq!(largest_gap_within(&acks, ms(0), ms(1000)), ms(750));
        assert_eq!(largest_gap_within(&acks, ms(120), ms(200)), ms(50));
        assert_eq!(largest_gap_within(&[], ms(0), ms(40)), ms(40));
    }

    #[test]
    fn new_active_is_another_node_or_the_old_one_after_leaving() {
        let tls = vec![
            tl(
                "node1",
                &[
                    (0, Observed::Active),
                    (1000, Observed::Down),
                    (5000, Observed::Sealed),
                ],
            ),
            tl("node2", &[(0, Observed::Standby), (2500, Observed::Active)]),
            tl("node3", &[(0, Observed::Standby)]),
        ];
        assert_eq!(
            new_active_after(&tls, ms(900), Some(0)),
            Some((1, ms(2500)))
        );
        // Restart of every node: node1 comes back active after being sealed.
        let tls = vec![
            tl(
                "node1",
                &[
                    (0, Observed::Active),
                    (1000, Observed::Sealed),
                    (4000, Observed::Active),
                ],
            ),
            tl("node2", &[(0, Observed::Standby), (1000, Observed::Sealed)]),
        ];
        assert_eq!(
            new_active_after(&tls, ms(900), Some(0)),
            Some((0, ms(4000)))
        );
        // A standby killed: the active never changes, so there is no new active node.
        let tls = vec![
            tl("node1", &[(0, Observed::Active)]),
            tl("node2", &[(0, Observed::Standby), (1000, Observed::Down)]),
        ];
        assert_eq!(new_active_after(&tls, ms(900), Some(0)), None);
        assert!(stayed_active(&tls, 0, ms(900), ms(3000)));
        assert!(!stayed_active(&tls, 1, ms(900), ms(3000)));
    }

    #[test]
    fn time_without_active_sums_the_leaderless_intervals() {
        let tls = vec![
            tl("node1", &[(0, Observed::Active), (1000, Observed::Down)]),
            tl("node2", &[(0, Observed::Standby), (2500, Observed::Active)]),
        ];
        assert_eq!(time_without_active(&tls, ms(0), ms(4000)), ms(1500));
        assert_eq!(time_without_active(&tls, ms(2000), ms(4000)), ms(500));
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
