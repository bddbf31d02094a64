//! Rendering tests: byte-exact stanzas per engine and every refusal with its message.

use super::*;
use crate::model::*;

fn openbao_node() -> NodeConfig {
    let mut raft = RaftStorage::new("/data");
    raft.retry_join
        .push(RetryJoin::new("https://node2:8200", "/tls/ca.pem"));
    NodeConfig::new(
        Engine::OpenBao,
        "node1",
        "c1",
        "https://node1:8200",
        "https://node1:8201",
        Listener::tls(
            "0.0.0.0:8200",
            "0.0.0.0:8201",
            TlsFiles::new("/tls/n.pem", "/tls/n.key"),
        ),
        Storage::Raft(raft),
    )
}

fn vault_node() -> NodeConfig {
    NodeConfig {
        engine: Engine::Vault,
        ..openbao_node()
    }
}

fn consul() -> Storage {
    Storage::Consul(ConsulStorage {
        address: "127.0.0.1:8500".into(),
        path: "vault/".into(),
        scheme: ConsulScheme::Http,
        tls_ca_file: None,
    })
}

fn assert_unsupported(result: Result<Rendered, RenderError>, engine: Engine, what_part: &str) {
    match result {
        Err(RenderError::Unsupported {
            engine: e,
            what,
            hint,
            node,
        }) => {
            assert_eq!(e, engine);
            assert!(what.contains(what_part), "{what}");
            assert!(!hint.is_empty());
            assert_eq!(node, "node1");
        }
        other => panic!("expected Unsupported({what_part}), got {other:?}"),
    }
}

fn assert_invalid(result: Result<Rendered, RenderError>, field_part: &str) -> String {
    match result {
        Err(e @ RenderError::Invalid { .. }) => {
            let RenderError::Invalid { field, .. } = &e else {
                unreachable!()
            };
            assert!(field.contains(field_part), "{field}");
            e.to_string()
        }
        other => panic!("expected Invalid({field_part}), got {other:?}"),
    }
}

#[test]
fn baseline_nodes_render() {
    render(&openbao_node()).unwrap();
    render(&vault_node()).unwrap();
}

#[test]
fn consul_storage_on_openbao_is_unsupported() {
    let mut n = openbao_node();
    n.storage = consul();
    assert_unsupported(render(&n), Engine::OpenBao, "consul");
    let msg = render(&n).unwrap_err().to_string();
    assert!(
        msg.contains("node node1: OpenBao does not support consul storage"),
        "{msg}"
    );
    assert!(msg.contains("raft"), "{msg}");
}

#[test]
fn static_seal_on_vault_is_unsupported() {
    let mut n = vault_node();
    n.seal = Seal::Static(StaticSeal {
        current_key_id: "k1".into(),
        current_key: "file:///k".into(),
    });
    assert_unsupported(render(&n), Engine::Vault, "static");
}

#[test]
fn cloud_kms_on_openbao_is_unsupported_with_a_plugin_hint() {
    let seals = [
        Seal::AwsKms(AwsKmsSeal {
            region: "eu-west-1".into(),
            kms_key_id: "k".into(),
        }),
        Seal::GcpCkms(GcpCkmsSeal {
            project: "p".into(),
            region: "global".into(),
            key_ring: "r".into(),
            crypto_key: "k".into(),
        }),
        Seal::AzureKeyVault(AzureKeyVaultSeal {
            tenant_id: "t".into(),
            vault_name: "v".into(),
            key_name: "k".into(),
        }),
    ];
    for seal in seals {
        let mut n = openbao_node();
        n.seal = seal.clone();
        let result = render(&n);
        let msg = result.as_ref().unwrap_err().to_string();
        assert!(msg.contains("plugin"), "{msg}");
        assert_unsupported(result, Engine::OpenBao, "KMS");
        // The same seal is fine for Vault.
        let mut v = vault_node();
        v.seal = seal;
        render(&v).unwrap();
    }
}

