//! The write workload: K writers, each writing unique sequence-numbered KV v2 keys,
//! updating a shared counter with check-and-set, and writing, reading and check-and-setting
//! a few shared registers (so that reads race writes), through randomly chosen nodes,
//! bounded in count and in time. Unique-key and counter requests are recorded as
//! [`Attempt`]s on the run's clock (the measurements and the set checks use them); every
//! request, register ones included, is also recorded in the run's history (`history`), which
//! the linearizability checker reads. Every value written is unique in the run: unique keys
//! hold their own name, the counter and the registers a tag `c<writer>-<n>` / `v<writer>-<n>`.
//!
//! Requests go to any node on purpose: standbys forward writes to the active node, and
//! during a failover they answer 307 (to the dead node) or 500 instead; the client never
//! follows redirects, so those are recorded as failures. Client timeouts are short (2 s by
//! default) so that a paused node does not stall a writer for long.
//!
//! The counter is read through the same random node, then written with `cas` = the version
//! read. A standby may serve a stale read; the write then fails its check-and-set and is
//! retried on the writer's next counter turn. So every successful counter write moves the
//! counter from version `v` (value `v - 1`) to `v + 1` (value `v`): the verification checks
//! exactly that.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::task::JoinHandle;
use vaultops_api::{ClientConfig, NodeClient, Token};

use crate::error::ScenarioError;
use crate::history::{completion_of, Process, Recorder};
use crate::model::{Attempt, Clock, ErrorClass, Op, Outcome, PROBE_WRITER};
use crate::rng::XorShift;
use vaultops_history::{EventType, Func, Value};

/// How the workload runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadConfig {
    /// Concurrent writers.
    pub writers: u16,
    /// Per writer: at most this many operations (a counter increment counts as one).
    pub max_ops_per_writer: u64,
    /// The workload stops by itself after this long, whatever the scenario does.
    #[serde(with = "crate::model::secs")]
    pub max_duration: Duration,
    /// Pause between a writer's operations: keeps 3 servers, the writers and the monitor
    /// within a 2-core machine and sets the measurement resolution (~pace / writers).
    #[serde(with = "crate::model::secs")]
    pub pace: Duration,
    /// Every `counter_every`-th operation of a writer is a counter increment (0: none).
    pub counter_every: u64,
    /// Shared registers (`r0`, `r1`, …): of the other operations, half go to a random
    /// register (a write, a read or a read then check-and-set), half are unique-key writes
    /// (0: no register operations).
    #[serde(default = "default_registers")]
    pub registers: u16,
    /// Whole-request timeout of the writers' clients.
    #[serde(with = "crate::model::secs")]
    pub request_timeout: Duration,
    /// TCP connect timeout of the writers' clients.
    #[serde(with = "crate::model::secs")]
    pub connect_timeout: Duration,
    /// KV v2 mount.
    pub mount: String,
    /// After a connection failure or a timeout on a node, a writer leaves that node aside
    /// for this long (while another node is left): a client configured with every node's
    /// address does the same. Without it, writers that all happen to wait on a restarting
    /// node show a pause the cluster did not have.
    #[serde(with = "crate::model::secs")]
    pub avoid_failed_node: Duration,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        Self {
            writers: 4,
            max_ops_per_writer: 20_000,
            max_duration: Duration::from_secs(240),
            pace: Duration::from_millis(25),
            counter_every: 4,
            registers: default_registers(),
            request_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(1),
            mount: "secret".to_owned(),
            avoid_failed_node: Duration::from_secs(1),
        }
    }
}

fn default_registers() -> u16 {
    4
}

impl WorkloadConfig {
    /// Client settings for the writers: `base` (trust, identity) with this workload's
    /// timeouts and `token`.
    pub(crate) fn client_config(&self, base: &ClientConfig, token: Option<Token>) -> ClientConfig {
        ClientConfig {
            timeout: self.request_timeout,
            connect_timeout: self.connect_timeout,
            token,
            ..base.clone()
        }
    }
}

