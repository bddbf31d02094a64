//! The role monitor: polls every node's `sys/health` every 50 ms during a scenario and keeps
//! each node's role changes on the run's clock ([`NodeTimeline`]).
//!
//! One polling task per node, so a paused node (whose health request hangs until the
//! monitor's 1 s timeout) does not delay the observation of the others. An observation is
//! stamped with the time the answer (or the failure) arrived. Scenarios wait on the
//! monitor's view ([`Monitor::wait_for`]) instead of polling the nodes themselves.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use vaultops_api::{ClientConfig, NodeClient};

use crate::error::ScenarioError;
use crate::model::{node_name, Clock, NodeTimeline, Observed, Transition};

/// How often each node is polled.
pub const POLL_EVERY: Duration = Duration::from_millis(50);
/// Health request timeout: a paused node shows as `no-answer` after this.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);

/// The client settings the monitor uses: `base`'s trust, short timeouts, no token.
pub fn health_config(base: &ClientConfig) -> ClientConfig {
    ClientConfig {
        timeout: HEALTH_TIMEOUT,
        connect_timeout: Duration::from_millis(500),
        token: None,
        ..base.clone()
    }
}

#[derive(Debug)]
struct Shared {
    nodes: Mutex<Vec<NodeTimeline>>,
    stop: AtomicBool,
}

/// A running monitor.
#[derive(Debug)]
pub struct Monitor {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Monitor {
    /// Starts polling `nodes` (named node1, node2, … in order) on `clock`.
    pub fn start(nodes: Vec<NodeClient>, clock: Clock) -> Monitor {
        let shared = Arc::new(Shared {
            nodes: Mutex::new(
                (0..nodes.len())
                    .map(|i| NodeTimeline {
                        node: node_name(i),
                        transitions: Vec::new(),
                    })
                    .collect(),
            ),
            stop: AtomicBool::new(false),
        });
        let tasks = nodes
            .into_iter()
            .enumerate()
            .map(|(i, client)| poll(shared.clone(), i, client, clock))
            .collect();
        Monitor { shared, tasks }
    }

    /// Starts polling one more node (added to the cluster during the run), named after its
    /// index like the others; returns that index.
    pub fn add_node(&mut self, client: NodeClient, clock: Clock) -> usize {
        let i = {
            let mut nodes = self.shared.nodes.lock().expect("monitor lock");
            let node = node_name(nodes.len());
            nodes.push(NodeTimeline {
                node,
                transitions: Vec::new(),
            });
            nodes.len() - 1
        };
        self.tasks.push(poll(self.shared.clone(), i, client, clock));
        i
    }

    /// The timelines so far.
    pub fn snapshot(&self) -> Vec<NodeTimeline> {
        self.shared.nodes.lock().expect("monitor lock").clone()
    }

    /// What each node was last seen as (`None` before its first answer).
    pub fn current(&self) -> Vec<Option<Observed>> {
        self.shared
            .nodes
            .lock()
            .expect("monitor lock")
            .iter()
            .map(|tl| tl.transitions.last().map(|tr| tr.seen))
            .collect()
    }

    /// The index of the node currently seen active, when exactly one is.
    pub fn active(&self) -> Option<usize> {
        let cur = self.current();
        let mut it = cur
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == Some(Observed::Active))
            .map(|(i, _)| i);
        match (it.next(), it.next()) {
            (Some(i), None) => Some(i),
            _ => None,
        }
    }

    /// Waits until `cond` holds on the timelines, checking every poll interval, for at most
    /// `deadline`; the error names `what` and the last roles seen.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        deadline: Duration,
        mut cond: impl FnMut(&[NodeTimeline]) -> Option<T>,
    ) -> Result<T, ScenarioError> {
        vaultops_bootstrap::wait_until(what, deadline, POLL_EVERY, || {
            let snap = self.snapshot();
            let r = match cond(&snap) {
                Some(v) => Ok(Some(v)),
                None => Err(describe(&snap)),
            };
            async move { r }
        })
        .await
        .map_err(ScenarioError::Wait)
    }

    /// Waits until node `i` is seen as `role`.
    pub async fn wait_role(
        &self,
        i: usize,
        role: Observed,
        deadline: Duration,
    ) -> Result<(), ScenarioError> {
        self.wait_for(&format!("{} to be {role}", node_name(i)), deadline, |tls| {
            (tls[i].transitions.last().map(|t| t.seen) == Some(role)).then_some(())
        })
        .await
    }

    /// Stops polling and returns the timelines.
    pub async fn stop(mut self) -> Vec<NodeTimeline> {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
        self.snapshot()
    }
}

impl Drop for Monitor {
    /// A monitor dropped without [`Monitor::stop`] (a scenario failed) still stops polling.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

/// "node1: active, node2: down, …" (the last observation of each node).
pub fn describe(tls: &[NodeTimeline]) -> String {
    tls.iter()
        .map(|tl| {
            format!(
                "{}: {}",
                tl.node,
                tl.transitions
                    .last()
                    .map_or("not yet polled".to_owned(), |t| t.seen.to_string())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Node `i`'s polling task: its health every [`POLL_EVERY`] until the monitor stops, each
/// change of what it answers recorded on `clock`.
fn poll(shared: Arc<Shared>, i: usize, client: NodeClient, clock: Clock) -> JoinHandle<()> {
    tokio::spawn(async move {
        while !shared.stop.load(Ordering::Relaxed) {
            let started = clock.now();
            let seen = match client.health().await {
                Ok(h) => Observed::from_role(h.role),
                Err(e) => Observed::from_error(&e),
            };
            let t = clock.now();
            {
                let mut nodes = shared.nodes.lock().expect("monitor lock");
                let tl = &mut nodes[i];
                if tl.transitions.last().map(|tr| tr.seen) != Some(seen) {
                    tl.transitions.push(Transition { t, seen });
                }
            }
            let next = started + POLL_EVERY;
            tokio::time::sleep(next.saturating_sub(clock.now())).await;
        }
    })
}
