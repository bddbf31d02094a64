//! Issuing the application's credentials over the API: read the role (it must exist), its
//! role-id, and a new secret-id, plain or response-wrapped; and unwrapping a wrapped
//! secret-id on the receiving side, with substitution and interception checks.
//!
//! The role's settings are read on every issue so that the known trap is reported where
//! it is set up: concurrent logins sharing ONE secret-id whose role has
//! `secret_id_num_uses > 0` fail with HTTP 500 `transaction commit failed` (measured on
//! OpenBao 2.7.2: 173 of 200 logins from 8 concurrent clients). Issue one secret-id per
//! instance, or keep unlimited uses (0, the baseline role's setting).

use crate::login::{login, revoke_login_token, LoginError};
use crate::pair::CredentialPair;
use crate::sink::{Sink, SinkError};
use std::collections::BTreeMap;
use std::path::PathBuf;
use vaultops_api::{ApiError, NodeClient, SecretId, SecretIdRequest, Ttl, WrapInfo, WrappingToken};

/// What the new secret-id carries. `Default`: the role's own settings, not wrapped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IssueOptions {
    /// Response-wrap the secret-id for this long: only a single-use wrapping token comes
    /// back, for a third party to unwrap ([`unwrap_secret_id`]).
    pub wrap_ttl: Option<Ttl>,
    /// CIDRs a login with this secret-id may come from (within the role's
    /// `secret_id_bound_cidrs`, if it has any).
    pub cidr_list: Vec<String>,
    /// CIDRs the tokens from its logins may be used from.
    pub token_bound_cidrs: Vec<String>,
    /// Metadata attached to the secret-id and copied into its tokens (shown in audit logs),
    /// e.g. `instance=api-1`.
    pub metadata: BTreeMap<String, String>,
}

/// The secret part of issued credentials.
#[derive(Debug, Clone)]
pub enum IssuedSecret {
    /// The secret-id itself.
    Plain(SecretId),
    /// A wrapping token that unwraps to the secret-id.
    Wrapped(WrapInfo),
}

/// Issued credentials. `Debug` redacts the secret; [`Credentials::to_json_with_secret`] is
/// the one explicit way to print it.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The AppRole mount.
    pub mount: String,
    /// The role name.
    pub role: String,
    /// The role's role-id.
    pub role_id: String,
    /// The secret-id, or the token that unwraps to it.
    pub secret: IssuedSecret,
    /// The secret-id's accessor: look it up or destroy it without knowing the secret-id.
    pub secret_id_accessor: String,
    /// Things the operator should know about the role (e.g. the num_uses trap).
    pub warnings: Vec<String>,
}

impl Credentials {
    /// The role-id/secret-id pair, `None` when the secret-id is wrapped.
    pub fn pair(&self) -> Option<CredentialPair> {
        match &self.secret {
            IssuedSecret::Plain(s) => Some(CredentialPair {
                role_id: self.role_id.clone(),
                secret_id: s.clone(),
            }),
            IssuedSecret::Wrapped(_) => None,
        }
    }

    /// The credentials as JSON for stdout, **including the secret-id or wrapping token**:
    /// call only when the user asked for them on stdout.
    ///
    /// Plain: `{mount, role, role_id, secret_id, secret_id_accessor, warnings}`; wrapped:
    /// `{mount, role, role_id, wrapping_token, wrapping_token_ttl, wrapping_token_creation_path,
    /// secret_id_accessor, warnings}`.
    pub fn to_json_with_secret(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "mount": self.mount,
            "role": self.role,
            "role_id": self.role_id,
            "secret_id_accessor": self.secret_id_accessor,
            "warnings": self.warnings,
        });
        match &self.secret {
            IssuedSecret::Plain(s) => {
                v["secret_id"] = s.expose().into();
            }
            IssuedSecret::Wrapped(w) => {
                v["wrapping_token"] = w.token.expose().into();
                v["wrapping_token_ttl"] = w.ttl.into();
                v["wrapping_token_creation_path"] = w.creation_path.clone().into();
            }
        }
        v
    }
}

