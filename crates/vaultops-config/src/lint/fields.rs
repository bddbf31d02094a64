//! The fields each engine supports, per section of the configuration file, with the kind of
//! value each takes. The OpenBao top-level, listener and telemetry lists are proven against the
//! real 2.7.2 server by `tests/lint_bao.rs`; the Vault lists follow HashiCorp's documentation.

use super::Engine;

/// What a field's value must look like (HCL v1 decoding is weak: strings may hold booleans and
/// numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Str,
    Bool,
    Int,
    Duration,
    List,
    /// A nested block/map whose content is not checked.
    Map,
    Any,
}

pub(super) type Fields = &'static [(&'static str, Kind)];

pub(super) const TOP_COMMON: Fields = &[
    ("ui", Kind::Bool),
    ("cluster_name", Kind::Str),
    ("log_level", Kind::Str),
    ("log_format", Kind::Str),
    ("log_file", Kind::Str),
    ("log_rotate_bytes", Kind::Int),
    ("log_rotate_duration", Kind::Duration),
    ("log_rotate_max_files", Kind::Int),
    ("log_requests_level", Kind::Str),
    ("pid_file", Kind::Str),
    ("api_addr", Kind::Str),
    ("cluster_addr", Kind::Str),
    ("disable_clustering", Kind::Bool),
    ("default_lease_ttl", Kind::Duration),
    ("max_lease_ttl", Kind::Duration),
    ("default_max_request_duration", Kind::Duration),
    ("plugin_directory", Kind::Str),
    ("plugin_file_uid", Kind::Int),
    ("plugin_file_permissions", Kind::Any),
    ("cache_size", Kind::Int),
    ("disable_cache", Kind::Bool),
    ("disable_printable_check", Kind::Bool),
    ("introspection_endpoint", Kind::Bool),
    ("raw_storage_endpoint", Kind::Bool),
    ("cluster_cipher_suites", Kind::Str),
    ("disable_performance_standby", Kind::Bool),
    ("disable_sealwrap", Kind::Bool),
    ("disable_indexing", Kind::Bool),
    ("disable_sentinel_trace", Kind::Bool),
    ("enable_response_header_hostname", Kind::Bool),
    ("enable_response_header_raft_node_id", Kind::Bool),
    ("detect_deadlocks", Kind::Str),
    ("imprecise_lease_role_tracking", Kind::Bool),
    ("disable_ssct_tokens", Kind::Bool),
];

pub(super) const TOP_OPENBAO: Fields = &[
    ("disable_standby_reads", Kind::Bool),
    ("unsafe_allow_api_audit_creation", Kind::Bool),
    ("allow_audit_log_prefixing", Kind::Bool),
    ("unsafe_cross_namespace_identity", Kind::Bool),
    ("plugin_auto_download", Kind::Bool),
    ("plugin_auto_register", Kind::Bool),
    ("plugin_download_behavior", Kind::Str),
];

pub(super) const TOP_VAULT: Fields = &[
    ("disable_mlock", Kind::Bool),
    ("license_path", Kind::Str),
    ("plugin_tmpdir", Kind::Str),
    ("experiments", Kind::List),
    ("enable_post_unseal_trace", Kind::Bool),
    ("post_unseal_trace_directory", Kind::Str),
    ("remove_irrevocable_lease_after", Kind::Duration),
    ("administrative_namespace_path", Kind::Str),
];

pub(super) const LISTENER_COMMON: Fields = &[
    ("address", Kind::Str),
    ("cluster_address", Kind::Str),
    ("purpose", Kind::Any),
    ("max_request_size", Kind::Int),
    ("max_request_json_memory", Kind::Int),
    ("max_request_json_strings", Kind::Int),
    ("max_request_duration", Kind::Duration),
    ("require_request_header", Kind::Bool),
    ("tls_disable", Kind::Bool),
    ("tls_cert_file", Kind::Str),
    ("tls_key_file", Kind::Str),
    ("tls_min_version", Kind::Str),
    ("tls_max_version", Kind::Str),
    ("tls_cipher_suites", Kind::Str),
    ("tls_require_and_verify_client_cert", Kind::Bool),
    ("tls_client_ca_file", Kind::Str),
    ("tls_disable_client_certs", Kind::Bool),
    ("http_read_timeout", Kind::Duration),
    ("http_read_header_timeout", Kind::Duration),
    ("http_write_timeout", Kind::Duration),
    ("http_idle_timeout", Kind::Duration),
    ("proxy_protocol_behavior", Kind::Str),
    ("proxy_protocol_authorized_addrs", Kind::Any),
    ("x_forwarded_for_authorized_addrs", Kind::Any),
    ("x_forwarded_for_hop_skips", Kind::Int),
    ("x_forwarded_for_reject_not_present", Kind::Bool),
    ("x_forwarded_for_reject_not_authorized", Kind::Bool),
    ("cors_enabled", Kind::Bool),
    ("cors_allowed_origins", Kind::List),
    ("cors_allowed_headers", Kind::List),
    ("custom_response_headers", Kind::Map),
    ("telemetry", Kind::Map),
    ("profiling", Kind::Map),
    ("inflight_requests_logging", Kind::Map),
];

