//! `listener` blocks, their TLS settings, and the `telemetry` block.

use super::check::*;
use super::tree::*;
use super::*;

impl Linter {
    // --- listener ----------------------------------------------------------------------------
    pub(super) fn listener(&mut self, node: &Node<'_>) {
        let Some(kind) = self.one_label(node, "listener", "tcp") else {
            return;
        };
        let path = format!("listener.{kind}");
        let extra: Fields = match self.engine {
            Engine::OpenBao => LISTENER_OPENBAO,
            Engine::Vault => LISTENER_VAULT,
        };
        let known = match kind.as_str() {
            "tcp" => self.fields(
                &path,
                node.children(),
                &[LISTENER_COMMON, extra],
                Unknown::Warned,
            ),
            "unix" => self.fields(&path, node.children(), &[LISTENER_UNIX], Unknown::Warned),
            other => {
                self.error(
                    node,
                    &path,
                    format!("unsupported listener type {other:?}: the server refuses to start"),
                    "use `listener \"tcp\"`",
                );
                return;
            }
        };
        for child in &known {
            let child_path = join(&path, &child.name);
            let nested: Option<Fields> = match child.name.as_str() {
                "telemetry" => Some(LISTENER_TELEMETRY),
                "profiling" => Some(LISTENER_PROFILING),
                "inflight_requests_logging" => Some(LISTENER_INFLIGHT),
                _ => None,
            };
            if let Some(fields) = nested {
                let extra: Fields = match (self.engine, child.name.as_str()) {
                    (Engine::OpenBao, "telemetry") => LISTENER_TELEMETRY_OPENBAO,
                    _ => &[],
                };
                self.fields(
                    &child_path,
                    child.children(),
                    &[fields, extra],
                    Unknown::Warned,
                );
            }
            if child.name == "tls_min_version" || child.name == "tls_max_version" {
                self.tls_version(child, &child_path);
            }
        }
        if kind != "tcp" {
            return;
        }
        let get = |n: &str| known.iter().find(|c| c.name == n).copied();
        let tls_disabled = get("tls_disable").is_some_and(is_true);
        if tls_disabled {
            let address = get("address")
                .and_then(Self::str_of)
                .unwrap_or_else(|| "127.0.0.1:8200".into());
            if !is_loopback(&address) {
                self.warning(
                    get("tls_disable").unwrap_or(node),
                    &join(&path, "tls_disable"),
                    format!(
                        "TLS is off on {address}, which is reachable from other hosts: tokens \
                         and secrets cross the network in clear text"
                    ),
                    "set tls_cert_file and tls_key_file and remove tls_disable; plain HTTP is \
                     only for loopback tests",
                );
            }
        } else {
            for field in ["tls_cert_file", "tls_key_file"] {
                if get(field).is_none() {
                    self.error(
                        node,
                        &join(&path, field),
                        format!(
                            "TLS is on (the default) but `{field}` is missing: the server \
                                 refuses to start"
                        ),
                        format!("add `{field} = \"…\"`, e.g. made with `vaultops tls`"),
                    );
                }
            }
        }
    }

    pub(super) fn tls_version(&mut self, node: &Node<'_>, path: &str) {
        let Some(v) = Self::str_of(node) else {
            return;
        };
        match v.as_str() {
            "tls12" | "tls13" => {}
            "tls10" | "tls11" => self.error(
                node,
                path,
                format!("{v} is below TLS 1.2: TLS 1.0 and 1.1 are deprecated (RFC 8996)"),
                "use \"tls12\" (or \"tls13\" when every client supports it)",
            ),
            other => {
                let near = match other {
                    "1.2" | "TLS1.2" | "tls1.2" | "TLSv1.2" | "tlsv1.2" | "1_2" => "\"tls12\"",
                    "1.3" | "TLS1.3" | "tls1.3" | "TLSv1.3" | "tlsv1.3" => "\"tls13\"",
                    _ => "\"tls12\" or \"tls13\"",
                };
                self.error(
                    node,
                    path,
                    format!(
                        "{other:?} is not a TLS version the server knows: it refuses to start \
                         (measured with OpenBao 2.7.2: \"'{}' value \\\"{other}\\\" not \
                         supported, please specify one of [tls10,tls11,tls12,tls13]\")",
                        node.name
                    ),
                    format!("write {near}"),
                );
            }
        }
    }

    // --- telemetry ---------------------------------------------------------------------------

    pub(super) fn telemetry(&mut self, node: &Node<'_>) {
        if !node.is_block() {
            self.error(
                node,
                "telemetry",
                "expected a block",
                "write `telemetry { … }`",
            );
            return;
        }
        if !node.labels.is_empty() {
            self.error(
                node,
                "telemetry",
                "`telemetry` takes no label",
                "write `telemetry { … }`",
            );
        }
        let extra: Fields = if self.engine == Engine::Vault {
            TELEMETRY_VAULT
        } else {
            &[]
        };
        self.fields(
            "telemetry",
            node.children(),
            &[TELEMETRY, extra],
            Unknown::Warned,
        );
    }
}