/// Where the workload's keys live: `<mount>/data/scenario/<run>/…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyspace {
    pub mount: String,
    /// `scenario/<run>`.
    pub prefix: String,
}

impl Keyspace {
    pub fn new(mount: &str, run: &str) -> Self {
        Self {
            mount: mount.to_owned(),
            prefix: format!("scenario/{run}"),
        }
    }

    /// The unique key of `writer`'s write `seq`.
    pub fn key(&self, writer: u16, seq: u64) -> String {
        if writer == PROBE_WRITER {
            format!("{}/p-{seq}", self.prefix)
        } else {
            format!("{}/w{writer}-{seq}", self.prefix)
        }
    }

    /// The shared counter's key.
    pub fn counter(&self) -> String {
        format!("{}/counter", self.prefix)
    }

    /// Shared register `i`'s key.
    pub fn register(&self, i: u16) -> String {
        format!("{}/r{i}", self.prefix)
    }

    /// A key's name in the history: its path below the run's prefix (`w3-17`, `counter`).
    pub fn history_key<'k>(&self, key: &'k str) -> &'k str {
        key.strip_prefix(&self.prefix)
            .map_or(key, |k| k.trim_start_matches('/'))
    }

    /// The value written to a unique key, which verification compares.
    pub fn value(&self, writer: u16, seq: u64) -> serde_json::Value {
        json!({ "writer": writer, "seq": seq, "run": self.prefix })
    }
}

/// The counter as the workload found it (it creates it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterStart {
    pub value: u64,
    pub version: u64,
}

/// Everything the workload did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadLog {
    pub keys: Keyspace,
    /// Shared registers used (`r0` … `r<registers - 1>`).
    #[serde(default)]
    pub registers: u16,
    pub counter_start: CounterStart,
    /// Every request, in completion order.
    pub attempts: Vec<Attempt>,
    /// The first server or client message seen for each error kind.
    pub error_samples: BTreeMap<ErrorClass, String>,
}

struct Shared {
    history: Arc<Recorder>,
    attempts: Mutex<Vec<Attempt>>,
    samples: Mutex<BTreeMap<ErrorClass, String>>,
    write_acks: AtomicU64,
    stop: AtomicBool,
    probe_seq: AtomicU64,
}

impl Shared {
    fn record(&self, a: Attempt, error: Option<&vaultops_api::ApiError>) {
        if a.is_write_ack() {
            self.write_acks.fetch_add(1, Ordering::Relaxed);
        }
        if let (Outcome::Error { class }, Some(e)) = (&a.outcome, error) {
            let mut s = self.samples.lock().expect("samples lock");
            s.entry(*class).or_insert_with(|| {
                let mut m = e.to_string();
                m.truncate(400);
                m
            });
        }
        self.attempts.lock().expect("attempts lock").push(a);
    }
}

/// A running workload.
#[derive(Debug)]
pub struct Workload {
    shared: Arc<Shared>,
    registers: u16,
    keys: Keyspace,
    counter_start: CounterStart,
    writers: Vec<JoinHandle<()>>,
    probes: Mutex<Vec<JoinHandle<()>>>,
    clock: Clock,
    /// The nodes the writers send to, by node index (`None`: not sent to).
    nodes: WriterNodes,
}

/// The writers' nodes, by node index; `None` for a node taken out (see [`Workload::set_node`]).
type WriterNodes = Arc<RwLock<Vec<Option<NodeClient>>>>;

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("write_acks", &self.write_acks.load(Ordering::Relaxed))
            .finish()
    }
}

