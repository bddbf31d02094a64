//! Command-line grammar (clap derive) and the global connection options.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Operate a Vault/OpenBao cluster: TLS material, status, bootstrap.
#[derive(Debug, Parser)]
#[command(name = "vaultops", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands.
#[derive(Debug, Args)]
pub struct Global {
    /// Node address(es), e.g. https://vault-1:8200. Repeat for several nodes.
    /// Default: $VAULT_ADDR, then $BAO_ADDR.
    #[arg(long = "addr", global = true, value_name = "URL")]
    pub addr: Vec<String>,
    /// CA certificate (PEM) to trust instead of the system roots.
    /// Default: $VAULT_CACERT, then $BAO_CACERT.
    #[arg(long = "ca-cert", global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Token. Default: $VAULT_TOKEN, then $BAO_TOKEN. Prefer --token-file or the
    /// environment: a token on the command line shows in the process list (a warning says so).
    #[arg(long, global = true, value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Read the token from FILE (`-`: standard input); surrounding whitespace is ignored.
    #[arg(
        long = "token-file",
        global = true,
        value_name = "FILE",
        conflicts_with = "token"
    )]
    pub token_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Seconds an ordinary request may take before it is given up. `init` waits for the
    /// answer of `sys/init` without this limit (it holds the only copy of the keys) and says
    /// every so often that it is still waiting.
    #[arg(
        long = "timeout",
        global = true,
        value_name = "SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub timeout: u64,
    /// Accept `http://` node addresses (a dev server). Without it they are refused: over
    /// plain HTTP tokens, unseal shares and secrets cross the network in clear.
    #[arg(long, global = true)]
    pub allow_plain_http: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text for people (`text` is accepted too).
    #[value(alias = "text")]
    Table,
    Json,
}

// Parsed once per process: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and inspect TLS certificates for the cluster.
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Report every node's state; exit 0 only when all are reachable, initialized,
    /// unsealed, and exactly one is active.
    Status(StatusArgs),
    /// Initialize a cluster and write the init bundle with every share encrypted (age by
    /// this tool, or PGP by the server). Refuses an initialized cluster and an existing bundle.
    Init(InitArgs),
    /// Unseal every sealed node of --addr with shares from a bundle (decrypted with
    /// --identity) or typed at a prompt.
    Unseal(UnsealArgs),
    /// Root token operations.
    #[command(subcommand)]
    Root(RootCommand),
    /// Bring the cluster to the state a rollout file declares: secrets engines, policies,
    /// auth methods, AppRole roles, audit devices; prints the plan as a diff first. Talk to
    /// the ACTIVE node. Ends by revoking the (root) token used, unless --keep-root-token.
    Apply(ApplyArgs),
    /// Server configuration checks.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// AppRole credentials for applications: deliver, rotate, check.
    #[command(subcommand)]
    Approle(crate::approle_args::ApproleCommand),
    /// Import a dotenv file into a KV v2 secret (merge; idempotent; values never printed).
    MigrateEnv(crate::approle_args::MigrateEnvArgs),
    /// Grade a live cluster against the production checklist (HA, TLS, seal, audit,
    /// policies, AppRole TTLs, root token revoked, snapshot age, metrics). Exit 1 on a failure.
    Check(CheckArgs),
    /// Generate the production artifacts (server HCL, Kubernetes, Compose, Prometheus,
    /// Grafana) from the same templates the testbed uses; --check reports stale files.
    Render {
        #[arg(long, value_name = "DIR", default_value = "deploy")]
        out: std::path::PathBuf,
        #[arg(long)]
        check: bool,
    },
    /// Raft snapshot backups: save (streamed, optionally age-encrypted, with a checksum
    /// file), verify (no server needed), restore.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Client operation histories (Jepsen-shaped JSONL, docs/history.md).
    #[command(subcommand)]
    History(HistoryCommand),
    /// Rotate the unseal shares: the current bundle's shares authorize it, the new shares go
    /// to a NEW bundle before they are activated (docs/runbooks/rekey.md).
    Rekey(RekeyArgs),
    /// Rotate the barrier encryption key (a new key term; data stays readable).
    RotateEncryptionKey(RotateEncryptionKeyArgs),
    /// Rolling upgrade (docs/runbooks/upgrade.md): standbys one at a time, then a step-down,
    /// then the old active; you swap the binaries, this drives the order and the checks.
    #[command(subcommand)]
    Upgrade(UpgradeCommand),
    // --- raft membership (grammar in raft_args.rs) ---
    /// Raft membership: peers, remove-peer, promote, demote, autopilot (plan first; refuses
    /// changes that would lose quorum; docs/runbooks/membership.md).
    #[command(subcommand)]
    Raft(crate::raft_args::RaftCommand),
    /// Seal migration: `vaultops seal migrate plan|next|step|check|bundle|policy --to SEAL`
    /// (grammar in seal_args.rs; docs/runbooks/seal-migration.md).
    #[command(subcommand)]
    Seal(crate::seal_args::SealCommand),
}