pub(super) const LISTENER_OPENBAO: Fields = &[
    ("role", Kind::Str),
    ("disable_unauthed_rekey_endpoints", Kind::Bool),
    ("disable_unauthed_generate_root_endpoints", Kind::Bool),
    ("tls_auto_reload", Kind::Bool),
    ("tls_acme_alpn_challenge_port", Kind::Int),
    ("tls_acme_http_challenge_port", Kind::Int),
    ("tls_acme_cache_path", Kind::Str),
    ("tls_acme_ca_directory", Kind::Str),
    ("tls_acme_test_ca_directory", Kind::Str),
    ("tls_acme_ca_root", Kind::Str),
    ("tls_acme_eab_key_id", Kind::Str),
    ("tls_acme_eab_mac_key", Kind::Str),
    ("tls_acme_key_type", Kind::Str),
    ("tls_acme_email", Kind::Str),
    ("tls_acme_domains", Kind::List),
    ("tls_acme_disable_http_challenge", Kind::Bool),
    ("tls_acme_disable_alpn_challenge", Kind::Bool),
];

pub(super) const LISTENER_VAULT: Fields = &[
    ("redact_addresses", Kind::Bool),
    ("redact_cluster_name", Kind::Bool),
    ("redact_version", Kind::Bool),
    ("disable_request_limiter", Kind::Bool),
    ("chroot_namespace", Kind::Str),
    ("x_forwarded_for_client_cert_header", Kind::Str),
    ("x_forwarded_for_client_cert_header_decoders", Kind::Str),
    ("disable_replication_status_endpoints", Kind::Bool),
];

pub(super) const LISTENER_TELEMETRY: Fields = &[("unauthenticated_metrics_access", Kind::Bool)];
/// OpenBao's listener that serves `/v1/sys/metrics` and nothing else (404 "this listener only
/// serves the metrics endpoint" on every other path, measured with 2.7.2).
pub(super) const LISTENER_TELEMETRY_OPENBAO: Fields = &[("metrics_only", Kind::Bool)];
pub(super) const LISTENER_PROFILING: Fields = &[("unauthenticated_pprof_access", Kind::Bool)];
pub(super) const LISTENER_INFLIGHT: Fields =
    &[("unauthenticated_in_flight_requests_access", Kind::Bool)];

pub(super) const LISTENER_UNIX: Fields = &[
    ("address", Kind::Str),
    ("socket_mode", Kind::Str),
    ("socket_user", Kind::Str),
    ("socket_group", Kind::Str),
    ("max_request_size", Kind::Int),
    ("max_request_duration", Kind::Duration),
    ("telemetry", Kind::Map),
    ("profiling", Kind::Map),
];

pub(super) const TELEMETRY: Fields = &[
    ("statsite_address", Kind::Str),
    ("statsd_address", Kind::Str),
    ("disable_hostname", Kind::Bool),
    ("enable_hostname_label", Kind::Bool),
    ("metrics_prefix", Kind::Str),
    ("usage_gauge_period", Kind::Any),
    ("maximum_gauge_cardinality", Kind::Int),
    ("circonus_api_token", Kind::Str),
    ("circonus_api_app", Kind::Str),
    ("circonus_api_url", Kind::Str),
    ("circonus_submission_interval", Kind::Str),
    ("circonus_submission_url", Kind::Str),
    ("circonus_check_id", Kind::Str),
    ("circonus_check_force_metric_activation", Kind::Str),
    ("circonus_check_instance_id", Kind::Str),
    ("circonus_check_search_tag", Kind::Str),
    ("circonus_check_tags", Kind::Str),
    ("circonus_check_display_name", Kind::Str),
    ("circonus_broker_id", Kind::Str),
    ("circonus_broker_select_tag", Kind::Str),
    ("dogstatsd_addr", Kind::Str),
    ("dogstatsd_tags", Kind::List),
    ("prometheus_retention_time", Kind::Duration),
    ("stackdriver_project_id", Kind::Str),
    ("stackdriver_location", Kind::Str),
    ("stackdriver_namespace", Kind::Str),
    ("stackdriver_debug_logs", Kind::Bool),
    ("lease_metrics_epsilon", Kind::Any),
    ("num_lease_metrics_buckets", Kind::Int),
    ("add_lease_metrics_namespace_labels", Kind::Bool),
    ("filter_default", Kind::Bool),
    ("prefix_filter", Kind::List),
];

