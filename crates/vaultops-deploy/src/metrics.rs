//! The metric names alerts and dashboards may use, and where each comes from.
//!
//! The seed's rules used names no server exports (`vault_core_sealed`,
//! `vault_core_unseal_attempts_total`, `vault_core_http_error_total`), so they could never
//! fire. Here every name is in [`KNOWN_METRICS`], and a unit test checks every expression
//! against it; the integration test `bao_starts` checks the [`Source::EveryUnsealedServer`]
//! names against a real OpenBao 2.7.2.

use std::collections::BTreeSet;

/// Where a metric comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Exported by every unsealed server from its start (checked on a real server by
    /// `tests/bao_starts.rs`).
    EveryUnsealedServer,
    /// Exported by a server once the event happened (seen in the OpenBao 2.7.2 probe after
    /// failovers; `shared/facts`, section 9).
    ServerAfterEvent,
    /// Prometheus itself (`up`).
    Prometheus,
    /// The blackbox exporter's TLS probe.
    BlackboxExporter,
    /// The snapshot job, through the node exporter's textfile collector.
    SnapshotJob,
}

/// Every sample name the generated rules and dashboard may reference.
pub const KNOWN_METRICS: &[(&str, Source)] = &[
    ("vault_core_unsealed", Source::EveryUnsealedServer),
    ("vault_core_active", Source::EveryUnsealedServer),
    ("vault_autopilot_healthy", Source::EveryUnsealedServer),
    (
        "vault_autopilot_failure_tolerance",
        Source::EveryUnsealedServer,
    ),
    ("vault_core_handle_request", Source::EveryUnsealedServer),
    (
        "vault_core_handle_request_count",
        Source::EveryUnsealedServer,
    ),
    (
        "vault_audit_log_request_failure",
        Source::EveryUnsealedServer,
    ),
    (
        "vault_audit_log_response_failure",
        Source::EveryUnsealedServer,
    ),
    (
        "vault_ha_rpc_client_forward_errors",
        Source::ServerAfterEvent,
    ),
    ("up", Source::Prometheus),
    ("probe_success", Source::BlackboxExporter),
    ("probe_ssl_earliest_cert_expiry", Source::BlackboxExporter),
    (
        "vaultops_snapshot_last_success_timestamp_seconds",
        Source::SnapshotJob,
    ),
];

/// The names a real unsealed server must export (summaries are listed by their `_count`).
pub fn every_unsealed_server() -> impl Iterator<Item = &'static str> {
    KNOWN_METRICS
        .iter()
        .filter(|(_, s)| *s == Source::EveryUnsealedServer)
        .map(|(n, _)| *n)
}

/// Whether `name` is in [`KNOWN_METRICS`].
pub fn is_known(name: &str) -> bool {
    KNOWN_METRICS.iter().any(|(n, _)| *n == name)
}

/// Metric names referenced by a PromQL expression: identifiers starting with `vault_`,
/// `probe_` or `vaultops_` (inside or outside quotes, so `__name__=~"a|b"` counts), and `up`
/// used as a selector.
pub fn referenced_metrics(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < bytes.len()
                && ((bytes[i] as char).is_ascii_alphanumeric() || bytes[i] == b'_')
            {
                i += 1;
            }
            let word = &expr[start..i];
            let before = if start == 0 {
                ' '
            } else {
                bytes[start - 1] as char
            };
            // `$labels.x`, label names and functions are not metrics.
            let is_metric = ["vault_", "probe_", "vaultops_"]
                .iter()
                .any(|p| word.starts_with(p))
                || (word == "up" && expr[i..].starts_with('{'));
            if is_metric && before != '.' && before != '$' {
                out.insert(word.to_owned());
            }
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_metric_names_in_selectors_and_regexes() {
        let m = referenced_metrics(
            r#"sum by (job) (rate({job="vault", __name__=~"vault_a|vault_b"}[5m])) / up{job="x"} + group_left"#,
        );
        let m: Vec<&str> = m.iter().map(String::as_str).collect();
        assert_eq!(m, ["up", "vault_a", "vault_b"]);
        assert!(referenced_metrics("probe_success == 0 and vaultops_x").len() == 2);
        assert!(referenced_metrics("sum(up)").is_empty());
    }

    #[test]
    fn unsealed_server_names_are_listed() {
        let names: Vec<_> = every_unsealed_server().collect();
        assert!(names.contains(&"vault_core_unsealed"));
        assert!(!names.contains(&"up"));
        assert!(is_known("probe_ssl_earliest_cert_expiry"));
        assert!(!is_known("vault_core_sealed"));
    }
}
