//! Turning a [`NodeConfig`] into HCL: engine checks, value checks, and the stanza layout.
//!
//! Stanza order is fixed (top-level attributes, storage, listener, seal, telemetry, audit), so the
//! same input always gives byte-identical output.

use secrecy::ExposeSecret;

use crate::error::RenderError;
use crate::hcl::{Block, Body};
use crate::model::{
    AuditDevice, AuditKind, ConsulScheme, ConsulStorage, ListenerTls, NodeConfig, RaftStorage,
    Rendered, Seal, ServiceRegistration, SocketType, Storage,
};
use vaultops_types::duration::is_go_duration;
use vaultops_types::{is_host_port, Engine};

impl NodeConfig {
    /// Same as [`render`].
    pub fn render(&self) -> Result<Rendered, RenderError> {
        render(self)
    }
}

/// Renders one node's server configuration.
///
/// Engine differences enforced here (each gives [`RenderError::Unsupported`]):
/// - OpenBao: no consul storage; no cloud KMS seals (`awskms`, `gcpckms`, `azurekeyvault` are
///   external plugins in OpenBao; 2.7.2 reports `unknown wrapper`); no `disable_mlock`.
/// - Vault: no static seal; no `disable_standby_reads`; audit devices are not declared in the
///   file but returned in [`Rendered::api_managed_audit`].
pub fn render(node: &NodeConfig) -> Result<Rendered, RenderError> {
    let ctx = Ctx { node };
    ctx.check()?;

    let mut top = Body::default();
    top.comment(&format!(
        "{} server configuration for node {}, rendered by vaultops-config; edit the inputs, not this file.",
        node.engine, node.node_id
    ));
    top.bool("ui", node.ui)
        .str("cluster_name", &node.cluster_name)
        .str("log_level", node.log_level.as_str())
        .str("api_addr", &node.api_addr)
        .str("cluster_addr", &node.cluster_addr);
    if let Some(v) = node.disable_standby_reads {
        top.bool("disable_standby_reads", v);
    }
    if node.vault_disable_mlock {
        top.bool("disable_mlock", true);
    }

    top.blank().block(storage_block(node));
    top.blank().block(listener_block(node));
    let (seal, contains_secrets) = seal_block(&node.seal);
    if let Some(seal) = seal {
        top.blank().block(seal);
    }
    if node.telemetry.has_stanza() {
        let mut body = Body::default();
        if node.telemetry.disable_hostname {
            body.bool("disable_hostname", true);
        }
        body.opt_str(
            "prometheus_retention_time",
            node.telemetry.prometheus_retention_time.as_deref(),
        );
        top.blank().block(Block::new("telemetry", &[], body));
    }

    let api_managed_audit = match node.engine {
        Engine::OpenBao => {
            for device in &node.audit {
                top.blank().block(audit_block(device));
            }
            Vec::new()
        }
        Engine::Vault => node.audit.clone(),
    };
    if let Some(registration) = &node.service_registration {
        service_registration(&mut top, node.engine, registration);
    }

    Ok(Rendered {
        hcl: top.to_file(),
        api_managed_audit,
        contains_secrets,
    })
}

/// The `service_registration` stanza, after a comment saying what it does to the pod.
fn service_registration(top: &mut Body, engine: Engine, registration: &ServiceRegistration) {
    match registration {
        ServiceRegistration::Kubernetes {
            namespace,
            pod_name,
        } => {
            let mut body = Body::default();
            body.str("namespace", namespace).str("pod_name", pod_name);
            top.blank()
                .comment(&format!(
                    "Labels this pod `{}-active: \"true\"` while it is the active node.",
                    engine.as_str()
                ))
                .block(Block::new("service_registration", &["kubernetes"], body));
        }
    }
}

fn storage_block(node: &NodeConfig) -> Block {
    match &node.storage {
        Storage::Raft(raft) => raft_block(&node.node_id, raft),
        Storage::Consul(consul) => consul_block(consul),
    }
}

