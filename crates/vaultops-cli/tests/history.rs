//! `vaultops history check` end to end: the exit code says linearizable (0), not
//! linearizable (1, naming the key and its operations), not a history (2, naming the line)
//! or unknown (3); JSON and SVG outputs.

use std::path::Path;
use std::process::{Command, Output};

fn vaultops(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .args(args)
        .output()
        .expect("running vaultops")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, lines: &[&str]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path.to_str().unwrap().to_owned()
}

/// Overlapping write and read on k1, a cas from null on k2, an info write never seen on k1.
const GOOD: &[&str] = &[
    r#"{"process": 1, "type": "invoke", "f": "write", "key": "k1", "value": "a", "time": 0.0}"#,
    r#"{"process": 2, "type": "invoke", "f": "read", "key": "k1", "value": null, "time": 0.1}"#,
    r#"{"process": 1, "type": "ok", "f": "write", "key": "k1", "value": "a", "time": 0.2}"#,
    r#"{"process": 2, "type": "ok", "f": "read", "key": "k1", "value": "a", "time": 0.3}"#,
    r#"{"process": 3, "type": "invoke", "f": "cas", "key": "k2", "value": [null, "x"], "time": 0.4}"#,
    r#"{"process": 3, "type": "ok", "f": "cas", "key": "k2", "value": [null, "x"], "time": 0.5}"#,
    r#"{"process": 4, "type": "invoke", "f": "write", "key": "k1", "value": "lost", "time": 0.6}"#,
    r#"{"process": 4, "type": "info", "f": "write", "key": "k1", "value": "lost", "time": 0.7}"#,
    r#"{"process": 2, "type": "invoke", "f": "read", "key": "k1", "value": null, "time": 0.8}"#,
    r#"{"process": 2, "type": "ok", "f": "read", "key": "k1", "value": "a", "time": 0.9}"#,
];

/// k1 as above; on k9 an acknowledged write of b is lost: a later read returns a.
const LOST_WRITE: &[&str] = &[
    r#"{"process": 1, "type": "invoke", "f": "write", "key": "k1", "value": "a", "time": 0.0}"#,
    r#"{"process": 1, "type": "ok", "f": "write", "key": "k1", "value": "a", "time": 0.2}"#,
    r#"{"process": 5, "type": "invoke", "f": "write", "key": "k9", "value": "a9", "time": 1.0}"#,
    r#"{"process": 5, "type": "ok", "f": "write", "key": "k9", "value": "a9", "time": 1.1}"#,
    r#"{"process": 6, "type": "invoke", "f": "write", "key": "k9", "value": "b9", "time": 1.2}"#,
    r#"{"process": 6, "type": "ok", "f": "write", "key": "k9", "value": "b9", "time": 1.3}"#,
    r#"{"process": 5, "type": "invoke", "f": "read", "key": "k9", "value": null, "time": 1.4}"#,
    r#"{"process": 5, "type": "ok", "f": "read", "key": "k9", "value": "a9", "time": 1.5}"#,
];

#[test]
fn a_linearizable_history_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "good.jsonl", GOOD);
    let out = vaultops(&["history", "check", &file]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("5 operations over 2 keys: linearizable"),
        "{stdout}"
    );

    let out = vaultops(&["--format", "json", "history", "check", &file]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["linearizable"], true);
    assert_eq!(v["keys"], 2);
    assert_eq!(v["violations"].as_array().unwrap().len(), 0);
}

#[test]
fn a_lost_write_exits_1_naming_the_key_and_its_operations() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "lost.jsonl", LOST_WRITE);
    let svg_dir = dir.path().join("svg");
    let out = vaultops(&[
        "history",
        "check",
        &file,
        "--format",
        "text",
        "--svg",
        svg_dir.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("key k9: NOT LINEARIZABLE"), "{stdout}");
    assert!(!stdout.contains("key k1"), "{stdout}");
    // One line per operation that cannot be ordered: process, f, value, outcome, times.
    let op_lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("  ") && !l.contains("PROCESS"))
        .collect();
    assert_eq!(op_lines.len(), 3, "{stdout}");
    let words = |l: &str| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        words(op_lines[0]),
        ["5", "write", "a9", "ok", "1.000000", "1.100000"]
    );
    assert_eq!(
        words(op_lines[1]),
        ["6", "write", "b9", "ok", "1.200000", "1.300000"]
    );
    assert_eq!(
        words(op_lines[2]),
        ["5", "read", "a9", "ok", "1.400000", "1.500000"]
    );
    // The timeline of k9, its three operations outlined.
    let svg = std::fs::read_to_string(svg_dir.join("k9.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("key k9"), "{svg}");
    assert_eq!(svg.matches(r##"stroke="#d50000""##).count(), 4, "{svg}"); // legend + 3
    assert!(!svg_dir.join("k1.svg").exists());

    let out = vaultops(&["--format", "json", "history", "check", &file]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["linearizable"], false);
    assert_eq!(v["violations"][0]["key"], "k9");
    let ops = v["violations"][0]["cannot_be_ordered"].as_array().unwrap();
    assert_eq!(ops.len(), 3);
    assert_eq!(ops[2]["f"], "read");
    assert_eq!(ops[2]["value"], "a9");
    assert_eq!(ops[2]["outcome"], "ok");
}

#[test]
fn a_malformed_history_exits_2_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = GOOD.to_vec();
    lines[3] = r#"{"process": 2, "type": "ok", "f": "read", "key": "k1", "value": 7, "time": 0.3}"#;
    let file = write(dir.path(), "bad.jsonl", &lines);
    let out = vaultops(&["history", "check", &file]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("line 4:"), "{stderr}");
    assert!(stderr.contains("a read's value"), "{stderr}");

    // A completion nobody invoked: the pairing names its line.
    let file = write(dir.path(), "orphan.jsonl", &[GOOD[0], GOOD[2], GOOD[2]]);
    let out = vaultops(&["--format", "json", "history", "check", &file]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["line"], 3);

    let out = vaultops(&[
        "history",
        "check",
        dir.path().join("absent").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_search_over_budget_exits_3_not_0() {
    let dir = tempfile::tempdir().unwrap();
    // Twelve concurrent writes and a read of a value none wrote: proving it takes every subset.
    let mut lines = Vec::new();
    for p in 0..12 {
        lines.push(format!(r#"{{"process": {p}, "type": "invoke", "f": "write", "key": "hot", "value": "v{p}", "time": 0.0}}"#));
    }
    lines.push(r#"{"process": 99, "type": "invoke", "f": "read", "key": "hot", "value": null, "time": 0.0}"#.to_owned());
    for p in 0..12 {
        lines.push(format!(r#"{{"process": {p}, "type": "ok", "f": "write", "key": "hot", "value": "v{p}", "time": 1.0}}"#));
    }
    lines.push(r#"{"process": 99, "type": "ok", "f": "read", "key": "hot", "value": "nobody", "time": 1.0}"#.to_owned());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let file = write(dir.path(), "hot.jsonl", &refs);
    let out = vaultops(&["history", "check", &file, "--max-steps", "100"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stdout.contains("key hot: UNKNOWN"), "{stdout}");
    // With room to search, the same file is a proven violation.
    let out = vaultops(&["history", "check", &file]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
}
