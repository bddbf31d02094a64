//! `vaultops check`: grades a live cluster against the rollout guide's production checklist.
//!
//! Each item is Pass, Warn or Fail with a sentence saying what was seen and what to do.
//! The grading is pure ([`grade_*`] functions over observations) so that thresholds are
//! unit-tested; [`run_checks`] gathers the observations over node URLs.

use crate::nodes::NodeSet;
use crate::status::cluster_status;
use serde::Serialize;
use std::time::{Duration, SystemTime};
use vaultops_api::NodeClient;
use vaultops_api::DEFAULT_APPROLE_MOUNT;

/// A checklist item's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckItem {
    /// Stable id (`ha`, `tls`, `seal`, …).
    pub id: &'static str,
    pub verdict: Verdict,
    pub detail: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub items: Vec<CheckItem>,
}

impl CheckReport {
    /// Fails when any item fails (warnings do not).
    pub fn passed(&self) -> bool {
        self.items.iter().all(|i| i.verdict != Verdict::Fail)
    }
}

/// What to check besides the cluster itself.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Directory where the backup job writes snapshots; the newest file's age is graded.
    pub snapshot_dir: Option<std::path::PathBuf>,
    /// Maximum age of the newest snapshot (default 26 h: daily, with slack).
    pub snapshot_max_age: Option<Duration>,
    /// Certificates expiring within this many days are a warning (default 30).
    pub cert_warn_days: Option<i64>,
}

fn item(id: &'static str, verdict: Verdict, detail: impl Into<String>) -> CheckItem {
    CheckItem {
        id,
        verdict,
        detail: detail.into(),
    }
}

/// Grades the voter count and autopilot health.
pub fn grade_ha(voters: usize, healthy: bool) -> CheckItem {
    match (voters, healthy) {
        (v, true) if v >= 3 => item(
            "ha",
            Verdict::Pass,
            format!("{v} raft voters, autopilot healthy"),
        ),
        (v, false) if v >= 3 => item(
            "ha",
            Verdict::Fail,
            format!("{v} raft voters but autopilot reports the cluster unhealthy"),
        ),
        (v, _) => item(
            "ha",
            Verdict::Fail,
            format!("{v} raft voter(s): HA needs at least 3 (one may fail)"),
        ),
    }
}

/// Grades certificate days left.
pub fn grade_cert(node: &str, days_left: i64, warn_days: i64) -> CheckItem {
    if days_left < 0 {
        item(
            "tls",
            Verdict::Fail,
            format!(
                "{node}: certificate expired {} day(s) ago; renew it (vaultops tls renew)",
                -days_left
            ),
        )
    } else if days_left <= warn_days {
        item(
            "tls",
            Verdict::Warn,
            format!(
                "{node}: certificate expires in {days_left} day(s); renew it (vaultops tls renew)"
            ),
        )
    } else {
        item(
            "tls",
            Verdict::Pass,
            format!("{node}: TLS, certificate valid for {days_left} more days"),
        )
    }
}

/// Grades the seal type.
pub fn grade_seal(seal_type: &str) -> CheckItem {
    if seal_type == "shamir" {
        item("seal", Verdict::Warn, "Shamir seal: every restart needs key holders; the guide recommends auto-unseal (transit, static or a cloud KMS)")
    } else {
        item("seal", Verdict::Pass, format!("auto-unseal ({seal_type})"))
    }
}

/// Grades the number of audit devices.
pub fn grade_audit(devices: &[String]) -> CheckItem {
    match devices.len() {
        0 => item("audit", Verdict::Fail, "no audit device: requests are not audited"),
        1 => item("audit", Verdict::Warn, format!("one audit device ({}): if it cannot write, EVERY request fails with 500 (measured); declare a second one", devices[0])),
        n => item("audit", Verdict::Pass, format!("{n} audit devices: {}", devices.join(", "))),
    }
}

/// Grades the age of the newest snapshot.
pub fn grade_snapshot(age: Option<Duration>, max: Duration) -> CheckItem {
    match age {
        None => item(
            "snapshot",
            Verdict::Fail,
            "no snapshot found in the snapshot directory",
        ),
        Some(a) if a <= max => item(
            "snapshot",
            Verdict::Pass,
            format!("last snapshot {} h old", a.as_secs() / 3600),
        ),
        Some(a) => item(
            "snapshot",
            Verdict::Fail,
            format!(
                "last snapshot {} h old (limit {} h): is the daily backup running?",
                a.as_secs() / 3600,
                max.as_secs() / 3600
            ),
        ),
    }
}

