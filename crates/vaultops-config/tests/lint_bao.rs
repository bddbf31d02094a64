//! The lint findings are real: for each rule whose effect OpenBao 2.7.2 can show, a real
//! `bao server` is started on the offending file and shown to either refuse to start (exit code
//! and message) or start while ignoring the setting (its warning, or, for `audit_device`, not
//! even that). Each case also asserts that `lint` reports an error at the matching path.
//!
//! And the other direction: a file that sets every top-level, listener and telemetry field the
//! linter accepts for OpenBao starts without a single "unknown or unsupported field" warning, so
//! the linter does not accept fields the server would ignore there.
//!
//! Servers listen on free loopback ports without TLS (except the TLS-version case) and are killed
//! when each test ends.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use vaultops_config::*;
use vaultops_testkit::{free_port, BaoProcess};
use vaultops_types::Engine;

const IGNORED: &str = "unknown or unsupported field";
const DEADLINE: Duration = Duration::from_secs(30);

/// What the server did with the file.
#[derive(Debug)]
enum Outcome {
    /// It exited (before or instead of serving); its status and output.
    Exited(ExitStatus, String),
    /// It answered `sys/health`; its output up to then.
    Serving(String),
}

/// Any HTTP answer from `GET /v1/sys/health` on the plain-HTTP listener.
fn answers(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /v1/sys/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 12];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf.starts_with(b"HTTP/1."))
}

/// A plain-HTTP node on `port` with raft under `dir`; `extra` is appended at top level.
fn config(dir: &Path, port: u16, extra: &str) -> String {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    format!(
        r#"api_addr     = "http://127.0.0.1:{port}"
cluster_addr = "https://127.0.0.1:{cport}"

storage "raft" {{
  path    = "{data}"
  node_id = "lint-probe"
}}

listener "tcp" {{
  address         = "127.0.0.1:{port}"
  cluster_address = "127.0.0.1:{cport}"
  tls_disable     = true
}}
{extra}"#,
        cport = free_port(),
        data = data.display(),
    )
}

/// Starts `bao server` on `hcl` and waits for it to serve or exit.
fn run(dir: &Path, hcl: &str, port: u16) -> Outcome {
    let file = dir.join("server.hcl");
    std::fs::write(&file, hcl).unwrap();
    let config_arg = format!("-config={}", file.display());
    let mut server = BaoProcess::spawn(&["server", &config_arg], &dir.join("server.log"))
        .expect("starting bao server");
    let read = |s: &BaoProcess| s.log_text();
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = server.try_exit_status() {
            return Outcome::Exited(status, read(&server));
        }
        if answers(port) {
            return Outcome::Serving(read(&server));
        }
        assert!(
            Instant::now() < deadline,
            "bao neither served nor exited within {DEADLINE:?}; log:\n{}",
            read(&server)
        );
        // Poll interval; the loop condition is the server's state.
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn lint_openbao(hcl: &str) -> LintReport {
    lint(hcl, Engine::OpenBao, &HostFacts::default())
}

fn assert_lint_error(report: &LintReport, path: &str) {
    assert!(
        report.errors().any(|f| f.path == path),
        "expected a lint error at {path}; report:\n{report}"
    );
}

/// The server refused the file: non-zero exit and `message` in its output.
fn assert_refused(outcome: Outcome, message: &str) {
    match outcome {
        Outcome::Exited(status, log) => {
            assert!(!status.success(), "exited successfully; log:\n{log}");
            assert!(log.contains(message), "log lacks {message:?}:\n{log}");
        }
        Outcome::Serving(log) => panic!("the server accepted the file; log:\n{log}"),
    }
}

/// The server started; its output up to then.
fn assert_serving(outcome: Outcome) -> String {
    match outcome {
        Outcome::Serving(log) => log,
        Outcome::Exited(status, log) => panic!("the server exited ({status}); log:\n{log}"),
    }
}

fn case(extra: &str) -> (tempfile::TempDir, u16, String) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let hcl = config(dir.path(), port, extra);
    (dir, port, hcl)
}

#[test]
fn the_probe_config_itself_is_clean_and_starts_without_warnings() {
    let (dir, port, hcl) = case("");
    assert!(lint_openbao(&hcl).is_clean(), "{}", lint_openbao(&hcl));
    let log = assert_serving(run(dir.path(), &hcl, port));
    assert!(!log.contains(IGNORED), "{log}");
}

