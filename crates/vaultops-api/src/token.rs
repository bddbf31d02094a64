//! Tokens and response wrapping: `auth/token/*` (create, create-orphan, lookup-self,
//! renew-self, revoke-self, lookup-accessor, revoke-accessor) and `sys/wrapping/*` (unwrap,
//! lookup).
//!
//! It also owns the types every other auth method shares: [`AuthInfo`] (the `auth` block of a
//! login or token-create answer), [`WrapInfo`] (the `wrap_info` block of a response-wrapped
//! answer), [`TokenType`] and [`Ttl`] (a duration as the API takes it: seconds or a Go
//! duration string such as `"24h"`).
//!
//! Tokens, secret-ids and wrapping tokens only ever travel in the redacting types of
//! [`crate::secret`]; the types here that hold one implement `Debug` (redacted) but not
//! `Serialize`, so a token cannot end up in a JSON report by accident.

use crate::client::NodeClient;
use crate::error::{ApiError, ErrorKind};
use crate::secret::{Token, WrappingToken};
use reqwest::Method;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

// ---------------------------------------------------------------------------------------------
// Shared types
// ---------------------------------------------------------------------------------------------

/// A duration as Vault takes it: whole seconds, or a Go-style duration string (`"24h"`,
/// `"1h30m"`, `"90s"`; Vault also accepts `"7d"`).
///
/// A wire type, deliberately distinct from the rollout file's `vaultops_rollout::TtlSecs`: it
/// carries whatever a caller or the server sends (text passed through unchanged, the server
/// validates it), while the rollout file's TTL is checked to whole seconds when it is read.
/// Both read text with the one parser, `vaultops_types::whole_secs`.
///
/// The server answers reads with seconds (numbers), so both forms are accepted when
/// decoding. Two `Ttl`s compare equal when they stand for the same number of seconds
/// (`Ttl::from("24h") == Ttl::from(86_400)`); strings this crate cannot convert (fractions,
/// sub-second units) compare by their text.
#[derive(Debug, Clone)]
pub enum Ttl {
    /// Whole seconds, sent as a JSON number.
    Secs(u64),
    /// A duration string, sent as is; the server validates it.
    Text(String),
}

impl Ttl {
    /// The duration in whole seconds, when it is a number or a string made of integer
    /// `d`/`h`/`m`/`s` parts (`"1h30m"`, `"45"`); `None` for anything else.
    pub fn as_secs(&self) -> Option<u64> {
        match self {
            Ttl::Secs(s) => Some(*s),
            Ttl::Text(t) => vaultops_types::whole_secs(t),
        }
    }
}

impl PartialEq for Ttl {
    fn eq(&self, other: &Self) -> bool {
        match (self.as_secs(), other.as_secs()) {
            (Some(a), Some(b)) => a == b,
            _ => self.to_string() == other.to_string(),
        }
    }
}

impl fmt::Display for Ttl {
    /// `"90s"` for seconds, the text as given otherwise; both forms are what the
    /// `X-Vault-Wrap-TTL` header accepts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ttl::Secs(s) => write!(f, "{s}s"),
            Ttl::Text(t) => f.write_str(t),
        }
    }
}

impl From<u64> for Ttl {
    fn from(secs: u64) -> Self {
        Ttl::Secs(secs)
    }
}

impl From<&str> for Ttl {
    fn from(text: &str) -> Self {
        Ttl::Text(text.to_owned())
    }
}

impl From<String> for Ttl {
    fn from(text: String) -> Self {
        Ttl::Text(text)
    }
}

impl From<std::time::Duration> for Ttl {
    /// Whole seconds; a sub-second remainder is dropped (Vault has no finer unit).
    fn from(d: std::time::Duration) -> Self {
        Ttl::Secs(d.as_secs())
    }
}

