//! Positive controls: forged histories whose verdict is known, each judged through the real
//! pipeline (JSONL text, the parser, the pairing, the check).

use serde_json::{json, Value as J};
use vaultops_history::{
    check, check_with, operations, parse_jsonl, CheckOptions, CheckReport, Operation, Verdict,
};

/// A history under construction: whole operations, written out as time-sorted events.
#[derive(Default)]
struct Forge {
    events: Vec<(f64, J)>,
}

impl Forge {
    /// An operation of `process` on `key`: `outcome` is "ok", "fail", "info" or "none" (never
    /// completed). `value` is the invocation's value; `read` the value an ok read returned.
    #[allow(clippy::too_many_arguments)]
    fn op(
        &mut self,
        process: u64,
        key: &str,
        f: &str,
        value: J,
        outcome: &str,
        invoked: f64,
        completed: f64,
        read: J,
    ) -> &mut Self {
        self.events.push((
            invoked,
            json!({"process": process, "type": "invoke", "f": f, "key": key, "value": value, "time": invoked}),
        ));
        if outcome != "none" {
            let done = if f == "read" { read } else { value };
            self.events.push((
                completed,
                json!({"process": process, "type": outcome, "f": f, "key": key, "value": done, "time": completed}),
            ));
        }
        self
    }

    fn write(&mut self, p: u64, key: &str, v: &str, outcome: &str, t: (f64, f64)) -> &mut Self {
        self.op(p, key, "write", json!(v), outcome, t.0, t.1, J::Null)
    }

    fn read(&mut self, p: u64, key: &str, got: Option<&str>, t: (f64, f64)) -> &mut Self {
        self.op(p, key, "read", J::Null, "ok", t.0, t.1, json!(got))
    }

    #[allow(clippy::too_many_arguments)]
    fn cas(
        &mut self,
        p: u64,
        key: &str,
        expected: Option<&str>,
        new: &str,
        outcome: &str,
        t: (f64, f64),
    ) -> &mut Self {
        self.op(
            p,
            key,
            "cas",
            json!([expected, new]),
            outcome,
            t.0,
            t.1,
            J::Null,
        )
    }

    fn ops(&self) -> Vec<Operation> {
        let mut events = self.events.clone();
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
        let text: String = events.iter().map(|(_, e)| format!("{e}\n")).collect();
        operations(&parse_jsonl(&text).expect("a forged history parses")).unwrap()
    }
}

fn verdict<'a>(report: &'a CheckReport, key: &str) -> &'a Verdict {
    &report
        .keys
        .iter()
        .find(|k| k.key == key)
        .unwrap_or_else(|| panic!("no key {key} in {report:?}"))
        .verdict
}

/// The witness of `key`'s violation, as (process, f, outcome) descriptions.
fn witness(ops: &[Operation], report: &CheckReport, key: &str) -> Vec<String> {
    match verdict(report, key) {
        Verdict::NotLinearizable { witness } => witness
            .iter()
            .map(|&i| {
                assert_eq!(ops[i].key, key);
                format!(
                    "p{} {}",
                    ops[i].process,
                    vaultops_history::describe(&ops[i])
                )
            })
            .collect(),
        other => panic!("{key} should not be linearizable, got {other:?}"),
    }
}

#[test]
fn concurrent_overlapping_writes_and_reads_are_linearizable() {
    let ops = Forge::default()
        .write(1, "k", "a", "ok", (0.0, 10.0))
        .write(2, "k", "b", "ok", (2.0, 6.0))
        .read(3, "k", Some("b"), (3.0, 8.0))
        .read(4, "k", Some("a"), (9.0, 12.0))
        .read(3, "k", Some("a"), (11.0, 13.0))
        .read(5, "k", None, (0.5, 1.0))
        .write(6, "other", "x", "ok", (0.0, 1.0))
        .read(6, "other", Some("x"), (1.5, 2.0))
        .ops();
    let report = check(&ops);
    assert!(report.is_linearizable(), "{report:?}");
    assert_eq!(report.keys.len(), 2);
}

