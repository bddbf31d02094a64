//! Finds the workspace's crates and loads a crate's module tree: every file under `src/`
//! (binaries under `src/bin/` are separate crates and left out), parsed with syn, with the
//! module path its location gives it (`src/a/b.rs` and `src/a/b/mod.rs` are `a::b`).

use std::fmt;
use std::path::{Path, PathBuf};

/// One file of a crate's module tree.
pub struct ModuleFile {
    /// Module path from the crate root (`[]` for `lib.rs` / `main.rs`).
    pub module: Vec<String>,
    /// The file, relative to the directory the crate was loaded from.
    pub path: PathBuf,
    /// The parsed file.
    pub(crate) ast: syn::File,
}

impl fmt::Debug for ModuleFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleFile")
            .field("module", &self.module)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A crate's sources.
#[derive(Debug)]
pub struct CrateSource {
    /// Directory name of the crate (`vaultops-api`, `xtask`).
    pub name: String,
    /// Every file of the module tree.
    pub files: Vec<ModuleFile>,
}

/// A source file that cannot be read or parsed.
#[derive(Debug)]
pub struct LoadError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for LoadError {}

/// The crate directories of the workspace at `root`: every `crates/*` with a `src/`, and
/// `xtask`.
pub fn workspace_crates(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("src").is_dir())
                .collect()
        })
        .unwrap_or_default();
    if root.join("xtask/src").is_dir() {
        dirs.push(root.join("xtask"));
    }
    dirs.sort();
    dirs
}

/// Loads the module tree of the crate in `dir` (its `src/`).
pub fn load_crate(dir: &Path) -> Result<CrateSource, LoadError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let src = dir.join("src");
    let mut paths = Vec::new();
    collect_rs(&src, &mut paths).map_err(|e| LoadError {
        path: src.clone(),
        reason: e.to_string(),
    })?;
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let rel = path.strip_prefix(&src).unwrap_or(&path).to_path_buf();
        if rel.starts_with("bin") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| LoadError {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let ast = syn::parse_file(&text).map_err(|e| LoadError {
            path: path.clone(),
            reason: format!("does not parse: {e}"),
        })?;
        files.push(ModuleFile {
            module: module_path(&rel),
            path: Path::new("src").join(&rel),
            ast,
        });
    }
    Ok(CrateSource { name, files })
}

/// `a/b.rs` → `[a, b]`; `a/mod.rs` → `[a]`; `lib.rs`, `main.rs` → `[]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs").to_string();
        let is_root = parts.is_empty() && (stem == "lib" || stem == "main");
        if stem != "mod" && !is_root {
            parts.push(stem);
        }
    }
    parts
}

/// Every `.rs` file below `dir`, any `target/` directory left out.
pub(crate) fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            collect_rs(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_follow_the_file_layout() {
        assert!(module_path(Path::new("lib.rs")).is_empty());
        assert!(module_path(Path::new("main.rs")).is_empty());
        assert_eq!(module_path(Path::new("a.rs")), ["a"]);
        assert_eq!(module_path(Path::new("a/mod.rs")), ["a"]);
        assert_eq!(module_path(Path::new("a/b.rs")), ["a", "b"]);
        assert_eq!(module_path(Path::new("a/main.rs")), ["a", "main"]);
    }
}