pub use crate::unseal_args::UnsealArgs;

// ---- vaultops upgrade (one block: grammar of upgrade_cmd.rs) ----

/// `vaultops upgrade …`. Every command reads the cluster afresh: re-run it after any
/// interruption. Exit 0: go ahead / done / passed; 2: blocked (reasons on stderr or in the
/// JSON); 3: refused (a downgrade).
#[derive(Debug, Subcommand)]
pub enum UpgradeCommand {
    /// Dry run: every node's role and version (from the API), the order of the remaining
    /// steps, and the next one. Changes nothing.
    Plan(UpgradeTarget),
    /// The one next step, for automation (`--format json`: {"action": "swap" | "step-down" |
    /// "done" | "blocked" | "refused", …}).
    Next(UpgradeTarget),
    /// The check between steps: every node back, unsealed, caught up with the active node,
    /// autopilot healthy, and (with --node) that node on the target version.
    Check {
        #[command(flatten)]
        target: UpgradeTarget,
        /// The node just swapped: it must report the target version.
        #[arg(long, value_name = "URL")]
        node: Option<String>,
        /// Seconds to keep checking until it passes (0: check once).
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        wait: u64,
    },
    /// Step the active node down, only when it is the next step (every standby on the
    /// target, the active below it); waits for an upgraded node to become active.
    StepDown {
        #[command(flatten)]
        target: UpgradeTarget,
        /// Seconds to wait for an upgraded node to become active.
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        wait: u64,
        /// Show the plan and what the step-down would do; change nothing (as `plan`).
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the policy (HCL) a token needs for every upgrade command.
    Policy,
}

/// The target of an upgrade and the catch-up tolerance.
#[derive(Debug, Args)]
pub struct UpgradeTarget {
    /// The version every node must end up running (MAJOR.MINOR.PATCH, e.g. 2.7.2).
    #[arg(long, value_name = "VERSION")]
    pub to: String,
    /// Raft entries a standby may trail the active node by and count as caught up.
    #[arg(long, value_name = "N", default_value_t = vaultops_bootstrap::DEFAULT_MAX_LAG)]
    pub max_lag: u64,
}

// ---- end of vaultops upgrade ----

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Check that a history is linearizable, each key a register (docs/history.md). Exit 0:
    /// every key linearizable; 1: some key is not (its operations that cannot be ordered
    /// are printed); 2: the file is not a valid history (line and reason printed); 3: no
    /// violation, but some key's search ran out of --max-steps (not proven either way);
    /// 4: an --svg file could not be written.
    Check {
        /// The history: one JSON event a line (invoke, then ok / fail / info).
        file: std::path::PathBuf,
        /// Write one SVG timeline per non-linearizable or unknown key into DIR.
        #[arg(long, value_name = "DIR")]
        svg: Option<std::path::PathBuf>,
        /// Search steps allowed per key before it is reported unknown.
        #[arg(long, value_name = "N", default_value_t = vaultops_history::CheckOptions::default().max_steps_per_key)]
        max_steps: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Stream a snapshot to FILE (mode 0600, atomic) and write FILE.sha256.
    Save {
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
        /// Encrypt to this age recipient while writing; repeat for several.
        #[arg(long = "age-recipient", value_name = "RECIPIENT")]
        age_recipients: Vec<String>,
        /// After a successful save, write the backup metrics (last success time, size) to
        /// FILE in the node exporter's textfile format, atomically, e.g.
        /// /var/lib/prometheus/node-exporter/vaultops_snapshot.prom (feeds the shipped
        /// VaultSnapshotTooOld alert). A failed save leaves it as it was.
        #[arg(long, value_name = "FILE")]
        metrics_file: Option<std::path::PathBuf>,
    },
    /// Check a backup: checksum file, decryption, archive structure and the snapshot's own
    /// checksums (no server needed). With --restore, also restore it into a throwaway local
    /// node, unseal it with the OLD cluster's keys and count the secrets it holds.
    Verify {
        file: std::path::PathBuf,
        /// age identity file for an encrypted backup.
        #[arg(long = "identity", value_name = "FILE")]
        identities: Vec<std::path::PathBuf>,
        /// Accept a backup without its FILE.sha256 (checked another way).
        #[arg(long)]
        no_checksum: bool,
        #[command(flatten)]
        restore: VerifyRestoreArgs,
    },
    /// Restore a backup through the ACTIVE node: check the backup completely, show the target
    /// and what replaces it, take a safety snapshot of the target, ask, then restore. --force
    /// is needed for a snapshot of another cluster: afterwards THAT cluster's unseal keys and
    /// root token apply and the nodes seal themselves (docs/runbooks/disaster-recovery.md).
    Restore(RestoreArgs),
}

/// `backup restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    pub file: std::path::PathBuf,
    /// age identity file for an encrypted backup; its public key also encrypts the safety
    /// snapshot unless --age-recipient is given.
    #[arg(long = "identity", value_name = "FILE")]
    pub identities: Vec<std::path::PathBuf>,
    /// Restore a snapshot of another cluster (its keys and root token apply afterwards).
    #[arg(long)]
    pub force: bool,
    /// Do not ask: restore after showing the plan (needed when standard input is not a
    /// terminal).
    #[arg(long)]
    pub yes: bool,
    /// Accept a backup without its FILE.sha256 (checked another way).
    #[arg(long)]
    pub no_checksum: bool,
    /// Where the safety snapshot of the target is written (default: the backup's directory).
    #[arg(long, value_name = "DIR")]
    pub safety_dir: Option<std::path::PathBuf>,
    /// Encrypt the safety snapshot to this age recipient (repeat for several). Default: the
    /// recipients of the --identity files.
    #[arg(long = "age-recipient", value_name = "RECIPIENT")]
    pub age_recipients: Vec<String>,
    /// Restore without taking a safety snapshot of the target first (a target that cannot
    /// give one).
    #[arg(long, conflicts_with_all = ["safety_dir", "age_recipients"])]
    pub no_safety_snapshot: bool,
}