impl Workload {
    /// Creates the counter through `active` (value 0, `cas` 0: the key must be new), then
    /// starts the writers on `nodes` (clients with a token allowed to write `keys`). Every
    /// request is recorded in `history`.
    pub async fn start(
        nodes: Vec<NodeClient>,
        active: &NodeClient,
        keys: Keyspace,
        cfg: &WorkloadConfig,
        clock: Clock,
        history: Arc<Recorder>,
    ) -> Result<Workload, ScenarioError> {
        if nodes.is_empty() || cfg.writers == 0 {
            return Err(ScenarioError::NoWriters);
        }
        let mut setup = history.process();
        let op = history.invoke(
            &setup,
            None,
            Func::Cas,
            "counter",
            Value::Cas {
                expected: None,
                new: COUNTER_INIT.to_owned(),
            },
            clock.now(),
        );
        let created = active
            .kv_write(
                &keys.mount,
                &keys.counter(),
                &json!({ "value": 0, "tag": COUNTER_INIT }),
                Some(0),
            )
            .await;
        let kind = match &created {
            Ok(_) => EventType::Ok,
            Err(e) => completion_of(ErrorClass::of(e)),
        };
        history.complete(&mut setup, op, kind, None, clock.now());
        let meta = created.map_err(|source| ScenarioError::Api {
            step: "creating the workload's counter",
            source: Box::new(source),
        })?;
        let counter_start = CounterStart {
            value: 0,
            version: meta.version,
        };
        let shared = Arc::new(Shared {
            history,
            attempts: Mutex::new(Vec::new()),
            samples: Mutex::new(BTreeMap::new()),
            write_acks: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            probe_seq: AtomicU64::new(0),
        });
        let nodes = Arc::new(RwLock::new(nodes.into_iter().map(Some).collect()));
        let writers = (0..cfg.writers)
            .map(|w| {
                let ctx = WriterCtx {
                    process: shared.history.process(),
                    tags: 0,
                    id: w,
                    nodes: nodes.clone(),
                    keys: keys.clone(),
                    cfg: cfg.clone(),
                    clock,
                    shared: shared.clone(),
                };
                tokio::spawn(ctx.run())
            })
            .collect();
        Ok(Workload {
            shared,
            registers: cfg.registers,
            keys,
            counter_start,
            writers,
            probes: Mutex::new(Vec::new()),
            clock,
            nodes,
        })
    }

    /// Adds the node of index `i` to the nodes the writers send to (`Some`), or takes it out
    /// (`None`: a load balancer drained before the node goes away). A membership change
    /// during a run; requests already sent finish as they do.
    pub fn set_node(&self, i: usize, client: Option<NodeClient>) {
        let mut nodes = self.nodes.write().expect("writer nodes lock");
        if nodes.len() <= i {
            nodes.resize(i + 1, None);
        }
        nodes[i] = client;
    }

    /// Acknowledged writes so far.
    pub fn write_acks(&self) -> u64 {
        self.shared.write_acks.load(Ordering::Relaxed)
    }

    /// Whether every writer has ended (bounds reached).
    pub fn finished(&self) -> bool {
        self.writers.iter().all(JoinHandle::is_finished)
    }

    /// Sends `count` unique-key writes to `client` (node index `node`) in the background,
    /// recorded like the writers' requests (writer [`PROBE_WRITER`]). Used to queue writes
    /// at a paused node: give `client` a long timeout.
    pub fn probe_writes(&self, node: usize, client: NodeClient, count: usize) {
        let mut probes = self.probes.lock().expect("probes lock");
        for _ in 0..count {
            let seq = self.shared.probe_seq.fetch_add(1, Ordering::Relaxed);
            let (client, keys, shared, clock) = (
                client.clone(),
                self.keys.clone(),
                self.shared.clone(),
                self.clock,
            );
            probes.push(tokio::spawn(async move {
                let mut process = shared.history.process();
                let w = UniqueWrite {
                    node,
                    writer: PROBE_WRITER,
                    seq,
                };
                write_unique(&client, w, &keys, clock, &shared, &mut process).await;
            }));
        }
    }

