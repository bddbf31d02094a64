//! Files over the line limit. A long file is read by nobody from top to bottom; splitting it
//! along its seams is what keeps a crate navigable (rust-analyzer keeps the same habit).

use crate::source::collect_rs;
use std::path::{Path, PathBuf};

/// The most lines a `.rs` file may have, tests included.
pub const MAX_LINES: usize = 800;

/// A file over the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongFile {
    /// The file, relative to the root that was searched.
    pub path: PathBuf,
    /// Its number of lines.
    pub lines: usize,
}

/// Every `.rs` file under `root/crates` and `root/xtask` (any `target/` left out) with more
/// than `limit` lines, sorted by path.
pub fn long_files(root: &Path, limit: usize) -> std::io::Result<Vec<LongFile>> {
    let mut files = Vec::new();
    for top in ["crates", "xtask"] {
        let dir = root.join(top);
        if dir.is_dir() {
            collect_rs(&dir, &mut files)?;
        }
    }
    files.sort();
    let mut long = Vec::new();
    for path in files {
        let lines = std::fs::read_to_string(&path)?.lines().count();
        if lines > limit {
            long.push(LongFile {
                path: path.strip_prefix(root).unwrap_or(&path).to_path_buf(),
                lines,
            });
        }
    }
    Ok(long)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_named_and_one_at_it_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("crates/demo/src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("ok.rs"), "x\n".repeat(10)).unwrap();
        std::fs::write(src.join("long.rs"), "x\n".repeat(11)).unwrap();
        std::fs::create_dir_all(dir.path().join("crates/demo/target")).unwrap();
        std::fs::write(
            dir.path().join("crates/demo/target/gen.rs"),
            "x\n".repeat(99),
        )
        .unwrap();
        let long = long_files(dir.path(), 10).unwrap();
        assert_eq!(
            long,
            vec![LongFile {
                path: PathBuf::from("crates/demo/src/long.rs"),
                lines: 11
            }]
        );
    }
}