impl Serialize for Ttl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Ttl::Secs(n) => s.serialize_u64(*n),
            Ttl::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for Ttl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Ttl;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of seconds or a duration string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ttl, E> {
                Ok(Ttl::Secs(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ttl, E> {
                u64::try_from(v)
                    .map(Ttl::Secs)
                    .map_err(|_| E::custom(format!("negative duration {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Ttl, E> {
                if v >= 0.0 && v.fract() == 0.0 && v <= u64::MAX as f64 {
                    Ok(Ttl::Secs(v as u64))
                } else {
                    Ok(Ttl::Text(format!("{v}s")))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ttl, E> {
                Ok(Ttl::Text(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The kind of token an auth method or token-create hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenType {
    /// A persisted token: renewable, revocable, can create children.
    Service,
    /// A lightweight, non-persisted token: not renewable, not individually revocable.
    Batch,
    /// The mount's or role's default (a role setting, never a token's own type).
    Default,
    /// Request a service token unless the mount says otherwise (role setting).
    DefaultService,
    /// Request a batch token unless the mount says otherwise (role setting).
    DefaultBatch,
}

/// The `auth` block of a login or token-create answer: the new token and what it may do.
///
/// `Debug` redacts the token; there is deliberately no `Serialize`.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthInfo {
    /// The new token.
    pub client_token: Token,
    /// The token's accessor: identifies it (lookup, revoke) without granting its rights.
    pub accessor: String,
    /// All policies the token carries (including identity policies).
    #[serde(default, deserialize_with = "null_default")]
    pub policies: Vec<String>,
    /// The policies attached to the token itself.
    #[serde(default, deserialize_with = "null_default")]
    pub token_policies: Vec<String>,
    /// Seconds until the token expires (0: never, e.g. a root token).
    pub lease_duration: u64,
    /// Whether the token can be renewed.
    pub renewable: bool,
    /// Metadata the auth method attached (AppRole: `role_name` and the secret-id's metadata).
    #[serde(default, deserialize_with = "null_default")]
    pub metadata: BTreeMap<String, String>,
    /// The identity entity the token belongs to (empty for tokens created directly).
    #[serde(default)]
    pub entity_id: String,
    /// Service or batch.
    #[serde(default)]
    pub token_type: Option<TokenType>,
    /// True when the token has no parent (AppRole logins always make orphans).
    #[serde(default)]
    pub orphan: bool,
    /// How many uses the token has (0: unlimited).
    #[serde(default)]
    pub num_uses: u64,
}

/// The `wrap_info` block of a response-wrapped answer: the single-use token that unwraps it.
///
/// `Debug` redacts the token; there is deliberately no `Serialize`.
#[derive(Debug, Clone, Deserialize)]
pub struct WrapInfo {
    /// Whoever unwraps this first gets the wrapped answer.
    pub token: WrappingToken,
    /// The wrapping token's own accessor.
    pub accessor: String,
    /// Seconds the wrapping token lives.
    pub ttl: u64,
    /// When it was created (RFC 3339).
    pub creation_time: String,
    /// The API path whose answer is wrapped (e.g. `auth/approle/role/NAME/secret-id`):
    /// check it before unwrapping to detect a substituted token.
    pub creation_path: String,
    /// The accessor of what was wrapped (a secret-id accessor or a token accessor), when
    /// the wrapped answer has one.
    #[serde(default)]
    pub wrapped_accessor: Option<String>,
}

/// What `sys/wrapping/lookup` tells about a wrapping token without unwrapping it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrapLookup {
    /// The API path whose answer is wrapped.
    pub creation_path: String,
    /// When it was created (RFC 3339).
    pub creation_time: String,
    /// Seconds the wrapping token lived from creation.
    pub creation_ttl: u64,
}

/// What a token-create call asks for. Every field is optional; `Default` is a child token
/// of the caller with the caller's policies.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TokenCreateRequest {
    /// Policies for the new token (must be a subset of the caller's unless the caller is root).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// Initial TTL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Ttl>,
    /// Hard limit that renewals cannot pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explicit_max_ttl: Option<Ttl>,
    /// Makes a periodic token: renewable forever, each renewal resets the TTL to this.
    /// Needs root or sudo (the server answers 400 otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<Ttl>,
    /// Whether the token may be renewed (server default: true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewable: Option<bool>,
    /// Make an orphan (needs root or sudo); [`NodeClient::token_create_orphan`] is the
    /// variant that only needs `update` on `auth/token/create-orphan`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_parent: Option<bool>,
    /// Leave out the `default` policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_default_policy: Option<bool>,
    /// A name shown in audit logs and lookups (the server prefixes it with `token-`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Uses before the token is revoked (0 or absent: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_uses: Option<u64>,
    /// Free-form metadata, shown in lookups and audit logs.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
    /// Service or batch (server default: service).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub token_type: Option<TokenType>,
}

/// What a token lookup returns. The token value itself (`id` in the server's answer) is
/// deliberately not kept: the caller has it already, and this type may be printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// The token's accessor.
    pub accessor: String,
    /// Policies attached to the token.
    #[serde(default, deserialize_with = "null_default")]
    pub policies: Vec<String>,
    /// Seconds left (0: never expires).
    pub ttl: u64,
    /// When it expires (RFC 3339); `None` for tokens that never expire.
    #[serde(default)]
    pub expire_time: Option<String>,
    /// Display name (`token-…` for tokens created directly).
    #[serde(default)]
    pub display_name: String,
    /// Metadata given at creation or by the auth method.
    #[serde(default, deserialize_with = "null_default")]
    pub meta: BTreeMap<String, String>,
    /// Uses left (0: unlimited).
    #[serde(default)]
    pub num_uses: u64,
    /// True when the token has no parent.
    #[serde(default)]
    pub orphan: bool,
    /// Whether it can be renewed.
    #[serde(default)]
    pub renewable: bool,
    /// Service or batch.
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// The path that created it (`auth/token/create`, `auth/approle/login`, …).
    #[serde(default)]
    pub path: String,
    /// TTL at creation, in seconds.
    #[serde(default)]
    pub creation_ttl: u64,
    /// Creation time, Unix seconds.
    #[serde(default)]
    pub creation_time: i64,
    /// Hard TTL limit in seconds (0: none).
    #[serde(default)]
    pub explicit_max_ttl: u64,
    /// Period in seconds, for periodic tokens.
    #[serde(default)]
    pub period: Option<u64>,
    /// Identity entity (empty for tokens created directly).
    #[serde(default)]
    pub entity_id: String,
    /// CIDRs the token may be used from (empty: anywhere).
    #[serde(default, deserialize_with = "null_default")]
    pub bound_cidrs: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Response envelopes shared by this crate's endpoint modules
// ---------------------------------------------------------------------------------------------

/// `{"data": T, ...}`.
#[derive(Debug, Deserialize)]
pub(crate) struct DataEnvelope<T> {
    pub(crate) data: T,
}

/// `{"auth": {...}, ...}`.
#[derive(Debug, Deserialize)]
pub(crate) struct AuthEnvelope {
    pub(crate) auth: AuthInfo,
}

/// `{"wrap_info": {...}, ...}`.
#[derive(Debug, Deserialize)]
pub(crate) struct WrapEnvelope {
    pub(crate) wrap_info: WrapInfo,
}

/// The `data` of a LIST answer.
#[derive(Debug, Deserialize)]
pub(crate) struct Keys {
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) keys: Vec<String>,
}

/// Decodes `null` as the type's default: the server sends `null` for empty maps and lists
/// (`"meta": null`, `"metadata": null`).
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

// ---------------------------------------------------------------------------------------------
// Error recognisers
// ---------------------------------------------------------------------------------------------

/// What the server answers (HTTP 400) for a wrapping token that was already unwrapped,
/// expired, or never existed; the three are indistinguishable by design.
const INVALID_WRAPPING_TOKEN: &str = "wrapping token is not valid or does not exist";

impl ApiError {
    /// True when a wrapping token was refused because it was already unwrapped, has
    /// expired or never existed (HTTP 400 `wrapping token is not valid or does not exist`).
    /// A token that was unwrapped by someone else is a security event: the wrapped secret
    /// was intercepted.
    pub fn is_invalid_wrapping_token(&self) -> bool {
        self.status() == Some(400)
            && self
                .server_errors()
                .iter()
                .any(|e| e.contains(INVALID_WRAPPING_TOKEN))
    }
}

// ---------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
struct AccessorBody<'a> {
    accessor: &'a str,
}

impl NodeClient {
    /// `POST auth/token/create`: a child token of this client's token.
    pub async fn token_create(&self, req: &TokenCreateRequest) -> Result<AuthInfo, ApiError> {
        let env: AuthEnvelope = self
            .call("token create", Method::POST, "auth/token/create", Some(req))
            .await?;
        Ok(env.auth)
    }

    /// `POST auth/token/create-orphan`: a token without a parent, so revoking this client's
    /// token does not revoke it (needs `update` on that path, not root).
    pub async fn token_create_orphan(
        &self,
        req: &TokenCreateRequest,
    ) -> Result<AuthInfo, ApiError> {
        let env: AuthEnvelope = self
            .call(
                "token create-orphan",
                Method::POST,
                "auth/token/create-orphan",
                Some(req),
            )
            .await?;
        Ok(env.auth)
    }

    /// `GET auth/token/lookup-self`: what this client's token is. A revoked or unknown
    /// token gives [`ApiError::is_permission_denied`].
    pub async fn token_lookup_self(&self) -> Result<TokenInfo, ApiError> {
        let env: DataEnvelope<TokenInfo> = self
            .call::<(), _>(
                "token lookup-self",
                Method::GET,
                "auth/token/lookup-self",
                None,
            )
            .await?;
        Ok(env.data)
    }

    /// `POST auth/token/renew-self`, optionally asking for `increment` more time (the server
    /// caps it at the token's max TTL). Returns the renewed token's auth block.
    pub async fn token_renew_self(&self, increment: Option<Ttl>) -> Result<AuthInfo, ApiError> {
        #[derive(Serialize)]
        struct Body {
            #[serde(skip_serializing_if = "Option::is_none")]
            increment: Option<Ttl>,
        }
        let env: AuthEnvelope = self
            .call(
                "token renew-self",
                Method::POST,
                "auth/token/renew-self",
                Some(&Body { increment }),
            )
            .await?;
        Ok(env.auth)
    }

    /// `POST auth/token/revoke-self`: revokes this client's token (and its children).
    /// The client keeps the token value; later calls with it are permission-denied.
    pub async fn token_revoke_self(&self) -> Result<(), ApiError> {
        self.call_empty::<()>(
            "token revoke-self",
            Method::POST,
            "auth/token/revoke-self",
            None,
        )
        .await
    }

    /// `LIST auth/token/accessors`: the accessors of every live token (needs `sudo` on
    /// that path). Empty when there is none (the server answers 404).
    pub async fn token_list_accessors(&self) -> Result<Vec<String>, ApiError> {
        #[derive(serde::Deserialize)]
        struct Keys {
            keys: Vec<String>,
        }
        #[derive(serde::Deserialize)]
        struct Env {
            data: Keys,
        }
        let env: Option<Env> = self
            .call_opt::<(), _>(
                "token list accessors",
                crate::client::list_method(),
                "auth/token/accessors",
                None,
            )
            .await?;
        Ok(env.map(|e| e.data.keys).unwrap_or_default())
    }

    /// `POST auth/token/lookup-accessor`: a token's properties by its accessor. `None` when
    /// no live token has that accessor (the server answers 400 `invalid accessor`).
    pub async fn token_lookup_accessor(
        &self,
        accessor: &str,
    ) -> Result<Option<TokenInfo>, ApiError> {
        const OP: &str = "token lookup-accessor";
        let accessor = non_empty(self, OP, "token accessor", accessor)?;
        let res = self
            .call::<_, DataEnvelope<TokenInfo>>(
                OP,
                Method::POST,
                "auth/token/lookup-accessor",
                Some(&AccessorBody { accessor }),
            )
            .await;
        match res {
            Ok(env) => Ok(Some(env.data)),
            Err(e)
                if e.status() == Some(400)
                    && e.server_errors()
                        .iter()
                        .any(|m| m.contains("invalid accessor")) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// `POST auth/token/revoke-accessor`: revokes the token with that accessor (and its
    /// children). Revoking an accessor that no longer exists succeeds (the server only
    /// warns), so this is idempotent.
    pub async fn token_revoke_accessor(&self, accessor: &str) -> Result<(), ApiError> {
        const OP: &str = "token revoke-accessor";
        let accessor = non_empty(self, OP, "token accessor", accessor)?;
        self.call_empty(
            OP,
            Method::POST,
            "auth/token/revoke-accessor",
            Some(&AccessorBody { accessor }),
        )
        .await
    }

    /// `POST sys/wrapping/unwrap`: returns the wrapped answer's `data`, decoded as `T`
    /// (`serde_json::Value` when the shape is not known;
    /// [`NodeClient::approle_unwrap_secret_id`] for a wrapped secret-id).
    ///
    /// The wrapping token is sent as the request's token, so this works from a client that
    /// holds no token of its own. A token that was already unwrapped (or expired) gives an
    /// error for which [`ApiError::is_invalid_wrapping_token`] is true.
    pub async fn unwrap<T: DeserializeOwned>(&self, token: &WrappingToken) -> Result<T, ApiError> {
        const OP: &str = "unwrap";
        let rb = self
            .without_token()
            .request(Method::POST, "sys/wrapping/unwrap")
            .header("X-Vault-Token", token.expose());
        let resp = self.send(OP, rb).await?;
        let env: DataEnvelope<T> = self.decode(OP, resp).await?;
        Ok(env.data)
    }

    /// `POST sys/wrapping/lookup`: where a wrapping token came from and how long it lives,
    /// without using it up. Needs no token. An unknown, expired or already-unwrapped token
    /// gives [`ApiError::is_invalid_wrapping_token`].
    pub async fn wrapping_lookup(&self, token: &WrappingToken) -> Result<WrapLookup, ApiError> {
        #[derive(Serialize)]
        struct Body<'a> {
            token: &'a WrappingToken,
        }
        let env: DataEnvelope<WrapLookup> = self
            .without_token()
            .call(
                "wrapping lookup",
                Method::POST,
                "sys/wrapping/lookup",
                Some(&Body { token }),
            )
            .await?;
        Ok(env.data)
    }

    /// The response-wrapping header value, refusing a zero TTL (the server would silently
    /// answer unwrapped, and the caller expects a wrapping token).
    pub(crate) fn wrap_ttl_header(&self, op: &'static str, ttl: &Ttl) -> Result<String, ApiError> {
        if ttl.as_secs() == Some(0) {
            return Err(self.err(
                op,
                ErrorKind::InvalidRequest(
                    "the wrap TTL must be longer than 0 s; e.g. 60s or 5m".into(),
                ),
            ));
        }
        Ok(ttl.to_string())
    }
}

/// Refuses an empty value for an identifier sent in a request body.
pub(crate) fn non_empty<'a>(
    client: &NodeClient,
    op: &'static str,
    what: &str,
    value: &'a str,
) -> Result<&'a str, ApiError> {
    if value.trim().is_empty() {
        return Err(client.err(
            op,
            ErrorKind::InvalidRequest(format!("the {what} is empty")),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_parses_and_compares_by_seconds() {
        assert_eq!(Ttl::from("24h").as_secs(), Some(86_400));
        assert_eq!(Ttl::from("1h30m").as_secs(), Some(5_400));
        assert_eq!(Ttl::from("2d").as_secs(), Some(172_800));
        assert_eq!(Ttl::from("45").as_secs(), Some(45));
        assert_eq!(Ttl::from("1.5h").as_secs(), None);
        assert_eq!(Ttl::from("1h30").as_secs(), None);
        assert_eq!(Ttl::from("300ms").as_secs(), None);
        assert_eq!(Ttl::from("").as_secs(), None);
        assert_eq!(Ttl::from("24h"), Ttl::from(86_400));
        assert_ne!(Ttl::from("24h"), Ttl::from(86_401));
        assert_eq!(Ttl::from("1.5h"), Ttl::from("1.5h"));
    }

    #[test]
    fn ttl_serde_takes_both_forms() {
        let t: Ttl = serde_json::from_str("3600").unwrap();
        assert_eq!(t, Ttl::Secs(3600));
        let t: Ttl = serde_json::from_str("\"1h\"").unwrap();
        assert_eq!(t.as_secs(), Some(3600));
        assert_eq!(serde_json::to_string(&Ttl::Secs(5)).unwrap(), "5");
        assert_eq!(serde_json::to_string(&Ttl::from("5m")).unwrap(), "\"5m\"");
        assert!(serde_json::from_str::<Ttl>("-1").is_err());
        assert_eq!(Ttl::Secs(60).to_string(), "60s");
    }

    #[test]
    fn token_create_request_sends_only_what_is_set() {
        let req = TokenCreateRequest {
            policies: vec!["p".into()],
            ttl: Some("1h".into()),
            token_type: Some(TokenType::Batch),
            ..Default::default()
        };
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"policies": ["p"], "ttl": "1h", "type": "batch"})
        );
    }

    #[test]
    fn token_info_decodes_a_real_answer_without_keeping_the_id() {
        // lookup-self of a root token as OpenBao 2.7.2 answers it.
        let body = r#"{"accessor":"LwB","creation_time":1795946725,"creation_ttl":0,"display_name":"token","entity_id":"","expire_time":null,"explicit_max_ttl":0,"id":"root-secret","issue_time":"2026-11-29T10:05:25Z","meta":null,"num_uses":0,"orphan":true,"path":"auth/token/create","policies":["root"],"renewable":false,"ttl":0,"type":"service"}"#;
        let info: TokenInfo = serde_json::from_str(body).unwrap();
        assert_eq!(info.token_type, TokenType::Service);
        assert!(info.meta.is_empty() && info.expire_time.is_none());
        assert!(!format!("{info:?}").contains("root-secret"));
        assert!(!serde_json::to_string(&info)
            .unwrap()
            .contains("root-secret"));
    }

    #[test]
    fn auth_and_wrap_info_debug_redact() {
        let auth: AuthInfo = serde_json::from_str(r#"{"client_token":"s.plainvalue","accessor":"a","policies":["default"],"token_policies":["default"],"metadata":null,"lease_duration":60,"renewable":true,"entity_id":"","token_type":"service","orphan":true,"mfa_requirement":null,"num_uses":0}"#).unwrap();
        assert!(!format!("{auth:?}").contains("plainvalue"));
        assert_eq!(auth.client_token.expose(), "s.plainvalue");
        let wrap: WrapInfo = serde_json::from_str(r#"{"token":"s.wrapplain","accessor":"x","ttl":60,"creation_time":"t","creation_path":"p","wrapped_accessor":"w"}"#).unwrap();
        assert!(!format!("{wrap:?}").contains("wrapplain"));
    }
}
