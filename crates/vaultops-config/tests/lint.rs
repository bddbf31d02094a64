//! `lint` on the seed's production file and on small hand-written configs: each rule fires where
//! it should, with the right line and path, and stays quiet on good input.
//!
//! That every `render()` output lints clean is checked in `render.rs`, next to the variants; that
//! the findings match what the real server does is checked in `lint_bao.rs`.

use vaultops_config::*;
use vaultops_types::Engine;

const SEED: &str = include_str!("fixtures/seed-production.hcl");

const SYSLOG: HostFacts = HostFacts {
    syslog_socket_present: true,
};
const NO_SYSLOG: HostFacts = HostFacts {
    syslog_socket_present: false,
};

/// A minimal good OpenBao node on loopback; `extra` is appended at top level.
fn openbao(extra: &str) -> String {
    format!(
        r#"
api_addr     = "https://127.0.0.1:8200"
cluster_addr = "https://127.0.0.1:8201"

storage "raft" {{
  path    = "/openbao/data"
  node_id = "node1"
}}

listener "tcp" {{
  address         = "127.0.0.1:8200"
  tls_cert_file   = "/openbao/tls/node.pem"
  tls_key_file    = "/openbao/tls/node.key"
  tls_min_version = "tls12"
}}
{extra}"#
    )
}

fn find<'a>(report: &'a LintReport, path: &str) -> &'a Finding {
    report
        .findings
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no finding at {path}; report:\n{report}"))
}

fn error_at(report: &LintReport, path: &str) -> Finding {
    let f = find(report, path).clone();
    assert_eq!(f.severity, Severity::Error, "{f}");
    f
}

fn warning_at(report: &LintReport, path: &str) -> Finding {
    let f = find(report, path).clone();
    assert_eq!(f.severity, Severity::Warning, "{f}");
    f
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in the text"))
        + 1
}

#[test]
fn the_minimal_node_is_clean() {
    let report = lint(&openbao(""), Engine::OpenBao, &NO_SYSLOG);
    assert!(report.is_clean(), "{report}");
}

#[test]
fn seed_production_file_for_openbao() {
    let report = lint(SEED, Engine::OpenBao, &NO_SYSLOG);

    let consul = error_at(&report, "storage.consul");
    assert_eq!(consul.line, line_of(SEED, "storage \"consul\""));
    assert!(
        consul.message.contains("unknown storage type consul"),
        "{consul}"
    );
    assert!(consul.hint.contains("storage \"raft\""), "{consul}");

    let audit = error_at(&report, "audit_device");
    assert_eq!(audit.line, line_of(SEED, "audit_device \"file\""));
    assert!(audit.message.contains("NO audit log"), "{audit}");
    // The hint is the corrected stanza, built from the seed's own values.
    assert!(
        audit.hint.contains(
            "audit \"file\" \"file\" {\n  options {\n    file_path = \"/vault/audit/vault_audit.log\"\n    format = \"json\"\n  }\n}"
        ),
        "{audit}"
    );

    let mlock = error_at(&report, "disable_mlock");
    assert_eq!(mlock.line, line_of(SEED, "disable_mlock"));
    assert!(mlock.message.contains("refuse to start"), "{mlock}");

    let tls = error_at(&report, "listener.tcp.tls_min_version");
    assert_eq!(tls.line, line_of(SEED, "tls_min_version"));
    assert!(tls.hint.contains("\"tls12\""), "{tls}");

    // No storage-type-independent noise: exactly these four errors.
    let paths: Vec<&str> = report.errors().map(|f| f.path.as_str()).collect();
    assert_eq!(paths.len(), 4, "{report}");
    assert!(report.has_errors());
}

#[test]
fn seed_production_file_for_vault() {
    let report = lint(SEED, Engine::Vault, &NO_SYSLOG);
    // Consul storage and disable_mlock are Vault settings; the audit block and "1.2" are not.
    assert!(
        report.findings.iter().all(|f| f.path != "storage.consul"),
        "{report}"
    );
    assert!(
        report.findings.iter().all(|f| f.path != "disable_mlock"),
        "{report}"
    );
    let audit = error_at(&report, "audit_device");
    assert!(
        audit.hint.contains(
            "vault audit enable -path=file file file_path=/vault/audit/vault_audit.log format=json"
        ),
        "{audit}"
    );
    error_at(&report, "listener.tcp.tls_min_version");
    assert_eq!(report.errors().count(), 2, "{report}");
}

