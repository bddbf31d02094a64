//! The linearizability check of a history of per-key registers, and the shrinking of a
//! violation to a few operations that cannot be ordered.
//!
//! Every key is a register, initially absent, checked on its own (linearizability is
//! compositional: the history is linearizable iff each key's is). Within a key:
//!
//! - an `ok` operation takes effect exactly once between its invocation and its completion
//!   (a read returns the value it reported);
//! - a `fail` operation never takes effect;
//! - an `info` operation (or one never completed) may take effect at any time after its
//!   invocation, or never; an `info` read constrains nothing and is ignored.
//!
//! Two reductions keep the search small and are exact: `fail` operations and `info` reads
//! are dropped, and an `info` write or cas whose new value no remaining operation reads or
//! expects is dropped too (taking effect unobserved is indistinguishable from never taking
//! effect, since nothing between it and the next change of the register can observe it).
//!
//! A violation is shrunk to a witness: a set of operations that, with their recorded
//! outcomes, admit no order even when every *other* operation of the key is weakened to
//! `info` (may or may not take effect, at any time after its invocation). Weakening only
//! adds behaviours, so the witness alone proves the key non-linearizable. Shrinking keeps
//! the smallest prefix (by invocation) that is still a witness, then the shortest window
//! ending there, then drops operations one at a time while it stays a witness.

use crate::event::{Func, Operation, Outcome, Value};
use crate::search::{search, Effect, Outcome as Found, Step};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Limits of the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions {
    /// Steps the search may take on one key (one step tries one operation or backtracks
    /// once) before the key is reported [`Verdict::Unknown`]. Shrinking a violation gives
    /// each of its trial searches the same budget.
    pub max_steps_per_key: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            max_steps_per_key: 2_000_000,
        }
    }
}

/// The verdict on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Linearizable,
    /// No order exists. `witness`: indices into the checked operation slice of a few
    /// operations of this key that cannot be ordered (see the module docs), by invocation.
    NotLinearizable {
        witness: Vec<usize>,
    },
    /// The search ran out of its step budget: neither verdict is proven.
    Unknown {
        steps: u64,
    },
}

/// One key's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyReport {
    pub key: String,
    /// Indices into the checked operation slice of this key's operations, by invocation.
    pub ops: Vec<usize>,
    pub verdict: Verdict,
    /// Search steps spent on the verdict (shrinking not included).
    pub steps: u64,
}

/// Every key's result, sorted by key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub keys: Vec<KeyReport>,
}

impl CheckReport {
    /// Every key linearizable (an empty history is).
    pub fn is_linearizable(&self) -> bool {
        self.keys.iter().all(|k| k.verdict == Verdict::Linearizable)
    }

    /// The keys proven non-linearizable.
    pub fn violations(&self) -> impl Iterator<Item = &KeyReport> {
        self.keys
            .iter()
            .filter(|k| matches!(k.verdict, Verdict::NotLinearizable { .. }))
    }

    /// The keys whose search ran out of budget.
    pub fn unknown(&self) -> impl Iterator<Item = &KeyReport> {
        self.keys
            .iter()
            .filter(|k| matches!(k.verdict, Verdict::Unknown { .. }))
    }
}

/// Checks `ops` (as [`crate::operations`] returns them) with the default options.
pub fn check(ops: &[Operation]) -> CheckReport {
    check_with(ops, &CheckOptions::default())
}

/// Checks `ops`, each key on its own, within `options`.
pub fn check_with(ops: &[Operation], options: &CheckOptions) -> CheckReport {
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        by_key.entry(op.key.as_str()).or_default().push(i);
    }
    let keys = by_key
        .into_iter()
        .map(|(key, mut idx)| {
            idx.sort_by(|&a, &b| ops[a].invoked.total_cmp(&ops[b].invoked).then(a.cmp(&b)));
            check_key(ops, key, idx, options)
        })
        .collect();
    CheckReport { keys }
}

fn check_key(ops: &[Operation], key: &str, idx: Vec<usize>, options: &CheckOptions) -> KeyReport {
    let all: HashSet<usize> = idx.iter().copied().collect();
    let found = search(&steps_for(ops, &idx, &all), options.max_steps_per_key);
    let verdict = match found.outcome {
        Found::Linearizable => Verdict::Linearizable,
        Found::Unknown => Verdict::Unknown { steps: found.steps },
        Found::NotLinearizable => Verdict::NotLinearizable {
            witness: shrink(ops, &idx, options),
        },
    };
    KeyReport {
        key: key.to_owned(),
        ops: idx,
        verdict,
        steps: found.steps,
    }
}

