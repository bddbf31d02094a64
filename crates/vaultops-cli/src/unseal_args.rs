//! Grammar of the shares a command takes (`vaultops unseal`, `root generate`, `seal migrate
//! step`): a bundle with identities, or typed shares. Its own module so that `cli.rs` and the
//! other `*_args.rs` files can both use it without depending on each other.

use clap::Args;

#[derive(Debug, Args)]
pub struct UnsealArgs {
    /// The init bundle.
    #[arg(long, value_name = "FILE", required_unless_present = "prompt")]
    pub bundle: Option<std::path::PathBuf>,
    /// age identity file (AGE-SECRET-KEY-1…); repeat for several holders' files. PGP
    /// shares are decrypted with the local gpg keyring instead.
    #[arg(long = "identity", value_name = "FILE")]
    pub identities: Vec<std::path::PathBuf>,
    /// Type shares at a prompt (no echo), one per line, empty line to finish.
    #[arg(long)]
    pub prompt: bool,
    /// How long to wait for a node that has not joined the cluster yet (seconds).
    #[arg(long, default_value_t = 60)]
    pub wait: u64,
}