#[test]
fn unknown_fields_are_errors_everywhere_with_a_suggestion() {
    let text = openbao(
        r#"
clustr_name = "typo"
telemetry {
  disable_hostnme = true
}
seal "transit" {
  address  = "https://unsealer:8200"
  key_name = "autounseal"
  keyname  = "typo"
}
"#,
    )
    .replace(
        "node_id = \"node1\"",
        "node_id = \"node1\"\n  retry_join {\n    leader_api_addr = \"https://n2:8200\"\n    leader_ca_file = \"/ca.pem\"\n  }\n  bogus = 1",
    )
    .replace("tls_min_version = \"tls12\"", "tls_min_version = \"tls12\"\n  tls_cert = \"x\"");
    let report = lint(&text, Engine::OpenBao, &NO_SYSLOG);

    let top = error_at(&report, "clustr_name");
    assert!(top.hint.contains("did you mean `cluster_name`"), "{top}");
    assert!(
        top.message.contains("unknown or unsupported field"),
        "{top}"
    );
    let t = error_at(&report, "telemetry.disable_hostnme");
    assert!(t.hint.contains("`disable_hostname`"), "{t}");
    let raft = error_at(&report, "storage.raft.bogus");
    assert!(raft.message.contains("does not report it"), "{raft}");
    assert_eq!(raft.line, line_of(&text, "bogus = 1"));
    error_at(&report, "storage.raft.retry_join.leader_ca_file");
    error_at(&report, "listener.tcp.tls_cert");
    error_at(&report, "seal.transit.keyname");
    assert_eq!(report.errors().count(), 6, "{report}");
}

#[test]
fn object_syntax_counts_as_a_block_as_in_hcl_v1() {
    let text = openbao(
        r#"
telemetry = {
  disable_hostname = true
}
audit "file" "f" {
  options = {
    file_path = "/a.log"
  }
}
"#,
    );
    let report = lint(&text, Engine::OpenBao, &NO_SYSLOG);
    assert!(report.is_clean(), "{report}");
}

#[test]
fn audit_rules() {
    // One label: fatal in OpenBao.
    let r = lint(
        &openbao("audit \"file\" {\n  options { file_path = \"/a\" }\n}\n"),
        Engine::OpenBao,
        &NO_SYSLOG,
    );
    let f = error_at(&r, "audit.file");
    assert!(f.message.contains("audit type must be specified"), "{f}");

    // Options at stanza level: ignored by OpenBao.
    let text = openbao("audit \"file\" \"f\" {\n  file_path = \"/a\"\n  options {\n    file_path = \"/a\"\n  }\n}\n");
    let r = lint(&text, Engine::OpenBao, &NO_SYSLOG);
    let f = error_at(&r, "audit.file.f.file_path");
    assert_eq!(f.line, line_of(&text, "  file_path = \"/a\""));
    assert!(f.hint.contains("options"), "{f}");
    assert_eq!(r.errors().count(), 1, "{r}");

    // Missing required option, unknown option, unknown type.
    let r = lint(
        &openbao("audit \"file\" \"f\" {\n  options {\n    mode = \"0600\"\n    frmat = \"json\"\n  }\n}\naudit \"kafka\" \"k\" {}\n"),
        Engine::OpenBao,
        &NO_SYSLOG,
    );
    error_at(&r, "audit.file.f.options.file_path");
    let f = error_at(&r, "audit.file.f.options.frmat");
    assert!(f.hint.contains("`format`"), "{f}");
    error_at(&r, "audit.kafka.k");

    // Vault has no declarative audit devices.
    let r = lint(
        &openbao("audit \"file\" \"f\" {\n  options { file_path = \"/a\" }\n}\n"),
        Engine::Vault,
        &NO_SYSLOG,
    );
    let f = error_at(&r, "audit");
    assert!(f.hint.contains("API"), "{f}");
}

