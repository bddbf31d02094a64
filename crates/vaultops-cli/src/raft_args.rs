//! Grammar of `vaultops raft …` (clap derive), kept apart from `cli.rs` and from the command
//! code in `raft_cmd`.

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum RaftCommand {
    /// List the raft peers as the active node sees them, with autopilot's health.
    Peers,
    /// Remove a peer (e.g. a node whose volume is lost). Refuses the leader, a removal that
    /// leaves the voters without a healthy majority, and an unhealthy cluster; removing a
    /// peer that is already gone succeeds with a message.
    RemovePeer(MemberArgs),
    /// Ask a fresh (uninitialised) node to join the cluster through the active node; then
    /// unseal it (`vaultops unseal`) unless it auto-unseals. A node already initialised is
    /// left alone (with a message).
    Join(JoinArgs),
    /// Make a permanent non-voter (joined with non_voter) a voter, once it is caught up.
    Promote(MemberArgs),
    /// Make a voter a permanent non-voter (e.g. before scaling in). Refuses the leader and a
    /// demotion that leaves the voters without a healthy majority.
    Demote(MemberArgs),
    /// Autopilot: show or change its configuration (dead-server cleanup, min_quorum).
    #[command(subcommand)]
    Autopilot(AutopilotCommand),
    /// Print the ACL policy these commands need (no root token required).
    Policy,
}

#[derive(Debug, Args)]
pub struct MemberArgs {
    /// The peer's raft node_id (see `vaultops raft peers`).
    pub node_id: String,
    /// Show the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds to wait for the peer set to show the change and every peer to be healthy.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub wait: u64,
}

#[derive(Debug, Subcommand)]
pub enum AutopilotCommand {
    /// Print the current autopilot configuration.
    Show,
    /// Change autopilot's configuration: the diff is shown first; an unsafe min_quorum is
    /// refused (it must be a majority of the intended voters, and at least 3).
    Set(AutopilotSetArgs),
}

#[derive(Debug, Args)]
pub struct AutopilotSetArgs {
    /// Turn dead-server cleanup on (`--cleanup-dead-servers=false` turns it off).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub cleanup_dead_servers: Option<bool>,
    /// Cleanup never prunes the voters below this.
    #[arg(long, value_name = "N")]
    pub min_quorum: Option<u32>,
    /// A server not heard from for this long is dead (e.g. 10m, 24h).
    #[arg(long, value_name = "DURATION")]
    pub dead_server_threshold: Option<String>,
    /// A server not heard from for this long is unhealthy (e.g. 10s).
    #[arg(long, value_name = "DURATION")]
    pub last_contact_threshold: Option<String>,
    /// How long a new server is healthy before autopilot promotes it.
    #[arg(long, value_name = "DURATION")]
    pub server_stabilization_time: Option<String>,
    /// The number of voters the cluster is meant to have (default: the voters now), for the
    /// safe min_quorum.
    #[arg(long, value_name = "N")]
    pub voters: Option<usize>,
    /// Show the diff and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct JoinArgs {
    /// API address of the node that joins (not one of --addr).
    #[arg(long, value_name = "URL")]
    pub node: String,
    /// Join as a permanent non-voter (promote it with `vaultops raft promote` once caught
    /// up). OpenBao 2.7.2 ignores this for a Shamir-sealed node.
    #[arg(long)]
    pub non_voter: bool,
    /// Show the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds to wait for the node to report itself initialised after the join.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub wait: u64,
}
