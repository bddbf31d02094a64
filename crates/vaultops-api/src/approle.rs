//! The AppRole auth method at a caller-given mount (default [`DEFAULT_APPROLE_MOUNT`]):
//! roles (create/update, read, list, delete), role-ids (read, set), secret-ids (generate
//! plain or response-wrapped, look up and destroy by value or by accessor, list accessors),
//! and login.
//!
//! Enabling the auth method is not here (mounts belong to [`crate::sys`]). Secret-ids only
//! travel as [`SecretId`], wrapping tokens as [`WrappingToken`], login tokens inside
//! [`AuthInfo`]; none of the types holding them implements `Serialize`.

use crate::client::{list_method, NodeClient};
use crate::error::{ApiError, ErrorKind};
use crate::kv::{checked_seg, checked_segs};
use crate::secret::{SecretId, WrappingToken};
use crate::token::{
    non_empty, null_default, AuthEnvelope, AuthInfo, DataEnvelope, Keys, TokenType, Ttl,
    WrapEnvelope, WrapInfo,
};
use reqwest::Method;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;

/// Where `bao auth enable approle` mounts the method.
pub const DEFAULT_APPROLE_MOUNT: &str = "approle";

/// A role's settings. On write, `None` leaves a setting as it is (or at the server default
/// for a new role), so the same type serves create and partial update; on read every
/// setting the server reports is `Some`, with TTLs as [`Ttl::Secs`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppRoleSpec {
    /// Policies of the tokens a login hands out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_policies: Option<Vec<String>>,
    /// Initial TTL of those tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ttl: Option<Ttl>,
    /// Maximum lifetime of those tokens through renewals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_max_ttl: Option<Ttl>,
    /// Hard lifetime limit that even the mount's settings cannot raise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_explicit_max_ttl: Option<Ttl>,
    /// Makes the tokens periodic (renewable forever, each renewal resets the TTL to this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_period: Option<Ttl>,
    /// Service or batch tokens (batch cannot be combined with a period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<TokenType>,
    /// Uses per token (0: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_num_uses: Option<u64>,
    /// CIDRs the tokens may be used from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_bound_cidrs: Option<Vec<String>>,
    /// Leave the `default` policy out of the tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_no_default_policy: Option<bool>,
    /// How long a secret-id lives (0: forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_id_ttl: Option<Ttl>,
    /// Logins per secret-id (0: unlimited). Note: concurrent logins sharing one secret-id
    /// with a limit mostly fail with HTTP 500 (measured); give each client its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_id_num_uses: Option<u64>,
    /// CIDRs a login may come from; a secret-id's own `cidr_list` must lie within these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_id_bound_cidrs: Option<Vec<String>>,
    /// Whether a login needs a secret-id (server default: true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_secret_id: Option<bool>,
    /// Keep secret-ids local to the cluster (not replicated); only settable at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_secret_ids: Option<bool>,
}

/// What a new secret-id should carry. `Default` is a secret-id with the role's settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SecretIdRequest {
    /// Metadata attached to the secret-id and copied into the tokens its logins make
    /// (shown in audit logs). Sent as a JSON-encoded string, as the API requires.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "metadata_as_json_string"
    )]
    pub metadata: BTreeMap<String, String>,
    /// CIDRs a login with this secret-id may come from (within the role's
    /// `secret_id_bound_cidrs`, if it has any).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cidr_list: Vec<String>,
    /// CIDRs the tokens from this secret-id may be used from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub token_bound_cidrs: Vec<String>,
    /// Lifetime of this secret-id (at most the role's `secret_id_ttl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Ttl>,
    /// Logins allowed with this secret-id (0: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_uses: Option<u64>,
}

fn metadata_as_json_string<S: Serializer>(
    m: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let text = serde_json::to_string(m).map_err(serde::ser::Error::custom)?;
    s.serialize_str(&text)
}

/// A freshly generated secret-id. `Debug` redacts it; there is deliberately no `Serialize`.
#[derive(Debug, Clone, Deserialize)]
pub struct GeneratedSecretId {
    /// The secret-id: give it to exactly one client.
    pub secret_id: SecretId,
    /// Its accessor: look it up or destroy it without knowing the secret.
    pub secret_id_accessor: String,
    /// Seconds it lives (0: forever).
    pub secret_id_ttl: u64,
    /// Logins it allows (0: unlimited).
    pub secret_id_num_uses: u64,
}

