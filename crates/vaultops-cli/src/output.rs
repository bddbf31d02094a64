//! Printing results: aligned text tables for people, JSON for programs; and errors, each cause
//! once.

use crate::cli::Format;
use serde::Serialize;

/// Prints `value` as pretty JSON, or calls `table` for the human form.
pub fn emit<T: Serialize>(
    format: Format,
    value: &T,
    table: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(value)?),
        Format::Table => print!("{}", table()),
    }
    Ok(())
}

/// The autopilot line under a day-2 command's node table (upgrade, seal migration): healthy or
/// not with voters and failure tolerance, or why it could not be read.
pub fn autopilot_line(
    autopilot: Option<&vaultops_bootstrap::AutopilotView>,
    error: Option<&str>,
) -> String {
    match autopilot {
        Some(a) => format!(
            "autopilot: {} ({} voters, failure tolerance {})\n",
            if a.healthy { "healthy" } else { "UNHEALTHY" },
            a.voters,
            a.failure_tolerance
        ),
        None => format!("autopilot: unreadable ({})\n", error.unwrap_or("unknown")),
    }
}

/// Renders rows as left-aligned columns separated by two spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out.push_str(&line(r.clone()));
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn autopilot_line_says_unhealthy_and_why_it_is_unreadable() {
        let a = vaultops_bootstrap::AutopilotView {
            healthy: false,
            failure_tolerance: 0,
            voters: 2,
            unhealthy: vec!["node3".into()],
        };
        assert_eq!(
            super::autopilot_line(Some(&a), None),
            "autopilot: UNHEALTHY (2 voters, failure tolerance 0)\n"
        );
        let a = vaultops_bootstrap::AutopilotView {
            healthy: true,
            failure_tolerance: 1,
            voters: 3,
            unhealthy: vec![],
        };
        assert_eq!(
            super::autopilot_line(Some(&a), None),
            "autopilot: healthy (3 voters, failure tolerance 1)\n"
        );
        assert_eq!(
            super::autopilot_line(None, Some("403 permission denied")),
            "autopilot: unreadable (403 permission denied)\n"
        );
    }
    #[test]
    fn table_aligns_columns() {
        let t = super::table(&["A", "BB"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(t, "A    BB\nxxx  y\n");
    }
}