#[test]
fn disable_mlock_true_is_ignored_with_a_warning() {
    let (dir, port, hcl) = case("disable_mlock = true\n");
    assert_lint_error(&lint_openbao(&hcl), "disable_mlock");
    let log = assert_serving(run(dir.path(), &hcl, port));
    assert!(log.contains(&format!("{IGNORED} disable_mlock")), "{log}");
}

#[test]
fn disable_mlock_false_is_fatal() {
    let (dir, port, hcl) = case("disable_mlock = false\n");
    assert_lint_error(&lint_openbao(&hcl), "disable_mlock");
    assert_refused(
        run(dir.path(), &hcl, port),
        "OpenBao has dropped support for mlock",
    );
}

#[test]
fn the_seed_audit_device_block_is_ignored_without_a_word() {
    let block = r#"
audit_device "file" {
  path = "file"
  options = {
    file_path = "/tmp/never-written-audit.log"
    format = "json"
  }
}
"#;
    let (dir, port, hcl) = case(block);
    assert_lint_error(&lint_openbao(&hcl), "audit_device");
    let log = assert_serving(run(dir.path(), &hcl, port));
    // Not even a warning: this is why the linter exists.
    assert!(!log.contains("audit_device"), "{log}");
    assert!(!log.contains(IGNORED), "{log}");
}

#[test]
fn consul_storage_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let hcl = config(dir.path(), port, "")
        .replace("storage \"raft\"", "storage \"consul\"")
        .replace("  node_id = \"lint-probe\"\n", "");
    assert_lint_error(&lint_openbao(&hcl), "storage.consul");
    assert_refused(run(dir.path(), &hcl, port), "unknown storage type consul");
}

#[test]
fn tls_min_version_1_2_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert_file, key_file) = (dir.path().join("node.pem"), dir.path().join("node.key"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
    let hcl = config(dir.path(), port, "").replace(
        "  tls_disable     = true\n",
        &format!(
            "  tls_cert_file   = \"{}\"\n  tls_key_file    = \"{}\"\n  tls_min_version = \"1.2\"\n",
            cert_file.display(),
            key_file.display()
        ),
    );
    assert_lint_error(&lint_openbao(&hcl), "listener.tcp.tls_min_version");
    assert_refused(
        run(dir.path(), &hcl, port),
        "'tls_min_version' value \"1.2\" not supported",
    );
}

#[test]
fn audit_with_one_label_is_fatal() {
    let (dir, port, hcl) = case(
        "audit \"file\" {\n  options {\n    file_path = \"/tmp/never-written-audit.log\"\n  }\n}\n",
    );
    assert_lint_error(&lint_openbao(&hcl), "audit.file");
    assert_refused(run(dir.path(), &hcl, port), "audit type must be specified");
}

#[test]
fn audit_options_at_stanza_level_are_ignored_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let audit_log = dir.path().join("audit.log");
    let extra = format!(
        "audit \"file\" \"f\" {{\n  file_path = \"{0}\"\n  options {{\n    file_path = \"{0}\"\n  }}\n}}\n",
        audit_log.display()
    );
    let hcl = config(dir.path(), port, &extra);
    assert_lint_error(&lint_openbao(&hcl), "audit.file.f.file_path");
    let log = assert_serving(run(dir.path(), &hcl, port));
    assert!(log.contains(&format!("{IGNORED} file_path")), "{log}");
}

#[test]
fn cloud_kms_seals_are_fatal() {
    let (dir, port, hcl) =
        case("seal \"awskms\" {\n  region     = \"eu-west-1\"\n  kms_key_id = \"alias/x\"\n}\n");
    assert_lint_error(&lint_openbao(&hcl), "seal.awskms");
    assert_refused(run(dir.path(), &hcl, port), "unknown wrapper: awskms");
}

#[test]
fn unknown_fields_are_ignored_with_a_warning() {
    let (dir, port, hcl) =
        case("clustr_name = \"typo\"\ntelemetry {\n  disable_hostnme = true\n}\n");
    let report = lint_openbao(&hcl);
    assert_lint_error(&report, "clustr_name");
    assert_lint_error(&report, "telemetry.disable_hostnme");
    let log = assert_serving(run(dir.path(), &hcl, port));
    assert!(log.contains(&format!("{IGNORED} clustr_name")), "{log}");
    assert!(log.contains(&format!("{IGNORED} disable_hostnme")), "{log}");
}

