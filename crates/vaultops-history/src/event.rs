//! The event format: one JSON object a line, Jepsen's shape.
//!
//! ```json
//! {"process": 3, "type": "invoke", "f": "write", "key": "k17", "value": "w3-118", "time": 1.2345}
//! {"process": 3, "type": "ok", "f": "write", "key": "k17", "value": "w3-118", "time": 1.2411}
//! ```
//!
//! `value`: a write carries the value written; a read's invocation carries `null` and its
//! `ok` completion the value read (`null` when the key was absent); a `cas` carries
//! `[expected, new]` (`expected` is `null` for "the key must be absent"). `time` is seconds
//! since the run's start, on one monotonic clock.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What an event says about its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// The operation was sent.
    Invoke,
    /// Acknowledged: it took effect (a read: it returned `value`).
    Ok,
    /// Certainly not applied (a CAS mismatch, a 4xx refusal).
    Fail,
    /// Outcome unknown (timeout, reset, 5xx, redirect): it may take effect at any time after
    /// its invocation, or never.
    Info,
}

/// The operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Func {
    Write,
    Read,
    Cas,
}

/// An event's `value`, typed by its `f` and `type`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// `null`: a read's invocation, or a read that found the key absent.
    None,
    /// A register value (written, or read).
    One(String),
    /// A CAS: `[expected, new]`.
    Cas {
        expected: Option<String>,
        new: String,
    },
}

impl Value {
    fn to_json(&self) -> serde_json::Value {
        match self {
            Value::None => serde_json::Value::Null,
            Value::One(v) => serde_json::Value::String(v.clone()),
            Value::Cas { expected, new } => serde_json::json!([expected, new]),
        }
    }
}

/// One line of a history.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub process: u64,
    pub kind: EventType,
    pub f: Func,
    pub key: String,
    pub value: Value,
    /// Seconds since the run's start.
    pub time: f64,
    /// The server node the request was sent to, when the recorder knows it (optional
    /// `"node"` field; the checker ignores it, a scenario's own rules may use it).
    pub node: Option<u32>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    process: u64,
    #[serde(rename = "type")]
    kind: EventType,
    f: Func,
    key: String,
    value: serde_json::Value,
    time: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<u32>,
}

/// A history that cannot be read: the first bad line (1-based) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct HistoryError {
    pub line: usize,
    pub reason: String,
}

fn bad(line: usize, reason: impl Into<String>) -> HistoryError {
    HistoryError {
        line,
        reason: reason.into(),
    }
}

/// The events as JSONL, one object a line, in the order given.
pub fn to_jsonl(events: &[Event]) -> String {
    let mut out = String::new();
    for e in events {
        let line = Line {
            process: e.process,
            kind: e.kind,
            f: e.f,
            key: e.key.clone(),
            value: e.value.to_json(),
            time: e.time,
            node: e.node,
        };
        out.push_str(&serde_json::to_string(&line).expect("an event serializes"));
        out.push('\n');
    }
    out
}

fn typed_value(
    line: usize,
    f: Func,
    kind: EventType,
    v: serde_json::Value,
) -> Result<Value, HistoryError> {
    use serde_json::Value as J;
    match (f, v) {
        (Func::Write, J::String(s)) => Ok(Value::One(s)),
        (Func::Write, other) => Err(bad(line, format!("a write's value must be a string, got {other}"))),
        (Func::Read, J::Null) => Ok(Value::None),
        (Func::Read, J::String(s)) if kind != EventType::Invoke => Ok(Value::One(s)),
        (Func::Read, other) => Err(bad(
            line,
            format!("a read's value must be null (invoke) or a string or null (completion), got {other}"),
        )),
        (Func::Cas, J::Array(a)) if a.len() == 2 => {
            let expected = match &a[0] {
                J::Null => None,
                J::String(s) => Some(s.clone()),
                other => return Err(bad(line, format!("a cas's expected value must be a string or null, got {other}"))),
            };
            match &a[1] {
                J::String(s) => Ok(Value::Cas {
                    expected,
                    new: s.clone(),
                }),
                other => Err(bad(line, format!("a cas's new value must be a string, got {other}"))),
            }
        }
        (Func::Cas, other) => Err(bad(line, format!("a cas's value must be [expected, new], got {other}"))),
    }
}

/// Parses a JSONL history. Blank lines are skipped; the first bad line is an error naming
/// it. Checks each line on its own and that completions pair with invocations
/// ([`operations`]).
pub fn parse_jsonl(text: &str) -> Result<Vec<Event>, HistoryError> {
    let mut events = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let l: Line =
            serde_json::from_str(raw).map_err(|e| bad(n, format!("not a history event: {e}")))?;
        if !l.time.is_finite() || l.time < 0.0 {
            return Err(bad(
                n,
                format!(
                    "time must be a non-negative number of seconds, got {}",
                    l.time
                ),
            ));
        }
        let value = typed_value(n, l.f, l.kind, l.value)?;
        events.push(Event {
            process: l.process,
            kind: l.kind,
            f: l.f,
            key: l.key,
            value,
            time: l.time,
            node: l.node,
        });
    }
    operations(&events).map_err(|e| {
        // `operations` counts events; report the line of that event.
        let line = line_of_event(text, e.line);
        bad(line, e.reason)
    })?;
    Ok(events)
}

/// The 1-based line of the `index`-th (1-based) non-blank line.
fn line_of_event(text: &str, index: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .nth(index.saturating_sub(1))
        .map_or(index, |(i, _)| i + 1)
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged; a read carries what it returned.
    Ok(Value),
    /// Certainly not applied.
    Fail,
    /// Unknown: no completion, or an `info` completion.
    Info,
}

