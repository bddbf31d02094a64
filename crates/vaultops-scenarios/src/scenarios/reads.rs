//! `stale-reads-control` and `stale-reads-forwarded`: read-after-write of one key through
//! every node. Each write and each read is recorded in the run's history (key
//! `read-after-write`, values `n<i>`), so the linearizability checker judges the reads too:
//! with standby reads served locally (the control) a stale read makes the history not
//! linearizable; with `disable_standby_reads = true` it must be linearizable.

use std::time::Duration;

use serde_json::json;
use vaultops_api::NodeClient;

use crate::analysis;
use crate::details::{NodeReads, ReadAfterWrite};
use crate::error::{api, ScenarioError};
use crate::history::completion_of;
use crate::model::{node_name, ErrorClass};
use crate::run::Run;
use vaultops_history::{EventType, Func, Value};

/// The read-after-write key's name in the history.
const HISTORY_KEY: &str = "read-after-write";

/// Reads of a just-written key through every node, `iterations` times. `forwarded`: the
/// testbed renders `disable_standby_reads = true`, so no read may be stale.
pub(super) async fn stale_reads(run: &mut Run<'_>, forwarded: bool) -> Result<(), ScenarioError> {
    let active = run.start_monitor().await?;
    let iterations = run.opts.stale_read_iterations;
    let mount = run.keys.mount.clone();
    let key = format!("{}/read-after-write", run.keys.prefix);
    let writer = run.root(active);
    let readers: Vec<(usize, NodeClient)> = (0..run.nodes()).map(|i| (i, run.root(i))).collect();
    let mut stale = vec![0u64; run.nodes()];
    let mut lag_ms: Vec<Vec<f64>> = vec![Vec::new(); run.nodes()];
    let mut never = vec![0u64; run.nodes()];
    run.observed(format!(
        "{iterations} writes via {}, each read at once through every node",
        node_name(active)
    ));
    let history = run.history.clone();
    let clock = run.clock;
    let mut write_process = history.process();
    for n in 0..iterations {
        let op = history.invoke(
            &write_process,
            Some(active),
            Func::Write,
            HISTORY_KEY,
            Value::One(format!("n{n}")),
            clock.now(),
        );
        let written = writer
            .kv_write(&mount, &key, &json!({ "n": n }), None)
            .await;
        let kind = match &written {
            Ok(_) => EventType::Ok,
            Err(e) => completion_of(ErrorClass::of(e)),
        };
        history.complete(&mut write_process, op, kind, None, clock.now());
        let meta = written.map_err(api("writing the read-after-write key"))?;
        let written = std::time::Instant::now();
        let reads = readers.iter().map(|(i, c)| {
            let (mount, key, history) = (&mount, &key, &history);
            async move {
                let mut p = history.process();
                let op = history.invoke(
                    &p,
                    Some(*i),
                    Func::Read,
                    HISTORY_KEY,
                    Value::None,
                    clock.now(),
                );
                let r = c.kv_read(mount, key).await;
                let (kind, seen) = match &r {
                    Ok(s) => (
                        EventType::Ok,
                        Some(
                            s.as_ref()
                                .and_then(|s| s.data.get("n"))
                                .and_then(serde_json::Value::as_u64)
                                .map_or(Value::None, |n| Value::One(format!("n{n}"))),
                        ),
                    ),
                    Err(e) => (completion_of(ErrorClass::of(e)), None),
                };
                history.complete(&mut p, op, kind, seen, clock.now());
                (*i, r)
            }
        });
        for (i, r) in futures_util::future::join_all(reads).await {
            let seen = r
                .map_err(api("reading the read-after-write key"))?
                .map_or(0, |s| s.metadata.version);
            if seen < meta.version {
                stale[i] += 1;
                // How long until this node shows the write (polled every 5 ms).
                let c = &readers[i].1;
                let got = vaultops_bootstrap::wait_until(
                    "the write to become visible",
                    Duration::from_secs(5),
                    Duration::from_millis(5),
                    || async {
                        match c.kv_read(&mount, &key).await {
                            Ok(Some(s)) if s.metadata.version >= meta.version => Ok(Some(())),
                            Ok(_) => Ok(None),
                            Err(e) => Err(e.to_string()),
                        }
                    },
                )
                .await;
                match got {
                    Ok(()) => lag_ms[i].push(written.elapsed().as_secs_f64() * 1e3),
                    Err(_) => never[i] += 1,
                }
            }
        }
    }
    let per_node: Vec<NodeReads> = (0..run.nodes())
        .map(|i| NodeReads {
            node: i,
            role: if i == active { "active" } else { "standby" }.to_owned(),
            stale: stale[i],
            reads: iterations,
            stale_rate: stale[i] as f64 / iterations.max(1) as f64,
            visible_after_ms_median: analysis::median(&lag_ms[i]),
            visible_after_ms_max: lag_ms[i]
                .iter()
                .copied()
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x)))),
            not_visible_within_5s: never[i],
        })
        .collect();
    let standby_stale: u64 = (0..run.nodes())
        .filter(|i| *i != active)
        .map(|i| stale[i])
        .sum();
    let standby_reads = (run.nodes() as u64 - 1) * iterations as u64;
    run.say(&format!(
        "stale reads: active {}/{iterations}, standbys {standby_stale}/{standby_reads}",
        stale[active]
    ));
    run.details.read_after_write = Some(ReadAfterWrite {
        config: if forwarded {
            "disable_standby_reads = true (standbys forward reads to the active node)"
        } else {
            "default (standby reads served locally; disable_standby_reads not set)"
        }
        .to_owned(),
        standby_stale_rate: standby_stale as f64 / standby_reads.max(1) as f64,
        nodes: per_node,
    });
    run.check(
        "reads on the active node are never stale",
        stale[active] == 0,
        format!("{} of {iterations} stale", stale[active]),
    );
    if forwarded {
        run.check(
            "with disable_standby_reads, no read through a standby is stale",
            standby_stale == 0,
            format!("{standby_stale} of {standby_reads} standby reads stale"),
        );
    }
    run.check(
        "standbys converge",
        never.iter().all(|n| *n == 0),
        format!("{} reads still stale after 5 s", never.iter().sum::<u64>()),
    );
    Ok(())
}