/// Runs every check. `nodes` must carry a token able to read `sys/audit`,
/// `sys/storage/raft/autopilot/state`, `sys/policies/acl`, AppRole roles and (with sudo)
/// `auth/token/accessors`; a missing right shows as a failed item naming it.
pub async fn run_checks(nodes: &NodeSet, opts: &CheckOptions) -> CheckReport {
    let mut items = Vec::new();
    let status = cluster_status(nodes).await;
    if status.healthy() {
        items.push(item(
            "nodes",
            Verdict::Pass,
            format!(
                "{} nodes reachable and unsealed, one active",
                status.nodes.len()
            ),
        ));
    } else {
        items.push(item("nodes", Verdict::Fail, status.problems.join("; ")));
    }
    let active = status
        .nodes
        .iter()
        .position(|n| n.role == Some(vaultops_api::NodeRole::Active))
        .map(|i| &nodes.nodes()[i]);
    let Some(active) = active else {
        items.push(item(
            "ha",
            Verdict::Fail,
            "no active node: nothing else can be checked",
        ));
        return CheckReport { items };
    };

    match active.autopilot_state().await {
        Ok(s) => items.push(grade_ha(s.voters.len(), s.healthy)),
        Err(e) => items.push(item(
            "ha",
            Verdict::Fail,
            format!("cannot read autopilot state: {e}"),
        )),
    }

    let warn_days = opts.cert_warn_days.unwrap_or(30);
    for n in nodes.nodes() {
        if !n.addr().starts_with("https://") {
            items.push(item(
                "tls",
                Verdict::Fail,
                format!(
                    "{}: plain HTTP; the guide requires TLS everywhere",
                    n.addr()
                ),
            ));
            continue;
        }
        match n.peer_certificate().await {
            Ok(Some(der)) => match vaultops_tls::inspect(&vaultops_tls::der_to_pem(&der)) {
                Ok(info) => items.push(grade_cert(n.addr(), info.days_left, warn_days)),
                Err(e) => items.push(item(
                    "tls",
                    Verdict::Fail,
                    format!("{}: unreadable certificate: {e}", n.addr()),
                )),
            },
            Ok(None) => items.push(item(
                "tls",
                Verdict::Fail,
                format!("{}: no certificate presented", n.addr()),
            )),
            Err(e) => items.push(item("tls", Verdict::Fail, format!("{}: {e}", n.addr()))),
        }
    }

    match active.seal_status().await {
        Ok(s) => items.push(grade_seal(&s.seal_type)),
        Err(e) => items.push(item("seal", Verdict::Fail, e.to_string())),
    }

    match active.audit_list().await {
        Ok(devs) => items.push(grade_audit(&devs.keys().cloned().collect::<Vec<_>>())),
        Err(e) => items.push(item(
            "audit",
            Verdict::Fail,
            format!("cannot list audit devices (needs sudo on sys/audit): {e}"),
        )),
    }

    match active.policy_list().await {
        Ok(p) => {
            let own: Vec<String> = p
                .into_iter()
                .filter(|p| p != "root" && p != "default")
                .collect();
            if own.is_empty() {
                items.push(item(
                    "policies",
                    Verdict::Fail,
                    "no policy besides root and default: applications would need root-like tokens",
                ));
            } else {
                items.push(item(
                    "policies",
                    Verdict::Pass,
                    format!("{} policies: {}", own.len(), own.join(", ")),
                ));
            }
        }
        Err(e) => items.push(item("policies", Verdict::Fail, e.to_string())),
    }

    items.push(check_approle(active).await);
    items.push(check_root_tokens(active).await);

    match &opts.snapshot_dir {
        Some(dir) => items.push(grade_snapshot(
            newest_age(dir),
            opts.snapshot_max_age
                .unwrap_or(Duration::from_secs(26 * 3600)),
        )),
        None => items.push(item(
            "snapshot",
            Verdict::Warn,
            "not checked: pass --snapshot-dir where the daily snapshots are written",
        )),
    }

    let mut unreachable = Vec::new();
    for n in nodes.nodes() {
        if n.without_token().metrics_prometheus().await.is_err() {
            unreachable.push(n.addr().to_owned());
        }
    }
    if unreachable.is_empty() {
        items.push(item(
            "metrics",
            Verdict::Pass,
            "Prometheus metrics served by every node without a token",
        ));
    } else {
        items.push(item("metrics", Verdict::Fail, format!("no Prometheus metrics without a token from {} (set telemetry {{ unauthenticated_metrics_access = true }} in the listener, and prometheus_retention_time)", unreachable.join(", "))));
    }
    CheckReport { items }
}