/// An invocation paired with its completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Index of the invocation in the event list.
    pub index: usize,
    pub process: u64,
    pub f: Func,
    pub key: String,
    /// The invocation's value (what was written, or `[expected, new]`).
    pub value: Value,
    pub outcome: Outcome,
    pub invoked: f64,
    /// `None` for an operation that never completed (`info` by rule).
    pub completed: Option<f64>,
    /// The node the invocation names, if any.
    pub node: Option<u32>,
}

/// Pairs invocations with completions. Errors (with the 1-based event index as `line`): a
/// completion with no pending invocation of its process, a completion whose `f` or `key`
/// differs from its invocation, an invocation while the process has one pending, a process
/// that invokes again after an `info` completion, a completion before its invocation. An
/// invocation never completed is an `info` operation.
pub fn operations(events: &[Event]) -> Result<Vec<Operation>, HistoryError> {
    let mut pending: BTreeMap<u64, usize> = BTreeMap::new();
    let mut crashed: BTreeMap<u64, usize> = BTreeMap::new();
    let mut ops: Vec<Operation> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let n = i + 1;
        match e.kind {
            EventType::Invoke => {
                if let Some(&prev) = crashed.get(&e.process) {
                    return Err(bad(n, format!("process {} invokes again after its operation at event {} ended info; give the client a new process id", e.process, prev + 1)));
                }
                if let Some(&p) = pending.get(&e.process) {
                    return Err(bad(
                        n,
                        format!(
                            "process {} invokes while its operation at event {} is pending",
                            e.process,
                            ops[p].index + 1
                        ),
                    ));
                }
                pending.insert(e.process, ops.len());
                ops.push(Operation {
                    index: i,
                    process: e.process,
                    f: e.f,
                    key: e.key.clone(),
                    value: e.value.clone(),
                    outcome: Outcome::Info,
                    invoked: e.time,
                    completed: None,
                    node: e.node,
                });
            }
            kind => {
                let Some(p) = pending.remove(&e.process) else {
                    return Err(bad(
                        n,
                        format!(
                            "a completion of process {} with no pending invocation",
                            e.process
                        ),
                    ));
                };
                let op = &mut ops[p];
                if op.f != e.f || op.key != e.key {
                    return Err(bad(
                        n,
                        format!(
                            "the completion ({:?} {}) does not match its invocation ({:?} {})",
                            e.f, e.key, op.f, op.key
                        ),
                    ));
                }
                if e.time < op.invoked {
                    return Err(bad(n, "the completion is earlier than its invocation"));
                }
                op.completed = Some(e.time);
                op.outcome = match kind {
                    EventType::Ok => match op.f {
                        Func::Read => Outcome::Ok(e.value.clone()),
                        _ => Outcome::Ok(op.value.clone()),
                    },
                    EventType::Fail => Outcome::Fail,
                    _ => {
                        crashed.insert(e.process, i);
                        Outcome::Info
                    }
                };
            }
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"process": 3, "type": "invoke", "f": "write", "key": "k17", "value": "w3-118", "time": 1.2345}
{"process": 3, "type": "ok", "f": "write", "key": "k17", "value": "w3-118", "time": 1.25}
{"process": 4, "type": "invoke", "f": "read", "key": "k17", "value": null, "time": 1.3}

{"process": 4, "type": "ok", "f": "read", "key": "k17", "value": "w3-118", "time": 1.31}
{"process": 5, "type": "invoke", "f": "cas", "key": "k17", "value": ["w3-118", "w5-1"], "time": 1.4}
{"process": 5, "type": "info", "f": "cas", "key": "k17", "value": ["w3-118", "w5-1"], "time": 3.4}
"#;

    #[test]
    fn a_history_round_trips_and_pairs() {
        let events = parse_jsonl(GOOD).unwrap();
        assert_eq!(events.len(), 6);
        assert_eq!(parse_jsonl(&to_jsonl(&events)).unwrap(), events);
        let ops = operations(&events).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[1].outcome, Outcome::Ok(Value::One("w3-118".into())));
        assert_eq!(ops[2].outcome, Outcome::Info);
        assert_eq!(
            ops[2].value,
            Value::Cas {
                expected: Some("w3-118".into()),
                new: "w5-1".into()
            }
        );
    }

    #[test]
    fn bad_lines_are_named() {
        let cases = [
            ("{\"process\": 1}", 1, "not a history event"),
            (
                r#"{"process": 1, "type": "invoke", "f": "write", "key": "k", "value": 3, "time": 0}"#,
                1,
                "must be a string",
            ),
            (
                r#"{"process": 1, "type": "ok", "f": "write", "key": "k", "value": "a", "time": 0}"#,
                1,
                "no pending invocation",
            ),
            (
                "\n{\"process\": 1, \"type\": \"invoke\", \"f\": \"write\", \"key\": \"k\", \"value\": \"a\", \"time\": 0}\n{\"process\": 1, \"type\": \"info\", \"f\": \"write\", \"key\": \"k\", \"value\": \"a\", \"time\": 1}\n{\"process\": 1, \"type\": \"invoke\", \"f\": \"write\", \"key\": \"k\", \"value\": \"b\", \"time\": 2}",
                4,
                "invokes again after",
            ),
            (
                r#"{"process": 1, "type": "invoke", "f": "write", "key": "k", "value": "a", "time": -1}"#,
                1,
                "non-negative",
            ),
        ];
        for (text, line, reason) in cases {
            let e = parse_jsonl(text).unwrap_err();
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.reason.contains(reason), "{text}: {e}");
        }
    }
}