fn raft_block(node_id: &str, raft: &RaftStorage) -> Block {
    let mut body = Body::default();
    body.str("path", &raft.path).str("node_id", node_id);
    if let Some(pm) = raft.performance_multiplier {
        body.int("performance_multiplier", i64::from(pm));
    }
    body.opt_str(
        "autopilot_reconcile_interval",
        raft.autopilot_reconcile_interval.as_deref(),
    )
    .opt_str(
        "autopilot_update_interval",
        raft.autopilot_update_interval.as_deref(),
    );
    for join in &raft.retry_join {
        let mut jb = Body::default();
        jb.str("leader_api_addr", &join.leader_api_addr)
            .opt_str("leader_ca_cert_file", join.leader_ca_cert_file.as_deref())
            .opt_str(
                "leader_tls_servername",
                join.leader_tls_servername.as_deref(),
            )
            .opt_str(
                "leader_client_cert_file",
                join.leader_client_cert_file.as_deref(),
            )
            .opt_str(
                "leader_client_key_file",
                join.leader_client_key_file.as_deref(),
            );
        body.block(Block::new("retry_join", &[], jb));
    }
    Block::new("storage", &["raft"], body)
}

fn consul_block(consul: &ConsulStorage) -> Block {
    let mut body = Body::default();
    body.str("address", &consul.address)
        .str("path", &consul.path)
        .str("scheme", consul.scheme.as_str())
        .opt_str("tls_ca_file", consul.tls_ca_file.as_deref());
    Block::new("storage", &["consul"], body)
}

fn listener_block(node: &NodeConfig) -> Block {
    let listener = &node.listener;
    let mut body = Body::default();
    body.str("address", &listener.address)
        .str("cluster_address", &listener.cluster_address);
    match &listener.tls {
        ListenerTls::Files(tls) => {
            body.str("tls_cert_file", &tls.cert_file)
                .str("tls_key_file", &tls.key_file)
                .opt_str("tls_client_ca_file", tls.client_ca_file.as_deref())
                .str("tls_min_version", tls.min_version.as_str());
        }
        ListenerTls::DisabledForTests => {
            body.bool("tls_disable", true);
        }
    }
    if listener.unauthenticated_generate_root && node.engine == Engine::OpenBao {
        body.bool("disable_unauthed_generate_root_endpoints", false);
    }
    if node.telemetry.unauthenticated_metrics_access {
        let mut tb = Body::default();
        tb.bool("unauthenticated_metrics_access", true);
        body.block(Block::new("telemetry", &[], tb));
    }
    Block::new("listener", &["tcp"], body)
}

/// The seal stanza (none for Shamir) and whether it holds a secret.
fn seal_block(seal: &Seal) -> (Option<Block>, bool) {
    let mut body = Body::default();
    let (kind, secret) = match seal {
        Seal::Shamir => return (None, false),
        Seal::Transit(t) => {
            body.str("address", &t.address);
            if let Some(token) = &t.token {
                body.str("token", token.expose_secret());
            }
            body.str("key_name", &t.key_name)
                .str("mount_path", &t.mount_path)
                .opt_str("tls_ca_cert", t.tls_ca_cert.as_deref())
                .opt_str("tls_server_name", t.tls_server_name.as_deref());
            ("transit", t.token.is_some())
        }
        Seal::Static(s) => {
            body.str("current_key_id", &s.current_key_id)
                .str("current_key", &s.current_key);
            ("static", false)
        }
        Seal::AwsKms(s) => {
            body.str("region", &s.region)
                .str("kms_key_id", &s.kms_key_id);
            ("awskms", false)
        }
        Seal::GcpCkms(s) => {
            body.str("project", &s.project)
                .str("region", &s.region)
                .str("key_ring", &s.key_ring)
                .str("crypto_key", &s.crypto_key);
            ("gcpckms", false)
        }
        Seal::AzureKeyVault(s) => {
            body.str("tenant_id", &s.tenant_id)
                .str("vault_name", &s.vault_name)
                .str("key_name", &s.key_name);
            ("azurekeyvault", false)
        }
    };
    (Some(Block::new("seal", &[kind], body)), secret)
}

