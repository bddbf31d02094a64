//! The rotation's publish step: a command run once per sink after the sinks are written
//! and verified (e.g. `kubectl apply -f {path}`), with a deadline and without the token
//! variables of vaultops' environment.

use crate::sink::Sink;
use std::time::Duration;

/// A command run after the sinks are written and verified, once per sink, before the
/// grace period: `{path}` in any argument is replaced by the sink's path (an argument of its
/// own; never splice it into shell text: pass it as `$1` of `sh -c`). The command runs without
/// the token variables of vaultops' environment. A non-zero exit or the timeout stops the
/// rotation before anything is destroyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishCommand {
    /// Program and arguments (no shell: use `["sh", "-c", "…"]` for one).
    pub argv: Vec<String>,
    /// Deadline for each run; the command is killed when it passes.
    pub timeout: Duration,
}

/// Runs the publish command for one sink, with its deadline. `Err` carries the exit
/// status or timeout and the end of stderr.
pub(crate) async fn run_publish(cmd: &PublishCommand, sink: &Sink) -> Result<(), String> {
    let path = sink.path().to_string_lossy();
    let argv: Vec<String> = cmd
        .argv
        .iter()
        .map(|a| a.replace("{path}", &path))
        .collect();
    let Some((program, args)) = argv.split_first() else {
        return Err("the publish command is empty".into());
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .env_clear()
        .envs(vaultops_types::without_tokens(std::env::vars_os()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {program:?}: {e}"))?;
    let out = match tokio::time::timeout(cmd.timeout, child.wait_with_output()).await {
        Ok(r) => r.map_err(|e| format!("waiting for {program:?}: {e}"))?,
        Err(_) => {
            return Err(format!(
                "{program:?} did not finish within {} s and was killed",
                cmd.timeout.as_secs()
            ))
        }
    };
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: String = {
        let t = stderr.trim();
        let start = t.len().saturating_sub(2000);
        let start = (start..=t.len())
            .find(|i| t.is_char_boundary(*i))
            .unwrap_or(t.len());
        t[start..].to_owned()
    };
    Err(format!("{program:?} exited with {}: {tail}", out.status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::EnvFileSink;

    fn sink(path: &str) -> Sink {
        Sink::EnvFile(EnvFileSink::new(path))
    }

    #[tokio::test]
    async fn publish_substitutes_the_path_and_reports_failures() {
        let tmp = tempfile::tempdir().unwrap();
        let marker = tmp.path().join("published");
        let ok = PublishCommand {
            argv: vec![
                "sh".into(),
                "-c".into(),
                format!("echo {{path}} > {}", marker.display()),
            ],
            timeout: Duration::from_secs(10),
        };
        run_publish(&ok, &sink("/x/a.env")).await.unwrap();
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "/x/a.env\n");

        let fails = PublishCommand {
            argv: vec!["sh".into(), "-c".into(), "echo denied >&2; exit 3".into()],
            timeout: Duration::from_secs(10),
        };
        let e = run_publish(&fails, &sink("a.env")).await.unwrap_err();
        assert!(e.contains("exit status: 3") && e.contains("denied"), "{e}");

        // A path with shell syntax in it stays one argument: nothing runs but the script.
        let weird = tmp.path().join("a b; touch pwned $(id).env");
        let quoted = PublishCommand {
            argv: vec![
                "sh".into(),
                "-c".into(),
                format!("printf '%s' \"$1\" > {}", marker.display()),
                "publish".into(),
                "{path}".into(),
            ],
            timeout: Duration::from_secs(10),
        };
        run_publish(&quoted, &sink(weird.to_str().unwrap()))
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&marker).unwrap(),
            weird.to_str().unwrap()
        );
        assert!(!std::path::Path::new("pwned").exists());

        let slow = PublishCommand {
            argv: vec!["sleep".into(), "30".into()],
            timeout: Duration::from_millis(200),
        };
        let e = run_publish(&slow, &sink("a.env")).await.unwrap_err();
        assert!(e.contains("did not finish"), "{e}");
    }
}
