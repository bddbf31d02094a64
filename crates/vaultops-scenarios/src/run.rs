//! One scenario run's context ([`Run`]): the testbed, the clock, the role monitor, the
//! workload, the events and checks so far, and the steps every scenario shares: start (monitor,
//! workload, warm-up), inject a fault, wait for a new active node, restart and unseal a node,
//! settle, and finish (stop, verify, measure, report).

use std::time::Duration;

use vaultops_api::{ClientConfig, NodeClient};
use vaultops_testbed::Testbed;

use crate::analysis;
use crate::budgets::budget_checks;
use crate::catalogue::Scenario;
use crate::checks::{post_checks, RunFacts};
use crate::details::Details;
use crate::error::{testbed, ScenarioError};
use crate::files::{write_files, HistoryFiles};
use crate::history::Recorder;
use crate::latency::{fault_window, write_latency};
use crate::lifecycle::id;
use crate::linearizability::{self, HistoryVerdict};
use crate::model::{node_name, Check, Clock, Event, EventKind, NodeTimeline, Observed};
use crate::monitor::{self, Monitor};
use crate::options::SuiteOptions;
use crate::report::{Measurements, ScenarioReport, WorkloadSummary};
use crate::verify::{self, Verification};
use crate::workload::{Keyspace, Workload, WorkloadLog};
use std::sync::Arc;
use vaultops_history::Event as HistoryEvent;

/// Acknowledged writes the workload must reach before the fault (≈1 s at the default pace).
pub(crate) const WARM_UP_ACKS: u64 = 100;
/// Acknowledged writes after recovery before the workload stops.
pub(crate) const SETTLE_ACKS: u64 = 100;
/// Deadline for a new active node after a fault.
pub(crate) const FAILOVER_DEADLINE: Duration = Duration::from_secs(45);
/// Deadline for a node to reach a role after a restart or an unseal.
pub(crate) const NODE_DEADLINE: Duration = Duration::from_secs(60);

/// A scenario run in progress.
#[derive(Debug)]
pub(crate) struct Run<'o> {
    pub tb: Testbed,
    pub opts: &'o SuiteOptions,
    pub scenario: Scenario,
    pub run_id: String,
    pub clock: Clock,
    started_at: String,
    pub keys: Keyspace,
    events: Vec<Event>,
    checks: Vec<Check>,
    /// The scenario's own records (see `details`), checked after the run.
    pub details: Details,
    monitor: Option<Monitor>,
    workload: Option<Workload>,
    /// The first fault: anchors the unavailability window.
    fault_at: Option<Duration>,
    /// The fault the active-node measurement is taken from, and the active node then.
    leader_fault: Option<(Duration, Option<usize>)>,
    /// Acknowledged data lost outside the workload (the backup drill's secrets).
    pub extra_lost: u64,
    /// What the clients saw, for the linearizability checker.
    pub history: Arc<Recorder>,
}

impl<'o> Run<'o> {
    pub fn new(tb: Testbed, opts: &'o SuiteOptions, scenario: Scenario, run_id: String) -> Self {
        let keys = Keyspace::new(&opts.workload.mount, &run_id);
        Run {
            tb,
            opts,
            scenario,
            run_id,
            clock: Clock::start(),
            started_at: now_rfc3339(),
            keys,
            events: Vec::new(),
            checks: Vec::new(),
            details: Details::default(),
            monitor: None,
            workload: None,
            fault_at: None,
            leader_fault: None,
            extra_lost: 0,
            history: Arc::new(Recorder::default()),
        }
    }

    pub fn say(&self, msg: &str) {
        if self.opts.verbose {
            eprintln!(
                "[{:>6.2}s] {}: {msg}",
                self.clock.now().as_secs_f64(),
                self.scenario
            );
        }
    }

    pub fn nodes(&self) -> usize {
        self.tb.nodes().len()
    }

    /// A client for node `i` with the root token and the default (10 s) timeout.
    pub fn root(&self, i: usize) -> NodeClient {
        self.tb.root_client(id(i))
    }

    /// A client for node `i` with the root token and `timeout` for the whole request and for
    /// the connection (which includes the TLS handshake: a paused node never completes it).
    pub fn root_with_timeout(
        &self,
        i: usize,
        timeout: Duration,
    ) -> Result<NodeClient, ScenarioError> {
        let cfg = ClientConfig {
            timeout,
            connect_timeout: timeout,
            token: self.tb.root_token().cloned(),
            ..self.tb.client_config().clone()
        };
        NodeClient::new(&self.tb.nodes()[i].host_addr(), &cfg).map_err(|source| {
            ScenarioError::Client {
                node: node_name(i),
                source,
            }
        })
    }