pub(super) const TELEMETRY_VAULT: Fields = &[("add_mount_point_rollback_metrics", Kind::Bool)];

pub(super) const RAFT_COMMON: Fields = &[
    ("path", Kind::Str),
    ("node_id", Kind::Str),
    ("performance_multiplier", Kind::Int),
    ("trailing_logs", Kind::Int),
    ("snapshot_threshold", Kind::Int),
    ("snapshot_interval", Kind::Duration),
    ("max_entry_size", Kind::Int),
    ("max_batch_entries", Kind::Int),
    ("max_batch_size", Kind::Int),
    ("autopilot_reconcile_interval", Kind::Duration),
    ("autopilot_update_interval", Kind::Duration),
    ("retry_join", Kind::Map),
];

pub(super) const RAFT_VAULT: Fields = &[
    ("autopilot_upgrade_version", Kind::Str),
    ("autopilot_redundancy_zone", Kind::Str),
    ("raft_wal", Kind::Bool),
    ("raft_log_verifier_enabled", Kind::Bool),
    ("raft_log_verification_interval", Kind::Duration),
];

pub(super) const RETRY_JOIN: Fields = &[
    ("leader_api_addr", Kind::Str),
    ("auto_join", Kind::Str),
    ("auto_join_scheme", Kind::Str),
    ("auto_join_port", Kind::Int),
    ("leader_tls_servername", Kind::Str),
    ("leader_ca_cert_file", Kind::Str),
    ("leader_client_cert_file", Kind::Str),
    ("leader_client_key_file", Kind::Str),
    ("leader_ca_cert", Kind::Str),
    ("leader_client_cert", Kind::Str),
    ("leader_client_key", Kind::Str),
];

pub(super) const CONSUL: Fields = &[
    ("address", Kind::Str),
    ("path", Kind::Str),
    ("scheme", Kind::Str),
    ("token", Kind::Str),
    ("tls_ca_file", Kind::Str),
    ("tls_cert_file", Kind::Str),
    ("tls_key_file", Kind::Str),
    ("tls_min_version", Kind::Str),
    ("tls_skip_verify", Kind::Bool),
    ("consistency_mode", Kind::Str),
    ("disable_registration", Kind::Bool),
    ("max_parallel", Kind::Int),
    ("service", Kind::Str),
    ("service_tags", Kind::Str),
    ("service_address", Kind::Str),
    ("session_ttl", Kind::Duration),
    ("lock_wait_time", Kind::Duration),
    ("check_timeout", Kind::Duration),
];

pub(super) const SEAL_TRANSIT: Fields = &[
    ("address", Kind::Str),
    ("token", Kind::Str),
    ("key_name", Kind::Str),
    ("mount_path", Kind::Str),
    ("namespace", Kind::Str),
    ("disable_renewal", Kind::Bool),
    ("tls_ca_cert", Kind::Str),
    ("tls_client_cert", Kind::Str),
    ("tls_client_key", Kind::Str),
    ("tls_server_name", Kind::Str),
    ("tls_skip_verify", Kind::Bool),
    ("disabled", Kind::Bool),
];

pub(super) const SEAL_STATIC: Fields = &[
    ("current_key_id", Kind::Str),
    ("current_key", Kind::Str),
    ("previous_key_id", Kind::Str),
    ("previous_key", Kind::Str),
    ("disabled", Kind::Bool),
];

pub(super) const SEAL_SHAMIR: Fields = &[("disabled", Kind::Bool)];

pub(super) const SEAL_AWSKMS: Fields = &[
    ("region", Kind::Str),
    ("access_key", Kind::Str),
    ("secret_key", Kind::Str),
    ("session_token", Kind::Str),
    ("kms_key_id", Kind::Str),
    ("endpoint", Kind::Str),
    ("disabled", Kind::Bool),
];

pub(super) const SEAL_GCPCKMS: Fields = &[
    ("credentials", Kind::Str),
    ("project", Kind::Str),
    ("region", Kind::Str),
    ("key_ring", Kind::Str),
    ("crypto_key", Kind::Str),
    ("disabled", Kind::Bool),
];

pub(super) const SEAL_AZUREKEYVAULT: Fields = &[
    ("tenant_id", Kind::Str),
    ("client_id", Kind::Str),
    ("client_secret", Kind::Str),
    ("environment", Kind::Str),
    ("vault_name", Kind::Str),
    ("key_name", Kind::Str),
    ("resource", Kind::Str),
    ("disabled", Kind::Bool),
];

/// Seal fields that hold a credential: allowed, but the file then holds a secret.
pub(super) const SEAL_SECRETS: &[&str] = &[
    "token",
    "secret_key",
    "session_token",
    "access_key",
    "client_secret",
];