/// Whether the key's operations `idx`, with those outside `strong` weakened to `info`, are
/// proven non-linearizable within the budget.
fn witness_holds(
    ops: &[Operation],
    idx: &[usize],
    strong: &HashSet<usize>,
    options: &CheckOptions,
) -> bool {
    search(&steps_for(ops, idx, strong), options.max_steps_per_key).outcome
        == Found::NotLinearizable
}

/// Shrinks a violation of the key's operations `idx` (by invocation) to a witness.
fn shrink(ops: &[Operation], idx: &[usize], options: &CheckOptions) -> Vec<usize> {
    // `info` operations are as weak as they get: never part of a witness.
    let cands: Vec<usize> = idx
        .iter()
        .copied()
        .filter(|&i| ops[i].outcome != Outcome::Info)
        .collect();
    let holds = |set: &[usize]| {
        let strong: HashSet<usize> = set.iter().copied().collect();
        witness_holds(ops, idx, &strong, options)
    };
    // Weakening is monotone: a larger strong set is at least as constrained. Smallest
    // prefix that holds (the whole set holds), then the shortest window ending there.
    let (mut lo, mut hi) = (0, cands.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if holds(&cands[..mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let end = hi;
    let (mut lo, mut hi) = (0, end);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if holds(&cands[mid..end]) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut witness: Vec<usize> = cands[lo..end].to_vec();
    let mut i = 0;
    while i < witness.len() {
        let mut without = witness.clone();
        without.remove(i);
        if holds(&without) {
            witness = without;
        } else {
            i += 1;
        }
    }
    witness
}

/// The search input for the key's operations `idx`: those in `strong` with their recorded
/// outcome, the others weakened to `info`; `fail` and `info` reads dropped, unobserved
/// `info` writes and cas dropped.
fn steps_for(ops: &[Operation], idx: &[usize], strong: &HashSet<usize>) -> Vec<Step> {
    let mut interner = Interner::default();
    // (effect, call, ret, must) before the unobserved-info reduction.
    let mut raw: Vec<Step> = Vec::with_capacity(idx.len());
    for &i in idx {
        let op = &ops[i];
        let outcome = if strong.contains(&i) {
            &op.outcome
        } else {
            &Outcome::Info
        };
        let ret = match outcome {
            Outcome::Fail => continue,
            Outcome::Info => None,
            Outcome::Ok(_) => Some(op.completed.unwrap_or(op.invoked)),
        };
        let effect = match (op.f, outcome) {
            (Func::Read, Outcome::Ok(v)) => Effect::Read(interner.value(v)),
            (Func::Read, _) => continue,
            (Func::Write, _) => Effect::Write(interner.value(&op.value)),
            (Func::Cas, _) => match &op.value {
                Value::Cas { expected, new } => Effect::Cas {
                    expected: interner.opt(expected.as_deref()),
                    new: interner.opt(Some(new)),
                },
                // Not the parser's shape: taken as a cas that can never succeed.
                other => Effect::Cas {
                    expected: interner.fresh(),
                    new: interner.value(other),
                },
            },
        };
        raw.push(Step {
            effect,
            call: op.invoked,
            ret,
        });
    }
    let observed: HashSet<u32> = raw
        .iter()
        .filter_map(|s| match s.effect {
            Effect::Read(v) => Some(v),
            Effect::Cas { expected, .. } => Some(expected),
            Effect::Write(_) => None,
        })
        .collect();
    raw.retain(|s| match (s.ret, s.effect) {
        (None, Effect::Write(v)) | (None, Effect::Cas { new: v, .. }) => observed.contains(&v),
        _ => true,
    });
    raw
}

/// Register values as small integers; 0 is "absent".
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    next: u32,
}

impl Interner {
    fn opt(&mut self, v: Option<&str>) -> u32 {
        match v {
            None => 0,
            Some(s) => {
                if let Some(&id) = self.ids.get(s) {
                    return id;
                }
                let id = self.fresh();
                self.ids.insert(s.to_owned(), id);
                id
            }
        }
    }

    fn value(&mut self, v: &Value) -> u32 {
        match v {
            Value::None => 0,
            Value::One(s) => self.opt(Some(s)),
            Value::Cas { new, .. } => self.opt(Some(new)),
        }
    }

    fn fresh(&mut self) -> u32 {
        self.next += 1;
        self.next
    }
}
