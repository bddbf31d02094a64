//! Turning a [`NodeConfig`] into HCL: engine checks, value checks, and the stanza layout.
//!
//! Stanza order is fixed (top-level attributes, storage, listener, seal, telemetry, audit), so the
//! same input always gives byte-identical output.

use secrecy::ExposeSecret;

mod checks;

use crate::error::RenderError;
use crate::hcl::{Block, Body};
use crate::model::{
    AuditDevice, ConsulStorage, ListenerTls, MetricsListener, NodeConfig, RaftStorage, Rendered,
    Seal, ServiceRegistration, Storage,
};
use checks::Ctx;
use vaultops_types::Engine;

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
    if let Some(metrics) = &node.metrics_listener {
        top.blank()
            .comment(&metrics_listener_comment(node.engine))
            .block(metrics_listener_block(node, metrics));
    }
    let (seal, mut contains_secrets) = seal_block(&node.seal, false);
    if let Some(seal) = seal {
        top.blank().block(seal);
    }
    if let Some(old) = &node.disabled_seal {
        let (seal, secret) = seal_block(old, true);
        contains_secrets |= secret;
        if let Some(seal) = seal {
            top.blank()
                .comment("The seal being migrated away from (seal migration).")
                .block(seal);
        }
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

/// Address, cluster address and the API listener's TLS settings: what both listeners share.
fn listener_body(node: &NodeConfig, address: &str, cluster_address: &str) -> Body {
    let mut body = Body::default();
    body.str("address", address)
        .str("cluster_address", cluster_address);
    match &node.listener.tls {
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
    body
}

fn metrics_listener_comment(engine: Engine) -> String {
    let first = match engine {
        Engine::OpenBao => {
            "Prometheus only: /v1/sys/metrics without a token, and every other path answers 404\n\
             here (metrics_only)."
        }
        Engine::Vault => {
            "Prometheus only: /v1/sys/metrics without a token (every other path still needs a\n\
             token here)."
        }
    };
    format!(
        "{first} The API listener above requires a token for metrics. Every tcp\n\
         listener also opens a cluster port: this one's is on loopback, reachable from nowhere."
    )
}

fn metrics_listener_block(node: &NodeConfig, metrics: &MetricsListener) -> Block {
    let mut body = listener_body(node, &metrics.address, &metrics.cluster_address);
    let mut tb = Body::default();
    if node.engine == Engine::OpenBao {
        tb.bool("metrics_only", true);
    }
    tb.bool("unauthenticated_metrics_access", true);
    body.block(Block::new("telemetry", &[], tb));
    Block::new("listener", &["tcp"], body)
}

fn listener_block(node: &NodeConfig) -> Block {
    let listener = &node.listener;
    let mut body = listener_body(node, &listener.address, &listener.cluster_address);
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

/// The seal stanza (none for Shamir) and whether it holds a secret; `disabled` marks the old
/// seal of a seal migration (`disabled = "true"`, first in the stanza).
fn seal_block(seal: &Seal, disabled: bool) -> (Option<Block>, bool) {
    let mut body = Body::default();
    if disabled {
        body.str("disabled", "true");
    }
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

#[cfg(test)]
mod tests;
