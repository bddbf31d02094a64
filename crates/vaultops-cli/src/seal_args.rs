//! Grammar of `vaultops seal migrate …` (clap derive), kept apart from `cli.rs` and from the
//! command code in `seal_cmd`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::unseal_args::UnsealArgs;

#[derive(Debug, Subcommand)]
pub enum SealCommand {
    /// Seal migration (docs/runbooks/seal-migration.md): Shamir ↔ static, Shamir ↔ transit,
    /// one node at a time. You change each node's seal stanza and restart it; this drives the
    /// order and the checks and unseals with `migrate` from the custody bundle. Every command
    /// reads the cluster afresh: re-run it after any interruption. Exit 0: go ahead / done /
    /// passed; 2: blocked (reasons on stderr or in the JSON); 3: refused; 4: the next step is
    /// yours (reconfigure a node).
    #[command(subcommand)]
    Migrate(MigrateCommand),
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Dry run: the cluster's seal per node, the whole remaining order, the next step.
    Plan(SealTarget),
    /// The next step only (`--format json` for automation: `{"action": "reconfigure", …}`).
    Next(SealTarget),
    /// Do the next step when it is the command's: unseal a restarted node with the old
    /// seal's shares and `migrate`, unseal a Shamir node, or step the active node down once
    /// every standby is migrated. When the next step is yours (reconfigure), says so (exit 4).
    Step(StepArgs),
    /// The check between steps: waits until the cluster is ready for the next step (every
    /// node back, one active, autopilot healthy), then prints it.
    Check {
        #[command(flatten)]
        target: SealTarget,
        /// Seconds to keep checking before giving up.
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        wait: u64,
    },
    /// Once the migration is done: write the custody bundle for the new seal (the same
    /// encrypted shares, now recovery keys of an auto-unseal seal, or unseal keys of Shamir).
    /// Refused before the migration is done; never overwrites a file.
    Bundle(BundleArgs),
    /// Print the ACL policy these commands need (no root token required).
    Policy,
}

#[derive(Debug, Args)]
pub struct SealTarget {
    /// The seal to migrate to: shamir, static or transit.
    #[arg(long, value_name = "SEAL")]
    pub to: String,
}

#[derive(Debug, Args)]
pub struct StepArgs {
    #[command(flatten)]
    pub target: SealTarget,
    /// The custody bundle holding the OLD seal's shares (and the identities to open them).
    #[command(flatten)]
    pub shares: UnsealArgs,
    /// Show the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    #[command(flatten)]
    pub target: SealTarget,
    /// The bundle used for the migration (its shares are not decrypted).
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// Where the bundle for the new seal goes (0600; an existing file is refused).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}
