//! Write latency around a fault (pure): p50 and p99 of acknowledged writes (unique keys and
//! counter increments) before the first fault, during the fault window (from the first fault
//! to the last fault or recovery step), and after it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{Attempt, Event, EventKind};

/// Percentiles of one phase, in milliseconds (nearest rank).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Acknowledged writes in the phase.
    pub writes: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Write latency before, during and after the fault window (`None`: no write in the phase).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WriteLatency {
    pub before: Option<Percentiles>,
    pub during: Option<Percentiles>,
    pub after: Option<Percentiles>,
}

/// The `q` quantile (0–1) of sorted `v` by nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

fn phase(mut ms: Vec<f64>) -> Option<Percentiles> {
    ms.sort_by(f64::total_cmp);
    Some(Percentiles {
        writes: ms.len(),
        p50_ms: quantile(&ms, 0.50)?,
        p99_ms: quantile(&ms, 0.99)?,
    })
}

/// The fault window: the first fault to the last fault or recovery step (`None` without a
/// fault).
pub fn fault_window(events: &[Event]) -> Option<(Duration, Duration)> {
    let from = events.iter().find(|e| e.kind == EventKind::Fault)?.t;
    let to = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Fault | EventKind::Recovery))
        .map(|e| e.t)
        .max()
        .unwrap_or(from);
    Some((from, to))
}

/// Latency of acknowledged writes by phase; a write belongs to the phase its answer came in.
pub fn write_latency(attempts: &[Attempt], window: Option<(Duration, Duration)>) -> WriteLatency {
    let Some((from, to)) = window else {
        return WriteLatency::default();
    };
    let (mut before, mut during, mut after) = (Vec::new(), Vec::new(), Vec::new());
    for a in attempts.iter().filter(|a| a.is_write_ack()) {
        let ms = a.end.saturating_sub(a.start).as_secs_f64() * 1e3;
        if a.end < from {
            before.push(ms);
        } else if a.end <= to {
            during.push(ms);
        } else {
            after.push(ms);
        }
    }
    WriteLatency {
        before: phase(before),
        during: phase(during),
        after: phase(after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Op, Outcome};

    fn ack(start_ms: u64, took_ms: u64) -> Attempt {
        Attempt {
            writer: 0,
            node: 0,
            start: Duration::from_millis(start_ms),
            end: Duration::from_millis(start_ms + took_ms),
            op: Op::Write { seq: start_ms },
            outcome: Outcome::Ack { version: 1 },
        }
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), Some(50.0));
        assert_eq!(quantile(&v, 0.99), Some(99.0));
        assert_eq!(quantile(&v, 0.95), Some(95.0));
        assert_eq!(quantile(&[7.0], 0.99), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn writes_fall_in_the_phase_their_answer_came_in() {
        let attempts = vec![ack(0, 10), ack(100, 20), ack(900, 2000), ack(3000, 5)];
        let l = write_latency(
            &attempts,
            Some((Duration::from_secs(1), Duration::from_secs(2))),
        );
        assert_eq!(l.before.as_ref().unwrap().writes, 2);
        assert_eq!(l.before.as_ref().unwrap().p99_ms, 20.0);
        assert!(l.during.is_none(), "{l:?}");
        let after = l.after.unwrap();
        assert_eq!((after.writes, after.p50_ms), (2, 5.0));
        assert_eq!(write_latency(&attempts, None), WriteLatency::default());
    }
}
