//! AppRole credentials for the application (the atmr-api Flask API and Celery workers),
//! and the import of its old `.env` secrets into KV v2.
//!
//! Layered like the rest of the workspace:
//!
//! - pure, no I/O: [`dotenv`] (parse and edit dotenv text, with line numbers),
//!   [`manifest`] (the Kubernetes Secret manifest), [`merge`] (dotenv entries into KV
//!   data), [`pair`] (the credential types), [`rotator_policy_hcl`];
//! - files: [`sink`] (env file and Secret manifest sinks: preflight, atomic writes that
//!   keep the file's owner, group and mode, read-back), [`lock`] (one writer per sink at a
//!   time), [`publish`] (the rotation's publish command);
//! - node URLs through `vaultops-api` only: [`credentials`] (issue, deliver to sinks, unwrap), [`login`]
//!   (login as the app, login check), [`rotate`] (rotation without downtime, and the
//!   replacement of a sink's credentials that retires the pair it held), [`migrate`]
//!   (dotenv into KV v2 with check-and-set).
//!
//! Invariant: secret-ids, tokens and secret values stay in redacting types
//! (`SecretId`, `SecretString`, `Zeroizing`) and never appear in a report, an error or a
//! log line; the reports ([`rotate::RotateReport`], [`login::LoginCheckReport`],
//! [`migrate::MigrateReport`]) serialize to JSON without them.
//!
//! Measured trap (OpenBao 2.7.2): concurrent logins sharing ONE secret-id whose role has
//! `secret_id_num_uses > 0` fail with HTTP 500 `transaction commit failed` (173 of 200).
//! Give each instance its own secret-id, or keep unlimited uses; [`credentials::issue`]
//! warns when the role sets a limit.

mod credentials;
mod dotenv;
mod lock;
mod login;
mod manifest;
mod merge;
mod migrate;
mod pair;
mod publish;
mod rotate;
mod sink;

pub use credentials::{
    deliver, issue, unwrap_secret_id, write_verified, Credentials, DeliverError, IssueError,
    IssueOptions, IssuedSecret, UnwrapError,
};
pub use dotenv::{parse as parse_dotenv, DotenvError, EnvEntry};
pub use lock::LockError;
pub use login::{
    login, login_check, CheckKind, CheckLine, Expectations, LoginCheckError, LoginCheckReport,
    LoginError, LoginFailure,
};
pub use manifest::{ManifestError, SecretTarget};
pub use migrate::{
    apply_migration, migrate, read_current as read_current_secret, CurrentSecret, MigrateError,
    MigrateOptions, MigrateReport,
};
pub use pair::{CredentialPair, StoredCredentials};
pub use publish::PublishCommand;
pub use rotate::{
    default_grace, replace_credentials, rotate, DestroyScope, PreviousOutcome, PreviousSecretId,
    RotateError, RotateOptions, RotateReport, RotateStep, ENV_FILE_GRACE, KUBERNETES_GRACE,
};
pub use sink::{EnvFileSink, EnvValue, K8sSecretSink, Sink, SinkError};

/// The least-privilege policy for whoever runs `vaultops approle rotate` for `role` (a
/// cron job, a Kubernetes CronJob, a Celery beat task): read the role and its role-id,
/// issue secret-ids, look them up, and destroy them by accessor. Listing the role's
/// accessors is included for `--destroy-all-others`. It grants nothing on secrets.
pub fn rotator_policy_hcl(mount: &str, role: &str) -> String {
    let base = format!("auth/{}/role/{role}", mount.trim_matches('/'));
    format!(
        r#"# Rotates the secret-ids of AppRole role {role:?} (vaultops approle rotate).
path "{base}" {{
  capabilities = ["read"]
}}
path "{base}/role-id" {{
  capabilities = ["read"]
}}
# Issue (update) and list (--destroy-all-others) secret-ids.
path "{base}/secret-id" {{
  capabilities = ["update", "list"]
}}
path "{base}/secret-id/lookup" {{
  capabilities = ["update"]
}}
path "{base}/secret-id-accessor/lookup" {{
  capabilities = ["update"]
}}
path "{base}/secret-id-accessor/destroy" {{
  capabilities = ["update"]
}}
"#
    )
}
