//! The token never has to be on the command line: `--token-file FILE` (or `-` for standard
//! input) reads it, `--token` still works but warns that it shows in the process list, and a
//! missing or empty token file is refused with a message naming it. No server is needed: the
//! address is a closed port, and the token is read before any request.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn vaultops(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaultops"))
        .args(args)
        .env_remove("VAULT_TOKEN")
        .env_remove("BAO_TOKEN")
        .env_remove("VAULT_ADDR")
        .env_remove("BAO_ADDR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

const WARNING: &str = "warning: --token puts the token in the process list";
const ADDR: &str = "https://127.0.0.1:1";

#[test]
fn a_token_on_the_command_line_is_warned_about() {
    let out = vaultops(&["status", "--addr", ADDR, "--token", "s.visible"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(WARNING), "{err}");
    assert!(
        !err.contains("s.visible"),
        "the token itself is never printed: {err}"
    );
}

#[test]
fn a_token_file_or_stdin_gives_no_warning() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("token");
    std::fs::write(&f, "s.from-file\n").unwrap();
    let out = vaultops(
        &[
            "status",
            "--addr",
            ADDR,
            "--token-file",
            f.to_str().unwrap(),
        ],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains(WARNING), "{err}");
    assert!(!err.contains("token file"), "{err}");
    let out = vaultops(
        &["status", "--addr", ADDR, "--token-file", "-"],
        Some("s.stdin\n"),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains(WARNING) && !err.contains("standard input"),
        "{err}"
    );
}

#[test]
fn a_missing_or_empty_token_file_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let out = vaultops(
        &[
            "status",
            "--addr",
            ADDR,
            "--token-file",
            missing.to_str().unwrap(),
        ],
        None,
    );
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("reading the token file") && err.contains("nope"),
        "{err}"
    );
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let out = vaultops(
        &[
            "status",
            "--addr",
            ADDR,
            "--token-file",
            empty.to_str().unwrap(),
        ],
        None,
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is empty"),
        "{:?}",
        out
    );
}