    fn clients(&self, cfg: &ClientConfig) -> Result<Vec<NodeClient>, ScenarioError> {
        self.tb
            .nodes()
            .iter()
            .enumerate()
            .map(|(i, n)| {
                NodeClient::new(&n.host_addr(), cfg).map_err(|source| ScenarioError::Client {
                    node: node_name(i),
                    source,
                })
            })
            .collect()
    }

    pub fn event(&mut self, kind: EventKind, label: impl Into<String>) {
        let label = label.into();
        self.say(&label);
        self.events.push(Event {
            t: self.clock.now(),
            kind,
            label,
        });
    }

    /// Records a fault about to be injected (the first one anchors the measurements).
    pub fn fault(&mut self, label: impl Into<String>) {
        let t = self.clock.now();
        if self.fault_at.is_none() {
            self.fault_at = Some(t);
            let active = self.monitor.as_ref().and_then(Monitor::active);
            self.leader_fault = Some((t, active));
        }
        self.event(EventKind::Fault, label);
    }

    /// Measures the time to a new active node from now instead of from the first fault
    /// (rolling restart: from the restart of the active node).
    pub fn anchor_leader_change_now(&mut self) {
        let active = self.monitor.as_ref().and_then(Monitor::active);
        self.leader_fault = Some((self.clock.now(), active));
    }

    pub fn recovery(&mut self, label: impl Into<String>) {
        self.event(EventKind::Recovery, label);
    }

    pub fn observed(&mut self, label: impl Into<String>) {
        self.event(EventKind::Observation, label);
    }

    pub fn check(&mut self, name: &str, passed: bool, detail: impl Into<String>) {
        let detail = detail.into();
        self.say(&format!(
            "check {name}: {} ({detail})",
            if passed { "ok" } else { "FAILED" }
        ));
        self.checks.push(Check {
            name: name.to_owned(),
            passed,
            detail,
        });
    }

    pub fn monitor(&self) -> &Monitor {
        self.monitor.as_ref().expect("the monitor was started")
    }

    pub fn workload(&self) -> &Workload {
        self.workload.as_ref().expect("the workload was started")
    }

    /// Starts the role monitor and waits for exactly one active node; returns its index.
    pub async fn start_monitor(&mut self) -> Result<usize, ScenarioError> {
        let cfg = monitor::health_config(self.tb.client_config());
        self.monitor = Some(Monitor::start(self.clients(&cfg)?, self.clock));
        self.monitor()
            .wait_for("one active node", NODE_DEADLINE, exactly_one_active)
            .await
    }

    /// Starts the monitor and the workload and waits for the warm-up; returns the active
    /// node's index.
    pub async fn begin(&mut self) -> Result<usize, ScenarioError> {
        let active = self.start_monitor().await?;
        let cfg = self
            .opts
            .workload
            .client_config(self.tb.client_config(), self.tb.root_token().cloned());
        let writers = self.clients(&cfg)?;
        let wl = Workload::start(
            writers,
            &self.root(active),
            self.keys.clone(),
            &self.opts.workload,
            self.clock,
            self.history.clone(),
        )
        .await?;
        self.workload = Some(wl);
        self.say(&format!(
            "workload started ({} writers), {} active",
            self.opts.workload.writers,
            node_name(active)
        ));
        self.wait_acks(WARM_UP_ACKS, "the warm-up").await?;
        Ok(active)
    }

    /// Adds testbed node `id` (just added to the testbed) to the role monitor; its index is
    /// `id.index()`, like every node's. Nodes added must come in id order with no gap (the
    /// next index).
    pub fn watch_node(&mut self, id: vaultops_testbed::NodeId) -> Result<usize, ScenarioError> {
        let health = self.client_for(id, &monitor::health_config(self.tb.client_config()))?;
        let i = self
            .monitor
            .as_mut()
            .expect("the monitor was started")
            .add_node(health, self.clock);
        assert_eq!(i, id.index(), "nodes are watched in id order");
        Ok(i)
    }

    /// Lets the workload's writers send to node `id` too (a load balancer that adds a node
    /// once its health check passes).
    pub fn send_writes_to(&self, id: vaultops_testbed::NodeId) -> Result<(), ScenarioError> {
        let cfg = self
            .opts
            .workload
            .client_config(self.tb.client_config(), self.tb.root_token().cloned());
        let writer = self.client_for(id, &cfg)?;
        self.workload().set_node(id.index(), Some(writer));
        Ok(())
    }

