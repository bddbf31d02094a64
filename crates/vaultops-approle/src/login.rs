//! Logging in as the application does (AppRole role-id + secret-id, no other token), with
//! the server's refusals mapped to what the operator should do; and the login check: log
//! in, compare the token's policies, probe allowed and denied paths, renew, revoke.
//!
//! Paths are checked with `sys/capabilities-self` (the token's own view of its policies),
//! never by reading them: the check proves access without pulling secret values into this
//! process, and works for keys that do not exist yet. Paths are API paths: for KV v2 at
//! `secret/`, `secret/data/atmr/config`, not `secret/atmr/config`.

use crate::pair::CredentialPair;
use serde::Serialize;
use std::fmt;
use vaultops_api::{ApiError, AuthInfo, NodeClient};

/// Why the server refused a login, as far as the answer tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginFailure {
    /// HTTP 400 `invalid role or secret ID`: the server answers this alike for an unknown
    /// role-id, and a secret-id that was destroyed, expired or used up.
    InvalidCredentials,
    /// HTTP 400 `source address … unauthorized by CIDR restrictions`.
    SourceAddressRefused,
    /// HTTP 500 `transaction commit failed`: concurrent logins with one secret-id that has
    /// a use limit (measured on OpenBao 2.7.2).
    SharedSecretIdContention,
    /// Anything else (unreachable, sealed, TLS, …).
    Other,
}

impl LoginFailure {
    /// Classifies a failed `approle login`.
    pub fn classify(e: &ApiError) -> Self {
        let said = |needle: &str| e.server_errors().iter().any(|m| m.contains(needle));
        match e.status() {
            Some(400) if said("invalid role or secret ID") || said("invalid secret id") => {
                LoginFailure::InvalidCredentials
            }
            Some(400) if said("unauthorized by CIDR") || said("source address") => {
                LoginFailure::SourceAddressRefused
            }
            Some(500) if said("transaction commit failed") => {
                LoginFailure::SharedSecretIdContention
            }
            _ => LoginFailure::Other,
        }
    }

    fn advice(self) -> &'static str {
        match self {
            LoginFailure::InvalidCredentials => {
                "the server does not accept this role-id/secret-id: the secret-id was destroyed (rotated away), has expired (secret_id_ttl), has used up its logins (secret_id_num_uses), or the role-id belongs to no role (the role was re-created); deliver new credentials with `vaultops approle credentials` or `vaultops approle rotate`"
            }
            LoginFailure::SourceAddressRefused => {
                "the login comes from an address outside the CIDRs bound to the role or the secret-id; log in from an allowed address, or issue a secret-id whose --cidr covers this one"
            }
            LoginFailure::SharedSecretIdContention => {
                "concurrent logins are sharing ONE secret-id that has a use limit (secret_id_num_uses > 0), which fails with HTTP 500 \"transaction commit failed\"; give each instance its own secret-id, or set the role's secret_id_num_uses to 0"
            }
            LoginFailure::Other => "see the server's answer",
        }
    }
}

/// A refused or failed AppRole login.
#[derive(Debug, thiserror::Error)]
#[error("AppRole login with role-id {role_id} at auth/{mount}/ on {node} failed: {}", .failure.advice())]
pub struct LoginError {
    /// The AppRole mount.
    pub mount: String,
    /// The node asked.
    pub node: String,
    /// The role-id used (not a secret).
    pub role_id: String,
    /// The classified cause.
    pub failure: LoginFailure,
    /// The API error.
    #[source]
    pub source: ApiError,
}

/// Logs in with `pair` at `auth/{mount}/login` (the client's own token is not sent).
pub async fn login(
    client: &NodeClient,
    mount: &str,
    pair: &CredentialPair,
) -> Result<AuthInfo, LoginError> {
    client
        .approle_login(mount, &pair.role_id, &pair.secret_id)
        .await
        .map_err(|source| LoginError {
            mount: mount.to_owned(),
            node: client.addr().to_owned(),
            role_id: pair.role_id.clone(),
            failure: LoginFailure::classify(&source),
            source,
        })
}

/// Revokes a token obtained by [`login`], with the token itself (`revoke-self` is in the
/// `default` policy); returns whether it worked. Checks and rotation use this so that
/// they leave no live tokens behind.
pub async fn revoke_login_token(client: &NodeClient, auth: &AuthInfo) -> bool {
    client
        .with_token(auth.client_token.clone())
        .token_revoke_self()
        .await
        .is_ok()
}

/// What the login check expects of the application's token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    /// Policies the token must carry (e.g. `atmr-api-rotate`).
    pub policies: Vec<String>,
    /// API paths the token must be able to read (`secret/data/atmr/config`).
    pub read: Vec<String>,
    /// API paths the token must have no capability at all on.
    pub deny: Vec<String>,
}

/// What one check line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The token carries an expected policy.
    Policy,
    /// The token can read a path.
    Read,
    /// The token can do nothing on a path.
    Deny,
    /// The token can be renewed (as the application must, before its TTL runs out).
    Renew,
}

/// One line of a login check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckLine {
    /// What is checked.
    pub kind: CheckKind,
    /// The policy or path.
    pub subject: String,
    /// Whether it is as expected.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
}

