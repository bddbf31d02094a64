//! Importing a dotenv file into a KV v2 secret over the API: read the secret (version N),
//! merge ([`crate::merge`]), and write with check-and-set N, so the write happens only if
//! nobody wrote in between. No change means no write: a second run is a no-op.
//!
//! A dry run reads and plans only; its report names keys, never values. A refused
//! check-and-set is an error ([`MigrateError::Conflict`]) unless `force` is set, in which
//! case the newest version is read again and the file merged onto it (keys someone else
//! added in between are kept), up to [`FORCE_ATTEMPTS`] times.

use crate::dotenv::EnvEntry;
use crate::merge::{plan_merge, SecretMap};
use serde::Serialize;
use std::fmt;
use vaultops_api::{ApiError, NodeClient};

/// How many times `force` re-reads and retries after a refused check-and-set.
pub const FORCE_ATTEMPTS: u32 = 3;

/// How to migrate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrateOptions {
    /// Plan only: report what would change, write nothing.
    pub dry_run: bool,
    /// On a refused check-and-set, merge onto the newer version instead of stopping.
    pub force: bool,
}

/// A secret as read before merging.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentSecret {
    /// The KV v2 mount.
    pub mount: String,
    /// The key path under the mount.
    pub path: String,
    /// The version to write over (the check-and-set value): 0 when the key does not exist.
    pub version: u64,
    /// Its data (empty when it does not exist or its latest version is deleted).
    pub data: SecretMap,
    /// The key exists but its latest version is deleted or destroyed.
    pub latest_deleted: bool,
}

/// What a migration did (or, dry, would do). Names keys, never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrateReport {
    /// The node asked.
    pub node: String,
    /// The KV v2 mount.
    pub mount: String,
    /// The key path.
    pub path: String,
    /// The version the merge was based on (0: the key did not exist).
    pub read_version: u64,
    /// The version written, `None` when nothing was written.
    pub written_version: Option<u64>,
    /// Keys added.
    pub added: Vec<String>,
    /// Keys whose value changed.
    pub changed: Vec<String>,
    /// Keys already holding the file's value.
    pub unchanged: Vec<String>,
    /// Keys of the secret that are not in the file (kept).
    pub kept: Vec<String>,
    /// Keys whose value contains `${`: imported literally, where python-dotenv would
    /// have expanded it.
    pub literal_interpolation: Vec<String>,
    /// The latest version was deleted: the merge started from empty data.
    pub latest_was_deleted: bool,
    /// Refused check-and-sets overridden by `force`.
    pub conflicts_overridden: u32,
    /// Nothing was written because this was a dry run.
    pub dry_run: bool,
}

impl fmt::Display for MigrateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb =
            |done: &'static str, would: &'static str| if self.dry_run { would } else { done };
        let list = |k: &[String]| {
            if k.is_empty() {
                "-".to_owned()
            } else {
                k.join(", ")
            }
        };
        writeln!(
            f,
            "{}/{} (version {} read)",
            self.mount, self.path, self.read_version
        )?;
        writeln!(f, "  {}: {}", verb("added", "would add"), list(&self.added))?;
        writeln!(
            f,
            "  {}: {}",
            verb("changed", "would change"),
            list(&self.changed)
        )?;
        writeln!(f, "  unchanged: {}", list(&self.unchanged))?;
        writeln!(f, "  kept (not in the file): {}", list(&self.kept))?;
        if !self.literal_interpolation.is_empty() {
            writeln!(
                f,
                "  note: imported literally, not expanded: {}",
                self.literal_interpolation.join(", ")
            )?;
        }
        if self.latest_was_deleted {
            writeln!(
                f,
                "  note: the latest version was deleted; merged onto empty data"
            )?;
        }
        match (self.written_version, self.dry_run) {
            (_, true) => writeln!(f, "  dry run: nothing written"),
            (Some(v), _) => writeln!(f, "  written as version {v}"),
            (None, _) => writeln!(f, "  no changes: nothing written"),
        }
    }
}

