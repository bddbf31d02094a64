//! Recording what the workload's clients saw as a history (the Jepsen shape of
//! `vaultops-history`): every request is an `invoke` event when it is sent and a completion
//! when its answer (or error) arrives, on the run's clock.
//!
//! Completions: an acknowledgement is `ok`; an error that certainly did not apply the
//! operation (a check-and-set mismatch, another 4xx refusal) is `fail`; every other error
//! (timeout, broken connection, 5xx, a standby's 307, sealed) is `info`: the operation may
//! have taken effect. A client whose operation ended `info` continues under a new process
//! id, as Jepsen requires. Register keys are named relative to the run's key prefix
//! (`w3-17`, `counter`, `r2`); every written value is unique in the run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use vaultops_history::{Event, EventType, Func, Value};

use crate::model::ErrorClass;

/// The history of one run, shared by every client of the workload and by verification.
#[derive(Debug, Default)]
pub struct Recorder {
    events: Mutex<Vec<Event>>,
    next_process: AtomicU64,
}

/// One client's identity in the history; it changes after an `info` completion.
#[derive(Debug)]
pub struct Process(u64);

/// An operation sent and not yet completed.
#[derive(Debug)]
#[must_use = "complete the operation"]
pub struct Pending {
    f: Func,
    key: String,
    value: Value,
    node: Option<u32>,
}

/// How a failed request ends in the history.
pub fn completion_of(class: ErrorClass) -> EventType {
    match class {
        ErrorClass::CasConflict => EventType::Fail,
        ErrorClass::Other(s) if (400..500).contains(&s) && s != 408 && s != 429 => EventType::Fail,
        _ => EventType::Info,
    }
}

impl Recorder {
    /// A new client process.
    pub fn process(&self) -> Process {
        Process(self.next_process.fetch_add(1, Ordering::Relaxed))
    }

    fn push(&self, e: Event) {
        self.events.lock().expect("history lock").push(e);
    }

    /// Records the invocation of `f` on `key` at `time`, sent to `node` (its index) when known.
    pub fn invoke(
        &self,
        p: &Process,
        node: Option<usize>,
        f: Func,
        key: &str,
        value: Value,
        time: Duration,
    ) -> Pending {
        let node = node.and_then(|n| u32::try_from(n).ok());
        self.push(Event {
            process: p.0,
            kind: EventType::Invoke,
            f,
            key: key.to_owned(),
            value: value.clone(),
            time: time.as_secs_f64(),
            node,
        });
        Pending {
            f,
            key: key.to_owned(),
            value,
            node,
        }
    }

    /// Records the completion of `op`. `read` is what a successful read returned; other
    /// completions repeat the invocation's value. After `info`, `p` becomes a new process.
    pub fn complete(
        &self,
        p: &mut Process,
        op: Pending,
        kind: EventType,
        read: Option<Value>,
        time: Duration,
    ) {
        let value = match (op.f, kind) {
            (Func::Read, EventType::Ok) => read.unwrap_or(Value::None),
            (Func::Read, _) => Value::None,
            _ => op.value,
        };
        self.push(Event {
            process: p.0,
            kind,
            f: op.f,
            key: op.key,
            value,
            time: time.as_secs_f64(),
            node: op.node,
        });
        if kind == EventType::Info {
            *p = self.process();
        }
    }

    /// The events so far, in time order (an invocation before its completion).
    pub fn events(&self) -> Vec<Event> {
        let mut events = self.events.lock().expect("history lock").clone();
        events.sort_by(|a, b| a.time.total_cmp(&b.time));
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vaultops_history::{operations, Outcome};

    #[test]
    fn an_info_completion_moves_the_client_to_a_new_process() {
        let r = Recorder::default();
        let mut p = r.process();
        let t = Duration::from_millis;
        let op = r.invoke(
            &p,
            Some(0),
            Func::Write,
            "r1",
            Value::One("w0-0".into()),
            t(1),
        );
        r.complete(&mut p, op, EventType::Info, None, t(5));
        let op = r.invoke(&p, None, Func::Read, "r1", Value::None, t(6));
        r.complete(
            &mut p,
            op,
            EventType::Ok,
            Some(Value::One("w0-0".into())),
            t(7),
        );
        let ops = operations(&r.events()).unwrap();
        assert_eq!(ops.len(), 2);
        assert_ne!(ops[0].process, ops[1].process);
        assert_eq!(ops[0].outcome, Outcome::Info);
        assert_eq!(ops[1].outcome, Outcome::Ok(Value::One("w0-0".into())));
    }

    #[test]
    fn only_certain_refusals_are_failures() {
        assert_eq!(completion_of(ErrorClass::CasConflict), EventType::Fail);
        assert_eq!(completion_of(ErrorClass::Other(403)), EventType::Fail);
        for ambiguous in [
            ErrorClass::Timeout,
            ErrorClass::Unreachable,
            ErrorClass::Standby307,
            ErrorClass::NoLeader500,
            ErrorClass::Sealed,
            ErrorClass::Other(0),
            ErrorClass::Other(502),
            ErrorClass::Other(429),
        ] {
            assert_eq!(completion_of(ambiguous), EventType::Info, "{ambiguous}");
        }
    }
}
