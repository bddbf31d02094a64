//! What `deploy/` is generated from: [`DeployOptions`] (names, images, sizes) and the
//! per-engine facts ([`Profile`]: binary, paths inside the official image, user, labels).
//!
//! `DeployOptions::default()` is what the committed `deploy/` folder is generated from.

use vaultops_types::Engine;

use crate::GenerateError;

/// Everything the generated files depend on. The defaults are the project's production
/// choices; change a field and regenerate rather than editing the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployOptions {
    /// `cluster_name` in every server config, and the `app.kubernetes.io/instance` label.
    pub cluster_name: String,
    /// Raft voters per cluster: 3 (the seed's HA), 5 or 7; odd, since an even count adds a
    /// node without adding failure tolerance.
    pub replicas: usize,
    /// Pinned OpenBao image. Never `latest`: the seed's `hashicorp/vault:latest` upgrades a
    /// cluster node by node on whatever reschedule happens first. A tag is still mutable (the
    /// registry may point it at other bytes); append the digest to pin the bytes too:
    /// `quay.io/openbao/openbao:2.7.2@sha256:<64 hex>` (the runtime then ignores the tag).
    /// Every image field accepts `name:tag`, `name@sha256:…` and `name:tag@sha256:…`;
    /// [`DeployOptions::tag_only_images`] lists those pinned by tag only.
    pub openbao_image: String,
    /// Pinned HashiCorp Vault image (same pin as the testbed's official-image fallback).
    pub vault_image: String,
    /// Image of the audit sink (a busybox `nc` that forwards the socket audit stream to the
    /// container log). Any image with `/bin/sh` and busybox `nc` works.
    pub audit_sink_image: String,
    pub kubernetes: KubernetesOptions,
    pub app: AppOptions,
    pub prometheus: PrometheusOptions,
}

/// Kubernetes-only settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubernetesOptions {
    /// Namespace of the OpenBao StatefulSet (kept apart from the application: the server's
    /// ServiceAccount may patch pods in its own namespace).
    pub openbao_namespace: String,
    /// Namespace of the Vault variant.
    pub vault_namespace: String,
    /// Raft data volume per pod (the seed's 10Gi).
    pub data_storage: String,
    /// File audit log volume per pod.
    pub audit_storage: String,
    /// `storageClassName` of both claims; `None` uses the cluster default.
    pub storage_class: Option<String>,
    /// Namespace Prometheus (and the blackbox exporter) run in: the NetworkPolicy lets only
    /// that namespace reach the metrics port.
    pub prometheus_namespace: String,
}

/// The application that reads secrets (the seed's `atmr-api`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppOptions {
    pub namespace: String,
    pub name: String,
    /// The application's image; a placeholder until the application's pipeline pins one.
    pub image: String,
    pub replicas: usize,
    /// Secret holding `vault-role-id` / `vault-secret-id` (the seed's `vault-credentials`).
    pub credentials_secret: String,
    /// ConfigMap holding the cluster CA as `ca.pem` (the app's `VAULT_CACERT`).
    pub ca_config_map: String,
}

/// Prometheus, blackbox exporter and alert thresholds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrometheusOptions {
    /// Go/Prometheus duration.
    pub scrape_interval: String,
    /// `host:port` of the blackbox exporter that probes the servers' certificates.
    pub blackbox_address: String,
    /// `host:port` of the node exporter (textfile collector) on the host that runs the
    /// snapshot job.
    pub backup_exporter_address: String,
    /// Alert when the last successful snapshot is older than this many hours (daily
    /// snapshots plus slack).
    pub snapshot_max_age_hours: u32,
    /// Alert when a served certificate expires within this many days.
    pub certificate_min_days: u32,
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self {
            cluster_name: "atmr".to_owned(),
            replicas: 3,
            openbao_image: "quay.io/openbao/openbao:2.7.2".to_owned(),
            vault_image: "hashicorp/vault:1.20.4".to_owned(),
            audit_sink_image: "busybox:1.37.0".to_owned(),
            kubernetes: KubernetesOptions {
                openbao_namespace: "openbao".to_owned(),
                vault_namespace: "vault".to_owned(),
                data_storage: "10Gi".to_owned(),
                audit_storage: "10Gi".to_owned(),
                storage_class: None,
                prometheus_namespace: "monitoring".to_owned(),
            },
            app: AppOptions {
                namespace: "atmr".to_owned(),
                name: "atmr-api".to_owned(),
                image: "registry.example.com/atmr/atmr-api:REPLACE-WITH-RELEASE-TAG".to_owned(),
                replicas: 2,
                credentials_secret: "vault-credentials".to_owned(),
                ca_config_map: "vault-ca".to_owned(),
            },
            prometheus: PrometheusOptions {
                scrape_interval: "15s".to_owned(),
                blackbox_address: "blackbox-exporter:9115".to_owned(),
                backup_exporter_address: "backup-host:9100".to_owned(),
                snapshot_max_age_hours: 26,
                certificate_min_days: 30,
            },
        }
    }
}