/// Why a migration failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// Reading the secret failed.
    #[error("reading {mount}/{path} (KV v2)")]
    Read {
        /// The mount.
        mount: String,
        /// The key path.
        path: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
    /// Someone wrote between our read and our write.
    #[error("{mount}/{path} was written by someone else after version {read_version} was read (check-and-set refused); nothing was written. Run again to see the new differences (--dry-run), or pass --force to merge the file onto the newest version")]
    Conflict {
        /// The mount.
        mount: String,
        /// The key path.
        path: String,
        /// The version read.
        read_version: u64,
        /// The server's refusal.
        #[source]
        source: ApiError,
    },
    /// `force` kept losing the race.
    #[error("{mount}/{path} kept changing: check-and-set was refused {attempts} times even with --force; find the concurrent writer")]
    KeepsChanging {
        /// The mount.
        mount: String,
        /// The key path.
        path: String,
        /// Attempts made.
        attempts: u32,
    },
    /// Writing failed for another reason.
    #[error("writing {mount}/{path} (KV v2)")]
    Write {
        /// The mount.
        mount: String,
        /// The key path.
        path: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
}

/// Reads the secret at `mount`/`path` and the version to write over.
pub async fn read_current(
    client: &NodeClient,
    mount: &str,
    path: &str,
) -> Result<CurrentSecret, MigrateError> {
    let fail = |source| MigrateError::Read {
        mount: mount.to_owned(),
        path: path.to_owned(),
        source,
    };
    let (version, data, latest_deleted) = match client.kv_read(mount, path).await.map_err(fail)? {
        Some(mut s) => (
            s.metadata.version,
            SecretMap(std::mem::take(&mut s.data)),
            false,
        ),
        None => match client.kv_metadata(mount, path).await.map_err(fail)? {
            // The key exists but its latest version is deleted: write over that version.
            Some(m) => (m.current_version, SecretMap::default(), true),
            None => (0, SecretMap::default(), false),
        },
    };
    Ok(CurrentSecret {
        mount: mount.to_owned(),
        path: path.to_owned(),
        version,
        data,
        latest_deleted,
    })
}

/// Merges `entries` into `current` and writes the result with check-and-set
/// `current.version` (see the module docs for `force`).
pub async fn apply_migration(
    client: &NodeClient,
    current: CurrentSecret,
    entries: &[EnvEntry],
    opts: &MigrateOptions,
) -> Result<MigrateReport, MigrateError> {
    let mut current = current;
    let mut conflicts = 0;
    loop {
        let plan = plan_merge(&current.data, entries);
        let mut report = MigrateReport {
            node: client.addr().to_owned(),
            mount: current.mount.clone(),
            path: current.path.clone(),
            read_version: current.version,
            written_version: None,
            added: plan.added.clone(),
            changed: plan.changed.clone(),
            unchanged: plan.unchanged.clone(),
            kept: plan.kept.clone(),
            literal_interpolation: entries
                .iter()
                .filter(|e| e.may_interpolate())
                .map(|e| e.key.clone())
                .collect(),
            latest_was_deleted: current.latest_deleted,
            conflicts_overridden: conflicts,
            dry_run: opts.dry_run,
        };
        if opts.dry_run || !plan.has_changes() {
            return Ok(report);
        }
        match client
            .kv_write(
                &current.mount,
                &current.path,
                &plan.merged.0,
                Some(current.version),
            )
            .await
        {
            Ok(meta) => {
                report.written_version = Some(meta.version);
                return Ok(report);
            }
            Err(source) if source.is_cas_mismatch() && !opts.force => {
                return Err(MigrateError::Conflict {
                    mount: current.mount.clone(),
                    path: current.path.clone(),
                    read_version: current.version,
                    source,
                })
            }
            Err(source) if source.is_cas_mismatch() => {
                conflicts += 1;
                if conflicts >= FORCE_ATTEMPTS {
                    return Err(MigrateError::KeepsChanging {
                        mount: current.mount.clone(),
                        path: current.path.clone(),
                        attempts: conflicts,
                    });
                }
                tracing::warn!(
                    mount = %current.mount,
                    path = %current.path,
                    "check-and-set refused; --force: merging onto the newest version"
                );
                current = read_current(client, &current.mount, &current.path).await?;
            }
            Err(source) => {
                return Err(MigrateError::Write {
                    mount: current.mount.clone(),
                    path: current.path.clone(),
                    source,
                })
            }
        }
    }
}

/// Reads, merges and writes: [`read_current`] then [`apply_migration`].
pub async fn migrate(
    client: &NodeClient,
    mount: &str,
    path: &str,
    entries: &[EnvEntry],
    opts: &MigrateOptions,
) -> Result<MigrateReport, MigrateError> {
    let current = read_current(client, mount, path).await?;
    apply_migration(client, current, entries, opts).await
}
