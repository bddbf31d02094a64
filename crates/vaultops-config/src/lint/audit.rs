//! `audit` blocks (OpenBao's declared devices) and the seed's `audit_device`, which is not
//! a configuration block at all.

use super::check::*;
use super::tree::*;
use super::*;

impl Linter {
    // --- audit -------------------------------------------------------------------------------
    pub(super) fn audit(&mut self, node: &Node<'_>) {
        if self.engine == Engine::Vault {
            self.error(
                node,
                "audit",
                "Vault has no audit devices declared in the configuration file",
                "enable the device through the API after unseal (`vaultops apply`, or `vault \
                 audit enable file file_path=…`)",
            );
            return;
        }
        if !node.is_block() {
            self.error(
                node,
                "audit",
                "expected a block",
                "write `audit \"file\" \"NAME\" { options { file_path = \"…\" } }`",
            );
            return;
        }
        let (kind, name) = match node.labels.as_slice() {
            [kind, name] => (kind.to_ascii_lowercase(), name.clone()),
            [kind] => {
                self.error(
                    node,
                    &format!("audit.{kind}"),
                    "an audit block needs two labels, its type and its name: with one label \
                     OpenBao refuses to start (\"error parsing 'audit': audit.0: audit type must \
                     be specified\", measured)",
                    format!(
                        "write `audit \"{kind}\" \"{kind}\" {{ … }}` (the second label is the \
                             device's path)"
                    ),
                );
                return;
            }
            _ => {
                self.error(
                    node,
                    "audit",
                    format!(
                        "an audit block needs two labels (type and name), found {}",
                        node.labels.len()
                    ),
                    "write `audit \"file\" \"NAME\" { options { file_path = \"…\" } }`",
                );
                return;
            }
        };
        let path = format!("audit.{kind}.{name}");
        let options_fields: Fields = match kind.as_str() {
            "file" => AUDIT_OPTIONS_FILE,
            "socket" => AUDIT_OPTIONS_SOCKET,
            "syslog" => AUDIT_OPTIONS_SYSLOG,
            other => {
                self.error(
                    node,
                    &path,
                    format!("unknown audit device type {other:?}"),
                    "use file, socket or syslog",
                );
                return;
            }
        };
        let mut known: Vec<&Node<'_>> = Vec::new();
        for child in node.children() {
            let child_path = join(&path, &child.name);
            if let Some(k) = find(&[AUDIT_STANZA], &child.name) {
                if self.kind(child, &child_path, k) {
                    known.push(child);
                }
            } else if find(&[options_fields, AUDIT_OPTIONS_COMMON], &child.name).is_some() {
                // A device option written at stanza level instead of inside `options { }`.
                self.error(
                    child,
                    &child_path,
                    format!(
                        "`{}` is a device option but sits at stanza level: OpenBao ignores it \
                         (only a warning \"unknown or unsupported field {}\", measured), so the \
                         device is created without it",
                        child.name, child.name
                    ),
                    format!(
                        "move it into the options block: `options {{ {} = … }}`",
                        child.name
                    ),
                );
            } else {
                self.unknown_field(child, &child_path, &[AUDIT_STANZA], Unknown::Warned);
            }
        }
        let options = known.iter().find(|c| c.name == "options");
        let option_names: Vec<String> = match options {
            Some(opts) => {
                let opt_path = join(&path, "options");
                let checked = self.fields(
                    &opt_path,
                    opts.children(),
                    &[options_fields, AUDIT_OPTIONS_COMMON],
                    Unknown::Silent,
                );
                for raw in checked.iter().filter(|c| c.name == "log_raw") {
                    self.log_raw(raw, &join(&opt_path, "log_raw"));
                }
                checked.iter().map(|c| c.name.clone()).collect()
            }
            None => Vec::new(),
        };
        let required = match kind.as_str() {
            "file" => Some(("file_path", "file_path = \"/openbao/audit/audit.log\"")),
            "socket" => Some(("address", "address = \"127.0.0.1:9090\"")),
            _ => None,
        };
        if let Some((field, example)) = required {
            if !option_names.iter().any(|n| n == field) {
                self.error(
                    node,
                    &format!("{path}.options.{field}"),
                    format!("a {kind} audit device needs `{field}` in its options block"),
                    format!("add `options {{ {example} }}`"),
                );
            }
        }
        if kind == "syslog" && !self.host.syslog_socket_present {
            self.error(
                node,
                &path,
                "a syslog audit device on a host without a syslog socket (/dev/log): every write \
                 fails (\"Unix syslog delivery error\"), and measured with OpenBao 2.7.2, after a \
                 leader change no node could become active (\"post-unseal setup failed\", all \
                 nodes 429 for 20 s) until the stanza was removed",
                "use a file or socket audit device, or run a syslog daemon that provides /dev/log \
                 on every node before declaring it",
            );
        }
    }

    /// `log_raw = true` in an audit device's options: an error wherever it is written.
    pub(super) fn log_raw(&mut self, node: &Node<'_>, path: &str) {
        if is_true(node) {
            self.error(
                node,
                path,
                "log_raw = true writes raw secrets into the audit log: secret values, tokens \
                 and secret-ids in clear text instead of their hmac-sha256 digests, so \
                 whoever reads the log (or its backups, or the log shipper) holds them all",
                "remove log_raw (the default, false, logs hmac-sha256 digests; compare a value \
                 with `POST sys/audit-hash/<device>` when investigating)",
            );
        }
    }

    pub(super) fn audit_device(&mut self, node: &Node<'_>) {
        let kind = node
            .labels
            .first()
            .cloned()
            .unwrap_or_else(|| "file".into());
        let name = node
            .children()
            .iter()
            .find(|c| c.name == "path")
            .and_then(Self::str_of)
            .map(|p| p.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| kind.clone());
        if let Some(opts) = node.children().iter().find(|c| c.name == "options") {
            for raw in opts.children().iter().filter(|c| c.name == "log_raw") {
                self.log_raw(raw, "audit_device.options.log_raw");
            }
        }
        // The suggested replacement never carries log_raw over (reported above when true).
        let options: Vec<(String, String)> = node
            .children()
            .iter()
            .find(|c| c.name == "options")
            .map(|o| {
                o.children()
                    .iter()
                    .filter(|c| c.name != "log_raw")
                    .map(|c| {
                        let v = Self::str_of(c).unwrap_or_default();
                        (c.name.clone(), crate::hcl::quote(&v))
                    })
                    .collect()
            })
            .unwrap_or_default();
        match self.engine {
            Engine::OpenBao => {
                let mut example = format!(
                    "audit {} {} {{\n  options {{\n",
                    crate::hcl::quote(&kind),
                    crate::hcl::quote(&name)
                );
                if options.is_empty() {
                    example.push_str("    file_path = \"/openbao/audit/audit.log\"\n");
                }
                for (k, v) in &options {
                    example.push_str(&format!("    {k} = {v}\n"));
                }
                example.push_str("  }\n}");
                self.error(
                    node,
                    "audit_device",
                    "`audit_device` is not a configuration block: OpenBao ignores it without \
                     even a warning (measured with 2.7.2), so the server runs with NO audit log",
                    format!("declare the device with two labels and its options in a nested block:\n{example}"),
                );
            }
            Engine::Vault => self.error(
                node,
                "audit_device",
                "`audit_device` is not a configuration block, and Vault has no audit devices \
                 declared in the file: the server runs with no audit log",
                format!(
                    "enable it through the API after unseal: `vaultops apply` (audit section) or \
                     `vault audit enable -path={name} {kind} {}`",
                    options
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v.trim_matches('"')))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            ),
        }
    }
}