/// A value OpenBao accepts for each field the linter lists. A field without an entry fails the
/// test: adding a field to the linter means proving the server knows it.
fn sample(section: &str, field: &str, dir: &Path) -> String {
    let path = |name: &str| format!("{:?}", dir.join(name).display().to_string());
    let v = match (section, field) {
        (_, "log_file") => return path("bao-file.log"),
        (_, "pid_file") => return path("bao.pid"),
        (_, "plugin_directory") => {
            std::fs::create_dir_all(dir.join("plugins")).unwrap();
            return path("plugins");
        }
        ("top", "ui") => "false",
        ("top", "cluster_name") => "\"lint-probe\"",
        ("top", "log_level") | ("top", "log_requests_level") => "\"info\"",
        ("top", "log_format") => "\"standard\"",
        ("top", "log_rotate_bytes") => "1000000",
        ("top", "log_rotate_duration") => "\"24h\"",
        ("top", "log_rotate_max_files") => "2",
        ("top", "default_lease_ttl") => "\"768h\"",
        ("top", "max_lease_ttl") => "\"768h\"",
        ("top", "default_max_request_duration") => "\"90s\"",
        ("top", "plugin_file_uid") => "0",
        ("top", "plugin_file_permissions") => "\"0755\"",
        ("top", "cache_size") => "131072",
        ("top", "cluster_cipher_suites") => "\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\"",
        ("top", "detect_deadlocks") => "\"statelock\"",
        ("top", "plugin_download_behavior") => "\"fail\"",
        (
            "top",
            "disable_cache"
            | "disable_clustering"
            | "disable_printable_check"
            | "introspection_endpoint"
            | "raw_storage_endpoint"
            | "disable_performance_standby"
            | "disable_sealwrap"
            | "disable_indexing"
            | "disable_sentinel_trace"
            | "enable_response_header_hostname"
            | "enable_response_header_raft_node_id"
            | "imprecise_lease_role_tracking"
            | "disable_ssct_tokens"
            | "disable_standby_reads"
            | "unsafe_allow_api_audit_creation"
            | "allow_audit_log_prefixing"
            | "unsafe_cross_namespace_identity"
            | "plugin_auto_download"
            | "plugin_auto_register",
        ) => "false",
        ("listener.tcp", "purpose") => "\"api\"",
        ("listener.tcp", "role") => "\"default\"",
        ("listener.tcp", "max_request_size") => "33554432",
        ("listener.tcp", "max_request_json_memory") => "34078720",
        ("listener.tcp", "max_request_json_strings") => "1000",
        ("listener.tcp", "x_forwarded_for_hop_skips") => "0",
        ("listener.tcp", "tls_acme_alpn_challenge_port" | "tls_acme_http_challenge_port") => "0",
        (
            "listener.tcp",
            "max_request_duration"
            | "http_read_timeout"
            | "http_read_header_timeout"
            | "http_write_timeout"
            | "http_idle_timeout",
        ) => "\"90s\"",
        (
            "listener.tcp",
            "require_request_header"
            | "tls_require_and_verify_client_cert"
            | "tls_disable_client_certs"
            | "x_forwarded_for_reject_not_present"
            | "x_forwarded_for_reject_not_authorized"
            | "cors_enabled"
            | "disable_unauthed_rekey_endpoints"
            | "disable_unauthed_generate_root_endpoints"
            | "tls_auto_reload"
            | "tls_acme_disable_http_challenge"
            | "tls_acme_disable_alpn_challenge",
        ) => "false",
        // TLS is off in the probe listener: the TLS fields are parsed, not used.
        ("listener.tcp", "tls_cert_file" | "tls_key_file" | "tls_client_ca_file") => {
            "\"/nonexistent.pem\""
        }
        ("listener.tcp", "tls_min_version") => "\"tls12\"",
        ("listener.tcp", "tls_max_version") => "\"tls13\"",
        ("listener.tcp", "tls_cipher_suites") => "\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\"",
        ("listener.tcp", "proxy_protocol_behavior") => "\"use_always\"",
        (
            "listener.tcp",
            "proxy_protocol_authorized_addrs" | "x_forwarded_for_authorized_addrs",
        ) => "\"127.0.0.1\"",
        ("listener.tcp", "cors_allowed_origins") => "[\"https://example.com\"]",
        ("listener.tcp", "cors_allowed_headers") => "[\"X-Custom\"]",
        ("listener.tcp", "tls_acme_domains") => "[]",
        ("listener.tcp", "tls_acme_key_type") => "\"ecdsa256\"",
        (
            "listener.tcp",
            "tls_acme_cache_path"
            | "tls_acme_ca_directory"
            | "tls_acme_test_ca_directory"
            | "tls_acme_ca_root"
            | "tls_acme_eab_key_id"
            | "tls_acme_eab_mac_key"
            | "tls_acme_email",
        ) => "\"\"",
        ("listener.tcp.telemetry", "unauthenticated_metrics_access") => "true",
        // false: the probe's listener must keep serving the whole API.
        ("listener.tcp.telemetry", "metrics_only") => "false",
        ("telemetry", "prometheus_retention_time") => "\"24h\"",
        ("telemetry", "usage_gauge_period") => "\"10m\"",
        ("telemetry", "lease_metrics_epsilon") => "\"1h\"",
        ("telemetry", "maximum_gauge_cardinality") => "500",
        ("telemetry", "num_lease_metrics_buckets") => "168",
        ("telemetry", "prefix_filter") => "[\"+vault\"]",
        ("telemetry", "dogstatsd_tags") => "[]",
        ("telemetry", "metrics_prefix") => "\"vault\"",
        ("telemetry", "disable_hostname" | "filter_default" | "enable_hostname_label") => "true",
        ("telemetry", "stackdriver_debug_logs" | "add_lease_metrics_namespace_labels") => "false",
        // Sinks stay off (empty address, no token): the fields are parsed, nothing is sent.
        ("telemetry", f) if f.starts_with("circonus_") || f.starts_with("stackdriver_") => "\"\"",
        ("telemetry", "statsite_address" | "statsd_address" | "dogstatsd_addr") => "\"\"",
        _ => panic!("no sample value for {section}.{field}: add one to prove OpenBao knows it"),
    };
    v.to_owned()
}

