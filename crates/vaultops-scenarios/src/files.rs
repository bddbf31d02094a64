//! The files a run leaves in the reports directory: `<run>.json` (the report),
//! `<run>.attempts.json` (every request), `<run>.history.jsonl` (what the clients saw, in
//! the Jepsen shape), `<run>.history-<key>.svg` (the timeline of a key the checker condemned)
//! and `<run>.svg` (the run's timeline), each written
//! atomically through `vaultops-fs` (mode 0644: reports hold no secret).

use std::path::{Path, PathBuf};

use vaultops_history::Event;

use crate::linearizability::file_part;

use crate::error::ScenarioError;
use crate::model::Attempt;
use crate::report::ScenarioReport;

/// A run's history and the timelines of the keys the checker condemned (key, SVG).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HistoryFiles<'a> {
    pub events: &'a [Event],
    pub svgs: &'a [(String, String)],
}

/// The history file of run `run_id` in `dir`.
pub(crate) fn history_path(dir: &Path, run_id: &str) -> PathBuf {
    dir.join(format!("{run_id}.history.jsonl"))
}

/// Writes `<dir>/<run_id>.json`, `.attempts.json`, `.svg` and, when there is one, the
/// history; records the paths in the report.
pub(crate) fn write_files(
    dir: &Path,
    report: &mut ScenarioReport,
    attempts: &[Attempt],
    history: Option<HistoryFiles<'_>>,
) -> Result<(), ScenarioError> {
    let err = |path: &Path| {
        let path = path.to_owned();
        move |source: std::io::Error| ScenarioError::Report { path, source }
    };
    std::fs::create_dir_all(dir).map_err(err(dir))?;
    let json = dir.join(format!("{}.json", report.run_id));
    let att = dir.join(format!("{}.attempts.json", report.run_id));
    let svg = dir.join(format!("{}.svg", report.run_id));
    report.files = vec![json.clone(), att.clone(), svg.clone()];
    if let Some(h) = history {
        let path = history_path(dir, &report.run_id);
        write_atomic(&path, vaultops_history::to_jsonl(h.events).as_bytes())?;
        report.files.push(path.clone());
        if let Some(v) = report.verification.as_mut() {
            v.history = Some(path.clone());
        }
        if let Some(l) = report.linearizability.as_mut() {
            l.history = Some(path);
            for (key, doc) in h.svgs {
                let svg = dir.join(format!("{}.history-{}.svg", report.run_id, file_part(key)));
                write_atomic(&svg, doc.as_bytes())?;
                report.files.push(svg.clone());
                if let Some(k) = l.violations.iter_mut().find(|k| &k.key == key) {
                    k.svg = Some(svg);
                }
            }
        }
    }
    let svg_text = crate::svg::timeline(report, attempts);
    write_atomic(&svg, svg_text.as_bytes())?;
    let a = serde_json::to_vec(attempts)
        .map_err(std::io::Error::other)
        .map_err(err(&att))?;
    write_atomic(&att, &a)?;
    let r = serde_json::to_vec_pretty(report)
        .map_err(std::io::Error::other)
        .map_err(err(&json))?;
    write_atomic(&json, &r)?;
    Ok(())
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<(), ScenarioError> {
    vaultops_fs::write_atomic(path, data, vaultops_fs::WriteOptions::new(0o644))
        .map_err(ScenarioError::WriteReport)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_three_files_and_refuses_a_link_at_a_target() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = crate::report::tests::sample("kill-active", 2100, true);
        write_files(dir.path(), &mut r, &[], None).unwrap();
        assert_eq!(r.files.len(), 3);
        for f in &r.files {
            assert!(f.is_file(), "{}", f.display());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o644, "{}", f.display());
            }
        }
        let back: ScenarioReport =
            serde_json::from_slice(&std::fs::read(&r.files[0]).unwrap()).unwrap();
        assert_eq!(back, r);

        // A link planted at the report's name is refused, and what it points to is untouched.
        #[cfg(unix)]
        {
            let other = tempfile::tempdir().unwrap();
            let victim = other.path().join("victim");
            std::fs::write(&victim, b"keep").unwrap();
            let mut r2 = crate::report::tests::sample("stop-active", 900, true);
            std::os::unix::fs::symlink(&victim, dir.path().join("stop-active-1.json")).unwrap();
            let e = write_files(dir.path(), &mut r2, &[], None).unwrap_err();
            assert!(matches!(e, ScenarioError::WriteReport(_)), "{e:?}");
            assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        }
    }
}
