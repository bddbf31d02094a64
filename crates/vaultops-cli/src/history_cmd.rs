//! `vaultops history check`: reads a history file, checks it with `vaultops-history`, prints
//! the verdict per key (text or JSON), writes SVG timelines, and maps the verdict to the
//! exit code (0 linearizable, 1 violation, 2 not a history, 3 unknown, 4 SVG not written).

use crate::cli::{Format, Global, HistoryCommand};
use crate::output::table;
use serde_json::json;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vaultops_fs::{write_atomic, WriteOptions};
use vaultops_history::{
    check_with, operations, parse_jsonl, timeline_svg, CheckOptions, CheckReport, Func, KeyReport,
    Operation, Outcome, Value, Verdict,
};

const NOT_LINEARIZABLE: u8 = 1;
const NOT_A_HISTORY: u8 = 2;
const UNKNOWN: u8 = 3;
const SVG_NOT_WRITTEN: u8 = 4;

pub fn run(global: &Global, cmd: &HistoryCommand) -> anyhow::Result<ExitCode> {
    let HistoryCommand::Check {
        file,
        svg,
        max_steps,
    } = cmd;
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", file.display());
            return Ok(ExitCode::from(NOT_A_HISTORY));
        }
    };
    let ops = match parse_jsonl(&text).and_then(|events| operations(&events)) {
        Ok(ops) => ops,
        Err(e) => {
            eprintln!("error: {} is not a valid history: {e}", file.display());
            if global.format == Format::Json {
                let v = json!({"file": file, "valid": false, "line": e.line, "reason": e.reason});
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            return Ok(ExitCode::from(NOT_A_HISTORY));
        }
    };
    let report = check_with(
        &ops,
        &CheckOptions {
            max_steps_per_key: *max_steps,
        },
    );
    let (svgs, svg_error) = match svg {
        Some(dir) => match write_svgs(dir, &ops, &report) {
            Ok(paths) => (paths, None),
            Err(e) => (Vec::new(), Some(e)),
        },
        None => (Vec::new(), None),
    };
    match global.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json_report(file, &ops, &report, &svgs))?
        ),
        Format::Table => print!("{}", text_report(file, &ops, &report)),
    }
    for p in &svgs {
        eprintln!("wrote {}", p.display());
    }
    if let Some(e) = &svg_error {
        eprintln!("error: {}", vaultops_types::error_report(e.as_ref()));
    }
    // A proven violation outranks everything; then a missing timeline; then a key unproven.
    Ok(ExitCode::from(if report.violations().next().is_some() {
        NOT_LINEARIZABLE
    } else if svg_error.is_some() {
        SVG_NOT_WRITTEN
    } else if report.unknown().next().is_some() {
        UNKNOWN
    } else {
        0
    }))
}

fn f_name(f: Func) -> &'static str {
    match f {
        Func::Write => "write",
        Func::Read => "read",
        Func::Cas => "cas",
    }
}

fn value_json(v: &Value) -> serde_json::Value {
    match v {
        Value::None => serde_json::Value::Null,
        Value::One(s) => json!(s),
        Value::Cas { expected, new } => json!([expected, new]),
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::None => "null".to_owned(),
        Value::One(s) => s.clone(),
        Value::Cas { expected, new } => {
            format!("[{}, {new}]", expected.as_deref().unwrap_or("null"))
        }
    }
}

/// The value an operation carries: a read's the value it returned (none unless ok).
fn shown_value(op: &Operation) -> Option<&Value> {
    match (op.f, &op.outcome) {
        (Func::Read, Outcome::Ok(v)) => Some(v),
        (Func::Read, _) => None,
        _ => Some(&op.value),
    }
}

fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Ok(_) => "ok",
        Outcome::Fail => "fail",
        Outcome::Info => "info",
    }
}

fn op_json(op: &Operation) -> serde_json::Value {
    json!({
        "process": op.process,
        "f": f_name(op.f),
        "value": shown_value(op).map_or(serde_json::Value::Null, value_json),
        "outcome": outcome_name(&op.outcome),
        "invoked": op.invoked,
        "completed": op.completed,
    })
}