/// The outcome of [`login_check`]. Holds no secret (the token's accessor only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginCheckReport {
    /// The node asked.
    pub node: String,
    /// The AppRole mount.
    pub mount: String,
    /// The role-id that logged in.
    pub role_id: String,
    /// The login token's accessor (to find it in audit logs).
    pub token_accessor: String,
    /// All policies of the token.
    pub token_policies: Vec<String>,
    /// The token's TTL at login, seconds.
    pub ttl_secs: u64,
    /// Whether the token is renewable.
    pub renewable: bool,
    /// The checks, in order: policies, reads, denies, renewal.
    pub checks: Vec<CheckLine>,
    /// Whether the check's token was revoked at the end.
    pub token_revoked: bool,
}

impl LoginCheckReport {
    /// True when every check line is ok.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

impl fmt::Display for LoginCheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "ok   login: role-id {} on {} (token accessor {}, policies [{}], ttl {} s{})",
            self.role_id,
            self.node,
            self.token_accessor,
            self.token_policies.join(", "),
            self.ttl_secs,
            if self.renewable { ", renewable" } else { "" }
        )?;
        for c in &self.checks {
            let kind = match c.kind {
                CheckKind::Policy => "policy",
                CheckKind::Read => "read",
                CheckKind::Deny => "deny",
                CheckKind::Renew => "renew",
            };
            writeln!(
                f,
                "{} {kind} {}: {}",
                if c.ok { "ok  " } else { "FAIL" },
                c.subject,
                c.detail
            )?;
        }
        if !self.token_revoked {
            writeln!(
                f,
                "note: the check's token could not be revoked; it expires after {} s",
                self.ttl_secs
            )?;
        }
        Ok(())
    }
}

/// Why a login check could not run to its end (a failed expectation is a report line, not
/// an error).
#[derive(Debug, thiserror::Error)]
pub enum LoginCheckError {
    /// The login itself was refused.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// Asking for the token's capabilities failed.
    #[error("checking the token's capabilities")]
    Capabilities(#[source] ApiError),
}

/// Logs in with `pair` as the application would, then checks `expect`: every expected
/// policy is on the token; every `read` path allows `read`; every `deny` path allows
/// nothing; the token renews. The token is revoked at the end.
pub async fn login_check(
    client: &NodeClient,
    mount: &str,
    pair: &CredentialPair,
    expect: &Expectations,
) -> Result<LoginCheckReport, LoginCheckError> {
    let auth = login(client, mount, pair).await?;
    let app = client.with_token(auth.client_token.clone());
    let mut checks = Vec::new();
    for p in &expect.policies {
        let ok = auth.policies.iter().any(|have| have == p);
        checks.push(CheckLine {
            kind: CheckKind::Policy,
            subject: p.clone(),
            ok,
            detail: if ok {
                "on the token".into()
            } else {
                format!("missing: the token has [{}]", auth.policies.join(", "))
            },
        });
    }
    let paths: Vec<&str> = expect
        .read
        .iter()
        .chain(&expect.deny)
        .map(String::as_str)
        .collect();
    let caps = if paths.is_empty() {
        Default::default()
    } else {
        match app.capabilities_self(&paths).await {
            Ok(c) => c,
            Err(e) => {
                revoke_login_token(client, &auth).await;
                return Err(LoginCheckError::Capabilities(e));
            }
        }
    };
    let shown = |c: &[String]| format!("capabilities [{}]", c.join(", "));
    for p in &expect.read {
        let c = caps.get(p).cloned().unwrap_or_default();
        let ok = c.iter().any(|x| x == "read" || x == "root");
        checks.push(CheckLine {
            kind: CheckKind::Read,
            subject: p.clone(),
            ok,
            detail: if ok {
                shown(&c)
            } else {
                format!("{}: read is NOT allowed", shown(&c))
            },
        });
    }
    for p in &expect.deny {
        let c = caps.get(p).cloned().unwrap_or_default();
        let ok = c.iter().all(|x| x == "deny");
        checks.push(CheckLine {
            kind: CheckKind::Deny,
            subject: p.clone(),
            ok,
            detail: if ok {
                shown(&c)
            } else {
                format!("{}: expected no access at all", shown(&c))
            },
        });
    }
    let renew = if !auth.renewable {
        CheckLine {
            kind: CheckKind::Renew,
            subject: "auth/token/renew-self".into(),
            ok: false,
            detail:
                "the token is not renewable: the application must log in again before it expires"
                    .into(),
        }
    } else {
        match app.token_renew_self(None).await {
            Ok(a) => CheckLine {
                kind: CheckKind::Renew,
                subject: "auth/token/renew-self".into(),
                ok: true,
                detail: format!("renewed, ttl {} s", a.lease_duration),
            },
            Err(e) => CheckLine {
                kind: CheckKind::Renew,
                subject: "auth/token/renew-self".into(),
                ok: false,
                detail: format!("renewal refused: {e}"),
            },
        }
    };
    checks.push(renew);
    let token_revoked = revoke_login_token(client, &auth).await;
    Ok(LoginCheckReport {
        node: client.addr().to_owned(),
        mount: mount.to_owned(),
        role_id: pair.role_id.clone(),
        token_accessor: auth.accessor.clone(),
        token_policies: auth.policies.clone(),
        ttl_secs: auth.lease_duration,
        renewable: auth.renewable,
        checks,
        token_revoked,
    })
}