/// `backup verify --restore`: the throwaway node and the backup's cluster's keys.
#[derive(Debug, Args)]
pub struct VerifyRestoreArgs {
    /// Restore into a throwaway single node (a local server process in a private temporary
    /// directory, removed afterwards) and report the secret count.
    #[arg(long)]
    pub restore: bool,
    /// The init bundle of the cluster the backup was taken from.
    #[arg(long = "bundle", value_name = "FILE", requires = "restore")]
    pub bundle: Option<std::path::PathBuf>,
    /// age identity file opening the bundle's shares (a key holder's AGE-SECRET-KEY file);
    /// repeat for several holders. PGP shares are decrypted with the local gpg keyring.
    #[arg(long = "key-identity", value_name = "FILE", requires = "bundle")]
    pub key_identities: Vec<std::path::PathBuf>,
    /// Type the old cluster's shares at a prompt (no echo), one per line, empty line to finish.
    #[arg(long, requires = "restore")]
    pub prompt: bool,
    /// Server binary for the throwaway node (OpenBao `bao` or Vault `vault`); it receives the
    /// old cluster's unseal shares. Default: $VAULTOPS_BAO_BIN, else the pinned,
    /// checksum-verified OpenBao (installed on first use), never a binary found on PATH.
    #[arg(long, value_name = "PATH", requires = "restore")]
    pub server_bin: Option<std::path::PathBuf>,
    /// Deadline for each wait of the throwaway node (seconds).
    #[arg(long, default_value_t = 60)]
    pub wait: u64,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Where the daily snapshots are written: the newest file's age is graded.
    #[arg(long, value_name = "DIR")]
    pub snapshot_dir: Option<std::path::PathBuf>,
    /// Maximum age of the newest snapshot, in hours.
    #[arg(long, default_value_t = 26)]
    pub snapshot_max_age_hours: u64,
    /// Certificates expiring within this many days are a warning.
    #[arg(long, default_value_t = 30)]
    pub cert_warn_days: i64,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The rollout file (YAML; see docs/rollout.md).
    #[arg(short = 'f', long, value_name = "FILE")]
    pub file: std::path::PathBuf,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete managed objects absent from the file (single policies and roles; never
    /// root or default; mounts only with allow_prune in the file).
    #[arg(long)]
    pub prune: bool,
    /// Check the file's expectations (policy test matrix) with sys/capabilities; exit 1 on
    /// any mismatch.
    #[arg(long)]
    pub verify: bool,
    /// Do not revoke the root token at the end.
    #[arg(long)]
    pub keep_root_token: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Report fields the engine does not support or that would fail at run time, as errors.
    Lint {
        file: std::path::PathBuf,
        #[arg(long, value_enum, default_value_t = EngineArg::Openbao)]
        engine: EngineArg,
    },
}

// The `--engine` flag's values: a thin clap wrapper over the domain type
// `vaultops_types::Engine` (which stays free of clap), converted with `From`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    Openbao,
    Vault,
}