    /// Stops the writers (each finishes its current request), waits for the probes (they
    /// end with their own timeout) and returns everything recorded.
    pub async fn stop(mut self) -> WorkloadLog {
        self.shared.stop.store(true, Ordering::Relaxed);
        for h in std::mem::take(&mut self.writers) {
            if let Err(e) = h.await {
                tracing::warn!(error = %e, "a workload writer panicked");
            }
        }
        let probes: Vec<JoinHandle<()>> = std::mem::take(&mut *self.probes.lock().expect("lock"));
        for h in probes {
            let _ = h.await;
        }
        let mut attempts = std::mem::take(&mut *self.shared.attempts.lock().expect("lock"));
        attempts.sort_by_key(|a| a.end);
        let error_samples = std::mem::take(&mut *self.shared.samples.lock().expect("lock"));
        WorkloadLog {
            keys: self.keys.clone(),
            registers: self.registers,
            counter_start: self.counter_start,
            attempts,
            error_samples,
        }
    }
}

impl Drop for Workload {
    /// A workload dropped without [`Workload::stop`] (a scenario failed) still stops.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

/// The counter's first tag (the value it is created with).
const COUNTER_INIT: &str = "init";

struct WriterCtx {
    /// This writer's identity in the history (a new one after an `info` completion).
    process: Process,
    /// Tags this writer has written so far (makes its values unique).
    tags: u64,
    id: u16,
    nodes: WriterNodes,
    keys: Keyspace,
    cfg: WorkloadConfig,
    clock: Clock,
    shared: Arc<Shared>,
}

impl WriterCtx {
    async fn run(mut self) {
        let started = self.clock.now();
        let mut rng = XorShift::seeded(u64::from(self.id) + 1);
        let mut seq = 0u64;
        let mut avoid_until: Vec<Duration> = Vec::new();
        for op in 0..self.cfg.max_ops_per_writer {
            if self.shared.stop.load(Ordering::Relaxed)
                || self.clock.now().saturating_sub(started) >= self.cfg.max_duration
            {
                break;
            }
            let now = self.clock.now();
            let nodes: Vec<Option<NodeClient>> =
                self.nodes.read().expect("writer nodes lock").clone();
            avoid_until.resize(nodes.len(), Duration::ZERO);
            let present: Vec<usize> = (0..nodes.len()).filter(|i| nodes[*i].is_some()).collect();
            let usable: Vec<usize> = present
                .iter()
                .copied()
                .filter(|i| avoid_until[*i] <= now)
                .collect();
            let node = match (usable.is_empty(), present.is_empty()) {
                (false, _) => usable[rng.below(usable.len())],
                (true, false) => present[rng.below(present.len())],
                (true, true) => {
                    tokio::time::sleep(self.cfg.pace).await;
                    continue;
                }
            };
            let Some(client) = nodes[node].as_ref() else {
                continue;
            };
            let class = if self.cfg.counter_every > 0
                && op % self.cfg.counter_every == self.cfg.counter_every - 1
            {
                self.increment(client, node).await
            } else if self.cfg.registers > 0 && rng.below(2) == 0 {
                let register = rng.below(usize::from(self.cfg.registers)) as u16;
                let kind = rng.below(3);
                self.register_op(client, node, register, kind).await
            } else {
                seq += 1;
                let w = UniqueWrite {
                    node,
                    writer: self.id,
                    seq: seq - 1,
                };
                write_unique(
                    client,
                    w,
                    &self.keys,
                    self.clock,
                    &self.shared,
                    &mut self.process,
                )
                .await
            };
            if matches!(class, Some(ErrorClass::Unreachable | ErrorClass::Timeout)) {
                avoid_until[node] = self.clock.now() + self.cfg.avoid_failed_node;
            }
            // Pacing, not synchronisation: bounds the request rate.
            tokio::time::sleep(self.cfg.pace).await;
        }
    }

