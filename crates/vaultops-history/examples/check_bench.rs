//! The checker's performance figure: a random history of 20,000 operations over 200 keys
//! from a simulated linearizable register store (48 concurrent clients, overlapping
//! operations, some `info` and `fail` outcomes, a few operations never completed), checked
//! and asserted linearizable; prints the elapsed time.
//!
//! `cargo run --release -p vaultops-history --example check_bench [SEED]`

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;
use vaultops_history::{
    check, operations, parse_jsonl, to_jsonl, Event, EventType, Func, Value, Verdict,
};

const OPS: usize = 20_000;
const KEYS: usize = 200;
const CLIENTS: usize = 48;

/// splitmix64: enough randomness for a workload, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Seconds, uniform in [lo, hi).
    fn time(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }
}

/// An operation in flight on one client.
struct Pending {
    process: u64,
    f: Func,
    key: String,
    value: Value,
    /// What the completion reports, once the effect point has passed.
    done: Option<(EventType, Value)>,
}

/// A time that orders totally (for the event queue).
#[derive(PartialEq)]
struct T(f64);
impl Eq for T {}
impl PartialOrd for T {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for T {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

fn simulate(seed: u64) -> Vec<Event> {
    let mut rng = Rng(seed);
    let mut store: HashMap<String, String> = HashMap::new();
    // Values recently written per key: what clients guess as a CAS's expected value.
    let mut recent: HashMap<String, Vec<String>> = HashMap::new();
    let mut events = Vec::new();
    // (time, client, phase): 0 invoke, 1 effect point, 2 completion.
    let mut queue: BinaryHeap<Reverse<(T, usize, u8)>> = BinaryHeap::new();
    let mut pending: Vec<Option<Pending>> = (0..CLIENTS).map(|_| None).collect();
    let mut process: Vec<u64> = (0..CLIENTS as u64).collect();
    let mut next_process = CLIENTS as u64;
    let mut invoked = 0usize;
    let mut serial = 0u64;
    for c in 0..CLIENTS {
        queue.push(Reverse((T(rng.time(0.0, 0.001)), c, 0)));
    }
    while let Some(Reverse((T(t), c, phase))) = queue.pop() {
        match phase {
            0 => {
                if invoked == OPS {
                    continue;
                }
                invoked += 1;
                serial += 1;
                let key = format!("k{}", rng.below(KEYS as u64));
                let (f, value) = match rng.below(100) {
                    0..=39 => (Func::Write, Value::One(format!("w{}-{serial}", process[c]))),
                    40..=84 => (Func::Read, Value::None),
                    _ => {
                        let r = recent.get(&key).map_or(&[][..], |v| &v[..]);
                        let expected = if r.is_empty() || rng.below(10) == 0 {
                            None
                        } else {
                            Some(r[rng.below(r.len() as u64) as usize].clone())
                        };
                        let new = format!("c{}-{serial}", process[c]);
                        (Func::Cas, Value::Cas { expected, new })
                    }
                };
                events.push(Event {
                    process: process[c],
                    kind: EventType::Invoke,
                    f,
                    key: key.clone(),
                    value: value.clone(),
                    time: t,
                    node: None,
                });
                pending[c] = Some(Pending {
                    process: process[c],
                    f,
                    key,
                    value,
                    done: None,
                });
                queue.push(Reverse((T(t + rng.time(0.0005, 0.02)), c, 1)));
            }
            1 => {
                let p = pending[c].as_mut().expect("an operation in flight");
                let roll = rng.below(1000);
                // 1%: refused before taking effect (fail); 1%: lost on the way (info, no
                // effect); 1%: took effect but the reply was lost (info).
                let done = if roll < 10 && p.f != Func::Read {
                    (EventType::Fail, p.value.clone())
                } else if roll < 20 {
                    (EventType::Info, p.value.clone())
                } else {
                    let current = store.get(&p.key).cloned();
                    let outcome = match &p.value {
                        Value::One(v) => {
                            store.insert(p.key.clone(), v.clone());
                            recent.entry(p.key.clone()).or_default().push(v.clone());
                            (EventType::Ok, p.value.clone())
                        }
                        Value::None => (EventType::Ok, current.map_or(Value::None, Value::One)),
                        Value::Cas { expected, new } if *expected == current => {
                            store.insert(p.key.clone(), new.clone());
                            recent.entry(p.key.clone()).or_default().push(new.clone());
                            (EventType::Ok, p.value.clone())
                        }
                        Value::Cas { .. } => (EventType::Fail, p.value.clone()),
                    };
                    if roll < 30 {
                        (EventType::Info, p.value.clone())
                    } else {
                        outcome
                    }
                };
                if let Some(r) = recent.get_mut(&p.key) {
                    let n = r.len();
                    r.drain(..n.saturating_sub(3));
                }
                p.done = Some(done);
                queue.push(Reverse((T(t + rng.time(0.0005, 0.02)), c, 2)));
            }
            _ => {
                let p = pending[c].take().expect("an operation in flight");
                let (kind, value) = p.done.expect("past its effect point");
                // Operations still open when the last one is invoked: a few never complete.
                if invoked == OPS && rng.below(4) == 0 {
                    continue;
                }
                let value = if p.f == Func::Read && kind != EventType::Ok {
                    Value::None
                } else {
                    value
                };
                events.push(Event {
                    process: p.process,
                    kind,
                    f: p.f,
                    key: p.key,
                    value,
                    time: t,
                    node: None,
                });
                if kind == EventType::Info {
                    process[c] = next_process;
                    next_process += 1;
                }
                queue.push(Reverse((T(t + rng.time(0.0, 0.002)), c, 0)));
            }
        }
    }
    events
}

fn main() {
    let seed = std::env::args()
        .nth(1)
        .map_or(1, |s| s.parse().expect("SEED is a number"));
    let text = to_jsonl(&simulate(seed));
    let started = Instant::now();
    let events = parse_jsonl(&text).expect("the simulated history parses");
    let ops = operations(&events).unwrap();
    let parsed = started.elapsed();
    let started = Instant::now();
    let report = check(&ops);
    let checked = started.elapsed();

    let count = |pred: &dyn Fn(&vaultops_history::Outcome) -> bool| {
        ops.iter().filter(|o| pred(&o.outcome)).count()
    };
    let info = count(&|o| *o == vaultops_history::Outcome::Info);
    let fail = count(&|o| *o == vaultops_history::Outcome::Fail);
    let steps: u64 = report.keys.iter().map(|k| k.steps).sum();
    // Operations overlapping another operation on the same key.
    let mut overlapping = 0;
    for k in &report.keys {
        let end = |i: usize| ops[i].completed.unwrap_or(f64::INFINITY);
        for (n, &i) in k.ops.iter().enumerate() {
            let before = k.ops[..n].iter().any(|&j| end(j) > ops[i].invoked);
            let after = k.ops[n + 1..].iter().any(|&j| ops[j].invoked < end(i));
            if before || after {
                overlapping += 1;
            }
        }
    }
    for k in &report.keys {
        assert_eq!(k.verdict, Verdict::Linearizable, "key {}", k.key);
    }
    assert!(report.is_linearizable());
    assert_eq!(ops.len(), OPS);
    assert_eq!(report.keys.len(), KEYS);
    println!(
        "seed {seed}: {} operations ({info} info, {fail} fail, {overlapping} overlapping \
         another on their key) over {} keys, {} processes: linearizable; parse {:.1} ms, check {:.1} ms ({steps} search steps)",
        ops.len(),
        report.keys.len(),
        ops.iter()
            .map(|o| o.process)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        parsed.as_secs_f64() * 1e3,
        checked.as_secs_f64() * 1e3,
    );
}
