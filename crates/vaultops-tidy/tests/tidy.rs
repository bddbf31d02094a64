//! The structure checks applied to this workspace: they fail when a module cycle, a file over
//! the line limit, an error message that repeats its cause, a public module in a `lib.rs`, a re-export
//! of another crate's item or an external crate's type in a public signature appears anywhere under `crates/` or `xtask/`.

use std::path::{Path, PathBuf};
use vaultops_tidy::{
    cause_in_message, foreign_types, load_crate, long_files, module_cycles, public_modules,
    reexports, workspace_crates, CrateSource, MAX_LINES,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn crates() -> Vec<CrateSource> {
    let crates: Vec<CrateSource> = workspace_crates(&root())
        .iter()
        .map(|dir| load_crate(dir).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    // The checks below would pass vacuously on an empty or mis-rooted tree.
    assert!(crates.len() >= 10, "found {} crates", crates.len());
    assert!(crates.iter().any(|c| c.name == "vaultops-testbed"));
    crates
}

fn fail_on<T: std::fmt::Display>(what: &str, found: &[T]) {
    if !found.is_empty() {
        let list: Vec<String> = found.iter().map(|f| format!("  {f}")).collect();
        panic!("{} {what}:\n{}", found.len(), list.join("\n"));
    }
}

#[test]
fn no_module_cycles() {
    let cycles: Vec<_> = crates().iter().flat_map(module_cycles).collect();
    fail_on(
        "module cycles (break them: move the shared piece down a layer)",
        &cycles,
    );
}

#[test]
fn no_file_over_the_line_limit() {
    let long = long_files(&root(), MAX_LINES).unwrap();
    let rows: Vec<String> = long
        .iter()
        .map(|f| format!("{} ({} lines)", f.path.display(), f.lines))
        .collect();
    fail_on(
        &format!("files over {MAX_LINES} lines (split them along their seams)"),
        &rows,
    );
}

#[test]
fn no_error_message_repeats_its_cause() {
    let found: Vec<_> = crates().iter().flat_map(cause_in_message).collect();
    fail_on("error messages that print their cause twice", &found);
}

#[test]
fn no_public_modules_in_lib_rs() {
    let found: Vec<_> = crates().iter().flat_map(public_modules).collect();
    fail_on("public modules (export a curated set from lib.rs)", &found);
}

#[test]
fn no_reexports_of_other_crates() {
    let found: Vec<_> = crates().iter().flat_map(reexports).collect();
    fail_on("re-exports of another crate's items", &found);
}

#[test]
fn no_external_types_in_public_signatures() {
    let found: Vec<_> = crates().iter().flat_map(foreign_types).collect();
    fail_on("external crates' types in public signatures", &found);
}
