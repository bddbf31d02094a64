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

mod model;
mod parse;
mod plan;
mod state;
mod validate;
mod verify;

pub use model::{
    AllowPrune, AppRole, AuditDeviceSpec, AuditType, AuthMethod, AuthType, Capability, Cidr,
    Expectation, Expected, MountPath, Name, PolicySpec, RoleTokenType, Rollout, SecretsEngine,
    SecretsEngineType, TtlSecs,
};
pub use parse::{Problem, RolloutError};
pub use plan::SYSTEM_SECRETS_ENGINES;
pub use plan::{
    normalize_hcl, plan, Blocker, Change, ChangeKind, Check, CheckStatus, EngineSource, FieldDiff,
    ObjectKind, ObjectRef, Op, Plan, PlanOptions, Tune,
};
pub use state::{AuditState, CurrentState, MountState, RoleSettings};
pub use validate::{BUILTIN_POLICIES, RESERVED_AUTH_PATHS, RESERVED_SECRETS_PATHS};
pub use verify::{evaluate, token_groups, ExpectationResult, VerifyReport};