impl From<EngineArg> for vaultops_types::Engine {
    fn from(arg: EngineArg) -> Self {
        match arg {
            EngineArg::Openbao => vaultops_types::Engine::OpenBao,
            EngineArg::Vault => vaultops_types::Engine::Vault,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum RootCommand {
    /// Generate a new root token from a quorum of unseal (or recovery) shares, OTP-protected.
    /// On OpenBao ≥ 2.6 this uses the authenticated sys/generate-root-token endpoint: pass a
    /// --token allowed on it (a break-glass policy); --unauthenticated-endpoint uses the
    /// legacy sys/generate-root (Vault, or OpenBao with it re-enabled on the listener).
    Generate(RootGenerateArgs),
}

#[derive(Debug, Args)]
pub struct RootGenerateArgs {
    #[command(flatten)]
    pub shares: UnsealArgs,
    /// Use the legacy unauthenticated sys/generate-root endpoint.
    #[arg(long)]
    pub unauthenticated_endpoint: bool,
    /// Write the new root token to FILE (mode 0600) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Number of key shares (recovery shares with auto-unseal).
    #[arg(long, default_value_t = 5)]
    pub key_shares: u32,
    /// Shares needed to unseal (or to use recovery).
    #[arg(long, default_value_t = 3)]
    pub key_threshold: u32,
    /// Where to write the init bundle (JSON, mode 0600). Must not exist.
    #[arg(long, value_name = "BUNDLE")]
    pub out: std::path::PathBuf,
    /// age recipient (age1…) for the shares: one per share (share i to recipient i), or one
    /// for all shares. Shares are encrypted before anything touches disk.
    #[arg(
        long = "age-recipient",
        value_name = "RECIPIENT",
        conflicts_with = "pgp_keys"
    )]
    pub age_recipients: Vec<String>,
    /// age recipient for the root token (default: the first --age-recipient).
    #[arg(long, value_name = "RECIPIENT")]
    pub root_token_age_recipient: Option<String>,
    /// PGP public key files, comma-separated, one per share: the SERVER encrypts each share
    /// (as `vault operator init -pgp-keys`).
    #[arg(long, value_name = "FILE,…", value_delimiter = ',')]
    pub pgp_keys: Vec<std::path::PathBuf>,
    /// PGP public key file for the root token.
    #[arg(long, value_name = "FILE")]
    pub root_token_pgp_key: Option<std::path::PathBuf>,
    /// Also print the plaintext shares and root token on stdout. Anyone who sees the
    /// terminal or its scrollback can then unseal the cluster.
    #[arg(long)]
    pub insecure_print: bool,
}

/// `vaultops rekey`.
#[derive(Debug, Args)]
pub struct RekeyArgs {
    /// The CURRENT bundle (its shares authorize the rekey). Not needed with --dry-run or
    /// --cancel.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// age identity file(s) opening the current bundle's shares (and the new bundle's, when
    /// a re-run finishes the verification).
    #[arg(long = "identity", value_name = "FILE")]
    pub identities: Vec<PathBuf>,
    /// Where to write the NEW bundle (JSON, mode 0600). Must not exist, except when a re-run
    /// finishes an attempt whose new shares it already holds.
    #[arg(long, value_name = "BUNDLE")]
    pub out: Option<PathBuf>,
    /// Number of new shares.
    #[arg(long, default_value_t = 5)]
    pub key_shares: u32,
    /// New threshold.
    #[arg(long, default_value_t = 3)]
    pub key_threshold: u32,
    /// age recipient for the new shares: one per share, or one for all.
    #[arg(
        long = "age-recipient",
        value_name = "RECIPIENT",
        conflicts_with = "pgp_keys"
    )]
    pub age_recipients: Vec<String>,
    /// PGP public key files, one per new share: the SERVER encrypts each share.
    #[arg(long, value_name = "FILE,…", value_delimiter = ',')]
    pub pgp_keys: Vec<PathBuf>,
    /// Show the plan (current and new split, any attempt in progress) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Cancel the attempt in progress (before verification the current shares stay valid).
    #[arg(long, conflicts_with = "dry_run")]
    pub cancel: bool,
    /// Skip the final probe (a throwaway attempt, cancelled, showing the old shares are
    /// refused and the new ones accepted).
    #[arg(long)]
    pub no_probe: bool,
}

