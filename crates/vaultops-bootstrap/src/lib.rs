//! Cluster bootstrap that talks only to node URLs, through `vaultops-api`.
//!
//! This is the production code path: `vaultops init`/`unseal` and the testbed's `up` call the
//! same functions, so every testbed run exercises what operators run on rollout day.
//! [`bring_up`] is the one bring-up sequence (init → unseal → autopilot → join → voters) the
//! testbed, the test harness and the throwaway restore node share; [`prepare_unsealer`]
//! prepares a transit unsealer; [`plan_rekey`]…[`rekey_verify`] rotate the unseal shares and
//! [`rotate_encryption_key`] the barrier key; [`served_certificates`]/[`wait_served`] prove
//! which certificate each node serves; [`plan_member`]/[`change_member`] and
//! [`plan_autopilot_change`]/[`apply_autopilot`] change the raft peer set and autopilot
//! safely; [`apply_baseline`] applies the shipped example rollout through [`apply()`];
//! [`next_action`] and its siblings drive a rolling upgrade; [`next_seal_action`] and its
//! siblings drive a seal migration.
//!
//! Invariant: this crate never depends on the testbed runtime (Docker) or on the test
//! harness; it sees nodes only as HTTP endpoints.

mod apply;
mod baseline;
mod bringup;
mod check;
mod cluster;
mod error;
mod membership;
mod membership_run;
mod nodes;
mod raft;
mod rekey;
mod root;
mod seal_migration;
mod served;
mod status;
mod transit;
mod unseal;
mod upgrade;
mod wait;

pub use apply::{
    apply, read_current, revoke_root, verify, AppliedChange, ApplyError, ApplyReport, RevokedRoot,
};
pub use baseline::{
    app_role_spec, apply_baseline, apply_rollout, example_rollout, APP_POLICY, APP_ROLE,
    EXAMPLE_ROLLOUT, KV_MOUNT,
};
pub use bringup::{
    bring_up, BringUp, BringUpError, BringUpHooks, BringUpOptions, Milestone, NoHooks, SealMode,
};
pub use check::{
    grade_audit, grade_cert, grade_ha, grade_seal, grade_snapshot, run_checks, CheckItem,
    CheckOptions, CheckReport, Verdict, SAFETY_SNAPSHOT_MARKER,
};
pub use cluster::{
    init_cluster, init_cluster_reporting, unseal_cluster, unseal_when_joined, InitProgress,
};
pub use error::BootstrapError;
pub use membership::{
    diff_configs, parse_go_duration, peers, plan_autopilot, plan_member_change, quorum,
    safe_min_quorum, AutopilotChange, AutopilotPlan, MemberAction, MemberPlan, MembershipError,
    Peer, SettingDiff, MEMBERSHIP_POLICY,
};
pub use membership_run::{
    apply_autopilot, change_member, join_node, plan_autopilot_change, plan_join, plan_member,
    read_peers, JoinPlan,
};
pub use nodes::{NodeSet, NodeState};
pub use raft::{tune_autopilot, wait_voters};
pub use rekey::{
    healthy_active, plan_rekey, probe_shares, rekey_cancel, rekey_collect, rekey_persisted,
    rekey_verify, rotate_encryption_key, Collected, EncryptionKeyRotation, RekeyError, RekeyPlan,
    REKEY_POLICY, ROTATE_ENCRYPTION_KEY_POLICY,
};
pub use root::generate_root;
pub use seal_migration::{
    check_seal_migration, next_seal_action, observe_seal, plan_seal_migration, seal_migration_step,
    NodeSeal, SealAction, SealKind, SealMigrationError, SealNodeView, SealPlanStep, SealView,
    UnknownSeal, SEAL_MIGRATION_POLICY,
};
pub use served::{served_certificates, wait_served, ServedCertError};
pub use status::{cluster_status, judge, node_status, ClusterStatus, NodeStatus};
pub use transit::{
    prepare_unsealer, transit_policy, TRANSIT_KEY, TRANSIT_MOUNT, TRANSIT_TOKEN_PERIOD,
};
pub use unseal::{migrate_unseal_node, submit_shares, unseal_node, ShareProgress, UnsealOutcome};
pub use upgrade::{
    check_upgrade, downgrade_reasons, next_action, observe_upgrade, plan_steps, problems,
    step_down_for_upgrade, Action as UpgradeAction, AutopilotView, InvalidVersion, PlanStep,
    ServerVersion, UpgradeError, UpgradeOptions, UpgradeView, DEFAULT_MAX_LAG, UPGRADE_POLICY,
};
pub use wait::{until as wait_until, WaitTimeout};