    /// Takes node index `i` out of the workload's nodes (a load balancer drained before the
    /// node is removed); the monitor keeps watching it.
    pub fn unwatch_writes(&self, i: usize) {
        self.workload().set_node(i, None);
    }

    fn client_for(
        &self,
        id: vaultops_testbed::NodeId,
        cfg: &ClientConfig,
    ) -> Result<NodeClient, ScenarioError> {
        let n = self.tb.node(id).map_err(testbed("finding an added node"))?;
        NodeClient::new(&n.host_addr(), cfg).map_err(|source| ScenarioError::Client {
            node: id.to_string(),
            source,
        })
    }

    /// Waits until the workload has `n` more acknowledged writes.
    pub async fn wait_acks(&self, n: u64, what: &str) -> Result<(), ScenarioError> {
        let wl = self.workload();
        let c0 = wl.write_acks();
        vaultops_bootstrap::wait_until(
            &format!("{n} acknowledged writes ({what})"),
            FAILOVER_DEADLINE,
            monitor::POLL_EVERY,
            || async {
                let c = wl.write_acks();
                if c >= c0 + n {
                    Ok(Some(()))
                } else if wl.finished() {
                    Err(format!(
                        "the workload reached its bounds after {} acknowledgements",
                        c - c0
                    ))
                } else {
                    Err(format!("{} so far", c - c0))
                }
            },
        )
        .await
        .map_err(ScenarioError::Wait)
    }

    /// Waits for a new active node after the leader fault (see `analysis::new_active_after`)
    /// and records it; returns its index.
    pub async fn wait_new_active(&mut self) -> Result<usize, ScenarioError> {
        let (t, old) = self.leader_fault.ok_or(ScenarioError::NoFaultRecorded)?;
        let (i, _) = self
            .monitor()
            .wait_for("a new active node", FAILOVER_DEADLINE, |tls| {
                analysis::new_active_after(tls, t, old)
            })
            .await?;
        self.observed(format!("{} active", node_name(i)));
        Ok(i)
    }

    /// Waits until node `i` is seen as `role`, and records it.
    pub async fn wait_role(&mut self, i: usize, role: Observed) -> Result<(), ScenarioError> {
        self.monitor().wait_role(i, role, NODE_DEADLINE).await?;
        self.observed(format!("{} {role}", node_name(i)));
        Ok(())
    }

    /// Starts node `i`'s container, waits until it answers sealed, unseals it with the
    /// testbed's keys and waits until it is a standby.
    pub async fn start_and_unseal(&mut self, i: usize) -> Result<(), ScenarioError> {
        self.recovery(format!("start {}", node_name(i)));
        self.tb
            .start(id(i))
            .await
            .map_err(testbed("starting a node"))?;
        self.unseal_when_sealed(&[i]).await?;
        self.wait_role(i, Observed::Standby).await
    }

    /// Node `i`'s role as its health endpoint reports it now (`Err`: what it answered
    /// instead), for checks that must observe the role themselves rather than trust an
    /// earlier wait.
    pub async fn role_now(&self, i: usize) -> Result<String, String> {
        self.root(i)
            .health()
            .await
            .map(|h| h.role.to_string())
            .map_err(|e| format!("no answer ({e})"))
    }

    /// Waits until every node in `nodes` answers sealed, then unseals them all at once (a
    /// lone node cannot become active without a quorum, so they go together).
    pub async fn unseal_when_sealed(&mut self, nodes: &[usize]) -> Result<(), ScenarioError> {
        let mon = self.monitor();
        mon.wait_for(
            "the restarted nodes to answer sealed",
            NODE_DEADLINE,
            |tls| {
                nodes
                    .iter()
                    .all(|i| tls[*i].transitions.last().map(|t| t.seen) == Some(Observed::Sealed))
                    .then_some(())
            },
        )
        .await?;
        let names: Vec<String> = nodes.iter().map(|i| node_name(*i)).collect();
        self.recovery(format!("unseal {} (3 keys each)", names.join(", ")));
        let tb = &self.tb;
        let unseals = nodes.iter().map(|i| tb.unseal(id(*i)));
        for r in futures_util::future::join_all(unseals).await {
            r.map_err(testbed("unsealing a restarted node"))?;
        }
        Ok(())
    }

    /// Workload: waits for [`SETTLE_ACKS`] more acknowledged writes (writes work again).
    pub async fn settle(&mut self) -> Result<(), ScenarioError> {
        self.wait_acks(SETTLE_ACKS, "after recovery").await?;
        self.observed("writes acknowledged again");
        Ok(())
    }

