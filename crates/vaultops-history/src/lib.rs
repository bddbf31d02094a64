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
//! - `check`: the linearizability check ([`check`], [`check_with`]): each key a register,
//!   initially absent, checked on its own; a violation shrunk to a witness, a few
//!   operations that cannot be ordered; a step budget per key ([`CheckOptions`]) past which
//!   the key is [`Verdict::Unknown`], never linearizable.
//! - `search`: the search itself, over one key reduced to interned values.
//! - `svg`: one key's operations as an SVG timeline ([`timeline_svg`]).
//!
//! Pure: text in, values out; callers read and write the files.
//!
//! ## Why a checker of our own
//!
//! The search is Wing & Gong's backtracking search with Lowe's memoization of (set of
//! operations linearized, register value), as Porcupine does it, partitioned per key. Two
//! existing Rust checkers were read first and not taken:
//!
//! - `porcupine-rs` 0.3.0 (a port of Porcupine): no notion of an operation that may never
//!   take effect (it would have to be encoded as a return at infinity plus a model that
//!   accepts a no-op), one verdict for the whole history instead of one per key, a
//!   wall-clock timeout with one thread per partition instead of a deterministic budget, and
//!   when both the timeout and the diagnostic information are asked for, partitions killed by
//!   the timeout report "not linearizable" (`checker.rs` drains their `false` results after
//!   the deadline and reports `Illegal` before `Unknown`): a timeout would read as a
//!   violation. Its library dependencies include `criterion`, `rand`, `regex` and `crossbeam`,
//!   and the published crate names no repository.
//! - `stateright`'s `LinearizabilityTester` is built to be fed by stateright's model checker
//!   (invocations and returns recorded in order, no timestamps), searches interleavings
//!   without memoization (exponential in the concurrency of a long history), and would bring
//!   the whole model checker in for one type.
//!
//! Ours handles `info` exactly (an `info` operation has no return entry: it may be
//! linearized at any point after its invocation, and the search is done when every `ok`
//! operation is), drops what cannot matter (`fail` operations, `info` reads, `info` writes
//! whose value nobody observes), and counts steps so a pathological key ends `Unknown`.

mod check;
mod event;
mod search;
mod svg;

pub use check::{check, check_with, CheckOptions, CheckReport, KeyReport, Verdict};

pub use event::{
    operations, parse_jsonl, to_jsonl, Event, EventType, Func, HistoryError, Operation, Outcome,
    Value,
};
pub use svg::{describe, timeline_svg};
