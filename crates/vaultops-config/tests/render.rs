//! Snapshot tests of rendered configurations, and a check that the OpenBao 3-node raft node
//! matches, line for line, the configuration measured to work with OpenBao 2.7.2.

use vaultops_config::*;
use vaultops_types::Engine;

/// The "Working node config" of the OpenBao 2.7.2 probe (shared/facts), node1, without its
/// inline comment. It gave no startup warnings.
const MEASURED_NODE1: &str = r#"
ui           = false
cluster_name = "c_ha_pm1_3"
log_level    = "info"
api_addr     = "https://127.0.0.11:8200"
cluster_addr = "https://127.0.0.11:8201"

storage "raft" {
  path    = "<work>/c_ha_pm1_3/node1/data"
  node_id = "node1"
  performance_multiplier = 1
  retry_join {
    leader_api_addr     = "https://127.0.0.12:8200"
    leader_ca_cert_file = "<work>/tls/ca.pem"
  }
  retry_join {
    leader_api_addr     = "https://127.0.0.13:8200"
    leader_ca_cert_file = "<work>/tls/ca.pem"
  }
}

listener "tcp" {
  address         = "127.0.0.11:8200"
  cluster_address = "127.0.0.11:8201"
  tls_cert_file   = "<work>/tls/node1.pem"
  tls_key_file    = "<work>/tls/node1.key"
  tls_min_version = "tls12"
  telemetry {
    unauthenticated_metrics_access = true
  }
}

telemetry {
  disable_hostname          = true
  prometheus_retention_time = "24h"
}
"#;

/// Node `n` (1-based) of the measured 3-node cluster on 127.0.0.1n.
fn openbao_raft_node(n: u8) -> NodeConfig {
    let mut raft = RaftStorage::new(format!("<work>/c_ha_pm1_3/node{n}/data"));
    raft.performance_multiplier = Some(1);
    raft.retry_join = (1..=3)
        .filter(|&peer| peer != n)
        .map(|peer| RetryJoin::new(format!("https://127.0.0.1{peer}:8200"), "<work>/tls/ca.pem"))
        .collect();
    let mut node = NodeConfig::new(
        Engine::OpenBao,
        format!("node{n}"),
        "c_ha_pm1_3",
        format!("https://127.0.0.1{n}:8200"),
        format!("https://127.0.0.1{n}:8201"),
        Listener::tls(
            format!("127.0.0.1{n}:8200"),
            format!("127.0.0.1{n}:8201"),
            TlsFiles::new(
                format!("<work>/tls/node{n}.pem"),
                format!("<work>/tls/node{n}.key"),
            ),
        ),
        Storage::Raft(raft),
    );
    node.telemetry = Telemetry::prometheus_unauthenticated();
    node
}