    /// Stops everything, verifies (when there was a workload), computes the measurements,
    /// writes the report files and returns the report.
    pub async fn finish(mut self) -> Result<(ScenarioReport, Option<WorkloadLog>), ScenarioError> {
        let end = self.clock.now();
        let log = match self.workload.take() {
            Some(w) => Some(w.stop().await),
            None => None,
        };
        let roles: Vec<NodeTimeline> = match self.monitor.take() {
            Some(m) => m.stop().await,
            None => Vec::new(),
        };
        let mut verification = match &log {
            Some(log) => Some(self.verify(log).await?),
            None => None,
        };
        let m = self.measure(end, log.as_ref(), &roles, verification.as_ref());
        // A positive control loses writes on purpose: its own check (`control`) replaces
        // the lost-write and counter checks.
        if let Some(v) = verification
            .as_ref()
            .filter(|_| !self.scenario.is_control())
        {
            self.check(
                "lost acknowledged writes",
                v.lost_total() <= self.opts.budgets.lost_acked_writes,
                format!(
                    "{} of {} key writes and {} counter increments lost (budget {}){}",
                    v.lost_writes,
                    v.acked_writes,
                    v.counter.lost_increments,
                    self.opts.budgets.lost_acked_writes,
                    if v.lost_keys.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; e.g. {}",
                            v.lost_keys[..v.lost_keys.len().min(5)].join(", ")
                        )
                    }
                ),
            );
            if let Some(c) = &v.convergence {
                self.check(
                    "every node applied every acknowledged write",
                    c.converged,
                    format!(
                        "commit index {} on the active node; applied per node: {}",
                        c.target_index,
                        c.applied
                            .iter()
                            .zip(self.tb.nodes())
                            .map(|(i, n)| format!(
                                "{} {}",
                                n.id,
                                i.map_or("no answer".to_owned(), |i| i.to_string())
                            ))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
            let c = &v.counter;
            self.check(
                "counter accounts for every acknowledged increment",
                c.consistent,
                format!(
                    "final {} (version {}), initial {}, acknowledged {}, ambiguous {}{}",
                    c.final_value,
                    c.final_version,
                    c.initial_value,
                    c.acked_increments,
                    c.ambiguous_increments,
                    if c.duplicate_versions.is_empty() {
                        String::new()
                    } else {
                        format!(", versions acknowledged twice: {:?}", c.duplicate_versions)
                    } + &if c.unexplained_versions.is_empty() {
                        String::new()
                    } else {
                        format!(", versions nobody wrote: {:?}", c.unexplained_versions)
                    }
                ),
            );
            // No "writes recovered" check: `settle()` already fails the scenario when writes
            // are not acknowledged again before its deadline, so such a check could not fail.
        }
        for c in budget_checks(self.scenario, &m, self.clock.now()) {
            self.check(&c.name, c.passed, c.detail);
        }
        let workload = match &log {
            Some(l) => summarize(l, self.opts.workload.writers),
            None => WorkloadSummary::default(),
        };
        let history = self.history.events();
        let (linearizability, svgs) = self.judge_history(&history);
        if let (Some(v), Some(l)) = (verification.as_mut(), linearizability.as_ref()) {
            v.linearizable = Some(l.linearizable);
        }
        let mut details = self.details;
        if let Some(l) = &log {
            let facts = RunFacts {
                log: l,
                verification: verification.as_ref(),
                nodes: self.tb.nodes().len(),
            };
            let checks = post_checks(self.scenario, &mut details, facts, &self.opts.budgets);
            self.checks.extend(checks);
        }
        let passed = self.checks.iter().all(|c| c.passed);
        let mut r = ScenarioReport {
            scenario: self.scenario.to_string(),
            run_id: self.run_id.clone(),
            testbed: self.tb.name().to_string(),
            started_at: self.started_at.clone(),
            duration: self.clock.now(),
            passed,
            checks: self.checks,
            measurements: m,
            workload,
            verification,
            linearizability,
            events: self.events,
            roles,
            details,
            files: Vec::new(),
        };
        let attempts = log.as_ref().map(|l| l.attempts.as_slice()).unwrap_or(&[]);
        let files = HistoryFiles {
            events: &history,
            svgs: &svgs,
        };
        let files = Some(files).filter(|f| !f.events.is_empty());
        write_files(&self.opts.reports_dir, &mut r, attempts, files)?;
        Ok((r, log))
    }

    /// The checker's verdict on the run's history, and its check; `None` when nothing was
    /// recorded. A history that does not pair up is a failed check, not a panic.
    fn judge_history(
        &mut self,
        events: &[HistoryEvent],
    ) -> (Option<HistoryVerdict>, Vec<(String, String)>) {
        if events.is_empty() {
            return (None, Vec::new());
        }
        let stale_leader = match (self.scenario, &self.details.pause) {
            (Scenario::PauseActive, Some(p)) => match (p.new_active_seen_at, p.resumed_at) {
                (Some(elected), Some(resumed)) => Some(linearizability::StaleLeaderWindow {
                    node: p.paused_node as u32,
                    new_leader_at: elected.as_secs_f64(),
                    resumed_at: resumed.as_secs_f64(),
                }),
                _ => None,
            },
            _ => None,
        };
        match linearizability::judge(events, stale_leader) {
            Ok((v, svgs)) => {
                let c = linearizability::history_check(self.scenario, &v);
                self.say(&format!(
                    "history: {} operations checked in {:.0} ms",
                    v.operations, v.check_ms
                ));
                self.check(&c.name, c.passed, c.detail);
                (Some(v), svgs)
            }
            Err(e) => {
                self.check("history is well-formed", false, e.to_string());
                (None, Vec::new())
            }
        }
    }

    async fn verify(&self, log: &WorkloadLog) -> Result<Verification, ScenarioError> {
        self.say("verifying every acknowledged write on the active node");
        let set = self.tb.node_set();
        let i = set
            .wait_active(NODE_DEADLINE)
            .await
            .map_err(crate::error::boot(
                "finding the active node for verification",
            ))?;
        let obs = verify::Observer {
            history: &self.history,
            clock: self.clock,
        };
        // Indices of the testbed's node list as it is now: after a membership change they
        // are not node ids minus one.
        let active = self.tb.root_client(self.tb.nodes()[i].id);
        let mut v = verify::verify(&active, log, obs).await?;
        self.say(&format!(
            "verified {} of {} acknowledged key writes; counter {} (acknowledged increments {})",
            v.verified, v.acked_writes, v.counter.final_value, v.counter.acked_increments
        ));
        let nodes: Vec<NodeClient> = self
            .tb
            .nodes()
            .iter()
            .map(|n| self.tb.root_client(n.id))
            .collect();
        v.convergence = Some(verify::converge(&active, &nodes).await?);
        Ok(v)
    }

    fn measure(
        &self,
        end: Duration,
        log: Option<&WorkloadLog>,
        roles: &[NodeTimeline],
        v: Option<&Verification>,
    ) -> Measurements {
        let mut m = Measurements {
            fault_at: self.fault_at,
            lost_acked_writes: v.map_or(0, Verification::lost_total) + self.extra_lost,
            ..Default::default()
        };
        if let Some((t, old)) = self.leader_fault {
            m.active_at_fault = old.map(node_name);
            if let Some((i, at)) = analysis::new_active_after(roles, t, old) {
                m.new_active_after = Some(at.saturating_sub(t));
                m.new_active_node = Some(node_name(i));
            }
        }
        if let Some(log) = log {
            m.write_latency = write_latency(&log.attempts, fault_window(&self.events));
        }
        if let Some(f) = self.fault_at {
            m.without_active = Some(analysis::time_without_active(roles, f, end));
            if let Some(log) = log {
                let acks = analysis::ack_times(&log.attempts);
                if let Some(g) = analysis::unavailability(&acks, f, end) {
                    m.unavailable_from = Some(g.from);
                    m.unavailable_to = g.to;
                    m.unavailability = g.len();
                    m.recovered = g.to.is_some();
                }
            }
        }
        m
    }
}

fn exactly_one_active(tls: &[NodeTimeline]) -> Option<usize> {
    let mut it = tls
        .iter()
        .enumerate()
        .filter(|(_, tl)| tl.transitions.last().map(|t| t.seen) == Some(Observed::Active))
        .map(|(i, _)| i);
    match (it.next(), it.next()) {
        (Some(i), None) => Some(i),
        _ => None,
    }
}

fn summarize(log: &WorkloadLog, writers: u16) -> WorkloadSummary {
    use crate::model::{ErrorClass, Op, Outcome};
    let mut s = WorkloadSummary {
        writers,
        requests: log.attempts.len() as u64,
        errors_by_kind: analysis::errors_by_kind(&log.attempts),
        error_samples: log.error_samples.clone(),
        ..Default::default()
    };
    for a in &log.attempts {
        match (&a.op, &a.outcome) {
            (Op::Write { .. }, Outcome::Ack { .. }) => s.key_acks += 1,
            (Op::CounterWrite { .. }, Outcome::Ack { .. }) => s.counter_acks += 1,
            (
                _,
                Outcome::Error {
                    class: ErrorClass::CasConflict,
                },
            ) => s.cas_conflicts += 1,
            _ => {}
        }
    }
    s
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
