//! The only I/O of the crate: writing generated files into a directory and comparing a
//! directory with the generator's output.
//!
//! Files are written through [`vaultops_fs`] (a temporary file in the same directory and a
//! rename), so a reader (or a crash) never sees half a file; unchanged files are not touched. `check`
//! reports files that are missing, differ, or are left over from an earlier generation;
//! `compose/tls/` is the operator's (certificates and keys) and is never looked at.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use vaultops_fs::{write_atomic, AtomicWriteError, WriteOptions};

use crate::{GeneratedFile, REGENERATE_COMMAND};

/// Directory under `deploy/` that holds the operator's TLS files, not generated ones.
const OPERATOR_DIR: &str = "compose/tls/";

/// Writing a generated file failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("creating directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: AtomicWriteError,
    },
}

/// Writes `files` under `dir` (created if missing). Returns the paths whose contents
/// changed; files already up to date are left alone (their mtime too).
pub fn write_all(dir: &Path, files: &[GeneratedFile]) -> Result<Vec<PathBuf>, WriteError> {
    let mut changed = Vec::new();
    for file in files {
        let path = dir.join(&file.path);
        if fs::read(&path).ok().as_deref() == Some(file.contents.as_bytes()) {
            continue;
        }
        let parent = path.parent().unwrap_or(dir);
        fs::create_dir_all(parent).map_err(|source| WriteError::CreateDir {
            path: parent.to_owned(),
            source,
        })?;
        // Generated files hold no secret: readable like the rest of the checkout.
        write_atomic(&path, file.contents.as_bytes(), WriteOptions::new(0o644)).map_err(
            |source| WriteError::Write {
                path: path.clone(),
                source,
            },
        )?;
        changed.push(path);
    }
    Ok(changed)
}

/// What is wrong with one file of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staleness {
    /// The generator produces it; the directory lacks it.
    Missing,
    /// Contents differ; `line` is the first differing line (1-based).
    Differs { line: usize },
    /// In the directory, but the generator no longer produces it.
    Orphan,
    /// Could not be read.
    Unreadable(String),
}

/// A file of the directory that does not match the generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleFile {
    /// Path relative to the checked directory.
    pub path: String,
    pub problem: Staleness,
}

impl fmt::Display for StaleFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            Staleness::Missing => write!(f, "{}: missing", self.path),
            Staleness::Differs { line } => write!(
                f,
                "{}: differs from the generator's output (first difference at line {line})",
                self.path
            ),
            Staleness::Orphan => write!(
                f,
                "{}: no longer generated; delete it (or restore what generates it)",
                self.path
            ),
            Staleness::Unreadable(e) => write!(f, "{}: unreadable: {e}", self.path),
        }
    }
}

impl StaleFile {
    /// A report of `stale` for a user: one line per file, then how to regenerate.
    pub fn report(dir: &Path, stale: &[StaleFile]) -> String {
        let mut out = format!(
            "{} is out of date with crates/vaultops-deploy ({} file(s)):\n",
            dir.display(),
            stale.len()
        );
        for s in stale {
            out.push_str(&format!("  {s}\n"));
        }
        out.push_str(&format!("Regenerate it with: {REGENERATE_COMMAND}\n"));
        out
    }
}

/// Compares `dir` with `files`: missing and differing files, and files the generator does
/// not produce (except under `compose/tls/`). Empty when `dir` is up to date.
pub fn check(dir: &Path, files: &[GeneratedFile]) -> Vec<StaleFile> {
    let mut stale = Vec::new();
    for file in files {
        let path = dir.join(&file.path);
        let problem = match fs::read(&path) {
            Ok(bytes) if bytes == file.contents.as_bytes() => continue,
            Ok(bytes) => Staleness::Differs {
                line: first_different_line(&String::from_utf8_lossy(&bytes), &file.contents),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Staleness::Missing,
            Err(e) => Staleness::Unreadable(e.to_string()),
        };
        stale.push(StaleFile {
            path: file.path.clone(),
            problem,
        });
    }
    let generated: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let mut on_disk = Vec::new();
    list_files(dir, dir, &mut on_disk);
    on_disk.sort();
    for rel in on_disk {
        if !generated.contains(rel.as_str()) && !rel.starts_with(OPERATOR_DIR) {
            stale.push(StaleFile {
                path: rel,
                problem: Staleness::Orphan,
            });
        }
    }
    stale
}

fn first_different_line(a: &str, b: &str) -> usize {
    let mut la = a.lines();
    let mut lb = b.lines();
    let mut n = 1;
    loop {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (None, None) => return n, // only a trailing newline differs
            _ => return n,
        }
    }
}

/// Relative `/`-separated paths of the files under `dir` (none if it does not exist).
fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => list_files(root, &path, out),
            Ok(_) => {
                if let Ok(rel) = path.strip_prefix(root) {
                    let rel: Vec<String> = rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect();
                    out.push(rel.join("/"));
                }
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<GeneratedFile> {
        vec![
            GeneratedFile {
                path: "a/b.txt".into(),
                contents: "one\ntwo\n".into(),
            },
            GeneratedFile {
                path: "c.txt".into(),
                contents: "x\n".into(),
            },
        ]
    }

    #[test]
    fn write_then_check_is_clean_and_rewrites_only_changes() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_all(dir.path(), &files()).unwrap();
        assert_eq!(written.len(), 2);
        assert!(check(dir.path(), &files()).is_empty());
        assert!(write_all(dir.path(), &files()).unwrap().is_empty());
    }

    #[test]
    fn check_names_missing_differing_and_orphaned_files() {
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path(), &files()).unwrap();
        fs::write(dir.path().join("a/b.txt"), "one\nTWO\n").unwrap();
        fs::remove_file(dir.path().join("c.txt")).unwrap();
        fs::write(dir.path().join("old.yaml"), "x").unwrap();
        fs::create_dir_all(dir.path().join("compose/tls")).unwrap();
        fs::write(dir.path().join("compose/tls/node-key.pem"), "key").unwrap();

        let stale = check(dir.path(), &files());
        assert_eq!(
            stale,
            vec![
                StaleFile {
                    path: "a/b.txt".into(),
                    problem: Staleness::Differs { line: 2 }
                },
                StaleFile {
                    path: "c.txt".into(),
                    problem: Staleness::Missing
                },
                StaleFile {
                    path: "old.yaml".into(),
                    problem: Staleness::Orphan
                },
            ]
        );
        let report = StaleFile::report(dir.path(), &stale);
        assert!(report.contains("a/b.txt: differs"), "{report}");
        assert!(report.contains(REGENERATE_COMMAND), "{report}");
    }
}