pub(super) const AUDIT_STANZA: Fields = &[
    ("description", Kind::Str),
    ("local", Kind::Bool),
    ("options", Kind::Map),
];

pub(super) const AUDIT_OPTIONS_COMMON: Fields = &[
    ("format", Kind::Str),
    ("prefix", Kind::Str),
    ("log_raw", Kind::Bool),
    ("hmac_accessor", Kind::Bool),
    ("elide_list_responses", Kind::Bool),
];
pub(super) const AUDIT_OPTIONS_FILE: Fields = &[("file_path", Kind::Str), ("mode", Kind::Str)];
pub(super) const AUDIT_OPTIONS_SOCKET: Fields = &[
    ("address", Kind::Str),
    ("socket_type", Kind::Str),
    ("write_timeout", Kind::Duration),
];
pub(super) const AUDIT_OPTIONS_SYSLOG: Fields = &[("facility", Kind::Str), ("tag", Kind::Str)];

/// Top-level blocks that are accepted but whose content is not checked.
pub(super) const BLOCKS_UNCHECKED_COMMON: &[&str] = &["service_registration", "user_lockout"];
pub(super) const BLOCKS_UNCHECKED_OPENBAO: &[&str] = &["plugin", "initialize"];
pub(super) const BLOCKS_UNCHECKED_VAULT: &[&str] = &[
    "hcp_link",
    "entropy",
    "sentinel",
    "reporting",
    "replication",
    "kms_library",
];

/// The field names [`lint`](crate::lint()) accepts in one section of the file for `engine`,
/// sorted; `None` for a section it does not know. Sections: `top`, `listener.tcp`, `listener.tcp.telemetry`,
/// `telemetry`, `storage.raft`, `storage.raft.retry_join`, `storage.consul`, `seal.TYPE`,
/// `audit`, `audit.TYPE.options`. Blocks checked separately (`storage`, `listener`, `seal`,
/// `audit`, `telemetry`) are not listed under `top`.
///
/// For documentation and for the test that starts a real server with every listed field.
pub fn supported_fields(engine: Engine, section: &str) -> Option<Vec<&'static str>> {
    let openbao = engine == Engine::OpenBao;
    let lists: Vec<Fields> = match section {
        "top" if openbao => vec![TOP_COMMON, TOP_OPENBAO],
        "top" => vec![TOP_COMMON, TOP_VAULT],
        "listener.tcp" if openbao => vec![LISTENER_COMMON, LISTENER_OPENBAO],
        "listener.tcp" => vec![LISTENER_COMMON, LISTENER_VAULT],
        "listener.tcp.telemetry" if openbao => vec![LISTENER_TELEMETRY, LISTENER_TELEMETRY_OPENBAO],
        "listener.tcp.telemetry" => vec![LISTENER_TELEMETRY],
        "telemetry" if openbao => vec![TELEMETRY],
        "telemetry" => vec![TELEMETRY, TELEMETRY_VAULT],
        "storage.raft" if openbao => vec![RAFT_COMMON],
        "storage.raft" => vec![RAFT_COMMON, RAFT_VAULT],
        "storage.raft.retry_join" => vec![RETRY_JOIN],
        "storage.consul" if !openbao => vec![CONSUL],
        "seal.transit" => vec![SEAL_TRANSIT],
        "seal.shamir" => vec![SEAL_SHAMIR],
        "seal.static" if openbao => vec![SEAL_STATIC],
        "seal.awskms" if !openbao => vec![SEAL_AWSKMS],
        "seal.gcpckms" if !openbao => vec![SEAL_GCPCKMS],
        "seal.azurekeyvault" if !openbao => vec![SEAL_AZUREKEYVAULT],
        "audit" if openbao => vec![AUDIT_STANZA],
        "audit.file.options" if openbao => vec![AUDIT_OPTIONS_COMMON, AUDIT_OPTIONS_FILE],
        "audit.socket.options" if openbao => vec![AUDIT_OPTIONS_COMMON, AUDIT_OPTIONS_SOCKET],
        "audit.syslog.options" if openbao => vec![AUDIT_OPTIONS_COMMON, AUDIT_OPTIONS_SYSLOG],
        _ => return None,
    };
    let mut names: Vec<&'static str> = lists
        .iter()
        .flat_map(|l| l.iter())
        .map(|(n, _)| *n)
        .collect();
    names.sort_unstable();
    Some(names)
}

pub(super) fn find(lists: &[Fields], name: &str) -> Option<Kind> {
    lists
        .iter()
        .flat_map(|l| l.iter())
        .find(|(n, _)| *n == name)
        .map(|(_, k)| *k)
}