/// Lines without comments, blank lines and alignment whitespace.
fn normalized(hcl: &str) -> Vec<String> {
    hcl.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn openbao_node_matches_the_measured_working_config() {
    let rendered = openbao_raft_node(1).render().unwrap();
    assert_eq!(normalized(&rendered.hcl), normalized(MEASURED_NODE1));
    assert!(!rendered.contains_secrets);
    assert!(rendered.api_managed_audit.is_empty());
}

#[test]
fn openbao_three_node_raft() {
    for n in 1..=3 {
        let rendered = openbao_raft_node(n).render().unwrap();
        insta::assert_snapshot!(format!("openbao_raft_node{n}"), rendered.hcl);
    }
}

fn vault_raft_node() -> NodeConfig {
    let mut raft = RaftStorage::new("/vault/data");
    raft.performance_multiplier = Some(1);
    raft.autopilot_reconcile_interval = Some("1s".into());
    raft.autopilot_update_interval = Some("500ms".into());
    raft.retry_join = ["vault-2", "vault-3"]
        .iter()
        .map(|peer| RetryJoin {
            leader_api_addr: format!("https://{peer}:8200"),
            leader_ca_cert_file: Some("/vault/tls/ca.pem".into()),
            leader_tls_servername: Some(format!("{peer}.vault.internal")),
            leader_client_cert_file: Some("/vault/tls/node.pem".into()),
            leader_client_key_file: Some("/vault/tls/node.key".into()),
        })
        .collect();
    let mut tls = TlsFiles::new("/vault/tls/node.pem", "/vault/tls/node.key");
    tls.client_ca_file = Some("/vault/tls/ca.pem".into());
    tls.min_version = TlsVersion::Tls13;
    let mut node = NodeConfig::new(
        Engine::Vault,
        "vault-1",
        "prod",
        "https://vault-1:8200",
        "https://vault-1:8201",
        Listener::tls("0.0.0.0:8200", "0.0.0.0:8201", tls),
        Storage::Raft(raft),
    );
    node.vault_disable_mlock = true;
    node.ui = true;
    node.log_level = LogLevel::Warn;
    node.telemetry = Telemetry::prometheus_unauthenticated();
    node.audit = vec![AuditDevice {
        description: Some("primary file audit".into()),
        ..AuditDevice::file("file", "/vault/audit/audit.log")
    }];
    node
}

#[test]
fn vault_raft() {
    let rendered = vault_raft_node().render().unwrap();
    insta::assert_snapshot!("vault_raft", rendered.hcl);
    // Vault cannot declare audit devices in its config: they come back for the API.
    assert_eq!(rendered.api_managed_audit, vault_raft_node().audit);
    assert_eq!(
        rendered.api_managed_audit[0].options(),
        vec![("file_path", "/vault/audit/audit.log".to_owned())]
    );
}

#[test]
fn vault_consul() {
    let mut node = NodeConfig::new(
        Engine::Vault,
        "vault-1",
        "prod",
        "https://vault-1:8200",
        "https://vault-1:8201",
        Listener::tls(
            "0.0.0.0:8200",
            "0.0.0.0:8201",
            TlsFiles::new("/vault/tls/node.pem", "/vault/tls/node.key"),
        ),
        Storage::Consul(ConsulStorage {
            address: "127.0.0.1:8501".into(),
            path: "vault/".into(),
            scheme: ConsulScheme::Https,
            tls_ca_file: Some("/vault/tls/consul-ca.pem".into()),
        }),
    );
    node.seal = Seal::AwsKms(AwsKmsSeal {
        region: "eu-central-1".into(),
        kms_key_id: "alias/vault-unseal".into(),
    });
    insta::assert_snapshot!("vault_consul", node.render().unwrap().hcl);
}

#[test]
fn vault_cloud_kms_seals() {
    let mut node = vault_raft_node();
    node.seal = Seal::GcpCkms(GcpCkmsSeal {
        project: "my-project".into(),
        region: "global".into(),
        key_ring: "vault".into(),
        crypto_key: "unseal".into(),
    });
    let gcp = node.render().unwrap().hcl;
    node.seal = Seal::AzureKeyVault(AzureKeyVaultSeal {
        tenant_id: "00000000-0000-0000-0000-000000000000".into(),
        vault_name: "vault-unseal-kv".into(),
        key_name: "unseal".into(),
    });
    let azure = node.render().unwrap().hcl;
    insta::assert_snapshot!("vault_gcpckms_seal", seal_stanza(&gcp));
    insta::assert_snapshot!("vault_azurekeyvault_seal", seal_stanza(&azure));
}

/// The `seal` stanza alone, so seal snapshots do not repeat the whole file.
fn seal_stanza(hcl: &str) -> String {
    let start = hcl.find("\nseal ").expect("a seal stanza") + 1;
    let end = start + hcl[start..].find("\n}\n").expect("end of the stanza") + 3;
    hcl[start..end].to_owned()
}

#[test]
fn transit_seal() {
    let mut node = openbao_raft_node(1);
    node.seal = Seal::Transit(TransitSeal::new(
        "https://127.0.0.31:8200",
        "autounseal",
        Some("<work>/tls/ca.pem".into()),
    ));
    let rendered = node.render().unwrap();
    assert!(!rendered.contains_secrets);
    insta::assert_snapshot!("openbao_transit_seal", rendered.hcl);

    // With an explicit token (the probe's form), the token is in the file and flagged.
    let Seal::Transit(t) = &mut node.seal else {
        unreachable!()
    };
    t.token = Some("s.unsealer-token".into());
    t.tls_server_name = Some("unsealer".into());
    let rendered = node.render().unwrap();
    assert!(rendered.contains_secrets);
    insta::assert_snapshot!(
        "openbao_transit_seal_with_token",
        seal_stanza(&rendered.hcl)
    );
}

#[test]
fn static_seal() {
    let mut node = openbao_raft_node(1);
    node.seal = Seal::Static(StaticSeal {
        current_key_id: "20260101-1".into(),
        current_key: "file://<work>/static-keys/unseal-20260101-1.key".into(),
    });
    node.disable_standby_reads = Some(true);
    insta::assert_snapshot!("openbao_static_seal", node.render().unwrap().hcl);
}

#[test]
fn audit_devices() {
    let mut node = openbao_raft_node(1);
    node.audit = vec![
        AuditDevice {
            description: Some("declarative file audit".into()),
            ..AuditDevice::file("cfg-file", "<work>/audit/audit_file.log")
        },
        AuditDevice {
            name: "cfg-socket".into(),
            description: Some("declarative socket audit".into()),
            kind: AuditKind::Socket {
                address: "127.0.0.62:9090".into(),
                socket_type: SocketType::Tcp,
                write_timeout: Some("2s".into()),
            },
        },
        AuditDevice {
            name: "syslog".into(),
            description: None,
            kind: AuditKind::Syslog {
                facility: Some("AUTH".into()),
                tag: Some("openbao".into()),
            },
        },
    ];
    let rendered = node.render().unwrap();
    assert!(rendered.api_managed_audit.is_empty());
    insta::assert_snapshot!("openbao_audit_devices", rendered.hcl);
}

#[test]
fn insecure_single_node_for_tests() {
    let node = NodeConfig::new(
        Engine::OpenBao,
        "solo",
        "test",
        "http://127.0.0.1:8200",
        "https://127.0.0.1:8201",
        Listener::insecure_for_tests("127.0.0.1:8200", "127.0.0.1:8201"),
        Storage::Raft(RaftStorage::new("/tmp/solo/data")),
    );
    insta::assert_snapshot!("openbao_insecure_single_node", node.render().unwrap().hcl);
}

#[test]
fn vault_awskms_seal() {
    let mut node = vault_raft_node();
    node.seal = Seal::AwsKms(AwsKmsSeal {
        region: "eu-central-1".into(),
        kms_key_id: "alias/vault-unseal".into(),
    });
    insta::assert_snapshot!(
        "vault_awskms_seal",
        seal_stanza(&node.render().unwrap().hcl)
    );
}

/// Every node rendered by the snapshot tests above, by snapshot name (seal-only snapshots are
/// linted as the whole file they were cut from).
fn all_variants() -> Vec<(&'static str, NodeConfig)> {
    let mut v: Vec<(&'static str, NodeConfig)> = vec![
        ("openbao_raft_node1", openbao_raft_node(1)),
        ("openbao_raft_node2", openbao_raft_node(2)),
        ("openbao_raft_node3", openbao_raft_node(3)),
        ("vault_raft", vault_raft_node()),
    ];
    let mut consul = vault_raft_node();
    consul.vault_disable_mlock = false;
    consul.storage = Storage::Consul(ConsulStorage {
        address: "127.0.0.1:8501".into(),
        path: "vault/".into(),
        scheme: ConsulScheme::Https,
        tls_ca_file: Some("/vault/tls/consul-ca.pem".into()),
    });
    consul.seal = Seal::AwsKms(AwsKmsSeal {
        region: "eu-central-1".into(),
        kms_key_id: "alias/vault-unseal".into(),
    });
    v.push(("vault_consul", consul));
    let mut aws = vault_raft_node();
    aws.seal = Seal::AwsKms(AwsKmsSeal {
        region: "eu-central-1".into(),
        kms_key_id: "alias/vault-unseal".into(),
    });
    v.push(("vault_awskms_seal", aws));
    let mut gcp = vault_raft_node();
    gcp.seal = Seal::GcpCkms(GcpCkmsSeal {
        project: "my-project".into(),
        region: "global".into(),
        key_ring: "vault".into(),
        crypto_key: "unseal".into(),
    });
    v.push(("vault_gcpckms_seal", gcp));
    let mut azure = vault_raft_node();
    azure.seal = Seal::AzureKeyVault(AzureKeyVaultSeal {
        tenant_id: "00000000-0000-0000-0000-000000000000".into(),
        vault_name: "vault-unseal-kv".into(),
        key_name: "unseal".into(),
    });
    v.push(("vault_azurekeyvault_seal", azure));
    let mut transit = openbao_raft_node(1);
    transit.seal = Seal::Transit(TransitSeal::new(
        "https://127.0.0.31:8200",
        "autounseal",
        Some("<work>/tls/ca.pem".into()),
    ));
    v.push(("openbao_transit_seal", transit.clone()));
    let Seal::Transit(t) = &mut transit.seal else {
        unreachable!()
    };
    t.token = Some("s.unsealer-token".into());
    t.tls_server_name = Some("unsealer".into());
    v.push(("openbao_transit_seal_with_token", transit));
    let mut stat = openbao_raft_node(1);
    stat.seal = Seal::Static(StaticSeal {
        current_key_id: "20260101-1".into(),
        current_key: "file://<work>/static-keys/unseal-20260101-1.key".into(),
    });
    stat.disable_standby_reads = Some(true);
    v.push(("openbao_static_seal", stat));
    let mut audit = openbao_raft_node(1);
    audit.audit = vec![
        AuditDevice::file("cfg-file", "<work>/audit/audit_file.log"),
        AuditDevice {
            name: "cfg-socket".into(),
            description: Some("declarative socket audit".into()),
            kind: AuditKind::Socket {
                address: "127.0.0.62:9090".into(),
                socket_type: SocketType::Tcp,
                write_timeout: Some("2s".into()),
            },
        },
        AuditDevice {
            name: "syslog".into(),
            description: None,
            kind: AuditKind::Syslog {
                facility: Some("AUTH".into()),
                tag: Some("openbao".into()),
            },
        },
    ];
    v.push(("openbao_audit_devices", audit));
    v.push((
        "openbao_insecure_single_node",
        NodeConfig::new(
            Engine::OpenBao,
            "solo",
            "test",
            "http://127.0.0.1:8200",
            "https://127.0.0.1:8201",
            Listener::insecure_for_tests("127.0.0.1:8200", "127.0.0.1:8201"),
            Storage::Raft(RaftStorage::new("/tmp/solo/data")),
        ),
    ));
    v
}

/// The renderer and the linter agree: every rendered variant lints without errors for its
/// engine. The only finding allowed is the documented warning for a transit token written into
/// the file on purpose.
#[test]
fn every_rendered_variant_lints_clean() {
    let host = HostFacts {
        syslog_socket_present: true,
    };
    let variants = all_variants();
    for (name, node) in &variants {
        let rendered = node.render().unwrap();
        let report = lint(&rendered.hcl, node.engine, &host);
        let expected: &[&str] = if *name == "openbao_transit_seal_with_token" {
            &["seal.transit.token"]
        } else {
            &[]
        };
        let paths: Vec<&str> = report.findings.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths, expected,
            "{name}:\n{report}\n--- config ---\n{}",
            rendered.hcl
        );
        assert!(!report.has_errors(), "{name}:\n{report}");
    }

    // Without a syslog socket the syslog audit device is the one error.
    let (_, audit) = variants
        .iter()
        .find(|(n, _)| *n == "openbao_audit_devices")
        .unwrap();
    let report = lint(
        &audit.render().unwrap().hcl,
        Engine::OpenBao,
        &HostFacts::default(),
    );
    let errors: Vec<&str> = report.errors().map(|f| f.path.as_str()).collect();
    assert_eq!(errors, ["audit.syslog.syslog"], "{report}");

    // Every snapshot in tests/snapshots is one of the variants linted above.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        let Some(name) = file
            .strip_prefix("render__")
            .and_then(|f| f.strip_suffix(".snap"))
        else {
            continue;
        };
        assert!(
            variants.iter().any(|(n, _)| *n == name),
            "snapshot {file} has no variant in all_variants(); add it so it is linted"
        );
    }
}