/// OpenBao's declarative form: two labels (type, name), options in a nested block. A single
/// label is fatal and options at stanza level are ignored with a warning (measured).
fn audit_block(device: &AuditDevice) -> Block {
    let mut body = Body::default();
    body.opt_str("description", device.description.as_deref());
    let mut options = Body::default();
    for (key, value) in device.options() {
        options.str(key, &value);
    }
    body.block(Block::new("options", &[], options));
    Block::new("audit", &[device.type_name(), &device.name], body)
}

/// Checks that need the whole node; they run before anything is rendered.
struct Ctx<'a> {
    node: &'a NodeConfig,
}

impl Ctx<'_> {
    fn unsupported(&self, what: &'static str, hint: &'static str) -> RenderError {
        RenderError::Unsupported {
            node: self.node.node_id.clone(),
            engine: self.node.engine,
            what,
            hint,
        }
    }

    fn invalid(&self, field: &str, value: &str, reason: impl Into<String>) -> RenderError {
        RenderError::Invalid {
            node: self.node.node_id.clone(),
            field: field.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }

    fn insecure(&self) -> bool {
        self.node.listener.tls == ListenerTls::DisabledForTests
    }

    fn check(&self) -> Result<(), RenderError> {
        self.check_engine()?;
        self.check_values()
    }

    fn check_engine(&self) -> Result<(), RenderError> {
        let n = self.node;
        match n.engine {
            Engine::OpenBao => {
                if matches!(n.storage, Storage::Consul(_)) {
                    return Err(self.unsupported(
                        "consul storage",
                        "OpenBao 2.7.2 fails with `unknown storage type consul`; use raft \
                         (integrated storage)",
                    ));
                }
                if matches!(
                    n.seal,
                    Seal::AwsKms(_) | Seal::GcpCkms(_) | Seal::AzureKeyVault(_)
                ) {
                    return Err(self.unsupported(
                        "cloud KMS seals (awskms, gcpckms, azurekeyvault)",
                        "they are external KMS plugins in OpenBao, not built in (2.7.2 reports \
                         `unknown wrapper`); use the transit or static seal, or install and \
                         configure the KMS plugin yourself",
                    ));
                }
                if n.vault_disable_mlock {
                    return Err(self.unsupported(
                        "disable_mlock",
                        "OpenBao ignores the field with a warning; leave vault_disable_mlock false",
                    ));
                }
            }
            Engine::Vault => {
                if matches!(n.seal, Seal::Static(_)) {
                    return Err(self.unsupported(
                        "the static seal",
                        "it is OpenBao-only; use transit or a cloud KMS seal with Vault",
                    ));
                }
                if n.disable_standby_reads.is_some() {
                    return Err(self.unsupported(
                        "disable_standby_reads",
                        "it is an OpenBao setting; leave it None for Vault",
                    ));
                }
                if n.vault_disable_mlock && !matches!(n.storage, Storage::Raft(_)) {
                    return Err(self.invalid(
                        "vault_disable_mlock",
                        "true",
                        "HashiCorp recommends disabling mlock only with integrated (raft) \
                         storage; keep mlock with other storage backends",
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_values(&self) -> Result<(), RenderError> {
        let n = self.node;
        if n.node_id.is_empty()
            || !n
                .node_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(self.invalid(
                "node_id",
                &n.node_id,
                "use a non-empty name of letters, digits, '-', '_' and '.'",
            ));
        }
        self.non_empty("cluster_name", &n.cluster_name)?;
        let api_schemes: &[&str] = if self.insecure() {
            &["https://", "http://"]
        } else {
            &["https://"]
        };
        self.url("api_addr", &n.api_addr, api_schemes)?;
        self.url("cluster_addr", &n.cluster_addr, &["https://"])?;
        self.host_port("listener.address", &n.listener.address)?;
        self.host_port("listener.cluster_address", &n.listener.cluster_address)?;
        if let ListenerTls::Files(tls) = &n.listener.tls {
            self.non_empty("listener.tls.cert_file", &tls.cert_file)?;
            self.non_empty("listener.tls.key_file", &tls.key_file)?;
            self.opt_non_empty("listener.tls.client_ca_file", &tls.client_ca_file)?;
        }

        match &n.storage {
            Storage::Raft(raft) => self.check_raft(raft, api_schemes)?,
            Storage::Consul(consul) => {
                self.host_port("storage.consul.address", &consul.address)?;
                self.non_empty("storage.consul.path", &consul.path)?;
                if consul.tls_ca_file.is_some() && consul.scheme == ConsulScheme::Http {
                    return Err(self.invalid(
                        "storage.consul.tls_ca_file",
                        consul.tls_ca_file.as_deref().unwrap_or_default(),
                        "a CA only makes sense with scheme https",
                    ));
                }
            }
        }

        self.check_seal(api_schemes)?;

        if let Some(t) = &n.telemetry.prometheus_retention_time {
            self.duration("telemetry.prometheus_retention_time", t)?;
        }

        let mut names = std::collections::BTreeSet::new();
        for device in &n.audit {
            self.check_audit(device)?;
            if !names.insert(device.name.as_str()) {
                return Err(self.invalid(
                    "audit.name",
                    &device.name,
                    "two audit devices have this name; names are mount paths and must be unique",
                ));
            }
        }
        Ok(())
    }

    fn check_raft(&self, raft: &RaftStorage, schemes: &[&str]) -> Result<(), RenderError> {
        self.non_empty("storage.raft.path", &raft.path)?;
        if let Some(pm) = raft.performance_multiplier {
            if !(1..=10).contains(&pm) {
                return Err(self.invalid(
                    "storage.raft.performance_multiplier",
                    &pm.to_string(),
                    "must be 1 (fastest) to 10; use None for the server default",
                ));
            }
        }
        if let Some(d) = &raft.autopilot_reconcile_interval {
            self.duration("storage.raft.autopilot_reconcile_interval", d)?;
        }
        if let Some(d) = &raft.autopilot_update_interval {
            self.duration("storage.raft.autopilot_update_interval", d)?;
        }
        for join in &raft.retry_join {
            self.url("retry_join.leader_api_addr", &join.leader_api_addr, schemes)?;
            self.opt_non_empty("retry_join.leader_ca_cert_file", &join.leader_ca_cert_file)?;
            self.opt_non_empty(
                "retry_join.leader_tls_servername",
                &join.leader_tls_servername,
            )?;
            match (&join.leader_client_cert_file, &join.leader_client_key_file) {
                (Some(c), Some(k)) => {
                    self.non_empty("retry_join.leader_client_cert_file", c)?;
                    self.non_empty("retry_join.leader_client_key_file", k)?;
                }
                (None, None) => {}
                (Some(c), None) | (None, Some(c)) => {
                    return Err(self.invalid(
                        "retry_join client certificate",
                        c,
                        "give both leader_client_cert_file and leader_client_key_file, or neither",
                    ))
                }
            }
        }
        Ok(())
    }

    fn check_seal(&self, schemes: &[&str]) -> Result<(), RenderError> {
        match &self.node.seal {
            Seal::Shamir => {}
            Seal::Transit(t) => {
                self.url("seal.transit.address", &t.address, schemes)?;
                self.non_empty("seal.transit.key_name", &t.key_name)?;
                self.non_empty("seal.transit.mount_path", &t.mount_path)?;
                self.opt_non_empty("seal.transit.tls_ca_cert", &t.tls_ca_cert)?;
                self.opt_non_empty("seal.transit.tls_server_name", &t.tls_server_name)?;
                if let Some(token) = &t.token {
                    if token.expose_secret().trim().is_empty() {
                        return Err(self.invalid(
                            "seal.transit.token",
                            "[redacted]",
                            format!(
                                "the token is empty; set it, or leave it None and give the server \
                                 {} in its environment",
                                crate::TransitSeal::token_env(self.node.engine)
                            ),
                        ));
                    }
                }
            }
            Seal::Static(s) => {
                self.non_empty("seal.static.current_key_id", &s.current_key_id)?;
                let ok = ["file://", "env://"]
                    .iter()
                    .any(|p| s.current_key.len() > p.len() && s.current_key.starts_with(p));
                if !ok {
                    // The value may be key material: do not echo it.
                    return Err(self.invalid(
                        "seal.static.current_key",
                        "[redacted]",
                        "must be file:///path/to/key or env://VARIABLE; inline keys are refused \
                         so the key never sits in the config file",
                    ));
                }
            }
            Seal::AwsKms(s) => {
                self.non_empty("seal.awskms.region", &s.region)?;
                self.non_empty("seal.awskms.kms_key_id", &s.kms_key_id)?;
            }
            Seal::GcpCkms(s) => {
                self.non_empty("seal.gcpckms.project", &s.project)?;
                self.non_empty("seal.gcpckms.region", &s.region)?;
                self.non_empty("seal.gcpckms.key_ring", &s.key_ring)?;
                self.non_empty("seal.gcpckms.crypto_key", &s.crypto_key)?;
            }
            Seal::AzureKeyVault(s) => {
                self.non_empty("seal.azurekeyvault.tenant_id", &s.tenant_id)?;
                self.non_empty("seal.azurekeyvault.vault_name", &s.vault_name)?;
                self.non_empty("seal.azurekeyvault.key_name", &s.key_name)?;
            }
        }
        Ok(())
    }

    fn check_audit(&self, device: &AuditDevice) -> Result<(), RenderError> {
        let name_ok = !device.name.is_empty()
            && !device.name.starts_with('/')
            && device
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
        if !name_ok {
            return Err(self.invalid(
                "audit.name",
                &device.name,
                "use a mount path of letters, digits, '-', '_', '.', '/' (not starting with '/')",
            ));
        }
        match &device.kind {
            AuditKind::File { file_path } => {
                self.non_empty("audit.file.file_path", file_path)?;
            }
            AuditKind::Socket {
                address,
                socket_type,
                write_timeout,
            } => {
                match socket_type {
                    SocketType::Tcp | SocketType::Udp => {
                        self.host_port("audit.socket.address", address)?
                    }
                    SocketType::Unix => self.non_empty("audit.socket.address", address)?,
                }
                if let Some(t) = write_timeout {
                    self.duration("audit.socket.write_timeout", t)?;
                }
            }
            AuditKind::Syslog { facility, tag } => {
                self.opt_non_empty("audit.syslog.facility", facility)?;
                self.opt_non_empty("audit.syslog.tag", tag)?;
            }
        }
        Ok(())
    }

    fn non_empty(&self, field: &str, value: &str) -> Result<(), RenderError> {
        if value.trim().is_empty() {
            Err(self.invalid(field, value, "must not be empty"))
        } else {
            Ok(())
        }
    }

    fn opt_non_empty(&self, field: &str, value: &Option<String>) -> Result<(), RenderError> {
        match value {
            Some(v) => self.non_empty(field, v),
            None => Ok(()),
        }
    }

    fn url(&self, field: &str, value: &str, schemes: &[&str]) -> Result<(), RenderError> {
        let rest = schemes.iter().find_map(|s| value.strip_prefix(s));
        match rest {
            Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !rest.contains(' ') => {
                Ok(())
            }
            _ => {
                let need = if schemes.len() == 1 {
                    format!("must be a {}host:port URL", schemes[0])
                } else {
                    "must be an https:// (or, with the insecure test listener, http://) URL"
                        .to_owned()
                };
                let hint = if schemes == ["https://"] && value.starts_with("http://") {
                    "; plain http is only allowed with Listener::insecure_for_tests"
                } else {
                    ""
                };
                Err(self.invalid(field, value, format!("{need}{hint}")))
            }
        }
    }

    fn host_port(&self, field: &str, value: &str) -> Result<(), RenderError> {
        if is_host_port(value) {
            Ok(())
        } else {
            Err(self.invalid(field, value, "must be host:port, e.g. 0.0.0.0:8200"))
        }
    }

    fn duration(&self, field: &str, value: &str) -> Result<(), RenderError> {
        if is_go_duration(value) {
            Ok(())
        } else {
            Err(self.invalid(
                field,
                value,
                "must be a Go duration such as \"500ms\", \"10s\", \"24h\" or \"1h30m\"",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
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
}
