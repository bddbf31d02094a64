//! Prometheus: scrape configuration, the blackbox exporter module for certificates, the alert
//! rules, and their `promtool test rules` unit tests, all from one table ([`alerts`]) so that
//! every alert has a test that makes it fire and one that shows it quiet when healthy.
//!
//! Only metric names that exist are used (see [`crate::metrics`]): the seed's
//! `vault_core_sealed`, `vault_core_unseal_attempts_total` and `vault_core_http_error_total`
//! are absent from a real server.

use crate::options::PrometheusOptions;
use crate::yaml::{flow_list, q};
use crate::HEADER_NOTE;

/// Job scraping the servers' `/v1/sys/metrics` (engine-neutral: OpenBao keeps Vault's API,
/// paths and `vault_` metric prefix).
pub const JOB_SERVERS: &str = "vault";
/// Job probing the servers' TLS certificates through the blackbox exporter.
pub const JOB_TLS: &str = "vault-tls";
/// Job scraping the node exporter on the host that runs the snapshot job.
pub const JOB_BACKUP: &str = "vault-backup";
/// Blackbox exporter module that opens a TLS connection and verifies it against the CA.
pub const BLACKBOX_MODULE: &str = "vault_tls";
/// The textfile-collector metric the snapshot job writes after each successful snapshot.
pub const SNAPSHOT_METRIC: &str = "vaultops_snapshot_last_success_timestamp_seconds";

/// Inputs of a Prometheus configuration: which servers to scrape and how to trust them.
/// Public so a test harness can point the same rules at other targets (e.g. the testbed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapeConfig {
    pub scrape_interval: String,
    /// `host:port` of every server: all nodes, not only the active one (standbys and sealed
    /// nodes answer `/v1/sys/metrics` too, and the alerts need every node's state).
    pub servers: Vec<String>,
    /// CA file that verifies the servers' certificates (relative paths are relative to the
    /// Prometheus configuration file).
    pub ca_file: String,
    /// Server name to verify when the targets' host names are not in the certificates.
    pub tls_server_name: Option<String>,
    /// Blackbox exporter `host:port`; `None` leaves out the certificate probe job.
    pub blackbox_address: Option<String>,
    /// Node exporter on the snapshot host; `None` leaves out the backup job.
    pub backup_exporter_address: Option<String>,
    /// Rule files to load (relative to the configuration file).
    pub rule_files: Vec<String>,
}

impl ScrapeConfig {
    /// The generated deployment's scrape configuration for `servers`.
    pub fn for_deploy(opts: &PrometheusOptions, servers: Vec<String>) -> Self {
        Self {
            scrape_interval: opts.scrape_interval.clone(),
            servers,
            ca_file: "cluster-ca.pem".to_owned(),
            tls_server_name: None,
            blackbox_address: Some(opts.blackbox_address.clone()),
            backup_exporter_address: Some(opts.backup_exporter_address.clone()),
            rule_files: vec!["alerts.yml".to_owned()],
        }
    }
}

/// `prometheus.yml` for `cfg`.
pub fn prometheus_config(cfg: &ScrapeConfig, note: &str) -> String {
    let mut tls = format!("    tls_config:\n      ca_file: {}\n", q(&cfg.ca_file));
    if let Some(name) = &cfg.tls_server_name {
        tls.push_str(&format!("      server_name: {}\n", q(name)));
    }
    let mut out = format!(
        "{HEADER_NOTE}# {note}\n\
         global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n\
         rule_files: {rules}\n\
         scrape_configs:\n\
         \x20 # Every server, over TLS verified against the cluster CA, on its metrics-only\n\
         \x20 # listener (unauthenticated_metrics_access there, so no token is needed, and sealed\n\
         \x20 # nodes answer too; the API port requires a token for metrics).\n\
         \x20 - job_name: {JOB_SERVERS}\n    scheme: https\n    metrics_path: /v1/sys/metrics\n\
         \x20   params:\n      format: [\"prometheus\"]\n{tls}\
         \x20   static_configs:\n      - targets: {targets}\n",
        interval = q(&cfg.scrape_interval),
        rules = flow_list(&cfg.rule_files),
        targets = flow_list(&cfg.servers),
    );
    if let Some(blackbox) = &cfg.blackbox_address {
        out.push_str(&format!(
            "  # Certificates as clients see them (probe_ssl_earliest_cert_expiry): the blackbox\n\
             \x20 # exporter opens a TLS connection to each server (module {BLACKBOX_MODULE} in\n\
             \x20 # blackbox.yml), on the same port as job {JOB_SERVERS}: both listeners serve the\n\
             \x20 # same certificate files. `instance` stays the server's address.\n\
             \x20 - job_name: {JOB_TLS}\n    metrics_path: /probe\n    params:\n      module: [{module}]\n\
             \x20   static_configs:\n      - targets: {targets}\n\
             \x20   relabel_configs:\n\
             \x20     - source_labels: [__address__]\n        target_label: __param_target\n\
             \x20     - source_labels: [__param_target]\n        target_label: instance\n\
             \x20     - target_label: __address__\n        replacement: {blackbox}\n",
            module = q(BLACKBOX_MODULE),
            targets = flow_list(&cfg.servers),
            blackbox = q(blackbox),
        ));
    }
    if let Some(exporter) = &cfg.backup_exporter_address {
        out.push_str(&format!(
            "  # The node exporter on the host that runs the snapshot job; its textfile collector\n\
             \x20 # serves {SNAPSHOT_METRIC} (docs/monitoring.md).\n\
             \x20 - job_name: {JOB_BACKUP}\n    static_configs:\n      - targets: [{}]\n",
            q(exporter)
        ));
    }
    out
}

/// `blackbox.yml`: the module the certificate probe uses.
pub fn blackbox_config() -> String {
    format!(
        "{HEADER_NOTE}\
         # Blackbox exporter (Debian: prometheus-blackbox-exporter) module for job {JOB_TLS}: a\n\
         # TCP connection with TLS, verified against the cluster CA. It reports\n\
         # probe_ssl_earliest_cert_expiry (the certificate the server actually serves, so a\n\
         # renewed file that was never reloaded still alerts) and probe_success.\n\
         modules:\n  {BLACKBOX_MODULE}:\n    prober: tcp\n    timeout: 5s\n    tcp:\n      tls: true\n\
         \x20     tls_config:\n        ca_file: \"/etc/prometheus/cluster-ca.pem\"\n"
    )
}

mod alerts;
mod rules;

pub use alerts::{alerts, Alert, Case};
pub use rules::{alert_rules, alert_tests, rule_metrics};
