//! The upgrade check on a standby that has not caught up: a state the real servers of the
//! harness cannot be held in on demand (a restarted standby catches up within milliseconds
//! of its unseal, and a frozen one stops answering altogether), so three mock nodes answer
//! `sys/health`, `sys/leader` and autopilot's state as a 3-node cluster would. The check reads
//! each node's own applied index and refuses while a standby trails the active by more than
//! the tolerance; the same cluster with the standby caught up passes (positive control).

use std::time::Duration;

use serde_json::json;
use vaultops_api::{ClientConfig, NodeClient, Token};
use vaultops_bootstrap::{check_upgrade, NodeSet, UpgradeError, UpgradeOptions};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A mock node: `active` or standby, running `version`, at raft applied index `applied`.
async fn node(active: bool, version: &str, applied: u64) -> MockServer {
    let server = MockServer::start().await;
    let status = if active { 200 } else { 429 };
    Mock::given(method("GET"))
        .and(path("/v1/sys/health"))
        .respond_with(ResponseTemplate::new(status).set_body_json(json!({
            "initialized": true, "sealed": false, "standby": !active,
            "version": version, "cluster_name": "c"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/sys/leader"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ha_enabled": true, "is_self": active, "leader_address": "https://leader:8200",
            "leader_cluster_address": "https://leader:8201",
            "raft_committed_index": applied, "raft_applied_index": applied
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/sys/storage/raft/autopilot/state"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "healthy": true, "failure_tolerance": 1, "leader": "n1",
            "voters": ["n1", "n2", "n3"], "servers": {}
        }})))
        .mount(&server)
        .await;
    server
}

fn nodes(servers: &[&MockServer]) -> NodeSet {
    let cfg = ClientConfig {
        token: Some(Token::new("s.upgrade")),
        allow_plain_http: true,
        ..Default::default()
    };
    NodeSet::new(
        servers
            .iter()
            .map(|s| NodeClient::new(&s.uri(), &cfg).unwrap())
            .collect(),
    )
}

#[tokio::test]
async fn a_standby_behind_the_active_fails_the_check_and_a_caught_up_one_passes() {
    let opts = UpgradeOptions::new("2.7.2".parse().unwrap());
    let active = node(true, "2.6.2", 10_000).await;
    let upgraded = node(false, "2.7.2", 10_000 - 5_000).await;
    let other = node(false, "2.6.2", 10_000).await;
    let set = nodes(&[&active, &upgraded, &other]);
    let err = check_upgrade(&set, &opts, Some(&upgraded.uri()), Duration::ZERO)
        .await
        .unwrap_err();
    let UpgradeError::CheckFailed { source } = &err else {
        panic!("expected a failed check, got {err:?}");
    };
    assert!(
        source.last.contains(&format!(
            "{} is not caught up: raft applied index 5000, the active's 10000",
            upgraded.uri()
        )),
        "{source}"
    );

    // Positive control: the same cluster with the swapped standby caught up passes.
    let caught_up = node(false, "2.7.2", 10_000).await;
    let set = nodes(&[&active, &caught_up, &other]);
    let view = check_upgrade(&set, &opts, Some(&caught_up.uri()), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(view.nodes[1].raft_applied_index, Some(10_000));
    assert_eq!(view.nodes[1].version.as_deref(), Some("2.7.2"));
}