fn json_report(
    file: &Path,
    ops: &[Operation],
    report: &CheckReport,
    svgs: &[PathBuf],
) -> serde_json::Value {
    let count = |p: fn(&KeyReport) -> bool| report.keys.iter().filter(|k| p(k)).count();
    json!({
        "file": file,
        "valid": true,
        "operations": ops.len(),
        "keys": report.keys.len(),
        "linearizable": report.is_linearizable(),
        "verdicts": {
            "linearizable": count(|k| k.verdict == Verdict::Linearizable),
            "not_linearizable": count(|k| matches!(k.verdict, Verdict::NotLinearizable { .. })),
            "unknown": count(|k| matches!(k.verdict, Verdict::Unknown { .. })),
        },
        "violations": report.violations().map(|k| {
            let Verdict::NotLinearizable { witness } = &k.verdict else { unreachable!() };
            json!({
                "key": k.key,
                "key_operations": k.ops.len(),
                "cannot_be_ordered": witness.iter().map(|&i| op_json(&ops[i])).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
        "unknown": report.unknown().map(|k| json!({
            "key": k.key, "key_operations": k.ops.len(), "steps": k.steps,
        })).collect::<Vec<_>>(),
        "svg": svgs,
    })
}

fn text_report(file: &Path, ops: &[Operation], report: &CheckReport) -> String {
    let mut out = String::new();
    for k in report.violations() {
        let Verdict::NotLinearizable { witness } = &k.verdict else {
            continue;
        };
        out.push_str(&format!(
            "key {}: NOT LINEARIZABLE ({} operations); these {} cannot be ordered, even if \
             every other operation of the key took effect at any time after its invocation or never:\n",
            k.key,
            k.ops.len(),
            witness.len()
        ));
        let rows: Vec<Vec<String>> = witness
            .iter()
            .map(|&i| {
                let op = &ops[i];
                vec![
                    op.process.to_string(),
                    f_name(op.f).to_owned(),
                    shown_value(op).map_or("-".to_owned(), value_text),
                    outcome_name(&op.outcome).to_owned(),
                    format!("{:.6}", op.invoked),
                    op.completed
                        .map_or("never".to_owned(), |c| format!("{c:.6}")),
                ]
            })
            .collect();
        let t = table(
            &["PROCESS", "F", "VALUE", "OUTCOME", "INVOKED", "COMPLETED"],
            &rows,
        );
        for line in t.lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    for k in report.unknown() {
        out.push_str(&format!(
            "key {}: UNKNOWN ({} operations): the search stopped after {} steps; neither \
             verdict is proven (raise --max-steps)\n",
            k.key,
            k.ops.len(),
            k.steps
        ));
    }
    let bad = report.violations().count();
    let unknown = report.unknown().count();
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    out.push_str(&format!(
        "{}: {} over {}: {}\n",
        file.display(),
        plural(ops.len(), "operation"),
        plural(report.keys.len(), "key"),
        if bad == 0 && unknown == 0 {
            "linearizable".to_owned()
        } else {
            format!(
                "{} linearizable, {bad} not linearizable, {unknown} unknown",
                report.keys.len() - bad - unknown
            )
        }
    ));
    out
}

/// A file name for `key`: ASCII letters, digits, `_` and `-` kept, the rest `_`; made
/// unique.
fn file_name(key: &str, taken: &mut HashSet<String>) -> String {
    let base: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = if base.is_empty() {
        "key".to_owned()
    } else {
        base
    };
    let mut name = format!("{base}.svg");
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}-{n}.svg");
        n += 1;
    }
    name
}

/// One timeline per non-linearizable (witness outlined) or unknown key.
fn write_svgs(dir: &Path, ops: &[Operation], report: &CheckReport) -> anyhow::Result<Vec<PathBuf>> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut taken = HashSet::new();
    let mut written = Vec::new();
    for k in &report.keys {
        let highlight: &[usize] = match &k.verdict {
            Verdict::NotLinearizable { witness } => witness,
            Verdict::Unknown { .. } => &[],
            Verdict::Linearizable => continue,
        };
        let path = dir.join(file_name(&k.key, &mut taken));
        let svg = timeline_svg(ops, &k.key, highlight);
        write_atomic(&path, svg.as_bytes(), WriteOptions::new(0o644))
            .with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::file_name;
    use std::collections::HashSet;

    #[test]
    fn svg_file_names_are_safe_and_unique() {
        let mut taken = HashSet::new();
        assert_eq!(file_name("k17", &mut taken), "k17.svg");
        assert_eq!(file_name("a/b", &mut taken), "a_b.svg");
        assert_eq!(file_name("a:b", &mut taken), "a_b-2.svg");
        assert_eq!(file_name("..", &mut taken), "__.svg");
        assert_eq!(file_name("", &mut taken), "key.svg");
    }
}
