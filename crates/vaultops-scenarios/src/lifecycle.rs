//! Testbed lifecycle for the suite: names, creating a testbed (fresh, free ports, the
//! variant a scenario needs), making sure a testbed is healthy before a scenario (repairing it
//! through `Testbed::up`), removing it, node ids and the nodes' last log lines for an error.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use vaultops_testbed::{NodeId, PortPlan, Progress, Testbed, TestbedName, UpOptions};

use crate::catalogue::TestbedVariant;
use crate::error::{api, boot, testbed, ScenarioError};
use crate::model::node_name;
use crate::options::SuiteOptions;

/// The node id of index `i` (indices come from the testbed's own node list).
pub(crate) fn id(i: usize) -> NodeId {
    NodeId::from_index(i).expect("node index within the testbed")
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A number unique within this process (testbed names, run ids).
pub(crate) fn next_serial() -> u32 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

pub(crate) fn testbed_name(opts: &SuiteOptions, tag: &str) -> Result<TestbedName, ScenarioError> {
    let n = next_serial();
    let mut s = format!("{}-{tag}-{}-{n}", opts.name_prefix, std::process::id());
    s.truncate(vaultops_testbed::MAX_NAME_LEN);
    let name = s.trim_end_matches('-');
    TestbedName::new(name).map_err(|source| ScenarioError::TestbedName {
        name: name.to_owned(),
        source,
    })
}

struct Say {
    verbose: bool,
    name: String,
}

impl Progress for Say {
    fn end(&mut self, step: &str, elapsed: Duration, outcome: &str) {
        if self.verbose {
            eprintln!(
                "  [testbed {}] {step:<11} {:>5.1}s  {outcome}",
                self.name,
                elapsed.as_secs_f64()
            );
        }
    }
}

/// Creates a fresh testbed with free ports (Shamir seal).
pub(crate) async fn up(opts: &SuiteOptions, name: &TestbedName) -> Result<Testbed, ScenarioError> {
    up_variant(opts, name, TestbedVariant::default()).await
}

/// Creates a fresh testbed with free ports, seal and configs as `variant` says.
pub(crate) async fn up_variant(
    opts: &SuiteOptions,
    name: &TestbedName,
    variant: TestbedVariant,
) -> Result<Testbed, ScenarioError> {
    let mut o = UpOptions::new(name.clone(), opts.state_root.clone());
    o.ports = PortPlan::Free;
    o.seal = variant.seal;
    o.disable_standby_reads = variant.disable_standby_reads;
    o.openbao_version = variant.openbao_version.map(str::to_owned);
    o.keep_on_failure = opts.keep;
    o.deadline = opts.testbed_deadline;
    let mut say = Say {
        verbose: opts.verbose,
        name: name.to_string(),
    };
    let started = Instant::now();
    let (tb, _) = Testbed::up(&o, &mut say)
        .await
        .map_err(testbed("creating a testbed"))?;
    if opts.verbose {
        eprintln!(
            "testbed {name} up in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(tb)
}

/// Removes testbed `name` unless asked to keep it; failures are logged, not returned (this
/// runs on the way out of a failure already being reported).
pub(crate) async fn teardown(opts: &SuiteOptions, name: &TestbedName) {
    if opts.keep {
        eprintln!("keeping testbed {name} (TESTBED_KEEP=1); remove it with `cargo xtask testbed down --name {name}`");
        return;
    }
    if let Err(e) = vaultops_testbed::down(name, &opts.state_root).await {
        eprintln!("warning: removing testbed {name} failed: {e}; run `cargo xtask testbed down --name {name}`");
    }
}

/// Makes sure `tb` is healthy: repaired through `Testbed::up` if needed, then every node a
/// voter and autopilot healthy.
pub(crate) async fn ensure_healthy(tb: &Testbed, opts: &SuiteOptions) -> Result<(), ScenarioError> {
    let st = tb
        .status()
        .await
        .map_err(testbed("reading the testbed's status"))?;
    if !st.healthy() {
        if opts.verbose {
            eprintln!(
                "testbed {} not healthy ({}); repairing",
                tb.name(),
                st.problems.join("; ")
            );
        }
        let mut o = UpOptions::new(tb.name().clone(), opts.state_root.clone());
        o.deadline = opts.testbed_deadline;
        let mut say = Say {
            verbose: opts.verbose,
            name: tb.name().to_string(),
        };
        Testbed::up(&o, &mut say)
            .await
            .map_err(testbed("repairing the testbed"))?;
    }
    let set = tb.node_set();
    let active = set
        .wait_active(opts.testbed_deadline)
        .await
        .map_err(boot("waiting for an active node"))?;
    vaultops_bootstrap::wait_voters(
        &tb.root_client(id(active)),
        tb.nodes().len(),
        opts.testbed_deadline,
    )
    .await
    .map_err(boot("waiting for every node to be a healthy voter"))?;
    kv_ready_everywhere(tb, active, &opts.workload.mount, opts.testbed_deadline).await
}

/// Writes a marker through the active node and waits until every node serves it. Right after
/// a testbed comes up, a standby's KV v2 mount answers HTTP 400 "Waiting for the primary to
/// upgrade from non-versioned to versioned data" for ~5 s (measured); a scenario started then
/// would count those as its own errors.
async fn kv_ready_everywhere(
    tb: &Testbed,
    active: usize,
    mount: &str,
    deadline: Duration,
) -> Result<(), ScenarioError> {
    const KEY: &str = "vaultops-suite/kv-ready";
    tb.root_client(id(active))
        .kv_write(mount, KEY, &serde_json::json!({ "ready": true }), None)
        .await
        .map_err(api("writing the KV readiness marker"))?;
    for i in 0..tb.nodes().len() {
        let c = tb.root_client(id(i));
        vaultops_bootstrap::wait_until(
            "every node to serve KV reads",
            deadline,
            Duration::from_millis(100),
            || async {
                match c.kv_read(mount, KEY).await {
                    Ok(Some(_)) => Ok(Some(())),
                    Ok(None) => Err("marker not visible yet".to_owned()),
                    Err(e) => Err(e.to_string()),
                }
            },
        )
        .await
        .map_err(|source| ScenarioError::KvReady {
            node: node_name(i),
            source,
        })?;
    }
    Ok(())
}

/// Node logs (last lines of each) for an error report.
pub(crate) async fn node_logs(tb: &Testbed, lines: usize) -> String {
    let mut out = String::new();
    for n in tb.nodes() {
        let text = tb.logs(n.id, lines).await.unwrap_or_else(|e| e.to_string());
        out.push_str(&format!(
            "--- {} last {lines} lines ---\n{}\n",
            n.id,
            text.trim_end()
        ));
    }
    out
}
