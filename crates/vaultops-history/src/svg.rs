//! One key's operations drawn as an SVG timeline: one lane per process, a bar from
//! invocation to completion colored by outcome, the operations of a witness outlined.
//! Plain string building; no fonts or files.

use crate::event::{Func, Operation, Outcome, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

const LANE: f64 = 34.0;
const BAR: f64 = 20.0;
const LEFT: f64 = 90.0;
const WIDTH: f64 = 1100.0;
const TOP: f64 = 46.0;

/// Fill colors by outcome (also used in the legend).
const OK: &str = "#4caf50";
const FAIL: &str = "#9e9e9e";
const INFO: &str = "#ff9800";
const WITNESS: &str = "#d50000";

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn shown(v: &Value) -> String {
    match v {
        Value::None => "null".to_owned(),
        Value::One(s) => s.clone(),
        Value::Cas { expected, new } => {
            format!("{}→{}", expected.as_deref().unwrap_or("null"), new)
        }
    }
}

/// A one-line description of an operation: `write v`, `read → v`, `cas a→b`, and its
/// outcome.
pub fn describe(op: &Operation) -> String {
    let what = match (op.f, &op.outcome) {
        (Func::Read, Outcome::Ok(v)) => format!("read → {}", shown(v)),
        (Func::Read, _) => "read".to_owned(),
        (Func::Write, _) => format!("write {}", shown(&op.value)),
        (Func::Cas, _) => format!("cas {}", shown(&op.value)),
    };
    let outcome = match op.outcome {
        Outcome::Ok(_) => "ok",
        Outcome::Fail => "fail",
        Outcome::Info => "info",
    };
    format!("{what} ({outcome})")
}

/// Draws the operations of `key` among `ops` (indices in `highlight` refer to `ops`, as a
/// [`crate::Verdict::NotLinearizable`] witness does) as a standalone SVG document.
pub fn timeline_svg(ops: &[Operation], key: &str, highlight: &[usize]) -> String {
    let mine: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].key == key).collect();
    let mut lanes: BTreeMap<u64, usize> = BTreeMap::new();
    for &i in &mine {
        let n = lanes.len();
        lanes.entry(ops[i].process).or_insert(n);
    }
    // Lanes in process order.
    for (n, lane) in lanes.values_mut().enumerate() {
        *lane = n;
    }
    let t0 = mine
        .iter()
        .map(|&i| ops[i].invoked)
        .fold(f64::INFINITY, f64::min);
    let t_last = mine
        .iter()
        .map(|&i| {
            ops[i]
                .completed
                .unwrap_or(ops[i].invoked)
                .max(ops[i].invoked)
        })
        .fold(f64::NEG_INFINITY, f64::max);
    let (t0, t1) = if mine.is_empty() {
        (0.0, 1.0)
    } else {
        // Room after the last event for bars of operations that never completed.
        let span = (t_last - t0).max(1e-6);
        (t0, t_last + span * 0.05)
    };
    let x = |t: f64| LEFT + (t - t0) / (t1 - t0) * (WIDTH - LEFT - 10.0);
    let height = TOP + LANE * lanes.len() as f64 + 30.0;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="100%" height="100%" fill="white"/><text x="8" y="16" font-size="14">key {} · {} operations · {:.3}s–{:.3}s</text>"#,
        escape(key),
        mine.len(),
        t0,
        t_last.max(t0)
    );
    let legend = [
        (OK, "ok"),
        (FAIL, "fail"),
        (INFO, "info (may take effect any time later, or never)"),
    ];
    let mut lx = 8.0;
    for (color, label) in legend {
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="24" width="12" height="10" fill="{color}"/><text x="{}" y="33">{label}</text>"#,
            lx + 16.0
        );
        lx += 30.0 + 6.5 * label.len() as f64;
    }
    let _ = writeln!(
        s,
        r#"<rect x="{lx}" y="24" width="12" height="10" fill="none" stroke="{WITNESS}" stroke-width="2.5"/><text x="{}" y="33">cannot be ordered</text>"#,
        lx + 16.0
    );
    for (process, lane) in &lanes {
        let y = TOP + LANE * *lane as f64;
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{}" x2="{}" y2="{}" stroke="#eeeeee"/><text x="8" y="{}">process {process}</text>"##,
            y + BAR / 2.0,
            WIDTH - 10.0,
            y + BAR / 2.0,
            y + BAR / 2.0 + 4.0
        );
    }
    for &i in &mine {
        let op = &ops[i];
        let y = TOP + LANE * lanes[&op.process] as f64;
        let x0 = x(op.invoked);
        let end = match (op.completed, &op.outcome) {
            (Some(c), Outcome::Ok(_) | Outcome::Fail) => c,
            // Info: its effect may land any time later; the bar runs to the edge.
            _ => t1,
        };
        let w = (x(end) - x0).max(2.0);
        let fill = match op.outcome {
            Outcome::Ok(_) => OK,
            Outcome::Fail => FAIL,
            Outcome::Info => INFO,
        };
        let stroke = if highlight.contains(&i) {
            format!(r#" stroke="{WITNESS}" stroke-width="2.5""#)
        } else {
            String::new()
        };
        let label = escape(&describe(op));
        let completed = op
            .completed
            .map_or("never".to_owned(), |c| format!("{c:.4}s"));
        let _ = writeln!(
            s,
            r#"<g><title>{label} · process {} · invoked {:.4}s · completed {completed}</title><rect x="{x0:.1}" y="{y}" width="{w:.1}" height="{BAR}" rx="3" fill="{fill}" fill-opacity="0.8"{stroke}/><text x="{:.1}" y="{}">{label}</text></g>"#,
            op.process,
            op.invoked,
            x0 + 3.0,
            y + BAR / 2.0 + 4.0
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_lanes_bars_and_the_witness() {
        let op = |process, f, value, outcome, invoked, completed| Operation {
            index: 0,
            process,
            f,
            key: "k<1>".into(),
            value,
            outcome,
            invoked,
            completed,
            node: None,
        };
        let ops = vec![
            op(
                1,
                Func::Write,
                Value::One("a".into()),
                Outcome::Ok(Value::One("a".into())),
                0.0,
                Some(1.0),
            ),
            op(
                2,
                Func::Read,
                Value::None,
                Outcome::Ok(Value::None),
                2.0,
                Some(3.0),
            ),
            op(
                3,
                Func::Write,
                Value::One("b".into()),
                Outcome::Info,
                0.5,
                None,
            ),
        ];
        let svg = timeline_svg(&ops, "k<1>", &[0, 1]);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("key k&lt;1&gt;"));
        assert_eq!(svg.matches("<title>").count(), 3);
        assert_eq!(svg.matches(&format!(r#"stroke="{WITNESS}""#)).count(), 3); // legend + 2
        assert!(svg.contains("process 3"));
        assert!(svg.contains("read → null (ok)"));
        assert!(svg.contains("completed never"));
    }
}
