//! Faults that isolate the active node without stopping it: pause (SIGSTOP via the freezer)
//! with probe writes queued at it, a network partition, and the active node cut off from its
//! peers while clients still reach it.

use crate::checks::PAUSE_PROBES;
use crate::details::PauseRecord;
use crate::error::{testbed, ScenarioError};
use crate::lifecycle::id;
use crate::model::{node_name, Observed};
use crate::run::Run;

use super::{HOLD_FAULT, PROBE_TIMEOUT};

pub(super) async fn pause_active(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let old = run.begin().await?;
    run.fault(format!(
        "pause {} (active, SIGSTOP via the freezer)",
        node_name(old)
    ));
    let t_pause = run.clock.now();
    run.tb
        .pause(id(old))
        .await
        .map_err(testbed("pausing the active node"))?;
    let mut record = PauseRecord {
        paused_node: old,
        held: None,
        new_active_seen_at: None,
        resumed_at: None,
    };
    // Writes queued at the frozen leader: answered only after it resumes, by which time
    // another node leads. They must fail, or be forwarded and committed by the new leader;
    // an acknowledgement of a write that is then missing would be the old leader acting
    // on a term it no longer has.
    let probe = run.root_with_timeout(old, PROBE_TIMEOUT)?;
    run.workload().probe_writes(old, probe, PAUSE_PROBES);
    run.observed(format!(
        "{PAUSE_PROBES} writes queued at paused {}",
        node_name(old)
    ));
    run.wait_new_active().await?;
    record.new_active_seen_at = Some(run.clock.now());
    // Hold the pause beyond the election timeout: the fault's definition, not a wait for a
    // condition.
    let held = run.clock.now().saturating_sub(t_pause);
    if held < HOLD_FAULT {
        tokio::time::sleep(HOLD_FAULT - held).await;
    }
    run.recovery(format!("unpause {}", node_name(old)));
    let t_resume = run.clock.now();
    record.resumed_at = Some(t_resume);
    record.held = Some(t_resume.saturating_sub(t_pause));
    run.tb
        .unpause(id(old))
        .await
        .map_err(testbed("resuming the paused node"))?;
    run.wait_role(old, Observed::Standby).await?;
    run.settle().await?;
    run.details.pause = Some(record);
    Ok(())
}

pub(super) async fn partition_active(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let old = run.begin().await?;
    run.fault(format!(
        "disconnect {} (active) from the cluster network",
        node_name(old)
    ));
    let t = run.clock.now();
    run.tb
        .disconnect(id(old))
        .await
        .map_err(testbed("disconnecting the active node"))?;
    run.wait_new_active().await?;
    let held = run.clock.now().saturating_sub(t);
    if held < HOLD_FAULT {
        tokio::time::sleep(HOLD_FAULT - held).await;
    }
    run.recovery(format!("reconnect {}", node_name(old)));
    run.tb
        .reconnect(id(old))
        .await
        .map_err(testbed("reconnecting the partitioned node"))?;
    run.wait_role(old, Observed::Standby).await?;
    run.settle().await
}

/// Acknowledged writes to wait for while the old leader is cut off from its peers (clients
/// keep sending it requests meanwhile).
const ACKS_WHILE_ISOLATED: u64 = 100;

/// The fault the Consul analysis found: the active node is cut off from its peers while the
/// clients still reach it. Once a new leader exists, the old one must not acknowledge a write
/// or serve a stale read: the history check judges every answer it gave.
pub(super) async fn isolate_active(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let old = run.begin().await?;
    run.fault(format!(
        "cut {} (active) off from its peers; clients still reach it",
        node_name(old)
    ));
    run.tb
        .isolate_from_peers(id(old))
        .await
        .map_err(testbed("cutting the active node off from its peers"))?;
    let held = async {
        run.wait_new_active().await?;
        run.wait_acks(ACKS_WHILE_ISOLATED, "while the old leader is cut off")
            .await
    }
    .await;
    run.recovery(format!("heal {}'s links to its peers", node_name(old)));
    let healed = run
        .tb
        .heal_peers(id(old))
        .await
        .map_err(testbed("healing the isolated node"));
    held?;
    healed?;
    run.wait_role(old, Observed::Standby).await?;
    run.settle().await
}
