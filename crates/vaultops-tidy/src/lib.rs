//! Structure checks over the workspace's own Rust sources, in the spirit of rust-analyzer's
//! `tidy` tests: they run as ordinary tests (`tests/tidy.rs`), so a module cycle, an
//! over-long file or an error message that repeats its cause fails `cargo test --workspace`
//! the day it is written.
//!
//! - `source`: finding the workspace's crates and loading each crate's module tree (syn);
//! - `cycles`: references between sibling modules and the cycles among them;
//! - `length`: files over the line limit;
//! - `errors`: `#[error("…")]` messages that interpolate the field that is their cause;
//! - `surface`: a library's public surface: no `pub mod` in `lib.rs`, no re-export of
//!   another crate's items, no external crate's types in public signatures.
//!
//! Every check is pure over the files it is given and returns findings; it never edits code.

mod cycles;
mod errors;
mod length;
mod source;
mod surface;

pub use cycles::{module_cycles, Cycle};
pub use errors::{cause_in_message, CauseInMessage};
pub use length::{long_files, LongFile, MAX_LINES};
pub use source::{load_crate, workspace_crates, CrateSource, LoadError, ModuleFile};
pub use surface::{foreign_types, public_modules, reexports, SurfaceFinding, VOCABULARY};
