//! A child `bao` process that is killed on drop, with its output captured to a log file.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running `bao server`; killed (SIGKILL) and reaped when dropped.
#[derive(Debug)]
pub struct BaoProcess {
    child: Option<Child>,
    log: PathBuf,
}

impl BaoProcess {
    /// Starts `bao` with `args`, output appended to `log`.
    pub fn spawn(args: &[&str], log: &Path) -> std::io::Result<Self> {
        Self::spawn_with_env(args, log, &[])
    }

    /// Like [`BaoProcess::spawn`], with extra environment variables for the server (e.g. the
    /// transit seal's `BAO_TOKEN`, which keeps the token out of the config file). The values
    /// are not logged.
    pub fn spawn_with_env(
        args: &[&str],
        log: &Path,
        env: &[(&str, &str)],
    ) -> std::io::Result<Self> {
        Self::spawn_wrapped(&[], args, log, env)
    }

    /// Like [`BaoProcess::spawn_with_env`], run through `wrapper`: the command becomes
    /// `wrapper[0] wrapper[1..] <bao> args…` (e.g. `unshare -m sh -c 'SCRIPT; exec "$0" "$@"'`
    /// to start the server in its own mount namespace). An empty `wrapper` runs `bao` itself.
    pub fn spawn_wrapped(
        wrapper: &[&str],
        args: &[&str],
        log: &Path,
        env: &[(&str, &str)],
    ) -> std::io::Result<Self> {
        Self::spawn_binary(&crate::bao_bin(), wrapper, args, log, env)
    }

    /// Like [`BaoProcess::spawn_wrapped`] with the binary `bao` instead of the default one
    /// (another pinned release: [`crate::bao_bin_version`]).
    pub fn spawn_binary(
        bao: &Path,
        wrapper: &[&str],
        args: &[&str],
        log: &Path,
        env: &[(&str, &str)],
    ) -> std::io::Result<Self> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let mut cmd = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(bao);
                c
            }
            None => Command::new(bao),
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            // Keep the developer's VAULT_*/BAO_* settings away from the server.
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_TOKEN")
            .env_remove("BAO_TOKEN");
        for (key, value) in env {
            cmd.env(key, value);
        }
        let child = cmd.spawn()?;
        Ok(Self {
            child: Some(child),
            log: log.to_owned(),
        })
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process has exited (and its status).
    pub fn try_exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Everything the process wrote so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Sends `signal` (a name `kill` knows: `STOP`, `CONT`, …) to the process, through
    /// `kill(1)`. SIGSTOP freezes the server while its sockets stay open: the kernel still
    /// accepts connections and data, nothing answers.
    pub fn signal(&self, signal: &str) -> std::io::Result<()> {
        let pid = self
            .pid()
            .ok_or_else(|| std::io::Error::other("the process was already killed"))?;
        let status = Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "kill -{signal} {pid} failed: {status}"
            )))
        }
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for BaoProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free TCP port on 127.0.0.1 that this process has not handed out before (see
/// [`vaultops_fs::free_loopback_ports`]: below the ephemeral range, never the same port twice).
pub fn free_port() -> u16 {
    vaultops_fs::free_loopback_port().expect("choosing a free loopback port")
}