#[test]
fn mlock_and_standby_reads_belong_to_one_engine_each() {
    let mut n = openbao_node();
    n.vault_disable_mlock = true;
    assert_unsupported(render(&n), Engine::OpenBao, "disable_mlock");

    let mut v = vault_node();
    v.disable_standby_reads = Some(true);
    assert_unsupported(render(&v), Engine::Vault, "disable_standby_reads");

    let mut v = vault_node();
    v.vault_disable_mlock = true;
    v.storage = consul();
    assert_invalid(render(&v), "vault_disable_mlock");
}

#[test]
fn unauthenticated_generate_root_is_rendered_for_openbao_only() {
    let key = "disable_unauthed_generate_root_endpoints";
    let mut n = openbao_node();
    assert!(!render(&n).unwrap().hcl.contains(key));
    n.listener.unauthenticated_generate_root = true;
    let hcl = render(&n).unwrap().hcl;
    let line = hcl.lines().find(|l| l.contains(key)).expect("rendered");
    assert!(line.trim_end().ends_with("= false"), "{line}");

    // Vault serves the endpoints by default and has no such setting.
    let mut v = vault_node();
    v.listener.unauthenticated_generate_root = true;
    assert!(!render(&v).unwrap().hcl.contains(key));
}

#[test]
fn http_urls_need_the_test_listener() {
    let mut n = openbao_node();
    n.api_addr = "http://node1:8200".into();
    let msg = assert_invalid(render(&n), "api_addr");
    assert!(msg.contains("insecure_for_tests"), "{msg}");

    n.listener = Listener::insecure_for_tests("127.0.0.1:8200", "127.0.0.1:8201");
    let Storage::Raft(raft) = &mut n.storage else {
        unreachable!()
    };
    raft.retry_join[0].leader_api_addr = "http://node2:8200".into();
    let out = render(&n).unwrap();
    assert!(out.hcl.contains("tls_disable     = true"), "{}", out.hcl);

    // The cluster port is TLS regardless.
    n.cluster_addr = "http://node1:8201".into();
    assert_invalid(render(&n), "cluster_addr");
}

#[test]
fn bad_values_are_named() {
    let mut n = openbao_node();
    n.node_id = "node 1".into();
    assert_invalid(render(&n), "node_id");

    let mut n = openbao_node();
    n.listener.address = "0.0.0.0".into();
    assert_invalid(render(&n), "listener.address");

    let mut n = openbao_node();
    let Storage::Raft(raft) = &mut n.storage else {
        unreachable!()
    };
    raft.performance_multiplier = Some(0);
    assert_invalid(render(&n), "performance_multiplier");

    let mut n = openbao_node();
    let Storage::Raft(raft) = &mut n.storage else {
        unreachable!()
    };
    raft.autopilot_update_interval = Some("5 seconds".into());
    assert_invalid(render(&n), "autopilot_update_interval");

    let mut n = openbao_node();
    let Storage::Raft(raft) = &mut n.storage else {
        unreachable!()
    };
    raft.retry_join[0].leader_client_cert_file = Some("/tls/c.pem".into());
    assert_invalid(render(&n), "client certificate");

    let mut n = openbao_node();
    n.audit = vec![
        AuditDevice::file("file", "/a.log"),
        AuditDevice::file("file", "/b.log"),
    ];
    assert_invalid(render(&n), "audit.name");

    let mut n = openbao_node();
    n.audit = vec![AuditDevice::tcp_socket("sock", "no-port")];
    assert_invalid(render(&n), "audit.socket.address");
}

#[test]
fn inline_static_keys_are_refused_without_echoing_them() {
    let mut n = openbao_node();
    let key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    n.seal = Seal::Static(StaticSeal {
        current_key_id: "k1".into(),
        current_key: key.into(),
    });
    let msg = assert_invalid(render(&n), "current_key");
    assert!(!msg.contains(key), "{msg}");
    assert!(msg.contains("file://"), "{msg}");
}

