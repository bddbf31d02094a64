//! Checks shared by every part of the walk: unknown fields (with a "did you mean"), the
//! fields of a block, a value's kind, and small helpers on paths and addresses.

use super::tree::*;
use super::*;

impl Linter {
    pub(super) fn unknown_field(
        &mut self,
        node: &Node<'_>,
        path: &str,
        known: &[Fields],
        how: Unknown,
    ) {
        let what = if node.is_block() { "block" } else { "field" };
        let effect = match (self.engine, how) {
            (Engine::OpenBao, Unknown::Warned) => {
                "OpenBao only logs `unknown or unsupported field` and starts without it"
            }
            (Engine::OpenBao, Unknown::Silent) => {
                "OpenBao does not report it and the setting silently has no effect"
            }
            (Engine::Vault, _) => "the server ignores it or refuses to start",
        };
        let mut names: Vec<&str> = known
            .iter()
            .flat_map(|l| l.iter())
            .map(|(n, _)| *n)
            .collect();
        names.sort_unstable();
        let hint = match closest(&node.name, &names) {
            Some(near) => format!(
                "did you mean `{near}`? Supported here: {}",
                names.join(", ")
            ),
            None => format!("remove it; supported here: {}", names.join(", ")),
        };
        self.error(
            node,
            path,
            format!(
                "unknown {what} `{}` for {}: {effect}",
                node.name, self.engine
            ),
            hint,
        );
    }

    /// Checks every child of a block against `known`; returns the known children for the
    /// caller's specific checks. Unknown children are reported.
    pub(super) fn fields<'n, 'a>(
        &mut self,
        path: &str,
        children: &'n [Node<'a>],
        known: &[Fields],
        how: Unknown,
    ) -> Vec<&'n Node<'a>> {
        let mut ok = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for child in children {
            let child_path = join(path, &child.name);
            match find(known, &child.name) {
                Some(kind) => {
                    if kind != Kind::Map && seen.contains(&child.name.as_str()) {
                        self.warning(
                            child,
                            &child_path,
                            format!("`{}` is set more than once", child.name),
                            "keep one; which one the server uses is not defined",
                        );
                    }
                    seen.push(&child.name);
                    if self.kind(child, &child_path, kind) {
                        ok.push(child);
                    }
                }
                None => self.unknown_field(child, &child_path, known, how),
            }
        }
        ok
    }

    /// Checks a value against its kind; false when reported.
    pub(super) fn kind(&mut self, node: &Node<'_>, path: &str, kind: Kind) -> bool {
        let expr = match (&node.kind, kind) {
            (NodeKind::Body(_), Kind::Map | Kind::Any) => return true,
            (NodeKind::Body(_), _) => {
                self.error(
                    node,
                    path,
                    "expected a value, found a block or object",
                    format!("write `{} = <value>`", node.name),
                );
                return false;
            }
            (NodeKind::Value(_), Kind::Map) => {
                self.error(
                    node,
                    path,
                    "expected a block",
                    format!("write `{} {{ … }}`", node.name),
                );
                return false;
            }
            (NodeKind::Value(e), _) => *e,
        };
        let text = scalar(expr);
        let bad = match kind {
            Kind::Any | Kind::Map => None,
            Kind::Str => match expr {
                Expression::Array(_) => Some("expected a string, found a list"),
                _ => None,
            },
            Kind::List => None,
            Kind::Bool => match text.as_deref().map(parse_bool) {
                Some(Some(_)) => None,
                Some(None) => Some("expected true or false"),
                None => Some("expected true or false"),
            },
            Kind::Int => match &text {
                Some(t) if t.parse::<i64>().is_ok() => None,
                _ => Some("expected a whole number"),
            },
            Kind::Duration => match (&text, expr) {
                (_, Expression::Number(_)) => None,
                (Some(t), _) if is_server_duration(t) => None,
                _ => Some("expected a duration such as \"30s\", \"24h\" or a number of seconds"),
            },
        };
        match bad {
            Some(msg) => {
                let shown = text.map(|t| format!(" (got {t:?})")).unwrap_or_default();
                self.error(node, path, format!("{msg}{shown}"), "fix the value's type");
                false
            }
            None => true,
        }
    }

    pub(super) fn str_of(node: &Node<'_>) -> Option<String> {
        node.expr().and_then(scalar)
    }
}

pub(super) fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// Whether a listener address (`host:port`) is on the loopback interface.
pub(super) fn is_loopback(address: &str) -> bool {
    if let Ok(ip) = address.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    let host = split_host_port(address).map_or(address, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// The known name closest to `name` (a likely typo), if any is close enough.
pub(super) fn closest<'a>(name: &str, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .map(|n| (strsim::levenshtein(name, n), *n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 5) && *d > 0)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn loopback_addresses() {
        for a in [
            "127.0.0.1:8200",
            "127.9.9.9:1",
            "[::1]:8200",
            "localhost:8200",
            "::1",
        ] {
            assert!(is_loopback(a), "{a}");
        }
        for a in [
            "0.0.0.0:8200",
            "[::]:8200",
            "10.0.0.1:8200",
            "node1:8200",
            "",
        ] {
            assert!(!is_loopback(a), "{a}");
        }
    }

    #[test]
    fn typo_suggestions() {
        let names = ["cluster_name", "cluster_addr", "api_addr"];
        assert_eq!(closest("clustr_name", &names), Some("cluster_name"));
        assert_eq!(closest("api_adr", &names), Some("api_addr"));
        assert_eq!(closest("completely_different", &names), None);
        assert_eq!(strsim::levenshtein("kitten", "sitting"), 3);
    }
}
