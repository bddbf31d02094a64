//! `rollback-control`: a positive control. Under load, a raft snapshot is saved, writes go
//! on, then the snapshot is restored with force onto the same cluster: every write
//! acknowledged after the snapshot is rolled back. The run passes only when the verifier
//! reports those writes lost (see `control`) and the checker finds the history not
//! linearizable (`Run::finish`).

use crate::details::RollbackRecord;
use crate::error::{api, ScenarioError};
use crate::model::node_name;
use crate::run::Run;

use super::wait_all_unsealed;

/// Writes acknowledged between the snapshot and the restore: the loss to detect.
const WRITES_TO_ROLL_BACK: u64 = 150;

pub(super) async fn rollback(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let active = run.begin().await?;
    let root = run.root(active);
    let file = run
        .opts
        .state_root
        .join(format!("{}.rollback.snap", run.run_id));
    run.fault(format!("snapshot of {} under load", node_name(active)));
    let snapshot_started = run.clock.now();
    let saved = root
        .snapshot_save(&file)
        .await
        .map_err(api("saving the snapshot to roll back to"));
    let snapshot_done = run.clock.now();
    if let Err(e) = saved {
        let _ = std::fs::remove_file(&file);
        return Err(e);
    }
    run.wait_acks(WRITES_TO_ROLL_BACK, "after the snapshot")
        .await?;
    run.fault("forced restore of the snapshot (rolls back every later write)");
    let restore_started = run.clock.now();
    let restored = root
        .snapshot_restore(&file, true)
        .await
        .map_err(api("restoring the snapshot"));
    let restore_done = run.clock.now();
    let _ = std::fs::remove_file(&file);
    restored?;
    run.details.rollback = Some(RollbackRecord {
        snapshot_started,
        snapshot_done,
        restore_started,
        restore_done,
    });
    wait_all_unsealed(run, "every node unsealed after the restore").await?;
    run.settle().await
}