    /// One check-and-set increment attempt: read, then write with `cas`. Returns how the
    /// last request failed, if it did.
    async fn increment(&mut self, client: &NodeClient, node: usize) -> Option<ErrorClass> {
        let history = self.shared.history.clone();
        let start = self.clock.now();
        let pending = history.invoke(
            &self.process,
            Some(node),
            Func::Read,
            "counter",
            Value::None,
            start,
        );
        let read = client.kv_read(&self.keys.mount, &self.keys.counter()).await;
        let end = self.clock.now();
        let (base_version, value, tag) = match &read {
            Ok(Some(s)) => {
                let v = s.data.get("value").and_then(serde_json::Value::as_u64);
                let tag = s.data.get("tag").and_then(serde_json::Value::as_str);
                match (v, tag) {
                    (Some(v), Some(tag)) => {
                        let seen = Value::One(tag.to_owned());
                        history.complete(
                            &mut self.process,
                            pending,
                            EventType::Ok,
                            Some(seen),
                            end,
                        );
                        (s.metadata.version, v, tag.to_owned())
                    }
                    _ => {
                        tracing::warn!(node, "the counter holds no number or tag; skipping");
                        history.complete(&mut self.process, pending, EventType::Info, None, end);
                        return None;
                    }
                }
            }
            // The counter exists from the start: a node that answers "absent" serves a stale
            // read. The history records what it said; the checker judges it.
            Ok(None) => {
                history.complete(
                    &mut self.process,
                    pending,
                    EventType::Ok,
                    Some(Value::None),
                    end,
                );
                self.shared.record(
                    Attempt {
                        writer: self.id,
                        node,
                        start,
                        end,
                        op: Op::CounterRead,
                        outcome: Outcome::Error {
                            class: ErrorClass::Other(404),
                        },
                    },
                    None,
                );
                return Some(ErrorClass::Other(404));
            }
            Err(e) => {
                let class = ErrorClass::of(e);
                history.complete(&mut self.process, pending, completion_of(class), None, end);
                self.shared.record(
                    Attempt {
                        writer: self.id,
                        node,
                        start,
                        end,
                        op: Op::CounterRead,
                        outcome: Outcome::Error { class },
                    },
                    Some(e),
                );
                return Some(class);
            }
        };
        self.shared.record(
            Attempt {
                writer: self.id,
                node,
                start,
                end,
                op: Op::CounterRead,
                outcome: Outcome::Ack {
                    version: base_version,
                },
            },
            None,
        );
        self.tags += 1;
        let new_tag = format!("c{}-{}", self.id, self.tags);
        let start = self.clock.now();
        let pending = history.invoke(
            &self.process,
            Some(node),
            Func::Cas,
            "counter",
            Value::Cas {
                expected: Some(tag),
                new: new_tag.clone(),
            },
            start,
        );
        let written = client
            .kv_write(
                &self.keys.mount,
                &self.keys.counter(),
                &json!({ "value": value + 1, "tag": new_tag }),
                Some(base_version),
            )
            .await;
        let end = self.clock.now();
        let (outcome, err) = match &written {
            Ok(meta) => (
                Outcome::Ack {
                    version: meta.version,
                },
                None,
            ),
            Err(e) => (
                Outcome::Error {
                    class: ErrorClass::of(e),
                },
                Some(e),
            ),
        };
        let class = match outcome {
            Outcome::Error { class } => Some(class),
            Outcome::Ack { .. } => None,
        };
        let kind = class.map_or(EventType::Ok, completion_of);
        history.complete(&mut self.process, pending, kind, None, end);
        self.shared.record(
            Attempt {
                writer: self.id,
                node,
                start,
                end,
                op: Op::CounterWrite {
                    base_version,
                    value: value + 1,
                },
                outcome,
            },
            err,
        );
        class
    }

