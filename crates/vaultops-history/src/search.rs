//! The linearizability search for one register: Wing & Gong's backtracking search with
//! Lowe's memoization of (linearized set, register value), as Porcupine does it.
//!
//! Input is already reduced to what the search needs ([`Step`]): interned values (0 is
//! "absent"), a call time, and a return time for operations that must take effect (`ok`);
//! an operation with no return time (`info`) may take effect at any point after its call, or
//! never. The history is the time-ordered list of call and return entries, kept as a
//! doubly linked list so an operation is lifted out and put back in O(1). The search is
//! done when every operation with a return entry is linearized; `info` operations left over
//! never took effect.

use std::collections::HashSet;

/// What an operation does to the register; values are interned, 0 is "absent".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    Write(u32),
    /// An acknowledged read that returned this value.
    Read(u32),
    Cas {
        expected: u32,
        new: u32,
    },
}

/// One operation as the search sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    pub effect: Effect,
    pub call: f64,
    /// `None`: may take effect at any time after `call`, or never.
    pub ret: Option<f64>,
}

/// The search's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Linearizable,
    NotLinearizable,
    /// The step budget ran out first.
    Unknown,
}

/// The search's answer and how many steps it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Searched {
    pub outcome: Outcome,
    pub steps: u64,
}

const NONE: usize = usize::MAX;

fn apply(state: u32, e: Effect) -> Option<u32> {
    match e {
        Effect::Write(v) => Some(v),
        Effect::Read(v) => (v == state).then_some(state),
        Effect::Cas { expected, new } => (expected == state).then_some(new),
    }
}

/// Searches for a linearization of `ops` (register initially absent), giving up after
/// `max_steps` steps (a step tries one entry or backtracks once).
pub(crate) fn search(ops: &[Step], max_steps: u64) -> Searched {
    let must = ops.iter().filter(|o| o.ret.is_some()).count();
    if must == 0 {
        return Searched {
            outcome: Outcome::Linearizable,
            steps: 0,
        };
    }
    // Entries: (time, is_return, op). At equal times calls come first: operations that
    // touch at an instant count as concurrent (the permissive reading).
    let mut entries: Vec<(f64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
    for (i, o) in ops.iter().enumerate() {
        entries.push((o.call, false, i));
        if let Some(r) = o.ret {
            entries.push((r, true, i));
        }
    }
    entries.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));

    // Node 0 is the head; entry k is node k + 1.
    let n = entries.len();
    let mut next: Vec<usize> = (1..=n).chain([NONE]).collect();
    let mut prev: Vec<usize> = std::iter::once(NONE).chain(0..n).collect();
    let mut call_node = vec![0usize; ops.len()];
    let mut ret_node = vec![NONE; ops.len()];
    for (k, &(_, is_ret, op)) in entries.iter().enumerate() {
        if is_ret {
            ret_node[op] = k + 1;
        } else {
            call_node[op] = k + 1;
        }
    }
    let remove = |next: &mut Vec<usize>, prev: &mut Vec<usize>, x: usize| {
        next[prev[x]] = next[x];
        if next[x] != NONE {
            prev[next[x]] = prev[x];
        }
    };
    let restore = |next: &mut Vec<usize>, prev: &mut Vec<usize>, x: usize| {
        next[prev[x]] = x;
        if next[x] != NONE {
            prev[next[x]] = x;
        }
    };

    let words = ops.len().div_ceil(64);
    let mut linearized = vec![0u64; words];
    let mut seen: HashSet<(Box<[u64]>, u32)> = HashSet::new();
    let mut stack: Vec<(usize, u32)> = Vec::new();
    let mut state = 0u32;
    let mut remaining = must;
    let mut steps = 0u64;
    let mut node = next[0];
    loop {
        steps += 1;
        if steps > max_steps {
            return Searched {
                outcome: Outcome::Unknown,
                steps,
            };
        }
        let is_call = node != NONE && !entries[node - 1].1;
        if is_call {
            let op = entries[node - 1].2;
            if let Some(new_state) = apply(state, ops[op].effect) {
                linearized[op / 64] |= 1 << (op % 64);
                if seen.insert((linearized.clone().into_boxed_slice(), new_state)) {
                    stack.push((op, state));
                    state = new_state;
                    remove(&mut next, &mut prev, call_node[op]);
                    if ret_node[op] != NONE {
                        remove(&mut next, &mut prev, ret_node[op]);
                        remaining -= 1;
                        if remaining == 0 {
                            return Searched {
                                outcome: Outcome::Linearizable,
                                steps,
                            };
                        }
                    }
                    node = next[0];
                    continue;
                }
                linearized[op / 64] &= !(1 << (op % 64));
            }
            node = next[node];
        } else {
            // The first pending return: every candidate before it has been tried.
            let Some((op, before)) = stack.pop() else {
                return Searched {
                    outcome: Outcome::NotLinearizable,
                    steps,
                };
            };
            state = before;
            linearized[op / 64] &= !(1 << (op % 64));
            if ret_node[op] != NONE {
                restore(&mut next, &mut prev, ret_node[op]);
                remaining += 1;
            }
            restore(&mut next, &mut prev, call_node[op]);
            node = next[call_node[op]];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(effect: Effect, call: f64, ret: f64) -> Step {
        Step {
            effect,
            call,
            ret: Some(ret),
        }
    }

    #[test]
    fn sequential_and_concurrent_orders() {
        // w1 then a read of 1: fine; a read of 1 before w1 was invoked: not.
        let good = [
            ok(Effect::Write(1), 0.0, 1.0),
            ok(Effect::Read(1), 2.0, 3.0),
        ];
        assert_eq!(search(&good, 1000).outcome, Outcome::Linearizable);
        let bad = [
            ok(Effect::Read(1), 0.0, 1.0),
            ok(Effect::Write(1), 2.0, 3.0),
        ];
        assert_eq!(search(&bad, 1000).outcome, Outcome::NotLinearizable);
        // Overlapping: the read may go after the write.
        let overlap = [
            ok(Effect::Read(1), 0.0, 3.0),
            ok(Effect::Write(1), 1.0, 2.0),
        ];
        assert_eq!(search(&overlap, 1000).outcome, Outcome::Linearizable);
    }

    #[test]
    fn a_budget_too_small_is_unknown_not_linearizable() {
        let ops: Vec<Step> = (0..20)
            .map(|i| ok(Effect::Write(i + 1), 0.0, 10.0))
            .chain([ok(Effect::Read(99), 0.0, 10.0)])
            .collect();
        assert_eq!(search(&ops, 50).outcome, Outcome::Unknown);
    }
}
