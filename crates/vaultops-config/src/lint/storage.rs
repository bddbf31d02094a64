//! `storage` and `ha_storage` blocks: one of each at most, the backend's fields, raft's
//! `retry_join`.

use super::check::*;
use super::tree::*;
use super::*;

impl Linter {
    // --- storage -----------------------------------------------------------------------------

    /// Checks the storage blocks; returns true when the storage is raft.
    pub(super) fn storage_blocks(&mut self, storage: &[&Node<'_>], ha: &[&Node<'_>]) -> bool {
        let mut raft = false;
        for (i, node) in storage.iter().enumerate() {
            if i == 1 {
                self.error(
                    node,
                    "storage",
                    "a second `storage` block: the server refuses to start (\"only one \
                     \"storage\" block is permitted\")",
                    "keep exactly one storage block",
                );
            }
            if let Some(kind) = self.one_label(node, "storage", "raft") {
                raft |= kind == "raft";
                self.storage(node, &kind);
            }
        }
        for node in ha {
            if let Some(kind) = self.one_label(node, &node.name, "raft") {
                if kind == "raft" && raft {
                    self.error(
                        node,
                        &format!("{}.raft", node.name),
                        "raft cannot be both `storage` and `ha_storage`: the server refuses to \
                         start (measured: \"Raft cannot be set both as 'storage' and \
                         'ha_storage'\")",
                        "remove the ha_storage block: raft storage is already highly available",
                    );
                }
            }
        }
        raft
    }

    /// The single label of a block (`storage "raft"`), or a finding.
    pub(super) fn one_label(
        &mut self,
        node: &Node<'_>,
        what: &str,
        example: &str,
    ) -> Option<String> {
        if !node.is_block() {
            self.error(
                node,
                what,
                "expected a block",
                format!("write `{what} \"{example}\" {{ … }}`"),
            );
            return None;
        }
        match node.labels.as_slice() {
            [label] => Some(label.to_ascii_lowercase()),
            [] => {
                self.error(
                    node,
                    what,
                    format!("`{what}` needs its type as a label"),
                    format!("write `{what} \"{example}\" {{ … }}`"),
                );
                None
            }
            more => {
                self.error(
                    node,
                    what,
                    format!("`{what}` takes one label, found {}", more.len()),
                    format!("write `{what} \"{example}\" {{ … }}`"),
                );
                None
            }
        }
    }

    pub(super) fn storage(&mut self, node: &Node<'_>, kind: &str) {
        let path = format!("storage.{kind}");
        match (kind, self.engine) {
            ("raft", engine) => {
                let extra: Fields = if engine == Engine::Vault {
                    RAFT_VAULT
                } else {
                    &[]
                };
                let known = self.fields(
                    &path,
                    node.children(),
                    &[RAFT_COMMON, extra],
                    Unknown::Silent,
                );
                if !node.children().iter().any(|c| c.name == "path") {
                    self.error(
                        node,
                        &format!("{path}.path"),
                        "raft storage needs `path`, the data directory",
                        "add `path = \"/openbao/data\"` (a directory owned by the server user)",
                    );
                }
                for child in known {
                    let child_path = join(&path, &child.name);
                    match child.name.as_str() {
                        "retry_join" => self.retry_join(child, &child_path),
                        "performance_multiplier" => {
                            let v = Self::str_of(child).and_then(|s| s.parse::<i64>().ok());
                            if v.is_some_and(|v| !(0..=10).contains(&v)) {
                                self.error(
                                    child,
                                    &child_path,
                                    "performance_multiplier must be 1 (fastest) to 10",
                                    "use 1 on low-latency networks (measured kill -9 failover \
                                     1.3–2.6 s instead of 8–23 s with the default)",
                                );
                            }
                        }
                        _ => {}
                    }
                }
            }
            ("consul", Engine::Vault) => {
                let known = self.fields(&path, node.children(), &[CONSUL], Unknown::Silent);
                for child in known {
                    if child.name == "token" {
                        self.warning(
                            child,
                            &join(&path, "token"),
                            "the Consul ACL token is written in the configuration file",
                            "leave it out and give the server CONSUL_HTTP_TOKEN in its \
                             environment, or at least keep the file mode 0600",
                        );
                    }
                }
            }
            ("consul", Engine::OpenBao) => self.error(
                node,
                &path,
                "OpenBao has no consul storage: it refuses to start (\"unknown storage type \
                 consul\", measured with 2.7.2)",
                "use integrated storage: `storage \"raft\" { path = \"…\" node_id = \"…\" }` with \
                 `retry_join` blocks for the other nodes",
            ),
            ("file", Engine::OpenBao) => self.error(
                node,
                &path,
                "OpenBao 2.7 removed file storage: it refuses to start (\"unknown storage type \
                 file\", measured)",
                "use `storage \"raft\"`",
            ),
            ("inmem", _) => self.warning(
                node,
                &path,
                "in-memory storage loses every secret when the process stops",
                "use `storage \"raft\"` for anything but throw-away tests",
            ),
            ("postgresql", Engine::OpenBao) => self.warning(
                node,
                &path,
                "postgresql storage is recognised, but its fields are not checked by this linter",
                "check the fields against the OpenBao documentation; raft is what vaultops \
                 tests",
            ),
            (other, Engine::OpenBao) => self.error(
                node,
                &path,
                format!(
                    "OpenBao 2.7.2 has no `{other}` storage: it refuses to start (\"unknown \
                         storage type {other}\")"
                ),
                "use `storage \"raft\"`",
            ),
            (_, Engine::Vault) => self.warning(
                node,
                &path,
                format!("`{kind}` storage is not checked by this linter"),
                "check its fields against the Vault documentation; raft and consul are checked",
            ),
        }
    }

    pub(super) fn retry_join(&mut self, node: &Node<'_>, path: &str) {
        let known = self.fields(path, node.children(), &[RETRY_JOIN], Unknown::Silent);
        let has = |n: &str| known.iter().any(|c| c.name == n);
        if !has("leader_api_addr") && !has("auto_join") {
            self.error(
                node,
                path,
                "retry_join names no peer: it needs `leader_api_addr` (or `auto_join`)",
                "add `leader_api_addr = \"https://node2:8200\"` and `leader_ca_cert_file`",
            );
        }
        if has("leader_client_cert_file") != has("leader_client_key_file") {
            self.error(
                node,
                path,
                "a client certificate needs both `leader_client_cert_file` and \
                 `leader_client_key_file`",
                "give both, or neither",
            );
        }
    }
}