async fn check_approle(active: &NodeClient) -> CheckItem {
    let roles = match active.approle_list_roles(DEFAULT_APPROLE_MOUNT).await {
        Ok(r) => r,
        Err(e) => {
            return item(
                "approle",
                Verdict::Fail,
                format!("cannot list AppRole roles at auth/approle: {e}"),
            )
        }
    };
    if roles.is_empty() {
        return item(
            "approle",
            Verdict::Fail,
            "no AppRole role: applications have no machine login",
        );
    }
    let mut unbounded = Vec::new();
    for r in &roles {
        match active.approle_read_role(DEFAULT_APPROLE_MOUNT, r).await {
            Ok(Some(spec)) => {
                let ttl = spec
                    .token_ttl
                    .as_ref()
                    .and_then(|t| t.as_secs())
                    .unwrap_or(0);
                let max = spec
                    .token_max_ttl
                    .as_ref()
                    .and_then(|t| t.as_secs())
                    .unwrap_or(0);
                if ttl == 0 || max == 0 {
                    unbounded.push(r.clone());
                }
            }
            Ok(None) => {}
            Err(e) => return item("approle", Verdict::Fail, e.to_string()),
        }
    }
    if unbounded.is_empty() {
        item(
            "approle",
            Verdict::Pass,
            format!(
                "{} role(s) with token TTLs: {}",
                roles.len(),
                roles.join(", ")
            ),
        )
    } else {
        item("approle", Verdict::Warn, format!("role(s) without token_ttl/token_max_ttl (tokens live as long as the mount allows): {}", unbounded.join(", ")))
    }
}

async fn check_root_tokens(active: &NodeClient) -> CheckItem {
    let accessors = match active.token_list_accessors().await {
        Ok(a) => a,
        Err(e) => {
            return item(
                "root-token",
                Verdict::Fail,
                format!("cannot list token accessors (needs sudo on auth/token/accessors): {e}"),
            )
        }
    };
    let mut roots = 0;
    for a in &accessors {
        if let Ok(Some(info)) = active.token_lookup_accessor(a).await {
            if info.policies.iter().any(|p| p == "root") {
                roots += 1;
            }
        }
    }
    if roots == 0 {
        item("root-token", Verdict::Pass, "no root token exists")
    } else {
        item("root-token", Verdict::Fail, format!("{roots} root token(s) exist: revoke them (vaultops apply revokes the one it used); generate one only when needed (vaultops root generate)"))
    }
}

/// Part of the name of the safety snapshot `backup restore` takes of its target
/// (`<cluster>-before-restore-<time>.snap`). Such a file is not a daily backup: the
/// snapshot-age check ignores it, so a restore cannot hide a failed backup job.
pub const SAFETY_SNAPSHOT_MARKER: &str = "-before-restore-";

fn newest_age(dir: &std::path::Path) -> Option<Duration> {
    let newest = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter(|e| {
            !e.file_name()
                .to_string_lossy()
                .contains(SAFETY_SNAPSHOT_MARKER)
        })
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .max()?;
    Some(SystemTime::now().duration_since(newest).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(grade_ha(3, true).verdict, Verdict::Pass);
        assert_eq!(grade_ha(2, true).verdict, Verdict::Fail);
        assert_eq!(grade_ha(3, false).verdict, Verdict::Fail);
        assert_eq!(grade_cert("n", 31, 30).verdict, Verdict::Pass);
        assert_eq!(grade_cert("n", 30, 30).verdict, Verdict::Warn);
        assert_eq!(grade_cert("n", -1, 30).verdict, Verdict::Fail);
        assert_eq!(grade_seal("shamir").verdict, Verdict::Warn);
        assert_eq!(grade_seal("transit").verdict, Verdict::Pass);
        assert_eq!(grade_audit(&[]).verdict, Verdict::Fail);
        assert_eq!(grade_audit(&["file/".into()]).verdict, Verdict::Warn);
        assert_eq!(
            grade_audit(&["file/".into(), "socket/".into()]).verdict,
            Verdict::Pass
        );
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(grade_snapshot(Some(day), day * 2).verdict, Verdict::Pass);
        assert_eq!(
            grade_snapshot(Some(day * 3), day * 2).verdict,
            Verdict::Fail
        );
        assert_eq!(grade_snapshot(None, day).verdict, Verdict::Fail);
    }

    #[test]
    fn pem_wrapping_round_trips() {
        let pem = vaultops_tls::der_to_pem(&[1, 2, 3]);
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\nAQID\n"));
    }

    #[test]
    fn safety_snapshots_do_not_count_as_daily_backups() {
        let tmp = tempfile::tempdir().unwrap();
        let old = tmp.path().join("vault-20261201.snap.age");
        std::fs::write(&old, "x").unwrap();
        let two_days = SystemTime::now() - Duration::from_secs(48 * 3600);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(two_days)
            .unwrap();
        let age = newest_age(tmp.path()).unwrap();
        assert!(age >= Duration::from_secs(47 * 3600), "{age:?}");
        // A fresh safety snapshot does not make the backups look fresh...
        std::fs::write(
            tmp.path()
                .join(format!("prod{SAFETY_SNAPSHOT_MARKER}20261203T100000Z.snap")),
            "x",
        )
        .unwrap();
        assert!(newest_age(tmp.path()).unwrap() >= Duration::from_secs(47 * 3600));
        // ...while a fresh daily backup does (positive control).
        std::fs::write(tmp.path().join("vault-20261203.snap.age"), "x").unwrap();
        assert!(newest_age(tmp.path()).unwrap() < Duration::from_secs(3600));
    }
}
