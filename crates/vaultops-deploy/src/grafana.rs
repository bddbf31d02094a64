//! A small Grafana dashboard on the metrics the alerts use: seal state, the active node,
//! leadership changes, raft health, request rate and latency, audit failures, certificate
//! days left and snapshot age. Prometheus data source chosen at import (`${datasource}`).

use serde_json::{json, Value};

use crate::prometheus::{JOB_BACKUP, JOB_SERVERS, JOB_TLS, SNAPSHOT_METRIC};

/// One panel's title, PromQL, legend, unit and kind.
#[derive(Debug, Clone)]
pub struct Panel {
    pub title: &'static str,
    pub expr: String,
    pub legend: &'static str,
    pub unit: &'static str,
    /// `"timeseries"` or `"stat"`.
    pub kind: &'static str,
    pub description: &'static str,
}

/// The dashboard's panels, in order.
pub fn panels() -> Vec<Panel> {
    let j = JOB_SERVERS;
    let active = format!("max by (job, instance) (vault_core_active{{job=\"{j}\"}}) == 1");
    vec![
        Panel {
            title: "Sealed nodes",
            expr: format!(
                "count(max by (instance) (vault_core_unsealed{{job=\"{j}\"}}) == 0) or vector(0)"
            ),
            legend: "sealed",
            unit: "none",
            kind: "stat",
            description: "Nodes reporting vault_core_unsealed 0 (max per node: a stale pre-unseal series is ignored).",
        },
        Panel {
            title: "Nodes scraped",
            expr: format!("sum(up{{job=\"{j}\"}})"),
            legend: "up",
            unit: "none",
            kind: "stat",
            description: "Servers Prometheus reaches.",
        },
        Panel {
            title: "Active node",
            expr: format!("max by (instance) (vault_core_active{{job=\"{j}\"}})"),
            legend: "{{instance}}",
            unit: "none",
            kind: "timeseries",
            description: "1 on the node holding the HA lock; a step from one line to another is a leadership change.",
        },
        Panel {
            title: "Leadership changes (10m)",
            expr: format!("sum(changes(vault_core_active{{job=\"{j}\"}}[10m]))"),
            legend: "transitions",
            unit: "none",
            kind: "timeseries",
            description: "Active/standby transitions across all nodes.",
        },
        Panel {
            title: "Raft failure tolerance",
            expr: format!(
                "max(vault_autopilot_failure_tolerance{{job=\"{j}\"}} and on (job, instance) ({active}))"
            ),
            legend: "voters that may fail",
            unit: "none",
            kind: "stat",
            description: "From the active node's autopilot.",
        },
        Panel {
            title: "Autopilot healthy",
            expr: format!(
                "max(vault_autopilot_healthy{{job=\"{j}\"}} and on (job, instance) ({active}))"
            ),
            legend: "healthy",
            unit: "bool",
            kind: "stat",
            description: "1 when the active node's autopilot sees every server healthy.",
        },
        Panel {
            title: "Requests per second",
            expr: format!(
                "sum by (instance) (rate(vault_core_handle_request_count{{job=\"{j}\"}}[5m]))"
            ),
            legend: "{{instance}}",
            unit: "reqps",
            kind: "timeseries",
            description: "Requests handled by each node (standbys forward most of theirs).",
        },
        Panel {
            title: "Request latency p99",
            expr: format!(
                "max by (instance) (vault_core_handle_request{{job=\"{j}\", quantile=\"0.99\"}})"
            ),
            legend: "{{instance}}",
            unit: "ms",
            kind: "timeseries",
            description: "99th percentile of request handling time in milliseconds.",
        },
        Panel {
            title: "Requests refused by audit failure (5m)",
            expr: format!(
                "sum by (instance) (increase(vault_audit_log_request_failure{{job=\"{j}\"}}[5m]))"
            ),
            legend: "{{instance}}",
            unit: "none",
            kind: "timeseries",
            description: "Requests no audit device could log; the server refused them with 500.",
        },
        Panel {
            title: "Certificate days left",
            expr: format!(
                "min by (instance) (probe_ssl_earliest_cert_expiry{{job=\"{JOB_TLS}\"}} - time()) / 86400"
            ),
            legend: "{{instance}}",
            unit: "d",
            kind: "stat",
            description: "Days until the earliest expiry in the chain each server serves (blackbox exporter).",
        },
        Panel {
            title: "Hours since last snapshot",
            expr: format!(
                "(time() - max({SNAPSHOT_METRIC}{{job=\"{JOB_BACKUP}\"}})) / 3600"
            ),
            legend: "hours",
            unit: "h",
            kind: "stat",
            description: "Written by `vaultops backup save --metrics-file` after each successful save.",
        },
    ]
}

/// The dashboard JSON (Grafana schema 39), pretty-printed with a trailing newline.
pub fn dashboard() -> String {
    let datasource = json!({"type": "prometheus", "uid": "${datasource}"});
    // Left to right on Grafana's 24-column grid, wrapping: stats 6 wide, graphs 12.
    let (mut x, mut y, mut row_h) = (0, 0, 0);
    let panels: Vec<Value> = panels()
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let (w, h) = if p.kind == "stat" { (6, 4) } else { (12, 8) };
            if x + w > 24 {
                (x, y, row_h) = (0, y + row_h, 0);
            }
            let pos = json!({"h": h, "w": w, "x": x, "y": y});
            x += w;
            row_h = row_h.max(h);
            json!({
                "id": i + 1,
                "type": p.kind,
                "title": p.title,
                "description": p.description,
                "datasource": datasource,
                "gridPos": pos,
                "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
                "options": {},
                "targets": [{
                    "refId": "A",
                    "datasource": datasource,
                    "expr": p.expr,
                    "legendFormat": p.legend,
                }],
            })
        })
        .collect();
    let dashboard = json!({
        "title": "Vault / OpenBao cluster (vaultops)",
        "uid": "vaultops-cluster",
        "description": "Generated by vaultops-deploy; do not edit (see deploy/README.md).",
        "tags": ["vault", "openbao", "vaultops"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": true,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{
            "name": "datasource",
            "label": "Prometheus",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
        }]},
        "annotations": {"list": []},
        "panels": panels,
    });
    let mut text = serde_json::to_string_pretty(&dashboard).expect("a json! value serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{is_known, referenced_metrics};

    #[test]
    fn panels_use_known_metrics_and_the_json_parses() {
        for p in panels() {
            let used = referenced_metrics(&p.expr);
            assert!(!used.is_empty(), "{}: {}", p.title, p.expr);
            for m in used {
                assert!(is_known(&m), "{}: unknown metric {m}", p.title);
            }
        }
        let v: Value = serde_json::from_str(&dashboard()).unwrap();
        assert_eq!(v["panels"].as_array().unwrap().len(), panels().len());
        assert_eq!(
            v["panels"][0]["targets"][0]["datasource"]["uid"],
            "${datasource}"
        );
    }
}