/// `vaultops rotate-encryption-key`.
#[derive(Debug, Args)]
pub struct RotateEncryptionKeyArgs {
    /// Show the current key term and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Create a CA (ca.pem, ca-key.pem mode 0600) in DIR.
    Ca {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[arg(long, default_value = vaultops_tls::DEFAULT_CA_COMMON_NAME)]
        common_name: String,
        #[arg(long, default_value_t = vaultops_tls::DEFAULT_CA_DAYS)]
        days: u32,
        /// Replace an existing CA key (certificates issued by the old CA stop verifying).
        #[arg(long)]
        force: bool,
    },
    /// Issue a node certificate (serverAuth + clientAuth) signed by the CA in --ca-dir.
    Node {
        #[arg(long, value_name = "DIR")]
        ca_dir: PathBuf,
        /// Certificate common name and file name (NAME.pem, NAME-key.pem).
        #[arg(long)]
        name: String,
        /// DNS subject alternative name; repeat. The name itself is added when it is a
        /// valid DNS name and not already given.
        #[arg(long = "dns", value_name = "NAME")]
        dns: Vec<String>,
        /// IP subject alternative name; repeat.
        #[arg(long = "ip", value_name = "IP")]
        ips: Vec<std::net::IpAddr>,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[arg(long, default_value_t = vaultops_tls::DEFAULT_NODE_DAYS)]
        days: u32,
    },
    /// Show a certificate's subject, SANs and validity; with --ca, verify it (and with
    /// --host, that the host is in its SANs).
    Inspect {
        file: PathBuf,
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
        #[arg(long)]
        host: Option<String>,
    },
    /// Re-issue a node certificate with the same CN and SANs and a new key.
    Renew {
        #[arg(long, value_name = "DIR")]
        ca_dir: PathBuf,
        /// The existing certificate (NAME.pem); it and NAME-key.pem are replaced atomically.
        cert: PathBuf,
        #[arg(long, default_value_t = vaultops_tls::DEFAULT_NODE_DAYS)]
        days: u32,
    },
    // Certificate and CA rotation (served, bundle, reissue): grammar in tls_rotate_args.rs.
    #[command(flatten)]
    Rotate(crate::tls_rotate_args::TlsRotateCommand),
}

#[derive(Debug, Args)]
pub struct StatusArgs {}

