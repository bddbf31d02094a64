//! The files a run leaves in the reports directory: `<run>.json` (the report),
//! `<run>.attempts.json` (every request) and `<run>.svg` (the timeline), each written whole
//! to a temporary name, then renamed.

use std::path::Path;

use crate::error::ScenarioError;
use crate::model::Attempt;
use crate::report::ScenarioReport;

/// Writes `<dir>/<run_id>.json`, `.attempts.json` and `.svg`; records the paths in the
/// report. Files are written whole to a temporary name, then renamed.
pub(crate) fn write_files(
    dir: &Path,
    report: &mut ScenarioReport,
    attempts: &[Attempt],
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
    let svg_text = crate::svg::timeline(report, attempts);
    write_atomic(&svg, svg_text.as_bytes()).map_err(err(&svg))?;
    let a = serde_json::to_vec(attempts)
        .map_err(std::io::Error::other)
        .map_err(err(&att))?;
    write_atomic(&att, &a).map_err(err(&att))?;
    let r = serde_json::to_vec_pretty(report)
        .map_err(std::io::Error::other)
        .map_err(err(&json))?;
    write_atomic(&json, &r).map_err(err(&json))?;
    Ok(())
}

fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)
}
