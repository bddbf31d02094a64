//! The top level of the file: which blocks and attributes it has, and the attributes
//! checked there (addresses, `disable_mlock`, …).

use super::tree::*;
use super::*;

impl Linter {
    // --- top level ---------------------------------------------------------------------------
    pub(super) fn top(&mut self, nodes: &[Node<'_>]) {
        let engine = self.engine;
        let (top_extra, unchecked_extra): (Fields, &[&str]) = match engine {
            Engine::OpenBao => (TOP_OPENBAO, BLOCKS_UNCHECKED_OPENBAO),
            Engine::Vault => (TOP_VAULT, BLOCKS_UNCHECKED_VAULT),
        };
        let mut storage: Vec<&Node<'_>> = Vec::new();
        let mut ha_storage: Vec<&Node<'_>> = Vec::new();
        let mut seals: Vec<&Node<'_>> = Vec::new();
        let mut telemetry = 0;
        let mut listeners = 0;
        let mut attrs: Vec<&Node<'_>> = Vec::new();
        let mut seen_attrs: Vec<&str> = Vec::new();

        for node in nodes {
            let name = node.name.as_str();
            match name {
                "storage" | "backend" => storage.push(node),
                "ha_storage" | "ha_backend" => ha_storage.push(node),
                "listener" => {
                    listeners += 1;
                    self.listener(node);
                }
                "seal" | "kms" => seals.push(node),
                "telemetry" => {
                    telemetry += 1;
                    if telemetry == 2 {
                        self.error(
                            node,
                            "telemetry",
                            "a second `telemetry` block: the server refuses to start \
                             (\"only one 'telemetry' block is permitted\")",
                            "merge the two blocks",
                        );
                    }
                    self.telemetry(node);
                }
                "audit" => self.audit(node),
                "audit_device" => self.audit_device(node),
                "disable_mlock" if engine == Engine::OpenBao => self.openbao_mlock(node),
                "disable_standby_reads" if engine == Engine::Vault => self.error(
                    node,
                    name,
                    "`disable_standby_reads` is an OpenBao setting; Vault does not know it",
                    "remove it (Vault community edition standbys do not serve reads)",
                ),
                _ if BLOCKS_UNCHECKED_COMMON.contains(&name) || unchecked_extra.contains(&name) => {
                    if !node.is_block() {
                        self.error(
                            node,
                            name,
                            "expected a block",
                            format!("write `{name} {{ … }}`"),
                        );
                    }
                }
                _ => match find(&[TOP_COMMON, top_extra], name) {
                    Some(kind) => {
                        if seen_attrs.contains(&name) {
                            self.warning(
                                node,
                                name,
                                format!("`{name}` is set more than once"),
                                "keep one; which one the server uses is not defined",
                            );
                        }
                        seen_attrs.push(name);
                        if self.kind(node, name, kind) {
                            attrs.push(node);
                        }
                    }
                    None => {
                        let mut known = vec![TOP_COMMON, top_extra];
                        known.push(&[
                            ("storage", Kind::Map),
                            ("listener", Kind::Map),
                            ("seal", Kind::Map),
                            ("telemetry", Kind::Map),
                        ]);
                        if engine == Engine::OpenBao {
                            known.push(&[("audit", Kind::Map)]);
                        }
                        self.unknown_field(node, name, &known, Unknown::Warned);
                    }
                },
            }
        }

        for attr in &attrs {
            self.top_attr(attr);
        }

        let raft = self.storage_blocks(&storage, &ha_storage);
        if storage.is_empty() {
            self.push(
                Severity::Error,
                1,
                "storage",
                "no `storage` block: the server refuses to start without one",
                "add `storage \"raft\" { path = \"…\" node_id = \"…\" }`",
            );
        }
        if listeners == 0 {
            self.push(
                Severity::Error,
                1,
                "listener",
                "no `listener` block: the API would not be reachable",
                "add `listener \"tcp\" { address = \"0.0.0.0:8200\" … }` with TLS",
            );
        }
        if raft {
            for field in ["api_addr", "cluster_addr"] {
                if !nodes.iter().any(|n| n.name == field) {
                    let example = if field == "api_addr" {
                        "api_addr = \"https://node1.example.internal:8200\""
                    } else {
                        "cluster_addr = \"https://node1.example.internal:8201\""
                    };
                    self.push(
                        Severity::Error,
                        1,
                        field,
                        format!(
                            "`{field}` is missing: with raft storage every node must advertise \
                             the address other nodes reach it on (request forwarding and \
                             `retry_join` depend on it)"
                        ),
                        format!("add `{example}` with this node's own name"),
                    );
                }
            }
        }
        self.seals(&seals);
    }

    pub(super) fn top_attr(&mut self, node: &Node<'_>) {
        let name = node.name.as_str();
        let Some(value) = Self::str_of(node) else {
            return;
        };
        match name {
            "log_level" => {
                let v = value.trim().to_ascii_lowercase();
                if !["trace", "debug", "info", "warn", "warning", "error", "err"]
                    .contains(&v.as_str())
                {
                    self.error(
                        node,
                        name,
                        format!("log level {value:?} is not one the server knows"),
                        "use trace, debug, info, warn or error",
                    );
                }
            }
            "log_format"
                if !["standard", "json"].contains(&value.trim().to_ascii_lowercase().as_str()) =>
            {
                self.error(
                    node,
                    name,
                    format!("log format {value:?} is not one the server knows"),
                    "use \"standard\" or \"json\"",
                );
            }
            "api_addr" | "cluster_addr" => {
                let ok = ["https://", "http://"]
                    .iter()
                    .any(|s| value.strip_prefix(s).is_some_and(|r| !r.is_empty()));
                if !ok {
                    self.error(
                        node,
                        name,
                        format!("{value:?} is not a URL"),
                        format!(
                            "write it as https://HOST:{}",
                            if name == "api_addr" { 8200 } else { 8201 }
                        ),
                    );
                } else if name == "cluster_addr" && value.starts_with("http://") {
                    self.warning(
                        node,
                        name,
                        "the cluster port always speaks TLS; `http://` here is misleading",
                        "write https://HOST:8201",
                    );
                }
            }
            "unsafe_allow_api_audit_creation" if is_true(node) => self.warning(
                node,
                name,
                "re-enables audit devices created through the API, which OpenBao disables by \
                 default",
                "declare audit devices in the file (`audit \"file\" \"NAME\" { options { … } }`) \
                 and leave this off",
            ),
            "raw_storage_endpoint" if is_true(node) => self.warning(
                node,
                name,
                "exposes sys/raw, which reads and writes storage below every access check",
                "leave it off in production",
            ),
            _ => {}
        }
    }

    pub(super) fn openbao_mlock(&mut self, node: &Node<'_>) {
        let value = Self::str_of(node).and_then(|s| parse_bool(&s));
        let (message, hint) = match value {
            Some(false) => (
                "`disable_mlock = false` makes OpenBao refuse to start (\"OpenBao has dropped \
                 support for mlock. Please remove the line\"; measured with 2.7.2)",
                "remove the line; disable or encrypt swap on the host instead",
            ),
            _ => (
                "`disable_mlock` is a Vault setting: OpenBao 2.7.2 only logs `unknown or \
                 unsupported field disable_mlock` and starts without it (it has no mlock)",
                "remove the line; disable or encrypt swap on the host instead",
            ),
        };
        self.error(node, "disable_mlock", message, hint);
    }
}
