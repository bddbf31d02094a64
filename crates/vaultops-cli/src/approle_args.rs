//! Grammar of `vaultops approle …` and `vaultops migrate-env` (clap derive): the sinks,
//! the grace and lock wait, what a secret-id carries. Kept apart from `cli.rs` and from the
//! command code in `approle_cmd`.

use clap::{Args, Subcommand};

/// Where credentials go.
#[derive(Debug, Args, Clone)]
pub struct SinkArgs {
    /// Env file to write (VAULT_ADDR, VAULT_ROLE_ID, VAULT_SECRET_ID, VAULT_CACERT; 0600,
    /// atomic, other lines kept byte for byte).
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<std::path::PathBuf>,
    /// Kubernetes Secret manifest to write (keys vault-role-id, vault-secret-id).
    #[arg(long, value_name = "PATH")]
    pub k8s_secret: Option<std::path::PathBuf>,
    /// Namespace of the Secret (default: the manifest's, when it exists).
    #[arg(long)]
    pub namespace: Option<String>,
    /// Name of the Secret (default: the manifest's, when it exists).
    #[arg(long)]
    pub name: Option<String>,
    /// VAULT_ADDR written into the env file. Default: the file's own value; a file without
    /// one gets the global --addr from `credentials` (never from `rotate`).
    #[arg(long, value_name = "URL")]
    pub vault_addr: Option<String>,
    /// VAULT_CACERT written into the env file. Default: the file's own value; a file without
    /// one gets the global --ca-cert from `credentials` (never from `rotate`).
    #[arg(long, value_name = "PATH")]
    pub vault_cacert: Option<std::path::PathBuf>,
}

/// When the secret-id a sink held is destroyed, and how long to wait for another writer.
#[derive(Debug, Args, Clone)]
pub struct RetireArgs {
    /// Wait this long before destroying the secret-id the sinks held, so that consumers
    /// see the new pair first, e.g. 2m. `auto`: 150s when a Kubernetes Secret manifest is
    /// among the sinks (the kubelet refreshes mounted Secrets within about a minute), 30s
    /// for env files.
    #[arg(long, value_name = "DUR", default_value = "auto")]
    pub grace: String,
    /// How long to wait for another vaultops process writing the same sinks (deliveries
    /// and rotations of one sink run one at a time).
    #[arg(long, value_name = "DUR", default_value = "15m")]
    pub lock_wait: String,
}

/// How the secret-id is issued.
#[derive(Debug, Args, Clone)]
pub struct IssueArgs {
    /// Source CIDR allowed to use the secret-id; repeat.
    #[arg(long = "cidr", value_name = "CIDR")]
    pub cidrs: Vec<String>,
    /// CIDR the login token is bound to; repeat.
    #[arg(long = "token-bound-cidr", value_name = "CIDR")]
    pub token_bound_cidrs: Vec<String>,
    /// Metadata on the secret-id (shown in audit logs), KEY=VALUE; repeat.
    #[arg(long = "metadata", value_name = "KEY=VALUE")]
    pub metadata: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ApproleCommand {
    /// Issue a new secret-id for ROLE and deliver it with the role-id to an env file, a
    /// Kubernetes Secret manifest, or stdout (JSON).
    ///
    /// Sinks are checked before anything is issued; each is read back and must log in.
    /// A pair of ROLE that a sink held before is destroyed after --grace (as `rotate` does).
    /// ONE SECRET-ID PER INSTANCE, OR UNLIMITED USES: clients logging in concurrently with
    /// one secret-id whose role sets secret_id_num_uses > 0 fail with HTTP 500 "transaction
    /// commit failed" (measured on OpenBao 2.7.2: 173 of 200 logins). Keep
    /// secret_id_num_uses=0 when instances share a secret-id, or run this once per instance
    /// with --metadata instance=NAME.
    #[command(verbatim_doc_comment)]
    Credentials {
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "approle")]
        mount: String,
        #[command(flatten)]
        sinks: SinkArgs,
        /// Print the credentials as JSON on stdout (the default when no sink is given).
        #[arg(long)]
        stdout: bool,
        /// Response-wrap the secret-id: print a single-use wrapping token valid for DUR
        /// (e.g. 5m) instead of the secret-id. Not combinable with a sink.
        #[arg(long, value_name = "DUR", conflicts_with_all = ["env_file", "k8s_secret"])]
        wrap_ttl: Option<String>,
        #[command(flatten)]
        retire: RetireArgs,
        #[command(flatten)]
        issue: IssueArgs,
    },
    /// Rotate: issue a new secret-id, prove it logs in, write the sinks atomically, prove
    /// the sinks log in, then (after --grace) destroy the secret-ids the sinks held. The
    /// sinks hold a working pair at every moment, even if this is killed midway.
    Rotate {
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "approle")]
        mount: String,
        #[command(flatten)]
        sinks: SinkArgs,
        #[command(flatten)]
        retire: RetireArgs,
        /// Destroy every other secret-id of the role too, not only the ones the sinks held.
        #[arg(long)]
        destroy_all_others: bool,
        /// Command run after the sinks are written (sh -c; {path} is replaced by the sink's
        /// path), e.g. 'kubectl apply -f {path}'. Its failure stops before anything is destroyed.
        #[arg(long, value_name = "CMD")]
        publish_cmd: Option<String>,
        #[arg(long, value_name = "DUR", default_value = "10m")]
        publish_timeout: String,
        #[command(flatten)]
        issue: IssueArgs,
    },
    /// Log in as the application would with the pair in a sink, and check its policies and
    /// the paths it may and may not use. Exit 4 when the login itself is refused.
    LoginCheck {
        #[arg(long, value_name = "PATH", conflicts_with = "k8s_secret")]
        env_file: Option<std::path::PathBuf>,
        #[arg(long, value_name = "PATH")]
        k8s_secret: Option<std::path::PathBuf>,
        #[arg(long, default_value = "approle")]
        mount: String,
        /// A policy the token must carry; repeat.
        #[arg(long = "expect-policy", value_name = "POLICY")]
        expect_policy: Vec<String>,
        /// An API path the token must be able to read (e.g. secret/data/atmr/config); repeat.
        #[arg(long = "expect-read", value_name = "PATH")]
        expect_read: Vec<String>,
        /// An API path the token must be denied; repeat.
        #[arg(long = "expect-deny", value_name = "PATH")]
        expect_deny: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct MigrateEnvArgs {
    /// The dotenv file.
    pub file: std::path::PathBuf,
    #[arg(long, default_value = "secret")]
    pub mount: String,
    /// KV path of the secret, e.g. atmr/config.
    #[arg(long)]
    pub path: String,
    /// List the keys that would change (never their values); change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Merge again over data written since it was read (otherwise refused).
    #[arg(long)]
    pub force: bool,
}