#[test]
fn transit_token_is_only_rendered_when_given_and_marks_the_output_secret() {
    let mut n = openbao_node();
    n.seal = Seal::Transit(TransitSeal::new(
        "https://unsealer:8200",
        "autounseal",
        Some("/tls/ca.pem".into()),
    ));
    let out = render(&n).unwrap();
    assert!(!out.contains_secrets);
    assert_eq!(out.file_mode(), 0o644);
    assert!(!out.hcl.contains("token"), "{}", out.hcl);

    let Seal::Transit(t) = &mut n.seal else {
        unreachable!()
    };
    t.token = Some("s.supersecret".into());
    let out = render(&n).unwrap();
    assert!(out.contains_secrets);
    assert_eq!(out.file_mode(), 0o600);
    assert!(
        out.hcl
            .lines()
            .any(|l| l.starts_with("  token ") && l.ends_with(r#"= "s.supersecret""#)),
        "{}",
        out.hcl
    );
    let debug = format!("{out:?}");
    assert!(!debug.contains("supersecret"), "{debug}");
    assert!(!format!("{n:?}").contains("supersecret"));

    let Seal::Transit(t) = &mut n.seal else {
        unreachable!()
    };
    t.token = Some("  ".into());
    let msg = assert_invalid(render(&n), "seal.transit.token");
    assert!(msg.contains("BAO_TOKEN"), "{msg}");
}

#[test]
fn vault_returns_audit_devices_for_the_api_instead_of_rendering_them() {
    let mut v = vault_node();
    v.audit = vec![AuditDevice::file("file", "/var/log/vault/audit.log")];
    let out = render(&v).unwrap();
    assert!(!out.hcl.contains("audit"), "{}", out.hcl);
    assert_eq!(out.api_managed_audit, v.audit);

    let mut o = openbao_node();
    o.audit = v.audit.clone();
    let out = render(&o).unwrap();
    assert!(out.hcl.contains(r#"audit "file" "file" {"#), "{}", out.hcl);
    assert!(out.api_managed_audit.is_empty());
}

#[test]
fn strings_are_escaped_everywhere() {
    let mut n = openbao_node();
    n.cluster_name = "we\"ird\\name ${x}".into();
    let out = render(&n).unwrap();
    assert!(
        out.hcl
            .contains(r#"cluster_name = "we\"ird\\name \u0024{x}""#),
        "{}",
        out.hcl
    );
}

#[test]
fn rendering_is_deterministic() {
    let mut n = openbao_node();
    n.audit = vec![
        AuditDevice::file("b", "/b"),
        AuditDevice::tcp_socket("a", "127.0.0.1:9"),
    ];
    assert_eq!(render(&n).unwrap().hcl, render(&n).unwrap().hcl);
}

#[test]
fn metrics_listener_is_a_second_tls_listener_metrics_only_for_openbao() {
    let mut node = openbao_node();
    node.telemetry = Telemetry::prometheus();
    node.metrics_listener = Some(MetricsListener::new("0.0.0.0:8202", "127.0.0.1:8203"));
    let hcl = node.render().unwrap().hcl;
    let second = hcl
        .split("listener \"tcp\" {")
        .nth(2)
        .unwrap_or_else(|| panic!("no second listener:\n{hcl}"));
    for line in [
        "address         = \"0.0.0.0:8202\"",
        "cluster_address = \"127.0.0.1:8203\"",
        "tls_cert_file   = \"/tls/n.pem\"",
        "tls_min_version = \"tls12\"",
        "metrics_only                   = true",
        "unauthenticated_metrics_access = true",
    ] {
        assert!(second.contains(line), "{line:?} not in:\n{second}");
    }
    // Only the metrics listener reads metrics without a token.
    assert_eq!(
        hcl.matches("unauthenticated_metrics_access").count(),
        1,
        "{hcl}"
    );
    assert_eq!(hcl.matches("listener \"tcp\"").count(), 2, "{hcl}");

    // Vault documents no metrics_only: the same listener without it.
    let mut node = vault_node();
    node.telemetry = Telemetry::prometheus();
    node.metrics_listener = Some(MetricsListener::new("0.0.0.0:8202", "127.0.0.1:8203"));
    let hcl = node.render().unwrap().hcl;
    assert!(!hcl.contains("metrics_only"), "{hcl}");
    assert_eq!(
        hcl.matches("unauthenticated_metrics_access = true").count(),
        1,
        "{hcl}"
    );

    // Without a metrics listener nothing changes.
    let hcl = openbao_node().render().unwrap().hcl;
    assert_eq!(hcl.matches("listener \"tcp\"").count(), 1, "{hcl}");
}

#[test]
fn metrics_listener_mistakes_are_refused() {
    let with = |address: &str, cluster: &str, telemetry: Telemetry| {
        let mut node = openbao_node();
        node.telemetry = telemetry;
        node.metrics_listener = Some(MetricsListener::new(address, cluster));
        node.render()
    };
    let p = Telemetry::prometheus;
    // Positive control: the production shape renders.
    with("0.0.0.0:8202", "127.0.0.1:8203", p()).unwrap();
    let msg = assert_invalid(
        with("0.0.0.0:8200", "127.0.0.1:8203", p()),
        "metrics_listener.address",
    );
    assert!(msg.contains("already used"), "{msg}");
    let msg = assert_invalid(
        with("0.0.0.0:8202", "0.0.0.0:8201", p()),
        "metrics_listener.cluster_address",
    );
    assert!(msg.contains("already used"), "{msg}");
    let msg = assert_invalid(
        with("0.0.0.0:8202", "0.0.0.0:8203", p()),
        "metrics_listener.cluster_address",
    );
    assert!(msg.contains("loopback"), "{msg}");
    assert_invalid(
        with("0.0.0.0:8202", "127.0.0.1:8202", p()),
        "metrics_listener.cluster_address",
    );
    assert_invalid(
        with("8202", "127.0.0.1:8203", p()),
        "metrics_listener.address",
    );
    let msg = assert_invalid(
        with("0.0.0.0:8202", "127.0.0.1:8203", Telemetry::default()),
        "telemetry.prometheus_retention_time",
    );
    assert!(msg.contains("24h"), "{msg}");
    let msg = assert_invalid(
        with(
            "0.0.0.0:8202",
            "127.0.0.1:8203",
            Telemetry::prometheus_unauthenticated(),
        ),
        "telemetry.unauthenticated_metrics_access",
    );
    assert!(msg.contains("token"), "{msg}");
}

fn static_k1() -> Seal {
    Seal::Static(StaticSeal {
        current_key_id: "k1".into(),
        current_key: "file:///k".into(),
    })
}

#[test]
fn the_old_seal_of_a_migration_is_rendered_disabled_after_the_new_one() {
    // Auto-unseal → Shamir: no new stanza, the old one disabled.
    let mut n = openbao_node();
    n.disabled_seal = Some(static_k1());
    let hcl = render(&n).expect("renders").hcl;
    assert!(
        hcl.contains(
            "seal \"static\" {\n  disabled       = \"true\"\n  current_key_id = \"k1\"\n  \
             current_key    = \"file:///k\"\n}"
        ),
        "{hcl}"
    );
    // Static → transit: the new stanza first, then the disabled old one.
    n.seal = Seal::Transit(TransitSeal::new("https://u:8200", "autounseal", None));
    let hcl = render(&n).expect("renders").hcl;
    let new = hcl
        .find("seal \"transit\" {\n  address ")
        .expect("new stanza");
    let old = hcl
        .find("seal \"static\" {\n  disabled ")
        .expect("old stanza");
    assert!(new < old, "{hcl}");
}

#[test]
fn a_disabled_shamir_or_same_kind_seal_is_refused() {
    let mut n = openbao_node();
    n.disabled_seal = Some(Seal::Shamir);
    let Err(e) = render(&n) else {
        panic!("not refused")
    };
    let msg = e.to_string();
    assert!(msg.contains("disabled_seal"), "{msg}");
    n.seal = static_k1();
    n.disabled_seal = Some(static_k1());
    let Err(e) = render(&n) else {
        panic!("not refused")
    };
    let msg = e.to_string();
    assert!(msg.contains("disabled_seal"), "{msg}");
    // The engine check covers the old seal too.
    let mut v = vault_node();
    v.disabled_seal = Some(static_k1());
    assert_unsupported(render(&v), Engine::Vault, "static");
}
