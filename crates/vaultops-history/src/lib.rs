//! Histories of client operations and their verification.
//!
//! A history is what clients saw, one JSON object a line in the Jepsen shape: an `invoke`
//! event when an operation is sent, then its completion with the same `process`, `f` and
//! `key`: `ok` (acknowledged), `fail` (certainly not applied) or `info` (outcome unknown). A
//! process whose operation ended `info` never invokes again (the recorder gives the client a
//! new process id), and every written value is unique in a run.
//!
//! - `event`: the event types, the one JSONL writer ([`to_jsonl`]) and the one parser
//!   ([`parse_jsonl`], with the line number and reason of the first bad line), and the pairing
//!   of events into operations ([`operations`]).
//!
//! Pure: text in, values out; callers read and write the files.

mod event;

pub use event::{
    operations, parse_jsonl, to_jsonl, Event, EventType, Func, HistoryError, Operation, Outcome,
    Value,
};
