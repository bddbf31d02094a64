//! `seal` blocks: how many, which kinds the engine supports, and each kind's fields.

use super::check::*;
use super::tree::*;
use super::*;

impl Linter {
    // --- seals -------------------------------------------------------------------------------
    pub(super) fn seals(&mut self, seals: &[&Node<'_>]) {
        let mut enabled = 0;
        for (i, node) in seals.iter().enumerate() {
            if i == 2 {
                self.error(
                    node,
                    "seal",
                    "more than two `seal` blocks: the server refuses to start",
                    "keep one seal, or two during a seal migration (one with `disabled = true`)",
                );
            }
            let disabled = node
                .children()
                .iter()
                .any(|c| c.name == "disabled" && is_true(c));
            if !disabled {
                enabled += 1;
            }
            if let Some(kind) = self.one_label(node, "seal", "transit") {
                self.seal(node, &kind);
            }
        }
        if seals.len() == 2 && enabled != 1 {
            self.error(
                seals[1],
                "seal",
                "two `seal` blocks need exactly one with `disabled = true` (a seal migration); \
                 the server refuses to start otherwise",
                "remove one, or mark the old seal `disabled = true` while migrating",
            );
        }
    }

    pub(super) fn seal(&mut self, node: &Node<'_>, kind: &str) {
        let path = format!("seal.{kind}");
        let engine = self.engine;
        let fields: Fields = match (kind, engine) {
            ("transit", _) => SEAL_TRANSIT,
            ("shamir", _) => SEAL_SHAMIR,
            ("static", Engine::OpenBao) => SEAL_STATIC,
            ("static", Engine::Vault) => {
                self.error(
                    node,
                    &path,
                    "the static seal is OpenBao-only; Vault does not know it",
                    "with Vault use `seal \"transit\"` or a cloud KMS seal (awskms, gcpckms, \
                     azurekeyvault)",
                );
                return;
            }
            (
                "awskms" | "gcpckms" | "azurekeyvault" | "alicloudkms" | "ocikms" | "pkcs11",
                Engine::OpenBao,
            ) => {
                self.error(
                    node,
                    &path,
                    format!(
                        "`{kind}` is not built into OpenBao: it refuses to start (\"Error \
                         configuring seal \\\"{kind}\\\": unknown wrapper: {kind}\", measured \
                         with 2.7.2)"
                    ),
                    "use `seal \"transit\"` (another OpenBao as unsealer) or `seal \"static\"`, \
                     or install and configure OpenBao's external KMS plugin yourself",
                );
                return;
            }
            ("awskms", Engine::Vault) => SEAL_AWSKMS,
            ("gcpckms", Engine::Vault) => SEAL_GCPCKMS,
            ("azurekeyvault", Engine::Vault) => SEAL_AZUREKEYVAULT,
            ("alicloudkms" | "ocikms" | "pkcs11", Engine::Vault) => {
                self.warning(
                    node,
                    &path,
                    format!("the `{kind}` seal's fields are not checked by this linter"),
                    "check them against the Vault documentation (pkcs11 needs Vault Enterprise)",
                );
                return;
            }
            (other, _) => {
                self.error(
                    node,
                    &path,
                    format!("unknown seal type {other:?}: the server refuses to start"),
                    match engine {
                        Engine::OpenBao => "use transit or static (or no seal block for Shamir)",
                        Engine::Vault => {
                            "use transit, awskms, gcpckms or azurekeyvault (or no seal block for \
                             Shamir)"
                        }
                    },
                );
                return;
            }
        };
        let known = self.fields(&path, node.children(), &[fields], Unknown::Silent);
        let has = |n: &str| known.iter().any(|c| c.name == n);
        for child in &known {
            if SEAL_SECRETS.contains(&child.name.as_str()) {
                let env = match (kind, engine) {
                    ("transit", Engine::OpenBao) => "BAO_TOKEN (or VAULT_TOKEN)".to_owned(),
                    ("transit", Engine::Vault) => "VAULT_TOKEN".to_owned(),
                    _ => "the provider's environment variables or instance identity".to_owned(),
                };
                self.warning(
                    child,
                    &join(&path, &child.name),
                    format!(
                        "the credential `{}` is written in the configuration file",
                        child.name
                    ),
                    format!(
                        "leave it out and give it to the server through {env}; if it must stay, \
                         keep the file mode 0600"
                    ),
                );
            }
            if child.name == "tls_skip_verify" && is_true(child) {
                self.warning(
                    child,
                    &join(&path, "tls_skip_verify"),
                    "the unsealer's certificate is not verified: anyone on the path can \
                     impersonate it",
                    "set tls_ca_cert to the CA that signed the unsealer's certificate",
                );
            }
        }
        match kind {
            "transit" => {
                for field in ["address", "key_name"] {
                    if !has(field) {
                        self.warning(
                            node,
                            &join(&path, field),
                            format!(
                                "`{field}` is not set: the server then needs it from its \
                                     environment"
                            ),
                            format!("add `{field} = \"…\"` so the file says where the key is"),
                        );
                    }
                }
            }
            "static" => {
                for field in ["current_key_id", "current_key"] {
                    if !has(field) {
                        self.error(
                            node,
                            &join(&path, field),
                            format!("the static seal needs `{field}`"),
                            "add current_key_id = \"20260101-1\" and current_key = \
                             \"file:///path/to/32-byte.key\"",
                        );
                    }
                }
                if has("previous_key") != has("previous_key_id") {
                    self.error(
                        node,
                        &path,
                        "`previous_key` and `previous_key_id` go together",
                        "give both (during a key rotation), or neither",
                    );
                }
                for child in &known {
                    if child.name == "current_key" || child.name == "previous_key" {
                        let v = Self::str_of(child).unwrap_or_default();
                        if !(v.starts_with("file://") || v.starts_with("env://")) {
                            // The value may be key material: it is not echoed.
                            self.error(
                                child,
                                &join(&path, &child.name),
                                "the key is written inline in the configuration file",
                                "put the 32-byte key in a file (mode 0600) and write \
                                 `file:///path/to/key`, or use `env://VARIABLE`",
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
