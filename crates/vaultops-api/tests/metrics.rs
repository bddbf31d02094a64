//! `sys/metrics?format=prometheus` against a real `bao server -dev`.

use vaultops_api::parse_prometheus_gauge;
use vaultops_testkit::DevServer;

#[tokio::test]
async fn prometheus_text_reports_the_node_unsealed() {
    let dev = DevServer::start().await;
    let text = dev.client().metrics_prometheus().await.unwrap();
    assert!(
        text.contains("# TYPE vault_core_unsealed gauge"),
        "{text:.2000}"
    );

    // The gauge is also emitted with an empty cluster label (before the cluster name is
    // known); the sample for the named cluster is the current state.
    let unsealed = parse_prometheus_gauge(&text, "vault_core_unsealed");
    let named: Vec<f64> = unsealed
        .iter()
        .filter(|(l, _)| l.get("cluster").is_some_and(|c| !c.is_empty()))
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(named, [1.0], "{unsealed:?}");
    // (`vault_core_active` is emitted by a periodic collector, seconds after start: not
    // asserted here, to keep this test free of waits.)
}