#[test]
fn a_lost_acknowledged_write_is_a_violation() {
    // b is acknowledged, then every later read (no write concurrent) returns the older a.
    let ops = Forge::default()
        .write(1, "k17", "a", "ok", (0.0, 1.0))
        .write(2, "k17", "b", "ok", (2.0, 3.0))
        .read(1, "k17", Some("a"), (4.0, 5.0))
        .read(3, "k17", Some("a"), (6.0, 7.0))
        .write(4, "fine", "z", "ok", (0.0, 1.0))
        .ops();
    let report = check(&ops);
    assert!(!report.is_linearizable());
    assert_eq!(verdict(&report, "fine"), &Verdict::Linearizable);
    let w = witness(&ops, &report, "k17");
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(w.contains(&"p1 write a (ok)".to_owned()), "{w:?}");
    assert!(w.contains(&"p2 write b (ok)".to_owned()), "{w:?}");
    assert!(w.iter().any(|d| d.contains("read → a (ok)")), "{w:?}");
}

#[test]
fn a_stale_read_is_a_violation() {
    // After b's write completed (and a read saw b), a read returns the previous value.
    let ops = Forge::default()
        .write(1, "k", "a", "ok", (0.0, 1.0))
        .write(2, "k", "b", "ok", (2.0, 3.0))
        .read(3, "k", Some("b"), (3.5, 4.0))
        .read(4, "k", Some("a"), (5.0, 6.0))
        .ops();
    let report = check(&ops);
    let w = witness(&ops, &report, "k");
    // Three operations suffice: a written once, b seen, then a seen again (whether b's
    // write is named or the read that saw b, either proves a went back in time).
    assert!(w.contains(&"p4 read → a (ok)".to_owned()), "{w:?}");
    assert!(w.contains(&"p1 write a (ok)".to_owned()), "{w:?}");
    assert_eq!(w.len(), 3, "{w:?}");
}

#[test]
fn a_lost_update_behind_an_ambiguous_cas_is_a_violation() {
    // Both CAS expect v0. The ok one (v0→v2) took effect; the info one (v0→v1) could only
    // succeed before it, and then the ok one would have found v1, not v0. A read long after
    // both shows v1: the acknowledged update was lost.
    let ops = Forge::default()
        .write(1, "ctr", "v0", "ok", (0.0, 1.0))
        .cas(2, "ctr", Some("v0"), "v1", "info", (2.0, 3.0))
        .cas(3, "ctr", Some("v0"), "v2", "ok", (2.5, 3.5))
        .read(4, "ctr", Some("v1"), (5.0, 6.0))
        .read(4, "ctr", Some("v1"), (7.0, 8.0))
        .ops();
    let report = check(&ops);
    let w = witness(&ops, &report, "ctr");
    assert!(w.contains(&"p3 cas v0→v2 (ok)".to_owned()), "{w:?}");
    assert!(w.iter().any(|d| d.contains("read → v1 (ok)")), "{w:?}");
    assert!(!w.iter().any(|d| d.contains("(info)")), "{w:?}");

    // Control: had the ok CAS failed instead, the info one explains the read.
    let ops = Forge::default()
        .write(1, "ctr", "v0", "ok", (0.0, 1.0))
        .cas(2, "ctr", Some("v0"), "v1", "info", (2.0, 3.0))
        .cas(3, "ctr", Some("v0"), "v2", "fail", (2.5, 3.5))
        .read(4, "ctr", Some("v1"), (5.0, 6.0))
        .ops();
    assert!(check(&ops).is_linearizable());
}

#[test]
fn an_info_write_may_take_effect_much_later() {
    let ops = Forge::default()
        .write(1, "k", "a", "ok", (0.0, 1.0))
        .write(2, "k", "b", "info", (2.0, 2.5))
        .read(3, "k", Some("a"), (3.0, 4.0))
        .read(3, "k", Some("a"), (10.0, 11.0))
        .read(3, "k", Some("b"), (100.0, 101.0))
        .read(3, "k", Some("b"), (102.0, 103.0))
        .ops();
    let report = check(&ops);
    assert!(report.is_linearizable(), "{report:?}");
}

