//! `cargo xtask testbed …`: argument parsing and printing over `vaultops-testbed`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use vaultops_testbed::{
    default_state_root, NodeCount, NodeId, PortPlan, Progress, SealKind, Testbed, TestbedName,
    TestbedStatus, UpOptions, UpOutcome, DEFAULT_NAME,
};
use vaultops_types::Engine;

#[derive(Debug, Subcommand)]
pub enum TestbedCommand {
    /// Create the testbed (image, network, certificates, nodes) and bootstrap it; a no-op
    /// when it is already running and healthy.
    Up(UpArgs),
    /// Per node: container state, role, seal, raft voter, applied index. Exit 1 if unhealthy.
    Status(NameArg),
    /// Remove every container, network and volume of the testbed, and its state directory.
    Down(NameArg),
    /// Print the server log of one node, or of every node.
    Logs(LogsArgs),
    /// Copy the audit logs out of the containers into `target/testbed/<name>/audit/`.
    Audit(NameArg),
    /// Run a failover scenario (or `all`, or `list`) on its own fresh testbed, with a
    /// workload, measurements, and verification of every acknowledged write.
    Scenario(crate::scenario::ScenarioArgs),
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// Testbed name (a-z, 0-9, '-').
    #[arg(long, default_value = DEFAULT_NAME)]
    name: String,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    name: NameArg,
    /// Number of server nodes: 1, 3, 5 or 7 (default 3 for a new testbed).
    #[arg(long)]
    nodes: Option<u32>,
    /// Server engine.
    #[arg(long, value_parser = ["openbao", "vault"])]
    engine: Option<String>,
    /// How the nodes are sealed: shamir (5 keys, threshold 3, entered by the testbed),
    /// transit (auto-unseal through a separate unsealer container) or static (auto-unseal
    /// with a key file; OpenBao only). Default shamir for a new testbed.
    #[arg(long, value_parser = ["shamir", "transit", "static"])]
    seal: Option<String>,
    /// Publish node i's API on 127.0.0.1:BASE+i (default: 18200 for the default testbed,
    /// free ports for any other name).
    #[arg(long)]
    base_port: Option<u16>,
    /// Use this image instead of the official or locally built one.
    #[arg(long)]
    image: Option<String>,
    /// OpenBao release of a new testbed, one of the pinned versions (2.6.1, 2.6.2, 2.7.0,
    /// 2.7.1, 2.7.2; default 2.7.2): its official image if present, else the local image built
    /// from that pinned binary.
    #[arg(long)]
    version: Option<String>,
    /// Also export the root token (VAULT_TOKEN, BAO_TOKEN) in env.sh.
    #[arg(long)]
    with_token: bool,
    /// Render `disable_standby_reads = true` (OpenBao; a new testbed only): standbys forward
    /// reads to the active node, as deploy/ does.
    #[arg(long)]
    disable_standby_reads: bool,
    /// Seconds each wait (listeners, unseal, voters) may take.
    #[arg(long, default_value_t = 90)]
    timeout: u64,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Node: node2, or 2, or `unsealer`. Default: every node (and the unsealer).
    node: Option<String>,
    #[command(flatten)]
    name: NameArg,
    /// Lines per node.
    #[arg(long, default_value_t = 200)]
    tail: usize,
}

pub async fn run(cmd: TestbedCommand) -> anyhow::Result<ExitCode> {
    let root = default_state_root().context("locating target/testbed")?;
    match cmd {
        TestbedCommand::Up(a) => up(a, &root).await,
        TestbedCommand::Status(a) => status(&name(&a)?, &root).await,
        TestbedCommand::Down(a) => down(&name(&a)?, &root).await,
        TestbedCommand::Logs(a) => logs(a, &root).await,
        TestbedCommand::Audit(a) => audit(&name(&a)?, &root).await,
        TestbedCommand::Scenario(a) => crate::scenario::scenario(a).await,
    }
}

fn name(a: &NameArg) -> anyhow::Result<TestbedName> {
    Ok(TestbedName::new(a.name.clone())?)
}

/// Prints each step as it ends, with the time since `up` started and the step's own time.
struct Lines {
    start: Instant,
}

impl Progress for Lines {
    fn end(&mut self, step: &str, elapsed: Duration, outcome: &str) {
        eprintln!(
            "[{:>5.1}s] {step:<11} {:>5.1}s  {outcome}",
            self.start.elapsed().as_secs_f64(),
            elapsed.as_secs_f64()
        );
    }
}

