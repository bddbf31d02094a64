//! The plan for humans: `+ create`, `~ update` with the changed fields (a policy as a line
//! diff), `- delete`, checks, blockers and the summary line.

use super::*;

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let version = self.server_version.as_deref().unwrap_or("unknown");
        match (self.engine, self.engine_source) {
            (Some(e), EngineSource::Declared) => writeln!(
                f,
                "Engine: {e} (declared in the rollout file; server version {version})"
            )?,
            (Some(e), _) => writeln!(f, "Engine: {e} (detected from server version {version})")?,
            (None, _) => writeln!(f, "Engine: unknown (server version {version})")?,
        }
        for c in &self.changes {
            let sign = match c.kind {
                ChangeKind::Create => "+ create",
                ChangeKind::Update => "~ update",
                ChangeKind::Delete => "- delete",
            };
            writeln!(f, "{sign} {}", c.object)?;
            for d in &c.diff {
                render_field(f, d)?;
            }
        }
        for c in &self.checks {
            let (sign, status) = match c.status {
                CheckStatus::Present => ("=", "present"),
                CheckStatus::Missing => ("!", "MISSING"),
                CheckStatus::Mismatch => ("!", "DIFFERENT"),
            };
            writeln!(
                f,
                "{sign} check {} (server-config managed on OpenBao: check only): {status}",
                c.object
            )?;
        }
        if !self.not_pruned.is_empty() {
            let names: Vec<String> = self.not_pruned.iter().map(ToString::to_string).collect();
            writeln!(
                f,
                "Kept (absent from the file; --prune would delete): {}",
                names.join(", ")
            )?;
        }
        for n in &self.notes {
            writeln!(f, "Note: {n}")?;
        }
        let problems = self.problems();
        if !problems.is_empty() {
            writeln!(
                f,
                "Blocked: apply changes nothing until these {} problem(s) are fixed:",
                problems.len()
            )?;
            for p in &problems {
                writeln!(f, "  - {p}")?;
            }
        }
        if self.changes.is_empty() {
            write!(f, "No changes: the server matches the rollout file.")
        } else {
            write!(
                f,
                "Plan: {} to create, {} to update, {} to delete.",
                self.count(ChangeKind::Create),
                self.count(ChangeKind::Update),
                self.count(ChangeKind::Delete)
            )
        }
    }
}

fn render_field(f: &mut fmt::Formatter<'_>, d: &FieldDiff) -> fmt::Result {
    if d.field == "policy" {
        writeln!(f, "    policy:")?;
        let from = d.from.as_deref().map(normalize_hcl).unwrap_or_default();
        let to = d.to.as_deref().map(normalize_hcl).unwrap_or_default();
        for line in line_diff(&from, &to) {
            writeln!(f, "      {line}")?;
        }
        return Ok(());
    }
    match (&d.from, &d.to) {
        (Some(a), Some(b)) => writeln!(f, "    {}: {a} -> {b}", d.field),
        (None, Some(b)) => writeln!(f, "    {}: {b}", d.field),
        (Some(a), None) => writeln!(f, "    {}: {a} -> (removed)", d.field),
        (None, None) => Ok(()),
    }
}

/// A line diff (longest common subsequence, through `similar`): `  same`, `- removed`,
/// `+ added`, removals before additions as in a unified diff.
fn line_diff(from: &str, to: &str) -> Vec<String> {
    fn lines(s: &str) -> Vec<&str> {
        if s.is_empty() {
            Vec::new()
        } else {
            s.lines().collect()
        }
    }
    let (a, b) = (lines(from), lines(to));
    let ops = similar::capture_diff_slices(similar::Algorithm::Lcs, &a, &b);
    ops.iter()
        .flat_map(|op| op.iter_changes(&a, &b))
        .map(|change| {
            let sign = match change.tag() {
                similar::ChangeTag::Equal => ' ',
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
            };
            format!("{sign} {}", change.value())
        })
        .collect()
}