#[test]
fn log_raw_true_is_an_error_and_false_is_clean() {
    // Every spelling the servers read as true (Go's ParseBool), quoted or not.
    for value in ["true", "\"true\"", "\"1\"", "\"TRUE\""] {
        let text = openbao(&format!(
            "audit \"file\" \"f\" {{\n  options {{\n    file_path = \"/a\"\n    log_raw = {value}\n  }}\n}}\n"
        ));
        let r = lint(&text, Engine::OpenBao, &NO_SYSLOG);
        let f = error_at(&r, "audit.file.f.options.log_raw");
        assert_eq!(f.line, line_of(&text, "log_raw"), "{value}: {f}");
        assert!(f.message.contains("raw secrets"), "{value}: {f}");
        assert!(f.hint.contains("remove log_raw"), "{value}: {f}");
        assert_eq!(r.errors().count(), 1, "{value}: {r}");
    }
    // Positive control: the same device with log_raw false (as the probe used) or absent.
    for value in ["false", "\"false\""] {
        let text = openbao(&format!(
            "audit \"socket\" \"s\" {{\n  options {{\n    address = \"127.0.0.1:9090\"\n    log_raw = {value}\n  }}\n}}\n"
        ));
        let r = lint(&text, Engine::OpenBao, &NO_SYSLOG);
        assert!(r.is_clean(), "{value}: {r}");
    }
    // The seed's `audit_device` form: reported too, and the suggested block leaves it out.
    let text = openbao(
        "audit_device \"file\" {\n  path = \"file\"\n  options = {\n    file_path = \"/a\"\n    log_raw = \"true\"\n  }\n}\n",
    );
    let r = lint(&text, Engine::OpenBao, &NO_SYSLOG);
    let f = error_at(&r, "audit_device.options.log_raw");
    assert_eq!(f.line, line_of(&text, "log_raw"), "{f}");
    let f = error_at(&r, "audit_device");
    assert!(f.hint.contains("file_path = \"/a\""), "{f}");
    assert!(!f.hint.contains("log_raw"), "{f}");
}

#[test]
fn metrics_only_listener_is_openbao_only() {
    let text = openbao(
        "listener \"tcp\" {\n  address = \"127.0.0.1:8202\"\n  tls_disable = true\n  telemetry {\n    metrics_only = true\n    unauthenticated_metrics_access = true\n  }\n}\n",
    );
    let r = lint(&text, Engine::OpenBao, &NO_SYSLOG);
    assert!(r.is_clean(), "{r}");
    let r = lint(&text, Engine::Vault, &NO_SYSLOG);
    let f = error_at(&r, "listener.tcp.telemetry.metrics_only");
    assert_eq!(f.line, line_of(&text, "metrics_only"), "{f}");
}

#[test]
fn syslog_audit_needs_a_syslog_socket() {
    let text = openbao("audit \"syslog\" \"sys\" {\n  options { tag = \"openbao\" }\n}\n");
    let r = lint(&text, Engine::OpenBao, &NO_SYSLOG);
    let f = error_at(&r, "audit.syslog.sys");
    assert!(f.message.contains("no node could become active"), "{f}");
    assert!(f.message.contains("/dev/log"), "{f}");
    let r = lint(&text, Engine::OpenBao, &SYSLOG);
    assert!(r.is_clean(), "{r}");
}

#[test]
fn tls_rules() {
    for (value, hint) in [
        ("1.2", "\"tls12\""),
        ("1.3", "\"tls13\""),
        ("tls14", "\"tls12\" or"),
    ] {
        let r = lint(
            &openbao("").replace("\"tls12\"", &format!("{value:?}")),
            Engine::OpenBao,
            &NO_SYSLOG,
        );
        let f = error_at(&r, "listener.tcp.tls_min_version");
        assert!(f.hint.contains(hint), "{value}: {f}");
    }
    for old in ["tls10", "tls11"] {
        let r = lint(
            &openbao("").replace("\"tls12\"", &format!("{old:?}")),
            Engine::OpenBao,
            &NO_SYSLOG,
        );
        let f = error_at(&r, "listener.tcp.tls_min_version");
        assert!(f.message.contains("below TLS 1.2"), "{f}");
    }
    let r = lint(
        &openbao("").replace("\"tls12\"", "\"tls13\""),
        Engine::OpenBao,
        &NO_SYSLOG,
    );
    assert!(r.is_clean(), "{r}");

    // TLS off: fine on loopback, a warning elsewhere.
    let plain = |addr: &str| {
        openbao("")
            .replace(
                "address         = \"127.0.0.1:8200\"\n",
                &format!("address         = \"{addr}\"\n  tls_disable = true\n"),
            )
            .replace("  tls_cert_file   = \"/openbao/tls/node.pem\"\n", "")
            .replace("  tls_key_file    = \"/openbao/tls/node.key\"\n", "")
    };
    for addr in ["127.0.0.1:8200", "[::1]:8200", "localhost:8200"] {
        let r = lint(&plain(addr), Engine::OpenBao, &NO_SYSLOG);
        assert!(r.is_clean(), "{addr}: {r}");
    }
    for addr in ["0.0.0.0:8200", "10.1.2.3:8200", "node1:8200"] {
        let r = lint(&plain(addr), Engine::OpenBao, &NO_SYSLOG);
        let f = warning_at(&r, "listener.tcp.tls_disable");
        assert!(f.message.contains(addr), "{f}");
        assert!(!r.has_errors(), "{r}");
    }

    // TLS on without a certificate.
    let r = lint(
        &openbao("").replace("  tls_key_file    = \"/openbao/tls/node.key\"\n", ""),
        Engine::OpenBao,
        &NO_SYSLOG,
    );
    error_at(&r, "listener.tcp.tls_key_file");
}