impl DeployOptions {
    /// Rejects values that would give manifests the API server refuses or a cluster that
    /// misbehaves, naming the field and what to use instead.
    pub(crate) fn validate(&self) -> Result<(), GenerateError> {
        dns_label("cluster_name", &self.cluster_name)?;
        if !matches!(self.replicas, 1 | 3 | 5 | 7) {
            return Err(invalid(
                "replicas",
                &self.replicas.to_string(),
                "use 3, 5 or 7 voters (1 only for experiments): raft needs a majority, so an \
                 even count adds a node without adding failure tolerance",
            ));
        }
        image("openbao_image", &self.openbao_image)?;
        image("vault_image", &self.vault_image)?;
        image("audit_sink_image", &self.audit_sink_image)?;
        image("app.image", &self.app.image)?;
        let k = &self.kubernetes;
        dns_label("kubernetes.openbao_namespace", &k.openbao_namespace)?;
        dns_label("kubernetes.vault_namespace", &k.vault_namespace)?;
        quantity("kubernetes.data_storage", &k.data_storage)?;
        quantity("kubernetes.audit_storage", &k.audit_storage)?;
        if let Some(class) = &k.storage_class {
            dns_label("kubernetes.storage_class", class)?;
        }
        dns_label("kubernetes.prometheus_namespace", &k.prometheus_namespace)?;
        let a = &self.app;
        dns_label("app.namespace", &a.namespace)?;
        dns_label("app.name", &a.name)?;
        dns_label("app.credentials_secret", &a.credentials_secret)?;
        dns_label("app.ca_config_map", &a.ca_config_map)?;
        if a.replicas == 0 {
            return Err(invalid("app.replicas", "0", "run at least one replica"));
        }
        for (ns_field, ns) in [
            ("kubernetes.openbao_namespace", &k.openbao_namespace),
            ("kubernetes.vault_namespace", &k.vault_namespace),
        ] {
            if ns == &a.namespace {
                return Err(invalid(
                    ns_field,
                    ns,
                    "keep the servers out of the application's namespace: the server's \
                     ServiceAccount may patch every pod of its namespace (service registration)",
                ));
            }
        }
        let p = &self.prometheus;
        duration("prometheus.scrape_interval", &p.scrape_interval)?;
        host_port("prometheus.blackbox_address", &p.blackbox_address)?;
        host_port(
            "prometheus.backup_exporter_address",
            &p.backup_exporter_address,
        )?;
        if p.snapshot_max_age_hours == 0 {
            return Err(invalid(
                "prometheus.snapshot_max_age_hours",
                "0",
                "give the age in hours after which a snapshot is too old, e.g. 26 for daily",
            ));
        }
        if p.certificate_min_days == 0 {
            return Err(invalid(
                "prometheus.certificate_min_days",
                "0",
                "give the number of days of validity below which to alert, e.g. 30",
            ));
        }
        Ok(())
    }
}

impl DeployOptions {
    /// The image fields pinned by a tag without a digest, as `(field, image)`. A tag can be
    /// moved to other bytes by whoever controls the repository; a digest cannot. Not an
    /// error: the digests of the official images cannot be looked up offline, so the defaults
    /// are tags; `vaultops render` prints these as warnings.
    pub fn tag_only_images(&self) -> Vec<(&'static str, &str)> {
        [
            ("openbao_image", self.openbao_image.as_str()),
            ("vault_image", self.vault_image.as_str()),
            ("audit_sink_image", self.audit_sink_image.as_str()),
            ("app.image", self.app.image.as_str()),
        ]
        .into_iter()
        .filter(|(_, image)| !image.contains('@'))
        .collect()
    }
}

fn invalid(field: &str, value: &str, reason: &str) -> GenerateError {
    GenerateError::InvalidOption {
        field: field.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

/// RFC 1123 label: what Kubernetes requires of namespace, Service and most object names.
fn dns_label(field: &str, value: &str) -> Result<(), GenerateError> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            value,
            "use 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or \
             digit (a Kubernetes object name)",
        ))
    }
}

