//! Alert rules rendered from the table: `alerts.yml` and its `promtool test rules` file.

use super::alerts::Alert;
use crate::metrics::referenced_metrics;
use crate::yaml::{literal_block, q};
use crate::HEADER_NOTE;
/// `alerts.yml`.
pub fn alert_rules(alerts: &[Alert]) -> String {
    let mut out = format!(
        "{HEADER_NOTE}\
         # Alert rules on metric names a real server exports (OpenBao 2.7.2, measured; Vault uses\n\
         # the same names). Unit tests: alerts.test.yml (promtool test rules). Why each rule is\n\
         # written as it is: docs/monitoring.md.\n\
         groups:\n"
    );
    let mut current = "";
    for a in alerts {
        if a.group != current {
            current = a.group;
            out.push_str(&format!("  - name: {}\n    rules:\n", q(a.group)));
        }
        out.push_str(&format!(
            "      - alert: {}\n        expr: |-\n{}",
            a.name,
            literal_block(&a.expr, 10)
        ));
        if let Some(f) = a.for_ {
            out.push_str(&format!("        for: {f}\n"));
        }
        out.push_str(&format!(
            "        labels:\n          severity: {}\n        annotations:\n          summary: {}\n          description: {}\n",
            q(a.severity),
            q(a.summary),
            q(a.description)
        ));
    }
    out
}

/// Expands `{{ $labels.NAME }}` in an annotation template with `labels`.
fn expand(template: &str, labels: &[(&str, String)]) -> String {
    let mut out = template.to_owned();
    for (k, v) in labels {
        out = out.replace(&format!("{{{{ $labels.{k} }}}}"), v);
    }
    out
}

/// `alerts.test.yml`: for every alert, its healthy case (expects no alert) and each fault
/// case (expects exactly the listed alerts, labels and annotations).
pub fn alert_tests(alerts: &[Alert], rules_file: &str) -> String {
    let mut out = format!(
        "{HEADER_NOTE}\
         # promtool test rules alerts.test.yml: every alert fires on synthetic series of the\n\
         # fault it is for, and stays quiet on a healthy cluster (including the stale series a\n\
         # real server keeps exporting).\n\
         rule_files: [{}]\nevaluation_interval: 1m\ntests:\n",
        q(rules_file)
    );
    for a in alerts {
        for (case, expect_fire) in
            std::iter::once((&a.healthy, false)).chain(a.faults.iter().map(|c| (c, true)))
        {
            out.push_str(&format!(
                "  # {}: {} ({})\n  - interval: {}\n    input_series:\n",
                a.name,
                if expect_fire { "fires" } else { "quiet" },
                case.what,
                case.interval
            ));
            for (series, values) in &case.series {
                out.push_str(&format!(
                    "      - series: {}\n        values: {}\n",
                    q(series),
                    q(values)
                ));
            }
            out.push_str(&format!(
                "    alert_rule_test:\n      - eval_time: {}\n        alertname: {}\n",
                case.eval_time, a.name
            ));
            if case.firing.is_empty() {
                out.push_str("        exp_alerts: []\n");
                continue;
            }
            out.push_str("        exp_alerts:\n");
            for labels in &case.firing {
                out.push_str("          - exp_labels:\n");
                out.push_str(&format!("              severity: {}\n", q(a.severity)));
                for (k, v) in labels {
                    out.push_str(&format!("              {k}: {}\n", q(v)));
                }
                out.push_str(&format!(
                    "            exp_annotations:\n              summary: {}\n              description: {}\n",
                    q(&expand(a.summary, labels)),
                    q(&expand(a.description, labels)),
                ));
            }
        }
    }
    out
}

/// Metric names the rules use (for the docs and the metric-name test).
pub fn rule_metrics(alerts: &[Alert]) -> std::collections::BTreeSet<String> {
    alerts
        .iter()
        .flat_map(|a| referenced_metrics(&a.expr))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::DeployOptions;
    use crate::prometheus::alerts;

    fn table() -> Vec<Alert> {
        alerts(&DeployOptions::default().prometheus, 3)
    }

    #[test]
    fn every_alert_has_a_quiet_and_a_firing_case() {
        let alerts = table();
        assert!(alerts.len() >= 8);
        let mut names = std::collections::BTreeSet::new();
        for a in &alerts {
            assert!(names.insert(a.name), "duplicate {}", a.name);
            assert!(a.healthy.firing.is_empty(), "{}", a.name);
            assert!(!a.faults.is_empty(), "{}", a.name);
            assert!(a.faults.iter().all(|c| !c.firing.is_empty()), "{}", a.name);
        }
    }

    #[test]
    fn annotations_only_use_labels_the_tests_can_expand() {
        for a in table() {
            for case in &a.faults {
                for labels in &case.firing {
                    for text in [a.summary, a.description] {
                        let expanded = expand(text, labels);
                        assert!(!expanded.contains("{{"), "{}: {expanded}", a.name);
                    }
                }
            }
        }
    }

    #[test]
    fn the_seeds_metric_names_are_not_used() {
        let used = rule_metrics(&table());
        for absent in [
            "vault_core_sealed",
            "vault_core_unseal_attempts_total",
            "vault_core_http_error_total",
        ] {
            assert!(!used.contains(absent), "{absent}");
        }
        assert!(used.contains("vault_core_unsealed"));
    }

    #[test]
    fn failure_tolerance_threshold_follows_the_voter_count() {
        let opts = DeployOptions::default().prometheus;
        let expr = |voters| {
            alerts(&opts, voters)
                .into_iter()
                .find(|a| a.name == "VaultRaftFailureToleranceLow")
                .unwrap()
                .expr
        };
        assert!(expr(3).contains("< 1\n"), "{}", expr(3));
        assert!(expr(5).contains("< 2\n"), "{}", expr(5));
    }
}