#[test]
fn raft_needs_advertised_addresses() {
    let text = openbao("").replace("api_addr     = \"https://127.0.0.1:8200\"\n", "");
    let r = lint(&text, Engine::OpenBao, &NO_SYSLOG);
    error_at(&r, "api_addr");
    let text = text.replace("cluster_addr = \"https://127.0.0.1:8201\"\n", "");
    let r = lint(&text, Engine::Vault, &NO_SYSLOG);
    error_at(&r, "api_addr");
    error_at(&r, "cluster_addr");
}

#[test]
fn engine_specific_fields() {
    let r = lint(
        &openbao("disable_mlock = true\n"),
        Engine::OpenBao,
        &NO_SYSLOG,
    );
    let f = error_at(&r, "disable_mlock");
    assert!(
        f.message
            .contains("unknown or unsupported field disable_mlock"),
        "{f}"
    );
    let r = lint(
        &openbao("disable_mlock = true\n"),
        Engine::Vault,
        &NO_SYSLOG,
    );
    assert!(r.is_clean(), "{r}");

    let r = lint(
        &openbao("disable_standby_reads = true\n"),
        Engine::Vault,
        &NO_SYSLOG,
    );
    error_at(&r, "disable_standby_reads");
    let r = lint(
        &openbao("disable_standby_reads = true\n"),
        Engine::OpenBao,
        &NO_SYSLOG,
    );
    assert!(r.is_clean(), "{r}");
}

#[test]
fn seal_rules() {
    let key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let r = lint(
        &openbao(&format!(
            "seal \"static\" {{\n  current_key_id = \"k1\"\n  current_key = \"{key}\"\n}}\n"
        )),
        Engine::OpenBao,
        &NO_SYSLOG,
    );
    let f = error_at(&r, "seal.static.current_key");
    assert!(!f.to_string().contains(key), "the key is echoed: {f}");
    assert!(f.hint.contains("file://"), "{f}");

    let stat =
        openbao("seal \"static\" {\n  current_key_id = \"k1\"\n  current_key = \"file:///k\"\n}\n");
    assert!(lint(&stat, Engine::OpenBao, &NO_SYSLOG).is_clean());
    error_at(&lint(&stat, Engine::Vault, &NO_SYSLOG), "seal.static");

    let aws =
        openbao("seal \"awskms\" {\n  region = \"eu-west-1\"\n  kms_key_id = \"alias/x\"\n}\n");
    let f = error_at(&lint(&aws, Engine::OpenBao, &NO_SYSLOG), "seal.awskms");
    assert!(f.message.contains("unknown wrapper: awskms"), "{f}");
    assert!(lint(&aws, Engine::Vault, &NO_SYSLOG).is_clean());

    let token = openbao("seal \"transit\" {\n  address = \"https://u:8200\"\n  key_name = \"k\"\n  token = \"s.x\"\n}\n");
    let r = lint(&token, Engine::OpenBao, &NO_SYSLOG);
    let f = warning_at(&r, "seal.transit.token");
    assert!(f.hint.contains("BAO_TOKEN"), "{f}");
    assert!(!r.has_errors(), "{r}");

    let two = openbao("seal \"transit\" {\n  address = \"https://u:8200\"\n  key_name = \"k\"\n}\nseal \"static\" {\n  current_key_id = \"k1\"\n  current_key = \"file:///k\"\n}\n");
    error_at(&lint(&two, Engine::OpenBao, &NO_SYSLOG), "seal");
    let migrating = two.replace(
        "key_name = \"k\"\n",
        "key_name = \"k\"\n  disabled = true\n",
    );
    let r = lint(&migrating, Engine::OpenBao, &NO_SYSLOG);
    assert!(r.is_clean(), "{r}");
}