#[test]
fn every_field_the_linter_accepts_is_known_to_openbao() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = config(dir.path(), port, "");
    let fields = |section: &str| supported_fields(Engine::OpenBao, section).unwrap();

    let mut top = String::new();
    for f in fields("top") {
        if ["api_addr", "cluster_addr"].contains(&f) {
            continue; // already in the base file
        }
        writeln!(top, "{f} = {}", sample("top", f, dir.path())).unwrap();
    }
    let mut listener = String::new();
    for f in fields("listener.tcp") {
        match f {
            "address" | "cluster_address" | "tls_disable" => {} // already in the base file
            "telemetry" => {
                listener.push_str("  telemetry {\n");
                for t in fields("listener.tcp.telemetry") {
                    writeln!(listener, "    {t} = {}", sample("listener.tcp.telemetry", t, dir.path())).unwrap();
                }
                listener.push_str("  }\n");
            }
            "profiling" => listener.push_str("  profiling {\n    unauthenticated_pprof_access = false\n  }\n"),
            "inflight_requests_logging" => listener.push_str(
                "  inflight_requests_logging {\n    unauthenticated_in_flight_requests_access = false\n  }\n",
            ),
            "custom_response_headers" => listener.push_str(
                "  custom_response_headers {\n    default = {\n      \"X-Lint-Probe\" = [\"1\"]\n    }\n  }\n",
            ),
            _ => writeln!(listener, "  {f} = {}", sample("listener.tcp", f, dir.path())).unwrap(),
        }
    }
    let mut telemetry = String::from("telemetry {\n");
    for f in fields("telemetry") {
        writeln!(telemetry, "  {f} = {}", sample("telemetry", f, dir.path())).unwrap();
    }
    telemetry.push_str("}\n");

    let hcl = format!(
        "{top}\n{}\n{telemetry}",
        base.replace(
            "  tls_disable     = true\n",
            &format!("  tls_disable     = true\n{listener}")
        )
    );
    let report = lint_openbao(&hcl);
    assert!(report.is_clean(), "{report}\n--- config ---\n{hcl}");

    let log = assert_serving(run(dir.path(), &hcl, port));
    let ignored: Vec<&str> = log.lines().filter(|l| l.contains(IGNORED)).collect();
    assert!(
        ignored.is_empty(),
        "OpenBao ignores fields the linter accepts:\n{}\n--- config ---\n{hcl}",
        ignored.join("\n")
    );
    // The file really was read: a value from it shows in the startup banner.
    assert!(log.contains("max_request_json_strings: \"1000\""), "{log}");
}