/// An image reference with an explicit tag or digest, never `latest`.
fn image(field: &str, value: &str) -> Result<(), GenerateError> {
    if value.is_empty() || value.chars().any(char::is_whitespace) {
        return Err(invalid(
            field,
            value,
            "give an image reference such as repo/name:1.2.3",
        ));
    }
    let value = match value.split_once('@') {
        Some((name, digest)) => {
            let hex = digest.strip_prefix("sha256:").unwrap_or_default();
            if hex.len() != 64 || !hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
                return Err(invalid(
                    field,
                    value,
                    "a digest is @sha256: followed by 64 lowercase hex digits, as `docker \
                     buildx imagetools inspect`, `crane digest` or `skopeo inspect` print it",
                ));
            }
            if name.is_empty() {
                return Err(invalid(
                    field,
                    value,
                    "the image name is missing before the @",
                ));
            }
            // name@digest without a tag is fully pinned.
            let last = name.rsplit('/').next().unwrap_or(name);
            if !last.contains(':') {
                return Ok(());
            }
            name
        }
        None => value,
    };
    // The tag follows the last ':' after the last '/' (a registry port has a '/' after it).
    let last = value.rsplit('/').next().unwrap_or(value);
    match last.rsplit_once(':') {
        Some((_, "latest")) => Err(invalid(
            field,
            value,
            "pin a version: `latest` changes under a running cluster at the next pull",
        )),
        Some((_, tag)) if !tag.is_empty() => Ok(()),
        _ => Err(invalid(
            field,
            value,
            "add a version tag (name:1.2.3) or a digest (name@sha256:…): an untagged image \
             means `latest`",
        )),
    }
}

/// A Kubernetes storage quantity such as `10Gi`.
fn quantity(field: &str, value: &str) -> Result<(), GenerateError> {
    let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &value[digits.len()..];
    let ok = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && ["", "Ki", "Mi", "Gi", "Ti", "k", "M", "G", "T"].contains(&unit);
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            value,
            "use a quantity such as 10Gi or 500Mi",
        ))
    }
}

/// A Prometheus duration such as `15s`, `1m`.
fn duration(field: &str, value: &str) -> Result<(), GenerateError> {
    if vaultops_types::is_prometheus_duration(value) {
        Ok(())
    } else {
        Err(invalid(field, value, "use a duration such as 15s or 1m"))
    }
}

fn host_port(field: &str, value: &str) -> Result<(), GenerateError> {
    if vaultops_types::is_host_port(value) {
        Ok(())
    } else {
        Err(invalid(
            field,
            value,
            "use host:port, e.g. blackbox-exporter:9115",
        ))
    }
}

/// Per-engine facts about the official images and the servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub engine: Engine,
    /// `openbao` or `vault`: object names, host names, label values.
    pub name: &'static str,
    /// Binary on the image's PATH.
    pub binary: &'static str,
    /// Base directory in the official image (`/openbao`, `/vault`).
    pub base: &'static str,
    /// Prefix of the CLI's environment variables (`BAO`, `VAULT`).
    pub env_prefix: &'static str,
}

impl Profile {
    pub const OPENBAO: Profile = Profile {
        engine: Engine::OpenBao,
        name: "openbao",
        binary: "bao",
        base: "/openbao",
        env_prefix: "BAO",
    };
    pub const VAULT: Profile = Profile {
        engine: Engine::Vault,
        name: "vault",
        binary: "vault",
        base: "/vault",
        env_prefix: "VAULT",
    };

    /// User and group of the official images (`adduser -S` on Alpine gives uid 100, the
    /// first `addgroup` gid 1000; the testbed runs the same user).
    pub const UID: u32 = 100;
    pub const GID: u32 = 1000;

    /// The image for this engine.
    pub fn image(self, opts: &DeployOptions) -> &str {
        match self.engine {
            Engine::OpenBao => &opts.openbao_image,
            Engine::Vault => &opts.vault_image,
        }
    }

    /// Kubernetes namespace of this engine's servers.
    pub fn namespace(self, opts: &DeployOptions) -> &str {
        match self.engine {
            Engine::OpenBao => &opts.kubernetes.openbao_namespace,
            Engine::Vault => &opts.kubernetes.vault_namespace,
        }
    }

    /// Directory of the server config inside the container.
    pub fn config_dir(self) -> String {
        format!("{}/config", self.base)
    }

