//! Telemetry: `sys/metrics?format=prometheus` as text, and a small pure parser that pulls one
//! metric's samples out of that text for checks and scenarios.
//!
//! OpenBao keeps Vault's `vault_` prefix. Useful gauges: `vault_core_unsealed` (1 unsealed,
//! 0 sealed), `vault_core_active` (1 on the active node), `vault_autopilot_healthy`.

use crate::client::NodeClient;
use crate::error::{classify_transport, ApiError};
use reqwest::Method;
use std::collections::BTreeMap;

/// The labels of one Prometheus sample, by name.
pub type Labels = BTreeMap<String, String>;

impl NodeClient {
    /// `GET sys/metrics?format=prometheus`: the Prometheus text exposition. Needs a token
    /// unless the listener sets `telemetry { unauthenticated_metrics_access = true }`; with
    /// that it also answers on sealed nodes. Without `prometheus_retention_time` in the
    /// server's telemetry config the server answers 400.
    pub async fn metrics_prometheus(&self) -> Result<String, ApiError> {
        const OP: &str = "metrics";
        let rb = self
            .request(Method::GET, "sys/metrics")
            .query(&[("format", "prometheus")]);
        let resp = self.send(OP, rb).await?;
        resp.text()
            .await
            .map_err(|e| self.err(OP, classify_transport(e)))
    }
}

/// The samples of metric `name` in Prometheus text `text`: one `(labels, value)` per line
/// whose metric name is exactly `name`, in order. Comments, other metrics and lines that do
/// not parse are skipped; `NaN`, `+Inf` and `-Inf` parse as floats.
///
/// For summaries and histograms ask for the full sample name (`…_sum`, `…_count`,
/// `…_bucket`).
pub fn parse_prometheus_gauge(text: &str, name: &str) -> Vec<(Labels, f64)> {
    text.lines()
        .filter_map(|line| parse_sample(line.trim()))
        .filter(|(n, _, _)| *n == name)
        .map(|(_, labels, v)| (labels, v))
        .collect()
}

/// One sample line: `name{l="v",…} value [timestamp]` or `name value [timestamp]`.
fn parse_sample(line: &str) -> Option<(&str, Labels, f64)> {
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty() {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut labels = Labels::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, tail) = parse_labels(after)?;
        labels = parsed;
        rest = tail;
    }
    let value = rest.split_whitespace().next()?;
    let v = match value {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        other => other.parse().ok()?,
    };
    Some((name, labels, v))
}

/// Parses `l="v",…}` (the part after `{`) and returns the labels and what follows `}`.
fn parse_labels(s: &str) -> Option<(Labels, &str)> {
    let mut labels = Labels::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        if let Some(tail) = rest.strip_prefix('}') {
            return Some((labels, tail));
        }
        let eq = rest.find('=')?;
        let key = rest[..eq].trim().to_owned();
        rest = rest[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '"' => break i,
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        };
        labels.insert(key, value);
        rest = &rest[end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP vault_core_unsealed vault_core_unsealed
# TYPE vault_core_unsealed gauge
vault_core_unsealed{cluster=""} 0
vault_core_unsealed{cluster="vault-cluster-a8545ff9"} 1
vault_core_unsealed_extra 7
go_goroutines 547
vault_weird{a="x \"q\" \\ y\nz",b="2"} 1.5e+03 1700000000000
vault_core_active NaN
vault_up +Inf
broken{a="unterminated 1
"#;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn picks_exact_name_with_labels() {
        let got = parse_prometheus_gauge(TEXT, "vault_core_unsealed");
        assert_eq!(
            got,
            vec![
                (labels(&[("cluster", "")]), 0.0),
                (labels(&[("cluster", "vault-cluster-a8545ff9")]), 1.0)
            ]
        );
        assert_eq!(
            parse_prometheus_gauge(TEXT, "go_goroutines"),
            vec![(Labels::new(), 547.0)]
        );
        assert!(parse_prometheus_gauge(TEXT, "vault_core").is_empty());
    }

    #[test]
    fn unescapes_labels_and_ignores_timestamps() {
        let got = parse_prometheus_gauge(TEXT, "vault_weird");
        assert_eq!(
            got,
            vec![(labels(&[("a", "x \"q\" \\ y\nz"), ("b", "2")]), 1500.0)]
        );
    }

    #[test]
    fn special_values_and_broken_lines() {
        assert!(parse_prometheus_gauge(TEXT, "vault_core_active")[0]
            .1
            .is_nan());
        assert_eq!(parse_prometheus_gauge(TEXT, "vault_up")[0].1, f64::INFINITY);
        assert!(parse_prometheus_gauge(TEXT, "broken").is_empty());
        assert!(parse_prometheus_gauge("", "x").is_empty());
    }
}
