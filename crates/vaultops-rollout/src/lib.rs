//! The declarative rollout: a YAML file stating what a Vault / OpenBao cluster must have
//! (secrets engines, ACL policies, auth methods, AppRole roles, audit devices) and what its
//! policies must allow (a test matrix), read and checked ([`Rollout::from_yaml`]), and
//! compared with a server's state into a [`Plan`] of creates, updates and deletes.
//!
//! Pure: no network, no files. The executor (`vaultops_bootstrap::apply`) reads the
//! server into a [`CurrentState`], applies a [`Plan`]'s [`Op`]s through the API client and
//! runs the test matrix; loading `file:` policies goes through a reader the caller passes
//! to [`Rollout::resolve_policy_files`]. The file format is documented in
//! `docs/rollout.md`.

pub mod model;
pub mod parse;
pub mod plan;
pub mod state;
pub mod validate;
pub mod verify;

pub use model::{
    AllowPrune, AppRole, AuditDeviceSpec, AuditType, AuthMethod, AuthType, Capability, Cidr,
    Expectation, Expected, MountPath, Name, PolicySpec, RoleTokenType, Rollout, SecretsEngine,
    SecretsEngineType, TtlSecs,
};
pub use parse::{Problem, RolloutError};
pub use plan::{
    normalize_hcl, plan, Blocker, Change, ChangeKind, Check, CheckStatus, EngineSource, FieldDiff,
    ObjectKind, ObjectRef, Op, Plan, PlanOptions, Tune,
};
pub use state::{AuditState, CurrentState, MountState, RoleSettings};
/// The server product a rollout is for: the one domain type of `vaultops-types`, named here
/// because [`Rollout::engine`] and [`Plan`] carry it.
pub use vaultops_types::Engine;
pub use verify::{evaluate, token_groups, ExpectationResult, VerifyReport};