    /// Raft data directory: the image's `file` directory, which exists and belongs to the
    /// server user, so a fresh Docker named volume mounted there inherits that owner.
    pub fn data_dir(self) -> String {
        format!("{}/file", self.base)
    }

    /// Audit log directory: the image's `logs` directory (same reason as [`Self::data_dir`]).
    pub fn audit_dir(self) -> String {
        format!("{}/logs", self.base)
    }

    pub fn tls_dir(self) -> String {
        format!("{}/tls", self.base)
    }

    pub fn ca_file(self) -> String {
        format!("{}/tls/ca.pem", self.base)
    }

    pub fn cert_file(self) -> String {
        format!("{}/tls/node.pem", self.base)
    }

    pub fn key_file(self) -> String {
        format!("{}/tls/node-key.pem", self.base)
    }

    /// Label key Kubernetes service registration sets to `"true"` on the active pod. OpenBao
    /// renamed Vault's `vault-*` labels (checked in the 2.7.2 binary: `openbao-active`,
    /// `openbao-sealed`, `openbao-initialized`, `openbao-perf-standby`, `openbao-version`).
    pub fn active_label(self) -> &'static str {
        match self.engine {
            Engine::OpenBao => "openbao-active",
            Engine::Vault => "vault-active",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        DeployOptions::default().validate().unwrap();
    }

    #[test]
    fn latest_and_untagged_images_are_refused() {
        for bad in [
            "hashicorp/vault:latest",
            "hashicorp/vault",
            "registry:5000/vault",
            "quay.io/openbao/openbao:",
        ] {
            let opts = DeployOptions {
                vault_image: bad.to_owned(),
                ..Default::default()
            };
            let err = opts.validate().unwrap_err().to_string();
            assert!(err.contains("vault_image"), "{bad}: {err}");
        }
        let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
        for good in [
            "registry:5000/vault:1.2.3".to_owned(),
            format!("hashicorp/vault@{digest}"),
            format!("quay.io/openbao/openbao:2.7.2@{digest}"),
            format!("registry:5000/vault:1.2.3@{digest}"),
        ] {
            image("x", &good).unwrap();
        }
        for bad in [
            "hashicorp/vault@sha256:0123abcd".to_owned(),
            format!("hashicorp/vault@sha512:{}", "0".repeat(64)),
            format!("hashicorp/vault@sha256:{}", "A".repeat(64)),
            format!("@{digest}"),
            format!("hashicorp/vault:latest@{digest}"),
        ] {
            let err = image("x", &bad).unwrap_err().to_string();
            assert!(err.contains('x'), "{bad}: {err}");
        }
    }

    #[test]
    fn tag_only_images_are_listed_and_digests_are_not() {
        let mut opts = DeployOptions::default();
        let fields: Vec<&str> = opts.tag_only_images().iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [
                "openbao_image",
                "vault_image",
                "audit_sink_image",
                "app.image"
            ]
        );
        opts.openbao_image = format!("quay.io/openbao/openbao:2.7.2@sha256:{}", "ab".repeat(32));
        opts.validate().unwrap();
        let fields: Vec<&str> = opts.tag_only_images().iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["vault_image", "audit_sink_image", "app.image"]);
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases: Vec<(DeployOptions, &str)> = vec![
            (
                DeployOptions {
                    replicas: 4,
                    ..Default::default()
                },
                "replicas",
            ),
            (
                DeployOptions {
                    cluster_name: "Prod_1".into(),
                    ..Default::default()
                },
                "cluster_name",
            ),
            (
                {
                    let mut o = DeployOptions::default();
                    o.kubernetes.openbao_namespace = o.app.namespace.clone();
                    o
                },
                "kubernetes.openbao_namespace",
            ),
            (
                {
                    let mut o = DeployOptions::default();
                    o.kubernetes.data_storage = "10 GB".into();
                    o
                },
                "kubernetes.data_storage",
            ),
            (
                {
                    let mut o = DeployOptions::default();
                    o.prometheus.blackbox_address = "blackbox".into();
                    o
                },
                "prometheus.blackbox_address",
            ),
            (
                {
                    let mut o = DeployOptions::default();
                    o.prometheus.scrape_interval = "15".into();
                    o
                },
                "prometheus.scrape_interval",
            ),
        ];
        for (opts, field) in cases {
            match opts.validate() {
                Err(GenerateError::InvalidOption { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: expected InvalidOption, got {other:?}"),
            }
        }
    }
}
