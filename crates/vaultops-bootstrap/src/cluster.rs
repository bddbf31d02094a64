//! Cluster-level bootstrap: init one node, unseal every node (the leader first, then each
//! node once it has joined through `retry_join`), and wait for the cluster to settle.

use crate::error::BootstrapError;
use crate::nodes::{NodeSet, POLL};
use crate::unseal::{unseal_node, UnsealOutcome};
use crate::wait;
use std::time::Duration;
use vaultops_api::{InitRequest, InitResponse, NodeClient, NodeRole, UnsealKey};

/// Initializes the cluster through `node`. Refuses an initialized cluster. Waits for the
/// answer of `sys/init` as long as the client's `init_timeout` allows (by default as long as
/// the server needs: the keys exist only in that answer).
pub async fn init_cluster(
    node: &NodeClient,
    req: &InitRequest,
) -> Result<InitResponse, BootstrapError> {
    init_cluster_reporting(node, req, Duration::from_secs(10), |_| {}).await
}

/// Where [`init_cluster_reporting`] is, for the caller's display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitProgress {
    /// The node is not initialized; `PUT sys/init` goes out now. From here on its answer is
    /// the only copy of the keys.
    Sending,
    /// No answer yet, this long after sending.
    StillWaiting(Duration),
}

/// [`init_cluster`], telling `progress` when `sys/init` is sent and then every `every` while
/// it has not answered, so that the caller can show that the wait goes on (and why it must
/// not be cut short).
pub async fn init_cluster_reporting(
    node: &NodeClient,
    req: &InitRequest,
    every: Duration,
    mut progress: impl FnMut(InitProgress),
) -> Result<InitResponse, BootstrapError> {
    let fail = |source| BootstrapError::Init {
        node: node.addr().to_owned(),
        source,
    };
    if node.init_status().await.map_err(fail)? {
        return Err(BootstrapError::AlreadyInitialized {
            node: node.addr().to_owned(),
        });
    }
    let every = every.max(Duration::from_millis(100));
    progress(InitProgress::Sending);
    let started = tokio::time::Instant::now();
    let mut ticks = tokio::time::interval_at(started + every, every);
    let init = node.init(req);
    tokio::pin!(init);
    loop {
        tokio::select! {
            answer = &mut init => return answer.map_err(fail),
            _ = ticks.tick() => progress(InitProgress::StillWaiting(started.elapsed())),
        }
    }
}

/// Unseals every node of `nodes` with `keys`, in order: node `first` (normally the one that
/// was initialized), wait until it is active, then each other node as soon as it reports
/// initialized (it has joined raft). Per-node outcomes are returned in node order.
///
/// With auto-unseal (no keys), it only waits for the nodes to unseal themselves.
pub async fn unseal_cluster(
    nodes: &NodeSet,
    first: usize,
    keys: &[UnsealKey],
    deadline: Duration,
) -> Result<Vec<UnsealOutcome>, BootstrapError> {
    let mut outcomes = vec![UnsealOutcome::AlreadyUnsealed; nodes.nodes().len()];
    if keys.is_empty() {
        nodes
            .wait_all(
                "every node to unseal itself (auto-unseal)",
                &[
                    NodeRole::Active,
                    NodeRole::Standby,
                    NodeRole::PerformanceStandby,
                ],
                deadline,
            )
            .await?;
        return Ok(outcomes);
    }
    outcomes[first] = unseal_node(&nodes.nodes()[first], keys).await?;
    nodes.wait_active(deadline).await?;
    let handles: Vec<_> = nodes
        .nodes()
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != first)
        .map(|(i, n)| {
            let n = n.clone();
            let keys = keys.to_vec();
            tokio::spawn(async move { (i, unseal_when_joined(&n, &keys, deadline).await) })
        })
        .collect();
    for h in handles {
        let (i, r) = h.await.expect("unseal task panicked");
        outcomes[i] = r?;
    }
    Ok(outcomes)
}

/// Waits until `node` reports initialized (it fetched the raft challenge through
/// retry_join), then unseals it.
pub async fn unseal_when_joined(
    node: &NodeClient,
    keys: &[UnsealKey],
    deadline: Duration,
) -> Result<UnsealOutcome, BootstrapError> {
    // A certificate the client rejects (expired, wrong name, unknown CA) does not heal by
    // waiting: name it now instead of after the whole join deadline.
    if let Err(e) = node.seal_status().await {
        if e.tls_problem()
            .is_some_and(|p| *p != vaultops_api::TlsProblem::Other)
        {
            return Err(BootstrapError::Unseal {
                node: node.addr().to_owned(),
                source: e,
            });
        }
    }
    let what = format!("{} to join the cluster", node.addr());
    wait::until(&what, deadline, POLL, || async {
        match node.seal_status().await {
            Ok(s) if s.initialized => Ok(Some(())),
            Ok(_) => Err("not initialized yet".to_string()),
            Err(e) => Err(e.kind.to_string()),
        }
    })
    .await
    .map_err(|source| BootstrapError::Wait {
        step: "waiting for a node to join",
        source,
    })?;
    unseal_node(node, keys).await
}