async fn up(a: UpArgs, root: &Path) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let name = name(&a.name)?;
    let mut opts = UpOptions::new(name.clone(), root.to_owned());
    if let Some(n) = a.nodes {
        opts.nodes = Some(NodeCount::new(n)?);
    }
    if let Some(e) = &a.engine {
        opts.engine = Some(e.parse::<Engine>()?);
    }
    if let Some(s) = &a.seal {
        opts.seal = Some(s.parse::<SealKind>()?);
    }
    if let Some(p) = a.base_port {
        opts.ports = PortPlan::Base(p);
    }
    opts.image = a.image;
    opts.openbao_version = a.version;
    opts.with_token = a.with_token;
    opts.disable_standby_reads = a.disable_standby_reads;
    opts.deadline = Duration::from_secs(a.timeout);
    let mut lines = Lines { start };
    let (tb, outcome) = Testbed::up(&opts, &mut lines)
        .await
        .with_context(|| format!("while bringing testbed {name} up"))?;
    let total = start.elapsed().as_secs_f64();
    let headline = match &outcome {
        UpOutcome::Created { image, .. } => format!("created in {total:.1}s (image {image})"),
        UpOutcome::AlreadyRunning => format!("already running and healthy ({total:.1}s)"),
        UpOutcome::Repaired { actions } => {
            format!("repaired in {total:.1}s: {}", actions.join(", "))
        }
    };
    let st = tb
        .status()
        .await
        .with_context(|| format!("while reading the status of testbed {name}"))?;
    println!("testbed {name}: {headline}");
    print_status(&st);
    let state = tb.state();
    println!("  CA certificate: {}", rel(&state.ca_cert()).display());
    println!(
        "  init output ({}, root token; mode 0600): {}",
        if tb.seal().is_auto() {
            "recovery keys"
        } else {
            "unseal keys"
        },
        rel(&state.init_file()).display()
    );
    match tb.seal() {
        SealKind::Transit => println!(
            "  unsealer init output (its unseal key, root token; mode 0600): {}",
            rel(&state.unsealer_init_file()).display()
        ),
        SealKind::Static => println!(
            "  static seal key (mode 0600): {}",
            rel(&state.static_key_file()).display()
        ),
        SealKind::Shamir => {}
    }
    println!("source {}", rel(&state.env_file()).display());
    Ok(if st.healthy() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn status(name: &TestbedName, root: &Path) -> anyhow::Result<ExitCode> {
    let tb = Testbed::attach(name, root)
        .await
        .with_context(|| format!("while attaching to testbed {name}"))?;
    let st = tb
        .status()
        .await
        .with_context(|| format!("while reading the status of testbed {name}"))?;
    println!(
        "testbed {name}: {} nodes, {}, {} seal, {}",
        st.nodes.len(),
        st.engine,
        st.seal,
        if st.healthy() {
            "healthy"
        } else {
            "NOT healthy"
        }
    );
    print_status(&st);
    Ok(if st.healthy() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_status(st: &TestbedStatus) {
    println!(
        "  {:<6} {:<24} {:<9} {:<14} {:<7} {:<6} {:>7}",
        "node", "address", "container", "role", "sealed", "voter", "applied"
    );
    for n in &st.nodes {
        let role = match (&n.api.role, &n.api.error) {
            (Some(r), _) => r.to_string(),
            (None, Some(_)) => "unreachable".to_owned(),
            (None, None) => "-".to_owned(),
        };
        let opt = |b: Option<bool>| b.map_or("-".to_owned(), |b| b.to_string());
        println!(
            "  {:<6} {:<24} {:<9} {:<14} {:<7} {:<6} {:>7}",
            n.id.to_string(),
            n.host_addr,
            n.container_state,
            role,
            opt(n.api.sealed),
            opt(n.voter),
            n.api
                .raft_applied_index
                .map_or("-".to_owned(), |i| i.to_string()),
        );
    }
    match &st.unsealer {
        Some(u) => {
            let role = match (&u.api.role, &u.api.error) {
                (Some(r), _) => r.to_string(),
                (None, Some(_)) => "unreachable".to_owned(),
                (None, None) => "-".to_owned(),
            };
            println!(
                "  seal: transit; unsealer {} at {}: container {}, {role}",
                u.container, u.host_addr, u.container_state,
            );
        }
        None => println!("  seal: {}", st.seal),
    }
    println!("  audit sink: {}", st.audit_sink);
    for p in &st.problems {
        println!("  problem: {p}");
    }
}

async fn down(name: &TestbedName, root: &Path) -> anyhow::Result<ExitCode> {
    let removed = vaultops_testbed::down(name, root)
        .await
        .with_context(|| format!("while taking testbed {name} down"))?;
    if removed.is_empty() {
        println!("testbed {name}: nothing to remove");
    } else {
        println!(
            "testbed {name}: removed {} containers, {} networks, {} volumes",
            removed.containers.len(),
            removed.networks.len(),
            removed.volumes.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn logs(a: LogsArgs, root: &Path) -> anyhow::Result<ExitCode> {
    let name = name(&a.name)?;
    let tb = Testbed::attach(&name, root)
        .await
        .with_context(|| format!("while attaching to testbed {name}"))?;
    let want_unsealer = a.node.as_deref().map(str::trim) == Some("unsealer");
    let ids: Vec<NodeId> = match &a.node {
        _ if want_unsealer => Vec::new(),
        Some(n) => vec![n.parse()?],
        None => tb.nodes().iter().map(|n| n.id).collect(),
    };
    if want_unsealer || a.node.is_none() {
        let text = tb
            .unsealer_logs(a.tail)
            .await
            .context("while reading the logs of the unsealer")?;
        match text {
            Some(text) => {
                println!("--- unsealer ---");
                print!("{text}");
            }
            None if want_unsealer => {
                anyhow::bail!(
                    "testbed {name} has no transit unsealer (it uses the {} seal)",
                    tb.seal()
                )
            }
            None => {}
        }
    }
    for id in ids {
        let text = tb
            .logs(id, a.tail)
            .await
            .with_context(|| format!("while reading the logs of {id}"))?;
        println!("--- {id} ---");
        print!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn audit(name: &TestbedName, root: &Path) -> anyhow::Result<ExitCode> {
    let tb = Testbed::attach(name, root)
        .await
        .with_context(|| format!("while attaching to testbed {name}"))?;
    let files = tb
        .fetch_audit_logs()
        .await
        .with_context(|| format!("while copying the audit logs of testbed {name}"))?;
    for f in files {
        println!("{}", rel(&f).display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `path` relative to the current directory when it is below it (shorter `source` lines).
fn rel(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_owned))
        .unwrap_or_else(|| path.to_owned())
}