/// Why credentials could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// No AppRole auth method at that mount.
    #[error("no auth method is mounted at auth/{mount}/ on {node}; check --mount (AppRole is usually at `approle`)")]
    MountNotFound {
        /// The mount.
        mount: String,
        /// The node asked.
        node: String,
        /// The server's answer.
        #[source]
        source: ApiError,
    },
    /// The role does not exist.
    #[error("AppRole role {role:?} does not exist at auth/{mount}/ on {node}{}; check --role, or create the role first (vaultops apply)", known_roles(.known))]
    RoleNotFound {
        /// The role asked for.
        role: String,
        /// The mount.
        mount: String,
        /// The node asked.
        node: String,
        /// Roles that do exist there, when the token may list them.
        known: Option<Vec<String>>,
    },
    /// An API call failed.
    #[error("{step} for AppRole role {role:?}")]
    Api {
        /// What was being done.
        step: &'static str,
        /// The role.
        role: String,
        /// The API error (operation, node, status, server messages).
        #[source]
        source: ApiError,
    },
}

fn known_roles(known: &Option<Vec<String>>) -> String {
    match known {
        Some(k) if k.is_empty() => " (the mount has no roles)".into(),
        Some(k) => format!(" (roles there: {})", k.join(", ")),
        None => String::new(),
    }
}

