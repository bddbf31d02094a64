//! The one cluster bring-up sequence: init through the first node → unseal it → tune
//! autopilot → join the followers → unseal them → wait for an active node and the voters.
//!
//! The Docker testbed, the test harness's `bao` processes, the throwaway restore node of
//! `vaultops backup verify --restore` and the transit unsealers all come up through
//! [`bring_up`]; only the options differ. It talks to node URLs only: starting or restarting
//! processes and containers is the caller's, through the two [`BringUpHooks`].

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use vaultops_api::{InitRequest, InitResponse, KeySplit, NodeRole, RaftJoinRequest, UnsealKey};

use crate::error::BootstrapError;
use crate::nodes::{NodeSet, POLL};
use crate::{raft, wait};

/// How the nodes are sealed: it decides what init asks for and who unseals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealMode {
    /// Shamir: init hands out unseal keys; the sequence enters the threshold on every node.
    Shamir,
    /// Auto-unseal (transit, static, KMS): init hands out recovery shares; the nodes unseal
    /// themselves and the sequence only waits for them.
    Auto,
}

/// What [`bring_up`] should do besides init and unseal.
#[derive(Debug, Clone)]
pub struct BringUpOptions {
    pub seal: SealMode,
    /// The unseal key split (Shamir) or the recovery share split (auto-unseal).
    pub split: KeySplit,
    /// Join every follower to this leader with an explicit `sys/storage/raft/join` as soon
    /// as its `retry_join` fetched a challenge (see [`join_followers`] for why; Shamir only,
    /// ignored with auto-unseal). `None`:
    /// `retry_join` alone.
    pub explicit_join: Option<RaftJoinRequest>,
    /// Set autopilot's server stabilization time once the first node is active, before the
    /// followers join (`None`: leave the server's 10 s).
    pub autopilot_stabilization: Option<Duration>,
    /// At the end, wait until every node is a raft voter and autopilot is healthy.
    pub wait_voters: bool,
    /// Deadline of each wait.
    pub deadline: Duration,
}

impl BringUpOptions {
    /// A single node (`1/1` Shamir): no join, no autopilot tuning, no voter wait.
    pub fn single_node(deadline: Duration) -> Self {
        Self {
            seal: SealMode::Shamir,
            split: KeySplit::new(1, 1).expect("1/1 is a valid split"),
            explicit_join: None,
            autopilot_stabilization: None,
            wait_voters: false,
            deadline,
        }
    }
}

/// A point of the sequence that was reached, for the caller's progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Milestone {
    /// The first node's listener answers.
    Listening,
    /// The cluster is initialized and [`BringUpHooks::initialized`] kept the output.
    Initialized,
    /// Every node is unsealed.
    Unsealed,
    /// One node is active (and, when asked, every node is a voter).
    Settled,
}

/// The points where the caller's runtime acts. All default to doing nothing.
pub trait BringUpHooks {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Init answered: keep its output before anything else can fail (it is the only copy of
    /// the keys and the root token).
    fn initialized(
        &mut self,
        _init: &InitResponse,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }

    /// Start the nodes other than the first one. Runs while the first node unseals (a node
    /// started earlier only retries its join every 2 s). Nodes that already run: nothing.
    fn start_followers(&self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }

    /// `milestone` was reached.
    fn reached(&mut self, _milestone: Milestone) {}
}

/// No runtime hooks: every node already runs and nothing needs to be kept.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl BringUpHooks for NoHooks {
    type Error = Infallible;
}

/// What [`bring_up`] produced.
#[derive(Debug, Clone)]
pub struct BringUp {
    /// The init output: keys (or recovery shares) and the root token.
    pub init: InitResponse,
    /// Index of the active node at the end.
    pub active: usize,
}

/// [`bring_up`] failed at `step`, or a hook failed.
#[derive(Debug, thiserror::Error)]
pub enum BringUpError<E: std::error::Error + 'static> {
    #[error("bring-up: {step} failed")]
    Step {
        step: &'static str,
        #[source]
        source: BootstrapError,
    },
    #[error("bring-up: the runtime failed to {hook}")]
    Hook {
        hook: &'static str,
        #[source]
        source: E,
    },
}

fn at<E: std::error::Error>(step: &'static str) -> impl FnOnce(BootstrapError) -> BringUpError<E> {
    move |source| BringUpError::Step { step, source }
}