    /// One operation on shared register `register`: `kind` 0 writes a new tag, 1 reads,
    /// 2 reads then check-and-sets a new tag on the version read. Recorded in the history
    /// only. Returns how the last request failed, if it did.
    async fn register_op(
        &mut self,
        client: &NodeClient,
        node: usize,
        register: u16,
        kind: usize,
    ) -> Option<ErrorClass> {
        let key = self.keys.register(register);
        let name = format!("r{register}");
        if kind == 0 {
            self.tags += 1;
            let tag = format!("v{}-{}", self.id, self.tags);
            return self
                .register_write(client, node, &key, &name, tag, None)
                .await;
        }
        let history = self.shared.history.clone();
        let pending = history.invoke(
            &self.process,
            Some(node),
            Func::Read,
            &name,
            Value::None,
            self.clock.now(),
        );
        let read = client.kv_read(&self.keys.mount, &key).await;
        let end = self.clock.now();
        let (version, seen) = match read {
            Ok(Some(s)) => match s.data.get("v").and_then(serde_json::Value::as_str) {
                Some(v) => (s.metadata.version, Some(v.to_owned())),
                None => {
                    history.complete(&mut self.process, pending, EventType::Info, None, end);
                    return None;
                }
            },
            Ok(None) => (0, None),
            Err(e) => {
                let class = ErrorClass::of(&e);
                history.complete(&mut self.process, pending, completion_of(class), None, end);
                return Some(class);
            }
        };
        let value = seen.clone().map_or(Value::None, Value::One);
        history.complete(&mut self.process, pending, EventType::Ok, Some(value), end);
        if kind == 1 {
            return None;
        }
        self.tags += 1;
        let tag = format!("v{}-{}", self.id, self.tags);
        self.register_write(client, node, &key, &name, tag, Some((version, seen)))
            .await
    }

    /// Writes `tag` to a register; with `cas`, only over `(version, value)` as read
    /// (version 0: the key must be absent).
    async fn register_write(
        &mut self,
        client: &NodeClient,
        node: usize,
        key: &str,
        name: &str,
        tag: String,
        cas: Option<(u64, Option<String>)>,
    ) -> Option<ErrorClass> {
        let history = self.shared.history.clone();
        let (f, value, version) = match cas {
            None => (Func::Write, Value::One(tag.clone()), None),
            Some((version, expected)) => (
                Func::Cas,
                Value::Cas {
                    expected,
                    new: tag.clone(),
                },
                Some(version),
            ),
        };
        let pending = history.invoke(&self.process, Some(node), f, name, value, self.clock.now());
        let r = client
            .kv_write(&self.keys.mount, key, &json!({ "v": tag }), version)
            .await;
        let end = self.clock.now();
        let class = r.as_ref().err().map(ErrorClass::of);
        let kind = class.map_or(EventType::Ok, completion_of);
        history.complete(&mut self.process, pending, kind, None, end);
        class
    }
}

/// Which unique-key write: the node it goes to, the writer and its sequence number.
#[derive(Debug, Clone, Copy)]
struct UniqueWrite {
    node: usize,
    writer: u16,
    seq: u64,
}

async fn write_unique(
    client: &NodeClient,
    w: UniqueWrite,
    keys: &Keyspace,
    clock: Clock,
    shared: &Shared,
    process: &mut Process,
) -> Option<ErrorClass> {
    let key = keys.key(w.writer, w.seq);
    let name = keys.history_key(&key).to_owned();
    let start = clock.now();
    let pending = shared.history.invoke(
        process,
        Some(w.node),
        Func::Write,
        &name,
        Value::One(name.clone()),
        start,
    );
    let r = client
        .kv_write(&keys.mount, &key, &keys.value(w.writer, w.seq), None)
        .await;
    let end = clock.now();
    let (outcome, err) = match &r {
        Ok(meta) => (
            Outcome::Ack {
                version: meta.version,
            },
            None,
        ),
        Err(e) => (
            Outcome::Error {
                class: ErrorClass::of(e),
            },
            Some(e),
        ),
    };
    let class = match outcome {
        Outcome::Error { class } => Some(class),
        Outcome::Ack { .. } => None,
    };
    let kind = class.map_or(EventType::Ok, completion_of);
    shared.history.complete(process, pending, kind, None, end);
    shared.record(
        Attempt {
            writer: w.writer,
            node: w.node,
            start,
            end,
            op: Op::Write { seq: w.seq },
            outcome,
        },
        err,
    );
    class
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_per_writer_and_sequence() {
        let k = Keyspace::new("secret", "kill-active-1");
        assert_eq!(k.key(3, 17), "scenario/kill-active-1/w3-17");
        assert_eq!(k.key(PROBE_WRITER, 2), "scenario/kill-active-1/p-2");
        assert_eq!(k.counter(), "scenario/kill-active-1/counter");
        assert_eq!(k.value(3, 17)["seq"], 17);
    }
}