/// Why a wrapped secret-id could not be unwrapped.
#[derive(Debug, thiserror::Error)]
pub enum UnwrapError {
    /// The wrapping token is unknown to the server: unwrapped already, expired, or never
    /// issued. The three are indistinguishable by design; the first means interception.
    #[error("the wrapping token is not valid on {node}: it was already unwrapped, has expired, or never existed. If nobody on your side unwrapped it, treat the secret-id as INTERCEPTED: destroy it by the secret_id_accessor printed when it was issued (auth/{mount}/role/{role}/secret-id-accessor/destroy), look for the unwrap in the audit log, and issue a new one")]
    InvalidWrappingToken {
        /// The node asked.
        node: String,
        /// The AppRole mount expected.
        mount: String,
        /// The role expected.
        role: String,
        /// The server's answer.
        #[source]
        source: ApiError,
    },
    /// The token wraps something else than a secret-id of this role: a substituted token.
    #[error("the wrapping token wraps the answer of {found:?}, not {expected:?}: refusing to unwrap a token that may have been substituted; ask for a new one from the operator")]
    WrongCreationPath {
        /// `auth/{mount}/role/{role}/secret-id`.
        expected: String,
        /// What the server says the token wraps.
        found: String,
    },
    /// Another API failure.
    #[error("unwrapping the secret-id")]
    Api(#[source] ApiError),
}

fn api<'a>(step: &'static str, role: &'a str) -> impl FnOnce(ApiError) -> IssueError + 'a {
    move |source| IssueError::Api {
        step,
        role: role.to_owned(),
        source,
    }
}

fn is_missing_mount(e: &ApiError) -> bool {
    e.is_not_found()
        && e.server_errors()
            .iter()
            .any(|m| m.contains("no handler for route"))
}

/// Reads the role-id of `role` and issues a new secret-id (wrapped when
/// `opts.wrap_ttl` is set). Needs a token that may read the role and its role-id and
/// update `auth/{mount}/role/{role}/secret-id`.
pub async fn issue(
    client: &NodeClient,
    mount: &str,
    role: &str,
    opts: &IssueOptions,
) -> Result<Credentials, IssueError> {
    let spec = match client.approle_read_role(mount, role).await {
        Ok(Some(spec)) => spec,
        Ok(None) => {
            // Best effort: name the roles that exist, when the token may list them.
            let known = client.approle_list_roles(mount).await.ok();
            return Err(IssueError::RoleNotFound {
                role: role.to_owned(),
                mount: mount.to_owned(),
                node: client.addr().to_owned(),
                known,
            });
        }
        Err(e) if is_missing_mount(&e) => {
            return Err(IssueError::MountNotFound {
                mount: mount.to_owned(),
                node: client.addr().to_owned(),
                source: e,
            })
        }
        Err(e) => return Err(api("reading the role", role)(e)),
    };
    let role_id = client
        .approle_role_id(mount, role)
        .await
        .map_err(api("reading the role-id", role))?
        .ok_or_else(|| IssueError::RoleNotFound {
            role: role.to_owned(),
            mount: mount.to_owned(),
            node: client.addr().to_owned(),
            known: None,
        })?;
    let mut warnings = Vec::new();
    if let Some(n) = spec.secret_id_num_uses.filter(|n| *n > 0) {
        warnings.push(format!(
            "role {role} limits each secret-id to {n} logins (secret_id_num_uses): concurrent logins sharing one such secret-id fail with HTTP 500 \"transaction commit failed\" (measured: 173 of 200); give every instance its own secret-id, or set secret_id_num_uses=0"
        ));
    }
    if let Some(ttl) = spec
        .secret_id_ttl
        .as_ref()
        .and_then(Ttl::as_secs)
        .filter(|t| *t > 0)
    {
        warnings.push(format!(
            "role {role} expires secret-ids after {ttl} s (secret_id_ttl): rotate more often than that, or logins fail once it passes"
        ));
    }
    let req = SecretIdRequest {
        metadata: opts.metadata.clone(),
        cidr_list: opts.cidr_list.clone(),
        token_bound_cidrs: opts.token_bound_cidrs.clone(),
        ..Default::default()
    };
    let (secret, secret_id_accessor) = match &opts.wrap_ttl {
        None => {
            let g = client
                .approle_generate_secret_id(mount, role, &req)
                .await
                .map_err(api("issuing a secret-id", role))?;
            (IssuedSecret::Plain(g.secret_id), g.secret_id_accessor)
        }
        Some(ttl) => {
            let w = client
                .approle_generate_secret_id_wrapped(mount, role, &req, ttl.clone())
                .await
                .map_err(api("issuing a wrapped secret-id", role))?;
            let accessor = w.wrapped_accessor.clone().unwrap_or_default();
            (IssuedSecret::Wrapped(w), accessor)
        }
    };
    Ok(Credentials {
        mount: mount.to_owned(),
        role: role.to_owned(),
        role_id,
        secret,
        secret_id_accessor,
        warnings,
    })
}

/// Why credentials could not be delivered to their sinks.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// A wrap TTL was combined with sinks.
    #[error("a wrapped secret-id can only go to stdout (the receiver unwraps it); drop the wrap TTL to write sinks")]
    WrappedToSink,
    /// A sink failed its preflight; nothing was issued.
    #[error("a sink is not ready; nothing was issued")]
    Preflight(#[source] SinkError),
    /// Issuing failed; nothing was written.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// Writing a sink failed after the secret-id was issued.
    #[error("writing a sink failed; the secret-id (accessor {accessor}) was issued{}: fix the cause and deliver again, then destroy this accessor", if written.is_empty() { String::new() } else { format!(" and written to [{}]", written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")) })]
    Write {
        /// The issued secret-id's accessor.
        accessor: String,
        /// Sinks already written.
        written: Vec<PathBuf>,
        /// The write error.
        #[source]
        source: SinkError,
    },
    /// A sink was written but what it holds does not log in.
    #[error("{sink} was written, but {what}")]
    Verify {
        /// The sink.
        sink: String,
        /// What went wrong.
        what: String,
        /// The login error, when the login failed.
        #[source]
        source: Option<LoginError>,
    },
}

/// Issues credentials and writes them to `sinks` (all get the same pair): every sink's
/// preflight runs first, so a missing or read-only directory fails before a secret-id
/// exists; after writing, each sink is read back and its pair must log in (the check's
/// token is revoked). With no sinks it only issues (for stdout). A wrap TTL with sinks is
/// refused.
pub async fn deliver(
    client: &NodeClient,
    mount: &str,
    role: &str,
    sinks: &[Sink],
    opts: &IssueOptions,
) -> Result<Credentials, DeliverError> {
    if opts.wrap_ttl.is_some() && !sinks.is_empty() {
        return Err(DeliverError::WrappedToSink);
    }
    for s in sinks {
        s.check().map_err(DeliverError::Preflight)?;
    }
    let creds = issue(client, mount, role, opts).await?;
    if creds.pair().is_some() {
        write_verified(client, sinks, &creds).await?;
    }
    Ok(creds)
}

/// Writes plain credentials to `sinks` and proves each one: read back, same pair, logs in
/// (the check's token is revoked). For credentials obtained another way than [`deliver`]
/// (e.g. [`unwrap_secret_id`]); run [`Sink::check`] on every sink BEFORE obtaining them.
pub async fn write_verified(
    client: &NodeClient,
    sinks: &[Sink],
    creds: &Credentials,
) -> Result<(), DeliverError> {
    let Some(pair) = creds.pair() else {
        return Err(DeliverError::WrappedToSink);
    };
    let mut written = Vec::new();
    for s in sinks {
        s.write(&pair).map_err(|source| DeliverError::Write {
            accessor: creds.secret_id_accessor.clone(),
            written: written.clone(),
            source,
        })?;
        written.push(s.path().to_owned());
    }
    for s in sinks {
        let back = s.read_pair().map_err(|e| DeliverError::Verify {
            sink: s.to_string(),
            what: format!("cannot be read back: {e}"),
            source: None,
        })?;
        if back.pair != pair {
            return Err(DeliverError::Verify {
                sink: s.to_string(),
                what: "reads back a different pair (was it changed concurrently?)".into(),
                source: None,
            });
        }
        let auth =
            login(client, &creds.mount, &back.pair)
                .await
                .map_err(|e| DeliverError::Verify {
                    sink: s.to_string(),
                    what: "its pair does not log in".into(),
                    source: Some(e),
                })?;
        revoke_login_token(client, &auth).await;
    }
    Ok(())
}

/// The API path whose answer a wrapped secret-id of `role` wraps.
pub fn secret_id_creation_path(mount: &str, role: &str) -> String {
    format!("auth/{}/role/{role}/secret-id", mount.trim_matches('/'))
}

/// Unwraps a wrapped secret-id of `role` (the receiving side of `issue` with a wrap TTL).
/// Needs no token. The token is looked up first, and refused unless it wraps
/// `auth/{mount}/role/{role}/secret-id` (a substituted token); an unknown token is
/// reported as possible interception ([`UnwrapError::InvalidWrappingToken`]).
pub async fn unwrap_secret_id(
    client: &NodeClient,
    mount: &str,
    role: &str,
    role_id: &str,
    token: &WrappingToken,
) -> Result<Credentials, UnwrapError> {
    let invalid = |source: ApiError| {
        if source.is_invalid_wrapping_token() {
            UnwrapError::InvalidWrappingToken {
                node: client.addr().to_owned(),
                mount: mount.to_owned(),
                role: role.to_owned(),
                source,
            }
        } else {
            UnwrapError::Api(source)
        }
    };
    let lookup = client.wrapping_lookup(token).await.map_err(invalid)?;
    let expected = secret_id_creation_path(mount, role);
    if lookup.creation_path != expected {
        return Err(UnwrapError::WrongCreationPath {
            expected,
            found: lookup.creation_path,
        });
    }
    let g = client
        .approle_unwrap_secret_id(token)
        .await
        .map_err(invalid)?;
    Ok(Credentials {
        mount: mount.to_owned(),
        role: role.to_owned(),
        role_id: role_id.to_owned(),
        secret: IssuedSecret::Plain(g.secret_id),
        secret_id_accessor: g.secret_id_accessor,
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_carries_the_secret_only_through_the_explicit_call() {
        let c = Credentials {
            mount: "approle".into(),
            role: "atmr-api".into(),
            role_id: "r-1".into(),
            secret: IssuedSecret::Plain(SecretId::new("s-plain")),
            secret_id_accessor: "acc".into(),
            warnings: vec![],
        };
        assert!(!format!("{c:?}").contains("s-plain"));
        let v = c.to_json_with_secret();
        assert_eq!(v["secret_id"], "s-plain");
        assert_eq!(v["role_id"], "r-1");
        assert_eq!(c.pair().unwrap().secret_id.expose(), "s-plain");
    }

    #[test]
    fn role_not_found_lists_known_roles() {
        let e = IssueError::RoleNotFound {
            role: "atmr-apj".into(),
            mount: "approle".into(),
            node: "https://v:8200".into(),
            known: Some(vec!["atmr-api".into()]),
        };
        assert_eq!(
            e.to_string(),
            "AppRole role \"atmr-apj\" does not exist at auth/approle/ on https://v:8200 (roles there: atmr-api); check --role, or create the role first (vaultops apply)"
        );
        assert_eq!(
            secret_id_creation_path("/approle/", "atmr-api"),
            "auth/approle/role/atmr-api/secret-id"
        );
    }
}