#[test]
fn an_info_write_never_seen_is_linearizable() {
    for outcome in ["info", "none"] {
        let ops = Forge::default()
            .write(1, "k", "a", "ok", (0.0, 1.0))
            .write(2, "k", "b", outcome, (2.0, 2.5))
            .read(3, "k", Some("a"), (3.0, 4.0))
            .read(3, "k", Some("a"), (50.0, 51.0))
            .ops();
        let report = check(&ops);
        assert!(report.is_linearizable(), "{outcome}: {report:?}");
    }
}

#[test]
fn a_failed_write_read_later_is_a_violation() {
    let ops = Forge::default()
        .write(1, "k", "a", "ok", (0.0, 1.0))
        .write(2, "k", "b", "fail", (2.0, 3.0))
        .read(3, "k", Some("b"), (4.0, 5.0))
        .ops();
    let report = check(&ops);
    let w = witness(&ops, &report, "k");
    assert!(w.contains(&"p2 write b (fail)".to_owned()), "{w:?}");
    assert!(w.contains(&"p3 read → b (ok)".to_owned()), "{w:?}");
}

#[test]
fn cas_from_null_needs_an_absent_key() {
    // On an absent key a cas expecting null succeeds.
    let ops = Forge::default()
        .cas(1, "k", None, "a", "ok", (0.0, 1.0))
        .read(2, "k", Some("a"), (2.0, 3.0))
        .cas(3, "k", None, "b", "fail", (4.0, 5.0))
        .read(2, "k", Some("a"), (6.0, 7.0))
        .ops();
    assert!(check(&ops).is_linearizable());
    // Once the key holds a value, an acknowledged cas from null is impossible.
    let ops = Forge::default()
        .cas(1, "k", None, "a", "ok", (0.0, 1.0))
        .cas(3, "k", None, "b", "ok", (4.0, 5.0))
        .ops();
    let report = check(&ops);
    let w = witness(&ops, &report, "k");
    assert_eq!(w.len(), 2, "{w:?}");
}

#[test]
fn reads_of_null_on_a_never_written_key() {
    let ops = Forge::default()
        .read(1, "empty", None, (0.0, 1.0))
        .read(2, "empty", None, (0.5, 3.0))
        .ops();
    let report = check(&ops);
    assert!(report.is_linearizable(), "{report:?}");
    // A read of null after an acknowledged write is not.
    let ops = Forge::default()
        .write(1, "k", "a", "ok", (0.0, 1.0))
        .read(2, "k", None, (2.0, 3.0))
        .ops();
    let report = check(&ops);
    assert_eq!(witness(&ops, &report, "k").len(), 2);
    // A value nobody wrote is not.
    let ops = Forge::default()
        .read(1, "k", Some("ghost"), (0.0, 1.0))
        .ops();
    assert_eq!(witness(&ops, &check(&ops), "k"), ["p1 read → ghost (ok)"]);
}

#[test]
fn a_search_over_budget_is_unknown_never_linearizable() {
    // Twenty concurrent acknowledged writes and a read of a value none wrote: the search
    // must try every subset before it can say no.
    let mut forge = Forge::default();
    for p in 0..20u64 {
        forge.write(p, "hard", &format!("w{p}"), "ok", (0.0, 10.0));
    }
    forge.read(99, "hard", Some("w-none"), (0.0, 10.0));
    forge.write(100, "easy", "x", "ok", (0.0, 1.0));
    let ops = forge.ops();
    let report = check_with(
        &ops,
        &CheckOptions {
            max_steps_per_key: 10_000,
        },
    );
    assert!(!report.is_linearizable());
    assert!(
        matches!(verdict(&report, "hard"), Verdict::Unknown { steps } if *steps > 10_000),
        "{report:?}"
    );
    assert_eq!(verdict(&report, "easy"), &Verdict::Linearizable);
    assert_eq!(report.unknown().count(), 1);
    assert_eq!(report.violations().count(), 0);
}