/// What the server keeps about a secret-id (never the secret-id itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretIdInfo {
    /// The secret-id's accessor.
    pub secret_id_accessor: String,
    /// CIDRs a login with it may come from.
    #[serde(default, deserialize_with = "null_default")]
    pub cidr_list: Vec<String>,
    /// CIDRs its tokens may be used from.
    #[serde(default, deserialize_with = "null_default")]
    pub token_bound_cidrs: Vec<String>,
    /// Its metadata.
    #[serde(default, deserialize_with = "null_default")]
    pub metadata: BTreeMap<String, String>,
    /// When it was created (RFC 3339).
    pub creation_time: String,
    /// When it expires (RFC 3339; year 1 when it never does).
    pub expiration_time: String,
    /// When it was last used or changed (RFC 3339).
    pub last_updated_time: String,
    /// Logins left (0: unlimited).
    pub secret_id_num_uses: u64,
    /// Its TTL in seconds (0: forever).
    pub secret_id_ttl: u64,
}

#[derive(Serialize)]
struct AccessorBody<'a> {
    secret_id_accessor: &'a str,
}

#[derive(Serialize)]
struct SecretIdBody<'a> {
    secret_id: &'a SecretId,
}

impl NodeClient {
    /// `auth/{mount}/role/{role}` with the mount and role checked and encoded.
    fn role_path(&self, op: &'static str, mount: &str, role: &str) -> Result<String, ApiError> {
        Ok(format!(
            "auth/{}/role/{}",
            checked_segs(self, op, "AppRole mount path", mount)?,
            checked_seg(self, op, "AppRole role name", role)?
        ))
    }

    /// `POST auth/{mount}/role/{role}`: creates the role, or updates the settings that are
    /// `Some` in `spec`.
    pub async fn approle_write_role(
        &self,
        mount: &str,
        role: &str,
        spec: &AppRoleSpec,
    ) -> Result<(), ApiError> {
        const OP: &str = "approle role write";
        let path = self.role_path(OP, mount, role)?;
        self.call_empty(OP, Method::POST, &path, Some(spec)).await
    }

    /// `GET auth/{mount}/role/{role}`: the role's settings, `None` when it does not exist.
    pub async fn approle_read_role(
        &self,
        mount: &str,
        role: &str,
    ) -> Result<Option<AppRoleSpec>, ApiError> {
        const OP: &str = "approle role read";
        let path = self.role_path(OP, mount, role)?;
        let env: Option<DataEnvelope<AppRoleSpec>> =
            self.call_opt::<(), _>(OP, Method::GET, &path, None).await?;
        Ok(env.map(|e| e.data))
    }

    /// `LIST auth/{mount}/role`: role names (empty when there are none).
    pub async fn approle_list_roles(&self, mount: &str) -> Result<Vec<String>, ApiError> {
        const OP: &str = "approle role list";
        let path = format!(
            "auth/{}/role",
            checked_segs(self, OP, "AppRole mount path", mount)?
        );
        let env: Option<DataEnvelope<Keys>> = self
            .call_opt::<(), _>(OP, list_method(), &path, None)
            .await?;
        Ok(env.map(|e| e.data.keys).unwrap_or_default())
    }

    /// `DELETE auth/{mount}/role/{role}`: deletes the role and its secret-ids (tokens already
    /// issued live on). Deleting a missing role succeeds.
    pub async fn approle_delete_role(&self, mount: &str, role: &str) -> Result<(), ApiError> {
        const OP: &str = "approle role delete";
        let path = self.role_path(OP, mount, role)?;
        self.call_empty::<()>(OP, Method::DELETE, &path, None).await
    }

    /// `GET auth/{mount}/role/{role}/role-id`: the role-id (an identifier, not a secret),
    /// `None` when the role does not exist.
    pub async fn approle_role_id(
        &self,
        mount: &str,
        role: &str,
    ) -> Result<Option<String>, ApiError> {
        const OP: &str = "approle role-id read";
        #[derive(Deserialize)]
        struct RoleId {
            role_id: String,
        }
        let path = format!("{}/role-id", self.role_path(OP, mount, role)?);
        let env: Option<DataEnvelope<RoleId>> =
            self.call_opt::<(), _>(OP, Method::GET, &path, None).await?;
        Ok(env.map(|e| e.data.role_id))
    }