/// Brings the uninitialized cluster `nodes` up through its first node: waits for that
/// node's listener, initializes, keeps the init output ([`BringUpHooks::initialized`]),
/// unseals the first node while the followers start, tunes autopilot, joins and unseals the
/// followers, and waits for one active node (and the voters when asked).
///
/// Each wait has `opts.deadline`. Refuses an initialized cluster.
pub async fn bring_up<H: BringUpHooks>(
    nodes: &NodeSet,
    opts: &BringUpOptions,
    hooks: &mut H,
) -> Result<BringUp, BringUpError<H::Error>> {
    let deadline = opts.deadline;
    let first = &nodes.nodes()[0];
    NodeSet::new(vec![first.clone()])
        .wait_all(
            "the first node's API listener",
            &[NodeRole::Uninitialized, NodeRole::Sealed],
            deadline,
        )
        .await
        .map_err(at("waiting for the first node's listener"))?;
    hooks.reached(Milestone::Listening);

    let req = match opts.seal {
        SealMode::Shamir => InitRequest::shamir(opts.split),
        // With auto-unseal the server has no unseal keys to hand out: it refuses
        // secret_shares and wants recovery shares instead.
        SealMode::Auto => InitRequest::auto_unseal(opts.split),
    };
    let init = crate::init_cluster(first, &req).await.map_err(at("init"))?;
    hooks
        .initialized(&init)
        .await
        .map_err(|source| BringUpError::Hook {
            hook: "keep the init output",
            source,
        })?;
    hooks.reached(Milestone::Initialized);
    let keys: Vec<UnsealKey> = match opts.seal {
        SealMode::Shamir => {
            let t = usize::from(opts.split.threshold()).min(init.keys_base64.len());
            init.keys_base64[..t].to_vec()
        }
        SealMode::Auto => Vec::new(),
    };
    let root = first.with_token(init.root_token.clone());

    let first_active = async {
        // Auto-unseal: the first node unsealed itself during init.
        if !keys.is_empty() {
            crate::unseal_node(first, &keys).await?;
        }
        nodes.wait_active(deadline).await?;
        // Tuned before the followers join, so their promotion uses the short time.
        match opts.autopilot_stabilization {
            Some(t) => raft::tune_autopilot(&root, t).await,
            None => Ok(()),
        }
    };
    let (started, active) = tokio::join!(hooks.start_followers(), first_active);
    started.map_err(|source| BringUpError::Hook {
        hook: "start the other nodes",
        source,
    })?;
    active.map_err(at("unsealing the first node and tuning autopilot"))?;

    // Auto-unseal: no explicit join. `retry_join` answers the challenge in the same round it
    // fetches it, so an explicit join gains nothing, and sent while that loop runs it raced it:
    // once (CI, transit testbed) the leader added node2 as a non-voter while node2 stayed
    // uninitialised, its cluster listener without raft TLS, and bring-up timed out.
    if let (Some(req), false) = (&opts.explicit_join, keys.is_empty()) {
        join_followers(nodes, req, &keys, deadline)
            .await
            .map_err(at("joining and unsealing the other nodes"))?;
    }
    // With no keys (auto-unseal) this only waits for the nodes to unseal themselves.
    crate::unseal_cluster(nodes, 0, &keys, deadline)
        .await
        .map_err(at("unsealing the other nodes"))?;
    nodes
        .wait_all(
            "every node unsealed",
            &[
                NodeRole::Active,
                NodeRole::Standby,
                NodeRole::PerformanceStandby,
            ],
            deadline,
        )
        .await
        .map_err(at("waiting for every node to be unsealed"))?;
    hooks.reached(Milestone::Unsealed);
    let active = nodes
        .wait_active(deadline)
        .await
        .map_err(at("waiting for an active node"))?;
    if opts.wait_voters {
        let client = nodes.nodes()[active].with_token(init.root_token.clone());
        raft::wait_voters(&client, nodes.nodes().len(), deadline)
            .await
            .map_err(at("waiting for every node to be a raft voter"))?;
    }
    hooks.reached(Milestone::Settled);
    Ok(BringUp { init, active })
}

/// Joins every node but the first (active by now) with an explicit `sys/storage/raft/join`,
/// then unseals it, all nodes at once (Shamir only).
///
/// Why not leave it to `retry_join` alone: its loop only acts every 2 s. With Shamir a
/// node's loop fetches the leader's challenge, then needs the unseal keys to answer it, and
/// answers only on its next round, up to 2 s after the keys arrived (measured: ~2 s). After
/// an explicit join the unseal request answers the challenge itself. The join is sent once
/// the node reports `initialized` (its loop just fetched a challenge), so the loop's next
/// round, which would replace the challenge on the leader, is ~2 s away; if it still
/// interferes, the unseal fails and is retried the `retry_join` way. With auto-unseal
/// bring-up leaves joining to `retry_join` (see there). Join errors are only logged:
/// `retry_join` stays the fallback.
async fn join_followers(
    nodes: &NodeSet,
    req: &RaftJoinRequest,
    keys: &[UnsealKey],
    deadline: Duration,
) -> Result<(), BootstrapError> {
    let joins = nodes.nodes()[1..].iter().map(|client| async move {
        let what = format!("{} to fetch the leader's raft challenge", client.addr());
        let joined = wait::until(&what, deadline, POLL, || async {
            match client.seal_status().await {
                Ok(s) if !s.sealed => Ok(Some(true)),
                // Shamir: wait for retry_join's challenge (see above).
                Ok(s) if s.initialized => Ok(Some(false)),
                Ok(_) => Err("not initialized yet".to_owned()),
                Err(e) => Err(e.kind.to_string()),
            }
        })
        .await
        .map_err(|source| BootstrapError::Wait {
            step: "waiting for a node to fetch the raft challenge",
            source,
        })?;
        if joined {
            return Ok(());
        }
        if let Err(e) = client.raft_join(req).await {
            tracing::debug!(node = client.addr(), error = %e, "explicit raft join failed; retry_join continues");
        }
        match crate::unseal_node(client, keys).await {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::debug!(node = client.addr(), error = %e, "unseal after the explicit join failed; unsealing the retry_join way");
                crate::unseal_when_joined(client, keys, deadline)
                    .await
                    .map(|_| ())
            }
        }
    });
    for r in futures_util::future::join_all(joins).await {
        r?;
    }
    Ok(())
}