impl Global {
    /// Node addresses: --addr, else $VAULT_ADDR, else $BAO_ADDR.
    pub fn addrs(&self) -> anyhow::Result<Vec<String>> {
        if !self.addr.is_empty() {
            return Ok(self.addr.clone());
        }
        for var in ["VAULT_ADDR", "BAO_ADDR"] {
            if let Ok(v) = std::env::var(var) {
                if !v.trim().is_empty() {
                    return Ok(v.split(',').map(|s| s.trim().to_owned()).collect());
                }
            }
        }
        anyhow::bail!("no node address: pass --addr https://HOST:8200 (repeat for several nodes) or set VAULT_ADDR")
    }

    /// The CA file: --ca-cert, else $VAULT_CACERT, else $BAO_CACERT.
    pub fn ca_cert(&self) -> Option<PathBuf> {
        self.ca_cert.clone().or_else(|| {
            ["VAULT_CACERT", "BAO_CACERT"].iter().find_map(|v| {
                std::env::var_os(v)
                    .filter(|s| !s.is_empty())
                    .map(PathBuf::from)
            })
        })
    }

    /// The token: --token-file, else --token (with a warning: it shows in the process
    /// list), else $VAULT_TOKEN, else $BAO_TOKEN.
    pub fn token(&self) -> anyhow::Result<Option<vaultops_api::Token>> {
        if let Some(path) = &self.token_file {
            return read_token_file(path).map(Some);
        }
        if let Some(t) = &self.token {
            eprintln!(
                "warning: --token puts the token in the process list (ps, /proc/*/cmdline); \
                 use --token-file FILE (or - for standard input) or VAULT_TOKEN"
            );
            return Ok(Some(vaultops_api::Token::new(t.clone())));
        }
        Ok(["VAULT_TOKEN", "BAO_TOKEN"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .map(vaultops_api::Token::new))
    }

    /// Client configuration from the global options.
    pub fn client_config(&self) -> anyhow::Result<vaultops_api::ClientConfig> {
        use anyhow::Context;
        let ca_pem = match self.ca_cert() {
            Some(p) => Some(
                std::fs::read(&p)
                    .with_context(|| format!("reading the CA certificate {}", p.display()))?,
            ),
            None => None,
        };
        Ok(vaultops_api::ClientConfig {
            ca_pem,
            token: self.token()?,
            allow_plain_http: self.allow_plain_http,
            timeout: std::time::Duration::from_secs(self.timeout),
            ..Default::default()
        })
    }

    /// One client per node address.
    pub fn clients(&self) -> anyhow::Result<Vec<vaultops_api::NodeClient>> {
        let cfg = self.client_config()?;
        self.addrs()?
            .iter()
            .map(|a| vaultops_api::NodeClient::new(a, &cfg).map_err(anyhow::Error::from))
            .collect()
    }
}

/// Reads a token from `path` (`-`: standard input), trimmed; an empty one is an error.
fn read_token_file(path: &std::path::Path) -> anyhow::Result<vaultops_api::Token> {
    use anyhow::Context;
    use std::io::Read;
    let mut text = zeroize::Zeroizing::new(String::new());
    if path == std::path::Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the token from standard input")?;
    } else {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .with_context(|| format!("reading the token file {}", path.display()))?;
    }
    let token = text.trim();
    if token.is_empty() {
        anyhow::bail!(
            "the token file {} is empty: write the token into it (one line)",
            path.display()
        );
    }
    Ok(vaultops_api::Token::new(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_is_read_trimmed_and_an_empty_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("token");
        std::fs::write(&f, "  s.from-file\n").unwrap();
        let t = read_token_file(&f).unwrap();
        assert_eq!(t.expose(), "s.from-file");
        std::fs::write(&f, "\n").unwrap();
        let e = read_token_file(&f).unwrap_err().to_string();
        assert!(e.contains("is empty"), "{e}");
        let e = read_token_file(&dir.path().join("missing")).unwrap_err();
        assert!(format!("{e:#}").contains("reading the token file"), "{e:#}");
    }

    #[test]
    fn token_and_token_file_conflict() {
        use clap::Parser;
        let r = crate::cli::Cli::try_parse_from([
            "vaultops",
            "status",
            "--token",
            "s.x",
            "--token-file",
            "/tmp/t",
        ]);
        assert!(r.is_err());
    }
}
