//! The checks a node's configuration must pass before anything is rendered: what the engine
//! supports, value formats (durations, host:port, addresses), and combinations that a server
//! would silently half-ignore.

use secrecy::ExposeSecret;

use crate::error::RenderError;
use crate::model::{
    AuditDevice, AuditKind, ConsulScheme, ListenerTls, MetricsListener, NodeConfig, RaftStorage,
    Seal, SocketType, Storage,
};
use vaultops_types::is_go_duration;
use vaultops_types::{is_host_port, split_host_port, Engine};

/// Checks that need the whole node; they run before anything is rendered.
pub(super) struct Ctx<'a> {
    pub(super) node: &'a NodeConfig,
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

    pub(super) fn check(&self) -> Result<(), RenderError> {
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
                if std::iter::once(&n.seal).chain(&n.disabled_seal).any(|s| {
                    matches!(
                        s,
                        Seal::AwsKms(_) | Seal::GcpCkms(_) | Seal::AzureKeyVault(_)
                    )
                }) {
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
                if std::iter::once(&n.seal)
                    .chain(&n.disabled_seal)
                    .any(|s| matches!(s, Seal::Static(_)))
                {
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

        if let Some(m) = &n.metrics_listener {
            self.check_metrics_listener(m)?;
        }

        self.check_seal(&self.node.seal, api_schemes)?;
        if let Some(old) = &self.node.disabled_seal {
            if matches!(old, Seal::Shamir) {
                return Err(self.invalid(
                    "disabled_seal",
                    "shamir",
                    "Shamir has no stanza to disable; a Shamir → auto-unseal migration needs only the new seal",
                ));
            }
            if std::mem::discriminant(old) == std::mem::discriminant(&self.node.seal) {
                return Err(self.invalid(
                    "disabled_seal",
                    "the same kind as seal",
                    "a migration between two seals of one kind is a key rotation, not a seal migration",
                ));
            }
            self.check_seal(old, api_schemes)?;
        }

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

    fn check_metrics_listener(&self, m: &MetricsListener) -> Result<(), RenderError> {
        let n = self.node;
        self.host_port("metrics_listener.address", &m.address)?;
        self.host_port("metrics_listener.cluster_address", &m.cluster_address)?;
        let mut in_use = vec![&n.listener.address, &n.listener.cluster_address];
        for (field, value) in [
            ("metrics_listener.address", &m.address),
            ("metrics_listener.cluster_address", &m.cluster_address),
        ] {
            if in_use.iter().any(|other| same_socket(other, value)) {
                return Err(self.invalid(
                    field,
                    value,
                    "already used by another listener or port of this node: give the metrics \
                     listener its own port (two listeners on one cluster address fail to bind)",
                ));
            }
            in_use.push(value);
        }
        let loopback = split_host_port(&m.cluster_address).is_some_and(|(host, _)| {
            host == "localhost"
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
        if !loopback {
            return Err(self.invalid(
                "metrics_listener.cluster_address",
                &m.cluster_address,
                "put it on loopback, e.g. 127.0.0.1:8203: the metrics listener's cluster port \
                 serves no one, and the nodes reach each other on the API listener's",
            ));
        }
        if n.telemetry.prometheus_retention_time.is_none() {
            return Err(self.invalid(
                "telemetry.prometheus_retention_time",
                "None",
                "a metrics listener needs the Prometheus format: set a retention such as \"24h\"",
            ));
        }
        if n.telemetry.unauthenticated_metrics_access {
            return Err(self.invalid(
                "telemetry.unauthenticated_metrics_access",
                "true",
                "with a metrics listener the API listener should require a token for metrics; \
                 set it false (Telemetry::prometheus())",
            ));
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

    fn check_seal(&self, seal: &Seal, schemes: &[&str]) -> Result<(), RenderError> {
        match seal {
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

/// Whether two `host:port` listen addresses would bind the same port: the same port, and the
/// same host or a wildcard (`0.0.0.0`, `::`) on either side.
fn same_socket(a: &str, b: &str) -> bool {
    let wildcard = |h: &str| matches!(h, "" | "0.0.0.0" | "[::]" | "::");
    match (split_host_port(a), split_host_port(b)) {
        (Some((ha, pa)), Some((hb, pb))) => pa == pb && (ha == hb || wildcard(ha) || wildcard(hb)),
        _ => a == b,
    }
}
