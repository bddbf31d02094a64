//! The rules a rollout file must follow beyond its shape: rules that involve several entries
//! (a role's mount must be a declared AppRole mount), reserved names (`root`, `default`,
//! `sys/`, `token/`), and value ranges (a TTL above its maximum). Pure: each problem is
//! reported with the key path it concerns; the `parse` module adds the line.

use crate::model::{Expected, RoleTokenType, Rollout, TtlSecs, SUPPORTED_VERSION};
use std::collections::BTreeSet;

/// One step of a key path in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathSeg {
    Key(String),
    Index(usize),
}

/// `approle_roles.atmr-api.mount`, `expectations[2].path`.
pub(crate) fn render_path(path: &[PathSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathSeg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Policies the server defines itself: never declared, never deleted.
pub const BUILTIN_POLICIES: &[&str] = &["root", "default"];
/// First path segments a secrets engine cannot be mounted under.
pub const RESERVED_SECRETS_PATHS: &[&str] = &["sys", "identity", "cubbyhole", "auth"];
/// Auth mount paths that belong to the server.
pub const RESERVED_AUTH_PATHS: &[&str] = &["token"];

type Problems = Vec<(Vec<PathSeg>, String)>;

fn key(parts: &[&str]) -> Vec<PathSeg> {
    parts
        .iter()
        .map(|p| PathSeg::Key((*p).to_owned()))
        .collect()
}

/// Every rule `r` breaks, in file order.
pub(crate) fn validate(r: &Rollout) -> Problems {
    let mut out = Problems::new();
    if r.version != SUPPORTED_VERSION {
        out.push((
            key(&["version"]),
            format!(
                "version {} is not supported; this vaultops reads version {SUPPORTED_VERSION}",
                r.version
            ),
        ));
    }
    if let Some(engines) = &r.secrets_engines {
        let paths: Vec<&str> = engines.keys().map(|p| p.as_str()).collect();
        for (path, spec) in engines {
            let at = |field: &str| key(&["secrets_engines", path.as_str(), field]);
            let first = path.as_str().split('/').next().unwrap_or_default();
            if RESERVED_SECRETS_PATHS.contains(&first) {
                out.push((
                    key(&["secrets_engines", path.as_str()]),
                    format!("`{first}/` is reserved by the server; mount the engine elsewhere"),
                ));
            }
            nested(&mut out, "secrets_engines", path.as_str(), &paths);
            ttl_order(
                &mut out,
                (at("default_lease_ttl"), spec.default_lease_ttl),
                spec.max_lease_ttl,
                "max_lease_ttl",
            );
        }
    }
    if let Some(auth) = &r.auth {
        let paths: Vec<&str> = auth.keys().map(|p| p.as_str()).collect();
        for (path, spec) in auth {
            let first = path.as_str().split('/').next().unwrap_or_default();
            if RESERVED_AUTH_PATHS.contains(&first) {
                out.push((
                    key(&["auth", path.as_str()]),
                    format!("`{first}/` is the built-in token method; it cannot be declared"),
                ));
            }
            nested(&mut out, "auth", path.as_str(), &paths);
            ttl_order(
                &mut out,
                (
                    key(&["auth", path.as_str(), "default_lease_ttl"]),
                    spec.default_lease_ttl,
                ),
                spec.max_lease_ttl,
                "max_lease_ttl",
            );
        }
    }
    if let Some(policies) = &r.policies {
        for (name, spec) in policies {
            let at = key(&["policies", name.as_str()]);
            if BUILTIN_POLICIES.contains(&name.as_str()) {
                out.push((
                    at.clone(),
                    format!(
                        "`{name}` is built into the server and cannot be declared; give your policy another name"
                    ),
                ));
            }
            match (&spec.hcl, &spec.file) {
                (Some(_), Some(_)) => out.push((
                    at,
                    "give either `hcl` (inline) or `file`, not both".to_owned(),
                )),
                (None, None) => out.push((
                    at,
                    "give the policy as `hcl: |` (inline) or `file: path/to/policy.hcl`".to_owned(),
                )),
                (Some(h), None) if h.trim().is_empty() => out.push((
                    key(&["policies", name.as_str(), "hcl"]),
                    "the policy is empty; write at least one `path` block".to_owned(),
                )),
                (None, Some(f)) if f.trim().is_empty() => out.push((
                    key(&["policies", name.as_str(), "file"]),
                    "the file name is empty".to_owned(),
                )),
                _ => {}
            }
        }
    }
    if let Some(roles) = &r.approle_roles {
        for (name, role) in roles {
            let at = |field: &str| key(&["approle_roles", name.as_str(), field]);
            let mount = role.mount.as_str();
            let declared = r
                .auth
                .as_ref()
                .and_then(|a| a.get(mount))
                .map(|m| m.method_type.as_str() == "approle");
            match declared {
                Some(true) => {}
                Some(false) => out.push((
                    at("mount"),
                    format!("`{mount}` is declared under `auth` but not with `type: approle`"),
                )),
                None => out.push((
                    at("mount"),
                    format!(
                        "AppRole mount `{mount}` is not declared; add it under `auth:` (`{mount}: {{type: approle}}`)"
                    ),
                )),
            }
            if role.token_policies.iter().any(|p| p.as_str() == "root") {
                out.push((
                    at("token_policies"),
                    "a role must not hand out root tokens; list the policies it needs".to_owned(),
                ));
            }
            ttl_order(
                &mut out,
                (at("token_ttl"), role.token_ttl),
                role.token_max_ttl,
                "token_max_ttl",
            );
            let periodic = role.token_period.is_some_and(|p| p.secs() > 0);
            if role.token_type == Some(RoleTokenType::Batch) && periodic {
                out.push((
                    at("token_period"),
                    "batch tokens cannot be periodic; drop `token_period` or use service tokens"
                        .to_owned(),
                ));
            }
        }
    }
    let declared: BTreeSet<&str> = r
        .policies
        .iter()
        .flat_map(|p| p.keys().map(|n| n.as_str()))
        .collect();
    for (i, e) in r.expectations.iter().enumerate() {
        let at = |field: Option<&str>| {
            let mut p = vec![PathSeg::Key("expectations".into()), PathSeg::Index(i)];
            if let Some(f) = field {
                p.push(PathSeg::Key(f.into()));
            }
            p
        };
        if e.policies.is_empty() {
            out.push((
                at(Some("policies")),
                "list the policies the test token holds".to_owned(),
            ));
        }
        for p in &e.policies {
            let p = p.as_str();
            if p == "root" {
                out.push((
                    at(Some("policies")),
                    "a root token can do everything; test the policies your clients hold"
                        .to_owned(),
                ));
            } else if p != "default" && !declared.contains(p) {
                out.push((
                    at(Some("policies")),
                    format!("policy `{p}` is not declared under `policies:` (a typo would test nothing)"),
                ));
            }
        }
        if e.path.trim().is_empty() {
            out.push((at(Some("path")), "the path is empty".to_owned()));
        } else if e.path.starts_with('/') || e.path.starts_with("v1/") {
            out.push((
                at(Some("path")),
                format!(
                    "write the API path without `/` or `v1/` in front (e.g. `{}`)",
                    e.path.trim_start_matches('/').trim_start_matches("v1/")
                ),
            ));
        }
        match (&e.capabilities, e.denied) {
            (Some(_), Some(true)) => out.push((
                at(None),
                "give either `capabilities` or `denied: true`, not both".to_owned(),
            )),
            (_, Some(false)) => out.push((
                at(Some("denied")),
                "`denied: false` tests nothing; list the expected `capabilities` instead"
                    .to_owned(),
            )),
            (None, None) => out.push((
                at(None),
                "say what to expect: `capabilities: [read, …]` or `denied: true`".to_owned(),
            )),
            _ => {}
        }
        if let Expected::Capabilities(caps) = e.expected() {
            if e.capabilities.is_some() && caps.is_empty() {
                out.push((
                    at(Some("capabilities")),
                    "the list is empty; to expect no access write `denied: true`".to_owned(),
                ));
            }
            if caps.contains(&crate::model::Capability::Deny) {
                out.push((
                    at(Some("capabilities")),
                    "`deny` is not a capability to have; write `denied: true` instead".to_owned(),
                ));
            }
        }
    }
    out
}

/// A mount inside another (`a` and `a/b`) is refused by the server.
fn nested(out: &mut Problems, section: &str, path: &str, all: &[&str]) {
    if let Some(outer) = all
        .iter()
        .find(|o| **o != path && path.starts_with(&format!("{o}/")))
    {
        out.push((
            key(&[section, path]),
            format!("`{path}` lies inside `{outer}`; mounts cannot be nested"),
        ));
    }
}

/// `default` may not exceed `max` when both are set (0 means "the system default").
fn ttl_order(
    out: &mut Problems,
    (at, default): (Vec<PathSeg>, Option<TtlSecs>),
    max: Option<TtlSecs>,
    max_name: &str,
) {
    if let (Some(d), Some(m)) = (default, max) {
        if d.secs() > 0 && m.secs() > 0 && d > m {
            out.push((at, format!("{d} is longer than `{max_name}` ({m})")));
        }
    }
}