    /// `POST auth/{mount}/role/{role}/role-id`: sets a chosen role-id (e.g. to keep it
    /// stable across a rebuilt cluster).
    pub async fn approle_set_role_id(
        &self,
        mount: &str,
        role: &str,
        role_id: &str,
    ) -> Result<(), ApiError> {
        const OP: &str = "approle role-id set";
        #[derive(Serialize)]
        struct Body<'a> {
            role_id: &'a str,
        }
        let role_id = non_empty(self, OP, "role-id", role_id)?;
        let path = format!("{}/role-id", self.role_path(OP, mount, role)?);
        self.call_empty(OP, Method::POST, &path, Some(&Body { role_id }))
            .await
    }

    /// `POST auth/{mount}/role/{role}/secret-id`: a new secret-id, returned in the clear
    /// (inside [`SecretId`]). Prefer [`NodeClient::approle_generate_secret_id_wrapped`] when
    /// the secret-id travels to another party.
    pub async fn approle_generate_secret_id(
        &self,
        mount: &str,
        role: &str,
        req: &SecretIdRequest,
    ) -> Result<GeneratedSecretId, ApiError> {
        const OP: &str = "approle secret-id generate";
        let path = format!("{}/secret-id", self.role_path(OP, mount, role)?);
        let env: DataEnvelope<GeneratedSecretId> =
            self.call(OP, Method::POST, &path, Some(req)).await?;
        Ok(env.data)
    }

    /// Like [`NodeClient::approle_generate_secret_id`], but the server wraps the answer
    /// (`X-Vault-Wrap-TTL`): only a single-use wrapping token comes back, and whoever
    /// unwraps it first ([`NodeClient::approle_unwrap_secret_id`]) gets the secret-id.
    /// `wrap_ttl` must be longer than zero.
    pub async fn approle_generate_secret_id_wrapped(
        &self,
        mount: &str,
        role: &str,
        req: &SecretIdRequest,
        wrap_ttl: Ttl,
    ) -> Result<WrapInfo, ApiError> {
        const OP: &str = "approle secret-id generate wrapped";
        let header = self.wrap_ttl_header(OP, &wrap_ttl)?;
        let path = format!("{}/secret-id", self.role_path(OP, mount, role)?);
        let rb = self
            .request(Method::POST, &path)
            .header("X-Vault-Wrap-TTL", header)
            .json(req);
        let resp = self.send(OP, rb).await?;
        let env: WrapEnvelope = self.decode(OP, resp).await?;
        Ok(env.wrap_info)
    }

    /// Unwraps a wrapped secret-id (see [`NodeClient::unwrap`]; needs no token of its own).
    pub async fn approle_unwrap_secret_id(
        &self,
        token: &WrappingToken,
    ) -> Result<GeneratedSecretId, ApiError> {
        self.unwrap(token).await
    }

    /// `LIST auth/{mount}/role/{role}/secret-id`: the accessors of the role's live
    /// secret-ids (empty when there are none).
    pub async fn approle_list_secret_id_accessors(
        &self,
        mount: &str,
        role: &str,
    ) -> Result<Vec<String>, ApiError> {
        const OP: &str = "approle secret-id list";
        let path = format!("{}/secret-id", self.role_path(OP, mount, role)?);
        let env: Option<DataEnvelope<Keys>> = self
            .call_opt::<(), _>(OP, list_method(), &path, None)
            .await?;
        Ok(env.map(|e| e.data.keys).unwrap_or_default())
    }

    /// `POST auth/{mount}/role/{role}/secret-id-accessor/lookup`: a secret-id's properties
    /// by accessor, `None` when no secret-id has that accessor.
    pub async fn approle_lookup_secret_id_accessor(
        &self,
        mount: &str,
        role: &str,
        accessor: &str,
    ) -> Result<Option<SecretIdInfo>, ApiError> {
        const OP: &str = "approle secret-id accessor lookup";
        let secret_id_accessor = non_empty(self, OP, "secret-id accessor", accessor)?;
        let path = format!(
            "{}/secret-id-accessor/lookup",
            self.role_path(OP, mount, role)?
        );
        // An unknown accessor answers 404 with `data.error` and no `errors` list.
        let env: Option<DataEnvelope<SecretIdInfo>> = self
            .call_opt(
                OP,
                Method::POST,
                &path,
                Some(&AccessorBody { secret_id_accessor }),
            )
            .await?;
        Ok(env.map(|e| e.data))
    }

    /// `POST auth/{mount}/role/{role}/secret-id-accessor/destroy`: destroys the secret-id
    /// with that accessor, so no further login can use it. An unknown accessor is an error
    /// (the server answers 500 `failed to find accessor entry`).
    pub async fn approle_destroy_secret_id_accessor(
        &self,
        mount: &str,
        role: &str,
        accessor: &str,
    ) -> Result<(), ApiError> {
        const OP: &str = "approle secret-id accessor destroy";
        let secret_id_accessor = non_empty(self, OP, "secret-id accessor", accessor)?;
        let path = format!(
            "{}/secret-id-accessor/destroy",
            self.role_path(OP, mount, role)?
        );
        self.call_empty(
            OP,
            Method::POST,
            &path,
            Some(&AccessorBody { secret_id_accessor }),
        )
        .await
    }

    /// `POST auth/{mount}/role/{role}/secret-id/lookup`: a secret-id's properties by its
    /// value, `None` when it does not exist (the server answers 204).
    pub async fn approle_lookup_secret_id(
        &self,
        mount: &str,
        role: &str,
        secret_id: &SecretId,
    ) -> Result<Option<SecretIdInfo>, ApiError> {
        const OP: &str = "approle secret-id lookup";
        let path = format!("{}/secret-id/lookup", self.role_path(OP, mount, role)?);
        let rb = self
            .request(Method::POST, &path)
            .json(&SecretIdBody { secret_id });
        let resp = self.send(OP, rb).await?;
        if resp.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let env: DataEnvelope<SecretIdInfo> = self.decode(OP, resp).await?;
        Ok(Some(env.data))
    }

    /// `POST auth/{mount}/role/{role}/secret-id/destroy`: destroys a secret-id by its value.
    /// Destroying an unknown secret-id succeeds.
    pub async fn approle_destroy_secret_id(
        &self,
        mount: &str,
        role: &str,
        secret_id: &SecretId,
    ) -> Result<(), ApiError> {
        const OP: &str = "approle secret-id destroy";
        let path = format!("{}/secret-id/destroy", self.role_path(OP, mount, role)?);
        self.call_empty(OP, Method::POST, &path, Some(&SecretIdBody { secret_id }))
            .await
    }

    /// `POST auth/{mount}/login`: logs in with a role-id and secret-id. Sent without this
    /// client's token (a login needs none). The server refuses with HTTP 400 for an unknown
    /// or used-up secret-id (`invalid role or secret ID`) and for a source address outside
    /// the CIDR restrictions (`source address "…" unauthorized …`).
    pub async fn approle_login(
        &self,
        mount: &str,
        role_id: &str,
        secret_id: &SecretId,
    ) -> Result<AuthInfo, ApiError> {
        const OP: &str = "approle login";
        #[derive(Serialize)]
        struct Body<'a> {
            role_id: &'a str,
            secret_id: &'a SecretId,
        }
        let role_id = non_empty(self, OP, "role-id", role_id)?;
        if secret_id.expose().is_empty() {
            return Err(self.err(
                OP,
                ErrorKind::InvalidRequest("the secret-id is empty".into()),
            ));
        }
        let path = format!(
            "auth/{}/login",
            checked_segs(self, OP, "AppRole mount path", mount)?
        );
        let env: AuthEnvelope = self
            .without_token()
            .call(OP, Method::POST, &path, Some(&Body { role_id, secret_id }))
            .await?;
        Ok(env.auth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_id_request_sends_metadata_as_a_json_string() {
        let req = SecretIdRequest {
            metadata: BTreeMap::from([("host".to_string(), "api-1".to_string())]),
            cidr_list: vec!["127.0.0.1/32".into()],
            ttl: Some("10m".into()),
            ..Default::default()
        };
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"metadata": "{\"host\":\"api-1\"}", "cidr_list": ["127.0.0.1/32"], "ttl": "10m"})
        );
        assert_eq!(
            serde_json::to_value(SecretIdRequest::default()).unwrap(),
            serde_json::json!({})
        );
    }

    #[test]
    fn role_spec_reads_seconds_and_writes_only_what_is_set() {
        // A role read as OpenBao 2.7.2 answers it.
        let read: AppRoleSpec = serde_json::from_str(r#"{"bind_secret_id":true,"local_secret_ids":false,"secret_id_bound_cidrs":["127.0.0.0/8"],"secret_id_num_uses":10,"secret_id_ttl":3600,"token_bound_cidrs":["127.0.0.0/8"],"token_explicit_max_ttl":0,"token_max_ttl":172800,"token_no_default_policy":false,"token_num_uses":0,"token_period":0,"token_policies":["p1","p2"],"token_strictly_bind_ip":false,"token_ttl":86400,"token_type":"service"}"#).unwrap();
        assert_eq!(read.token_ttl, Some(Ttl::from("24h")));
        assert_eq!(read.token_max_ttl, Some(Ttl::from("48h")));
        assert_eq!(read.token_type, Some(TokenType::Service));
        let write = AppRoleSpec {
            token_policies: Some(vec!["p".into()]),
            token_ttl: Some("1h".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&write).unwrap(),
            serde_json::json!({"token_policies": ["p"], "token_ttl": "1h"})
        );
    }

    #[test]
    fn generated_secret_id_debug_redacts() {
        let g: GeneratedSecretId = serde_json::from_str(r#"{"secret_id":"785b6a27-plain","secret_id_accessor":"e307","secret_id_num_uses":3,"secret_id_ttl":600}"#).unwrap();
        assert!(!format!("{g:?}").contains("785b6a27"));
    }
}
