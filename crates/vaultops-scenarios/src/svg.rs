//! The SVG timeline of a run (plotters, SVG backend, no fonts needed): one band per node
//! coloured by the role the monitor saw, one row of acknowledged writes and one of failed
//! requests (by completion time), the scenario's events as vertical lines, and the
//! unavailability window shaded.

use plotters::prelude::*;

use crate::model::{Attempt, EventKind, Observed, Outcome};
use crate::report::ScenarioReport;

const WIDTH: u32 = 1280;
const ROW_PX: u32 = 34;

fn role_color(o: Observed) -> RGBColor {
    match o {
        Observed::Active => RGBColor(46, 160, 67),
        Observed::Standby => RGBColor(84, 130, 214),
        Observed::Sealed => RGBColor(240, 160, 30),
        Observed::Down => RGBColor(210, 50, 45),
        Observed::NoAnswer => RGBColor(140, 140, 140),
        Observed::Uninitialized | Observed::Other => RGBColor(150, 90, 190),
    }
}

/// The timeline as an SVG document. Never fails: a drawing error becomes an SVG that says
/// so (the report matters more than its picture).
pub fn timeline(report: &ScenarioReport, attempts: &[Attempt]) -> String {
    let mut buf = String::new();
    if let Err(e) = draw(&mut buf, report, attempts) {
        return format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"40\"><text x=\"5\" y=\"20\">timeline not drawn: {}</text></svg>\n",
            xml_escape(&e)
        );
    }
    buf
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn draw(buf: &mut String, report: &ScenarioReport, attempts: &[Attempt]) -> Result<(), String> {
    let nodes = report.roles.len();
    // Rows from the top: events labels area, writes ok, requests failed, node1..nodeN.
    let rows = nodes + 2;
    // Title and the staggered event labels above the chart, the legend below it.
    const LABEL_ROWS: i32 = 4;
    let header = 34 + 14 * LABEL_ROWS as u32 + 6;
    let height = header + ROW_PX * rows as u32 + 60 + 28;
    let xmax = report.duration.as_secs_f64().max(1.0);
    let ymax = rows as f64;
    let root = SVGBackend::with_string(buf, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let title = format!(
        "{} ({}): {}",
        report.scenario,
        report.run_id,
        if report.passed { "PASS" } else { "FAIL" }
    );
    root.draw(&Text::new(title, (12, 8), ("sans-serif", 20).into_font()))
        .map_err(|e| e.to_string())?;
    let (_, body) = root.split_vertically(header);
    let (plot, _) = body.split_vertically(ROW_PX * rows as u32 + 60);
    let mut chart = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(110)
        .build_cartesian_2d(0f64..xmax, 0f64..ymax)
        .map_err(|e| e.to_string())?;
    // Row r (0 = top) occupies y in [ymax - r - 1, ymax - r).
    let row_y = |r: usize| ymax - r as f64 - 1.0;
    let labels: Vec<String> = ["writes acknowledged", "requests failed"]
        .iter()
        .map(|s| s.to_string())
        .chain(report.roles.iter().map(|t| t.node.clone()))
        .collect();
    // Row names are drawn next to each row below; the axis itself carries no numbers.
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_label_formatter(&|_| String::new())
        .x_desc("seconds since the run started")
        .draw()
        .map_err(|e| e.to_string())?;
    for (r, label) in labels.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(0.0, row_y(r) + 0.5));
        root.draw(&Text::new(
            label.clone(),
            (px - 108, py - 6),
            ("sans-serif", 12).into_font(),
        ))
        .map_err(|e| e.to_string())?;
    }

    // The unavailability window.
    let m = &report.measurements;
    if let Some(from) = m.unavailable_from {
        let to = m.unavailable_to.map_or(xmax, |t| t.as_secs_f64());
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(from.as_secs_f64(), 0.0), (to, ymax)],
                RGBColor(255, 220, 220).filled(),
            )))
            .map_err(|e| e.to_string())?;
    }

    // Role bands.
    for (i, tl) in report.roles.iter().enumerate() {
        let y0 = row_y(i + 2) + 0.15;
        let y1 = y0 + 0.7;
        let mut spans = Vec::new();
        for (k, tr) in tl.transitions.iter().enumerate() {
            let end = tl
                .transitions
                .get(k + 1)
                .map_or(xmax, |n| n.t.as_secs_f64());
            spans.push((tr.t.as_secs_f64(), end, tr.seen));
        }
        chart
            .draw_series(
                spans
                    .iter()
                    .map(|(a, b, o)| Rectangle::new([(*a, y0), (*b, y1)], role_color(*o).filled())),
            )
            .map_err(|e| e.to_string())?;
    }

    // Requests: acknowledged writes and failures (reads included) as ticks.
    let ack_y = row_y(0);
    let err_y = row_y(1);
    let tick = |x: f64, y: f64, c: RGBColor| {
        PathElement::new(vec![(x, y + 0.15), (x, y + 0.85)], c.stroke_width(1))
    };
    chart
        .draw_series(
            attempts
                .iter()
                .filter(|a| a.is_write_ack())
                .map(|a| tick(a.end.as_secs_f64(), ack_y, RGBColor(46, 160, 67))),
        )
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(attempts.iter().filter_map(|a| match a.outcome {
            Outcome::Error { class } if class != crate::model::ErrorClass::CasConflict => {
                Some(tick(a.end.as_secs_f64(), err_y, RGBColor(210, 50, 45)))
            }
            _ => None,
        }))
        .map_err(|e| e.to_string())?;

    // Events.
    for (k, ev) in report.events.iter().enumerate() {
        let x = ev.t.as_secs_f64();
        let color = match ev.kind {
            EventKind::Fault => RGBColor(200, 0, 0),
            EventKind::Recovery => RGBColor(0, 90, 200),
            EventKind::Observation => RGBColor(90, 90, 90),
        };
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, 0.0), (x, ymax)],
                color.stroke_width(1),
            )))
            .map_err(|e| e.to_string())?;
        let (px, top) = chart.backend_coord(&(x, ymax));
        // Labels staggered so neighbouring events stay readable, each tied to its line.
        let py = 34 + (k as i32 % LABEL_ROWS) * 14;
        root.draw(&PathElement::new(
            vec![(px, py + 12), (px, top)],
            color.mix(0.4).stroke_width(1),
        ))
        .map_err(|e| e.to_string())?;
        root.draw(&Text::new(
            ev.label.clone(),
            (px + 2, py),
            ("sans-serif", 12).into_font().color(&color),
        ))
        .map_err(|e| e.to_string())?;
    }

    // Legend.
    let legend = [
        Observed::Active,
        Observed::Standby,
        Observed::Sealed,
        Observed::Down,
        Observed::NoAnswer,
    ];
    for (k, o) in legend.iter().enumerate() {
        let x = 130 + k as i32 * 120;
        let y = height as i32 - 10;
        root.draw(&Rectangle::new(
            [(x, y - 9), (x + 14, y + 1)],
            role_color(*o).filled(),
        ))
        .map_err(|e| e.to_string())?;
        root.draw(&Text::new(
            o.to_string(),
            (x + 18, y - 9),
            ("sans-serif", 12).into_font(),
        ))
        .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, NodeTimeline, Op, Transition};
    use std::time::Duration;

    #[test]
    fn draws_roles_writes_and_events() {
        let mut r = crate::report::tests::sample("kill-active", 1900, true);
        r.roles = vec![
            NodeTimeline {
                node: "node1".into(),
                transitions: vec![
                    Transition {
                        t: Duration::from_millis(100),
                        seen: Observed::Active,
                    },
                    Transition {
                        t: Duration::from_secs(3),
                        seen: Observed::Down,
                    },
                ],
            },
            NodeTimeline {
                node: "node2".into(),
                transitions: vec![Transition {
                    t: Duration::from_millis(120),
                    seen: Observed::Standby,
                }],
            },
        ];
        r.events = vec![Event {
            t: Duration::from_secs(3),
            kind: EventKind::Fault,
            label: "kill -9 node1".into(),
        }];
        r.measurements.unavailable_from = Some(Duration::from_millis(2990));
        r.measurements.unavailable_to = Some(Duration::from_millis(4900));
        let attempts = vec![Attempt {
            writer: 0,
            node: 1,
            start: Duration::from_millis(1000),
            end: Duration::from_millis(1010),
            op: Op::Write { seq: 0 },
            outcome: Outcome::Ack { version: 1 },
        }];
        let svg = timeline(&r, &attempts);
        if let Ok(p) = std::env::var("SVG_SAMPLE_OUT") {
            std::fs::write(p, &svg).unwrap();
        }
        assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
        assert!(svg.contains("kill -9 node1"));
        assert!(svg.contains("node2"));
        assert!(svg.contains("writes acknowledged"));
        // Active (green) and down (red) bands are both drawn.
        assert!(
            svg.contains("#2EA043") || svg.to_lowercase().contains("#2ea043"),
            "no active band"
        );
    }
}
