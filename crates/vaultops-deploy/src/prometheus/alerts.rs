//! The alert table: every rule with the synthetic series of a healthy cluster (must stay
//! quiet) and of each fault it is for (must fire with the listed labels).

use super::{JOB_BACKUP, JOB_SERVERS, JOB_TLS, SNAPSHOT_METRIC};
use crate::options::PrometheusOptions;

/// One alert rule and the synthetic series that test it.
#[derive(Debug, Clone)]
pub struct Alert {
    pub name: &'static str,
    pub group: &'static str,
    pub expr: String,
    /// Prometheus duration the condition must hold; `None` fires at once.
    pub for_: Option<&'static str>,
    pub severity: &'static str,
    /// May use `{{ $labels.NAME }}` only (the tests compute the expected text).
    pub summary: &'static str,
    pub description: &'static str,
    /// The healthy case: must not fire.
    pub healthy: Case,
    /// Fault cases: each must fire with its expected labels.
    pub faults: Vec<Case>,
}

/// Input series and an evaluation time.
#[derive(Debug, Clone)]
pub struct Case {
    pub what: &'static str,
    /// Step between the samples of `series`.
    pub interval: &'static str,
    /// `(series selector, promtool values notation)`.
    pub series: Vec<(String, &'static str)>,
    pub eval_time: &'static str,
    /// The label sets (besides `severity`) of the alerts expected at `eval_time`.
    pub firing: Vec<Vec<(&'static str, String)>>,
}

fn s(metric: &str, labels: &[(&str, &str)]) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{metric}{{{}}}", inner.join(", "))
}

fn node(i: usize) -> String {
    format!("vault-{i}:8200")
}

/// A server series on node `i` with extra labels.
fn srv(metric: &str, i: usize, extra: &[(&str, &str)]) -> String {
    let inst = node(i);
    let mut labels = vec![("job", JOB_SERVERS), ("instance", inst.as_str())];
    labels.extend_from_slice(extra);
    s(metric, &labels)
}

fn at(i: usize) -> Vec<(&'static str, String)> {
    vec![("job", JOB_SERVERS.to_owned()), ("instance", node(i))]
}

fn job(j: &str) -> Vec<(&'static str, String)> {
    vec![("job", j.to_owned())]
}

/// `vault_core_active` series of a 3-node cluster where node 1 is active, plus the stale
/// series a server keeps for `prometheus_retention_time` (24 h) after its cluster label
/// changed: an alert comparing raw series would see these.
fn active_series(values: [&'static str; 3]) -> Vec<(String, &'static str)> {
    (1..=3)
        .map(|i| {
            (
                srv("vault_core_active", i, &[("cluster", "atmr")]),
                values[i - 1],
            )
        })
        .collect()
}

/// Only the active node's autopilot gauges count: a former leader keeps serving its last
/// autopilot values (retained 24 h), which may say "unhealthy" forever after.
fn on_active(selector: &str) -> String {
    format!(
        "{selector}\n  and on (job, instance) (max by (job, instance) (vault_core_active{{job=\"{JOB_SERVERS}\"}}) == 1)"
    )
}

/// The alert rules, in file order. `voters` sets the failure tolerance threshold.
pub fn alerts(opts: &PrometheusOptions, voters: usize) -> Vec<Alert> {
    let j = JOB_SERVERS;
    let tolerance = (voters.saturating_sub(1)) / 2;
    let max_age_s = u64::from(opts.snapshot_max_age_hours) * 3600;
    let min_days = opts.certificate_min_days;
    let mut table = vec![
        Alert {
            name: "VaultNodeDown",
            group: "vault-availability",
            expr: format!("up{{job=\"{j}\"}} == 0"),
            for_: Some("1m"),
            severity: "critical",
            summary: "{{ $labels.instance }} cannot be scraped",
            description: "Prometheus cannot reach {{ $labels.instance }}: the server process is down, its listener never opened (an auto-unseal node whose unsealer is unreachable exits), or the network is partitioned.",
            healthy: Case {
                what: "all nodes answer",
                interval: "1m",
                series: (1..=3).map(|i| (srv("up", i, &[]), "1x10")).collect(),
                eval_time: "5m",
                firing: vec![],
            },
            faults: vec![Case {
                what: "node 2 stops answering",
                interval: "1m",
                series: vec![
                    (srv("up", 1, &[]), "1x10"),
                    (srv("up", 2, &[]), "1 1 0 0 0 0 0 0 0 0 0"),
                    (srv("up", 3, &[]), "1x10"),
                ],
                eval_time: "5m",
                firing: vec![at(2)],
            }],
        },
        Alert {
            name: "VaultNodeSealed",
            group: "vault-availability",
            // max by instance: a server keeps a stale `cluster=""` series at 0 from before its
            // unseal for prometheus_retention_time (24 h, measured); the live series says 1.
            expr: format!("max by (job, instance) (vault_core_unsealed{{job=\"{j}\"}}) == 0"),
            for_: Some("1m"),
            severity: "critical",
            summary: "{{ $labels.instance }} is sealed",
            description: "{{ $labels.instance }} reports vault_core_unsealed 0: it serves nothing until it is unsealed (`vaultops unseal`), or, with auto-unseal, until its seal is reachable again.",
            healthy: Case {
                what: "all unsealed; node 1 still exports its stale pre-unseal series",
                interval: "1m",
                series: vec![
                    (srv("vault_core_unsealed", 1, &[("cluster", "")]), "0x10"),
                    (srv("vault_core_unsealed", 1, &[("cluster", "atmr")]), "1x10"),
                    (srv("vault_core_unsealed", 2, &[("cluster", "atmr")]), "1x10"),
                    (srv("vault_core_unsealed", 3, &[("cluster", "atmr")]), "1x10"),
                ],
                eval_time: "5m",
                firing: vec![],
            },
            faults: vec![Case {
                what: "node 3 is sealed",
                interval: "1m",
                series: vec![
                    (srv("vault_core_unsealed", 1, &[("cluster", "atmr")]), "1x10"),
                    (srv("vault_core_unsealed", 2, &[("cluster", "atmr")]), "1x10"),
                    (srv("vault_core_unsealed", 3, &[("cluster", "")]), "0x10"),
                    (
                        srv("vault_core_unsealed", 3, &[("cluster", "atmr")]),
                        "1 1 0 0 0 0 0 0 0 0 0",
                    ),
                ],
                eval_time: "5m",
                firing: vec![at(3)],
            }],
        },
        Alert {
            name: "VaultNoActiveNode",
            group: "vault-availability",
            expr: format!(
                "(sum by (job) (max by (job, instance) (vault_core_active{{job=\"{j}\"}})) < 1)\nor absent(vault_core_active{{job=\"{j}\"}})"
            ),
            for_: Some("1m"),
            severity: "critical",
            summary: "No active node in job {{ $labels.job }}",
            description: "No server reports vault_core_active 1 (or none reports at all): writes fail and standbys answer 500 or redirect to a dead node. A failover takes about 2 s with performance_multiplier 1, so one that lasts a minute is not a failover.",
            healthy: Case {
                what: "node 1 active",
                interval: "1m",
                series: active_series(["1x10", "0x10", "0x10"]),
                eval_time: "5m",
                firing: vec![],
            },
            faults: vec![
                Case {
                    what: "the active node steps down and nobody takes over",
                    interval: "1m",
                    series: active_series(["1 1 0 0 0 0 0 0 0 0 0", "0x10", "0x10"]),
                    eval_time: "5m",
                    firing: vec![job(j)],
                },
                Case {
                    what: "no server exports vault_core_active at all",
                    interval: "1m",
                    series: (1..=3).map(|i| (srv("up", i, &[]), "0x10")).collect(),
                    eval_time: "5m",
                    firing: vec![job(j)],
                },
            ],
        },
        Alert {
            name: "VaultLeadershipChanged",
            group: "vault-availability",
            // A gauge's changes, not vault_raft_state_leader: that counter only appears when a
            // node first becomes leader, and increase() ignores a series' first sample.
            expr: format!("sum by (job) (changes(vault_core_active{{job=\"{j}\"}}[10m])) > 0"),
            for_: None,
            severity: "info",
            summary: "The active node of job {{ $labels.job }} changed",
            description: "A node became active or stopped being active in the last 10 minutes (failover, step-down, restart). Expected during maintenance; otherwise read the servers' logs.",
            healthy: Case {
                what: "node 1 stays active",
                interval: "1m",
                series: active_series(["1x10", "0x10", "0x10"]),
                eval_time: "5m",
                firing: vec![],
            },
            faults: vec![Case {
                what: "the active node is killed, node 2 takes over",
                interval: "1m",
                series: active_series(["1 1 1 _ _ _ _ _ _ _ _", "0 0 0 1 1 1 1 1 1 1 1", "0x10"]),
                eval_time: "5m",
                firing: vec![job(j)],
            }],
        },
        Alert {
            name: "VaultLeadershipFlapping",
            group: "vault-availability",
            expr: format!("sum by (job) (changes(vault_core_active{{job=\"{j}\"}}[30m])) > 4"),
            for_: None,
            severity: "warning",
            summary: "The active node of job {{ $labels.job }} keeps changing",
            description: "More than 4 active/standby transitions in 30 minutes. Each costs seconds without an active node, and a node that just stepped down waits 10 s before it may lead again (measured). Look for resource starvation, a failing audit device or seal, or an unstable network.",
            healthy: Case {
                what: "one failover (two transitions)",
                interval: "1m",
                series: active_series(["1 1 1 0 0 0 0 0 0 0 0", "0 0 0 1 1 1 1 1 1 1 1", "0x10"]),
                eval_time: "10m",
                firing: vec![],
            },
            faults: vec![Case {
                what: "nodes 1 and 2 trade leadership every minute",
                interval: "1m",
                series: active_series(["1 0 1 0 1 0 1 0 1 0 1", "0 1 0 1 0 1 0 1 0 1 0", "0x10"]),
                eval_time: "10m",
                firing: vec![job(j)],
            }],
        },
        Alert {
            name: "VaultAutopilotUnhealthy",
            group: "vault-raft",
            expr: on_active(&format!("vault_autopilot_healthy{{job=\"{j}\"}} == 0")),
            for_: Some("2m"),
            severity: "warning",
            summary: "Raft autopilot on {{ $labels.instance }} reports an unhealthy server",
            description: "The active node's autopilot sees a server that is down, lagging or not yet a voter. `bao operator raft autopilot state` names it.",
            healthy: Case {
                what: "healthy; node 2, a former leader, still exports a stale 0",
                interval: "1m",
                series: {
                    let mut v = active_series(["1x10", "0x10", "0x10"]);
                    v.push((srv("vault_autopilot_healthy", 1, &[]), "1x10"));
                    v.push((srv("vault_autopilot_healthy", 2, &[]), "0x10"));
                    v
                },
                eval_time: "5m",
                firing: vec![],
            },
            faults: vec![Case {
                what: "the active node's autopilot turns unhealthy",
                interval: "1m",
                series: {
                    let mut v = active_series(["1x10", "0x10", "0x10"]);
                    v.push((srv("vault_autopilot_healthy", 1, &[]), "1 1 0 0 0 0 0 0 0 0 0"));
                    v
                },
                eval_time: "6m",
                firing: vec![at(1)],
            }],
        },
        Alert {
            name: "VaultAuditDeviceFailing",
            group: "vault-audit",
            // These count requests that NO audit device could log: the server refused them
            // with 500 (measured). One failing device among several is only in the log.
            expr: format!(
                "increase(vault_audit_log_request_failure{{job=\"{j}\"}}[5m]) > 0\nor increase(vault_audit_log_response_failure{{job=\"{j}\"}}[5m]) > 0"
            ),
            for_: None,
            severity: "critical",
            summary: "{{ $labels.instance }} refuses requests: audit logging fails",
            description: "Requests on {{ $labels.instance }} could not be written to any audit device and were refused (HTTP 500) while /v1/sys/health still says 200. Check the audit volume (full disk?) and the audit sink.",
            healthy: Case {
                what: "no audit failures",
                interval: "1m",
                series: vec![
                    (srv("vault_audit_log_request_failure", 1, &[]), "0x10"),
                    (srv("vault_audit_log_response_failure", 1, &[]), "0x10"),
                ],
                eval_time: "5m",
                firing: vec![],
            },
            faults: vec![Case {
                what: "node 1's audit devices fail",
                interval: "1m",
                series: vec![
                    (srv("vault_audit_log_request_failure", 1, &[]), "0 0 0 5 10 15 20 25 30 35 40"),
                    (srv("vault_audit_log_response_failure", 1, &[]), "0x10"),
                ],
                eval_time: "5m",
                firing: vec![at(1)],
            }],
        },
        Alert {
            name: "VaultHighRequestErrorRate",
            group: "vault-requests",
            // No HTTP status counter exists: requests refused for audit failure and standby
            // forwarding errors are the errors the servers count (docs/monitoring.md).
            expr: format!(
                "sum by (job) (rate({{job=\"{j}\", __name__=~\"vault_audit_log_request_failure|vault_ha_rpc_client_forward_errors\"}}[5m]))\n  / sum by (job) (rate(vault_core_handle_request_count{{job=\"{j}\"}}[5m]))\n> 0.05"
            ),
            for_: Some("5m"),
            severity: "warning",
            summary: "More than 5% of requests to job {{ $labels.job }} fail",
            description: "Requests refused because no audit device could log them, plus requests a standby could not forward to the active node, exceed 5% of handled requests.",
            healthy: Case {
                what: "10 requests/s, no errors",
                interval: "1m",
                series: vec![
                    (srv("vault_core_handle_request_count", 1, &[]), "0+600x20"),
                    (srv("vault_audit_log_request_failure", 1, &[]), "0x20"),
                    (srv("vault_ha_rpc_client_forward_errors", 2, &[]), "0x20"),
                ],
                eval_time: "15m",
                firing: vec![],
            },
            faults: vec![Case {
                what: "a standby fails to forward 1 request/s of 10",
                interval: "1m",
                series: vec![
                    (srv("vault_core_handle_request_count", 1, &[]), "0+600x20"),
                    (srv("vault_audit_log_request_failure", 1, &[]), "0x20"),
                    (srv("vault_ha_rpc_client_forward_errors", 2, &[]), "0+60x20"),
                ],
                eval_time: "15m",
                firing: vec![job(j)],
            }],
        },
        Alert {
            name: "VaultCertificateExpiringSoon",
            group: "vault-tls",
            expr: format!(
                "probe_ssl_earliest_cert_expiry{{job=\"{JOB_TLS}\"}} - time() < {min_days} * 86400"
            ),
            for_: Some("10m"),
            severity: "warning",
            summary: "The certificate served by {{ $labels.instance }} expires soon",
            description: "A certificate in the chain {{ $labels.instance }} serves expires in less than the configured number of days. Renew it (`vaultops tls renew`), install it, and reload the server (SIGHUP) so it serves the new one.",
            healthy: Case {
                what: "90 days left",
                interval: "1m",
                series: vec![(
                    s(
                        "probe_ssl_earliest_cert_expiry",
                        &[("job", JOB_TLS), ("instance", "vault-1:8200")],
                    ),
                    "7776000x30",
                )],
                eval_time: "20m",
                firing: vec![],
            },
            faults: vec![Case {
                what: "20 days left",
                interval: "1m",
                series: vec![(
                    s(
                        "probe_ssl_earliest_cert_expiry",
                        &[("job", JOB_TLS), ("instance", "vault-1:8200")],
                    ),
                    "1728000x30",
                )],
                eval_time: "20m",
                firing: vec![vec![
                    ("job", JOB_TLS.to_owned()),
                    ("instance", "vault-1:8200".to_owned()),
                ]],
            }],
        },
        Alert {
            name: "VaultTLSProbeFailing",
            group: "vault-tls",
            expr: format!("probe_success{{job=\"{JOB_TLS}\"}} == 0"),
            for_: Some("5m"),
            severity: "warning",
            summary: "TLS to {{ $labels.instance }} fails",
            description: "The blackbox exporter cannot complete a TLS handshake with {{ $labels.instance }} verified against the cluster CA: an expired or wrongly signed certificate, a host name missing from its SANs, or the node is down.",
            healthy: Case {
                what: "probe succeeds",
                interval: "1m",
                series: vec![(
                    s("probe_success", &[("job", JOB_TLS), ("instance", "vault-1:8200")]),
                    "1x15",
                )],
                eval_time: "10m",
                firing: vec![],
            },
            faults: vec![Case {
                what: "probe fails",
                interval: "1m",
                series: vec![(
                    s("probe_success", &[("job", JOB_TLS), ("instance", "vault-1:8200")]),
                    "1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0",
                )],
                eval_time: "10m",
                firing: vec![vec![
                    ("job", JOB_TLS.to_owned()),
                    ("instance", "vault-1:8200".to_owned()),
                ]],
            }],
        },
        Alert {
            name: "VaultSnapshotTooOld",
            group: "vault-backup",
            expr: format!(
                "(time() - max by (job) ({SNAPSHOT_METRIC}{{job=\"{JOB_BACKUP}\"}}) > {max_age_s})\nor absent({SNAPSHOT_METRIC}{{job=\"{JOB_BACKUP}\"}})"
            ),
            for_: Some("15m"),
            severity: "warning",
            summary: "No successful raft snapshot recently",
            description: "The last successful snapshot is older than the configured age, or the snapshot job never reported one (vaultops_snapshot_last_success_timestamp_seconds, written by `vaultops backup save --metrics-file` after each successful save). A restore would lose everything since.",
            healthy: Case {
                what: "a snapshot every hour",
                interval: "1h",
                series: vec![(
                    s(SNAPSHOT_METRIC, &[("job", JOB_BACKUP), ("instance", "backup-host:9100")]),
                    "0+3600x40",
                )],
                eval_time: "30h",
                firing: vec![],
            },
            faults: vec![
                Case {
                    what: "the last snapshot succeeded at t=0",
                    interval: "1h",
                    series: vec![(
                        s(SNAPSHOT_METRIC, &[("job", JOB_BACKUP), ("instance", "backup-host:9100")]),
                        "0x40",
                    )],
                    eval_time: "30h",
                    firing: vec![job(JOB_BACKUP)],
                },
                Case {
                    what: "the snapshot job never reported",
                    interval: "1h",
                    series: vec![(
                        s("up", &[("job", JOB_BACKUP), ("instance", "backup-host:9100")]),
                        "1x5",
                    )],
                    eval_time: "2h",
                    firing: vec![job(JOB_BACKUP)],
                },
            ],
        },
    ];
    // A single voter tolerates no failure by design: the alert would be meaningless.
    if let Some((healthy, fault)) = tolerance_values(tolerance) {
        let position = table
            .iter()
            .position(|a| a.name == "VaultAuditDeviceFailing")
            .unwrap_or(table.len());
        table.insert(
            position,
Alert {
            name: "VaultRaftFailureToleranceLow",
            group: "vault-raft",
            expr: on_active(&format!(
                "vault_autopilot_failure_tolerance{{job=\"{j}\"}} < {tolerance}"
            )),
            for_: Some("5m"),
            severity: "warning",
            summary: "The cluster of {{ $labels.instance }} cannot lose another voter",
            description: "Autopilot's failure tolerance is below what the cluster was built for: a voter is missing or unhealthy, and one more failure loses quorum (no writes, no leader). Bring the missing node back or remove it (`bao operator raft remove-peer`) and add a new one.",
            healthy: Case {
                what: "all voters healthy",
                interval: "1m",
                series: {
                    let mut v = active_series(["1x15", "0x15", "0x15"]);
                    v.push((
                        srv("vault_autopilot_failure_tolerance", 1, &[]),
                        healthy,
                    ));
                    v
                },
                eval_time: "10m",
                firing: vec![],
            },
            faults: vec![Case {
                what: "a voter is lost",
                interval: "1m",
                series: {
                    let mut v = active_series(["1x15", "0x15", "0x15"]);
                    v.push((
                        srv("vault_autopilot_failure_tolerance", 1, &[]),
                        fault,
                    ));
                    v
                },
                eval_time: "10m",
                firing: vec![at(1)],
            }],
        },
        );
    }
    table
}

/// promtool values for a failure tolerance that holds at `tolerance`, and one that drops by
/// one after two minutes; `None` when there is nothing to drop from.
fn tolerance_values(tolerance: usize) -> Option<(&'static str, &'static str)> {
    match tolerance {
        1 => Some(("1x15", "1 1 0x13")),
        2 => Some(("2x15", "2 2 1x13")),
        3 => Some(("3x15", "3 3 2x13")),
        _ => None,
    }
}