#[test]
fn storage_rules() {
    let file = openbao("")
        .replace("storage \"raft\"", "storage \"file\"")
        .replace("  node_id = \"node1\"\n", "");
    let f = error_at(&lint(&file, Engine::OpenBao, &NO_SYSLOG), "storage.file");
    assert!(f.message.contains("unknown storage type file"), "{f}");

    let ha = openbao("ha_storage \"raft\" {\n  path = \"/x\"\n}\n");
    let f = error_at(&lint(&ha, Engine::OpenBao, &NO_SYSLOG), "ha_storage.raft");
    assert!(f.message.contains("both"), "{f}");

    let none = "listener \"tcp\" {\n  address = \"127.0.0.1:8200\"\n  tls_disable = true\n}\n";
    error_at(&lint(none, Engine::OpenBao, &NO_SYSLOG), "storage");

    let pm = openbao("").replace(
        "node_id = \"node1\"",
        "node_id = \"node1\"\n  performance_multiplier = 11",
    );
    error_at(
        &lint(&pm, Engine::OpenBao, &NO_SYSLOG),
        "storage.raft.performance_multiplier",
    );

    let join = openbao("").replace(
        "node_id = \"node1\"",
        "node_id = \"node1\"\n  retry_join {\n    leader_ca_cert_file = \"/ca.pem\"\n  }",
    );
    error_at(
        &lint(&join, Engine::OpenBao, &NO_SYSLOG),
        "storage.raft.retry_join",
    );
}

#[test]
fn value_types_are_checked() {
    let r = lint(
        &openbao("ui = \"yes\"\nmax_lease_ttl = \"1 week\"\nlog_level = \"verbose\"\ndefault_lease_ttl = \"768h\"\n"),
        Engine::OpenBao,
        &NO_SYSLOG,
    );
    error_at(&r, "ui");
    error_at(&r, "max_lease_ttl");
    error_at(&r, "log_level");
    assert_eq!(r.errors().count(), 3, "{r}");

    let r = lint(
        &openbao("storage = \"raft\"\n"),
        Engine::OpenBao,
        &NO_SYSLOG,
    );
    // A second storage (not a block) is reported, not silently skipped.
    assert!(r.has_errors(), "{r}");
}

#[test]
fn a_parse_error_is_one_finding_with_its_line() {
    let text = "ui = true\nlistener \"tcp\" {\n  address = \n}\n";
    let r = lint(text, Engine::OpenBao, &NO_SYSLOG);
    assert_eq!(r.findings.len(), 1, "{r}");
    let f = &r.findings[0];
    assert_eq!(f.severity, Severity::Error);
    assert!(f.line >= 3, "{f}");
    assert!(f.message.contains("does not parse"), "{f}");
}

#[test]
fn report_display_names_line_path_and_hint() {
    let r = lint(SEED, Engine::OpenBao, &NO_SYSLOG);
    let text = r.to_string();
    assert!(
        text.contains("line 20: error: listener.tcp.tls_min_version: "),
        "{text}"
    );
    assert!(text.contains("\n  hint: "), "{text}");
    assert!(text.ends_with("4 error(s), 0 warning(s)"), "{text}");
}

#[test]
fn supported_fields_lists_sections() {
    let top = supported_fields(Engine::OpenBao, "top").unwrap();
    assert!(top.contains(&"disable_standby_reads"));
    assert!(!top.contains(&"disable_mlock"));
    let top = supported_fields(Engine::Vault, "top").unwrap();
    assert!(top.contains(&"disable_mlock"));
    assert!(supported_fields(Engine::OpenBao, "storage.consul").is_none());
    assert!(supported_fields(Engine::Vault, "seal.static").is_none());
    assert!(supported_fields(Engine::OpenBao, "nope").is_none());
}
