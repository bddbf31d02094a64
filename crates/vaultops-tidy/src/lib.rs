//! Structure checks over the workspace's own Rust sources, in the spirit of rust-analyzer's
//! `tidy` tests: they run as ordinary tests (`tests/tidy.rs`), so a module cycle, an
//! over-long file or an error message that repeats its cause fails `cargo test --workspace`
//! the day it is written.
//!
//! - [`source`]: finding the workspace's crates and loading each crate's module tree (syn);
//! - [`cycles`]: references between sibling modules and the cycles among them;
//! - [`length`]: files over the line limit;
//! - [`errors`]: `#[error("…")]` messages that interpolate the field that is their cause;
//! - [`reexports`]: `pub use` of a whole foreign crate.
//!
//! Every check is pure over the files it is given and returns findings; it never edits code.

pub mod cycles;
pub mod errors;
pub mod length;
pub mod reexports;
pub mod source;

pub use cycles::{module_cycles, Cycle};
pub use errors::{cause_in_message, CauseInMessage};
pub use length::{long_files, LongFile, MAX_LINES};
pub use reexports::{crate_reexports, CrateReexport};
pub use source::{load_crate, workspace_crates, CrateSource, LoadError, ModuleFile};
