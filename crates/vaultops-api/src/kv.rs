//! The KV version 2 secrets engine at a caller-given mount (`secret` on a dev server):
//! read (latest or a version), write with check-and-set, list, soft delete (latest or given
//! versions), undelete, destroy, and the key's metadata (read, delete); and writing and listing a KV
//! version 1 engine (for inventories of what a cluster holds).
//!
//! Enabling the engine is not here (mounts belong to [`crate::sys`]). Every mount and key
//! path is checked and percent-encoded segment by segment, so a caller-given path can
//! never reach another API path (`..` segments are refused: URL resolution would apply them).

use crate::client::{list_method, seg, segs, NodeClient};
use crate::error::{ApiError, ErrorKind};
use crate::token::{null_default, DataEnvelope, Keys};
use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// One version's bookkeeping, as a read or a write returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvVersionMeta {
    /// The version number (1 for the first write).
    pub version: u64,
    /// When this version was written (RFC 3339).
    pub created_time: String,
    /// When this version was soft-deleted; `None` while it is live.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub deletion_time: Option<String>,
    /// True when this version's data was destroyed for good.
    #[serde(default)]
    pub destroyed: bool,
    /// The key's custom metadata (set through the metadata endpoint).
    #[serde(default, deserialize_with = "null_default")]
    pub custom_metadata: BTreeMap<String, String>,
}

/// A live secret version: its key/value pairs and bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KvSecret {
    /// The key/value pairs as written.
    #[serde(default, deserialize_with = "null_default")]
    pub data: serde_json::Map<String, serde_json::Value>,
    /// Version, times, deletion state.
    pub metadata: KvVersionMeta,
}

/// One version's state in a key's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvVersionState {
    /// When this version was written (RFC 3339).
    pub created_time: String,
    /// When it was soft-deleted; `None` while live.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub deletion_time: Option<String>,
    /// True when its data was destroyed.
    #[serde(default)]
    pub destroyed: bool,
}

/// A key's metadata: every version and the key's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvMetadata {
    /// The newest version number.
    pub current_version: u64,
    /// The oldest version still kept (0 when all are kept).
    pub oldest_version: u64,
    /// When the key was first written (RFC 3339).
    pub created_time: String,
    /// When the key was last written (RFC 3339).
    pub updated_time: String,
    /// Every kept version, by number (numeric order, not the server's string order).
    #[serde(default, deserialize_with = "null_default")]
    pub versions: BTreeMap<u64, KvVersionState>,
    /// Versions kept for this key (0: the mount's setting).
    #[serde(default)]
    pub max_versions: u64,
    /// Whether every write to this key must carry `cas`.
    #[serde(default)]
    pub cas_required: bool,
    /// How long a version lives before it is soft-deleted (`"0s"`: forever).
    #[serde(default)]
    pub delete_version_after: String,
    /// The key's custom metadata.
    #[serde(default, deserialize_with = "null_default")]
    pub custom_metadata: BTreeMap<String, String>,
}

/// The KV v2 engine answers `""` for "not deleted".
fn empty_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    Ok(s.filter(|s| !s.is_empty()))
}

/// What the server answers (HTTP 400) when a write's `cas` does not match the key's
/// current version (including `cas: 0` on a key that exists).
const CAS_MISMATCH: &str = "check-and-set parameter did not match the current version";

impl ApiError {
    /// True when a KV v2 write was refused because its check-and-set version did not match
    /// the key's current version (HTTP 400 `check-and-set parameter did not match the
    /// current version`): someone else wrote first; re-read and decide.
    pub fn is_cas_mismatch(&self) -> bool {
        self.status() == Some(400)
            && self
                .server_errors()
                .iter()
                .any(|e| e.contains(CAS_MISMATCH))
    }
}

#[derive(Serialize)]
struct Versions<'a> {
    versions: &'a [u64],
}

impl NodeClient {
    /// `GET {mount}/data/{path}`: the latest version. `None` when the key does not exist or
    /// its latest version is deleted or destroyed ([`NodeClient::kv_metadata`] tells which).
    pub async fn kv_read(&self, mount: &str, path: &str) -> Result<Option<KvSecret>, ApiError> {
        self.kv_get("kv read", mount, path, None).await
    }

    /// `GET {mount}/data/{path}?version=N`: one version (versions start at 1). `None` when it
    /// does not exist or is deleted or destroyed.
    pub async fn kv_read_version(
        &self,
        mount: &str,
        path: &str,
        version: u64,
    ) -> Result<Option<KvSecret>, ApiError> {
        const OP: &str = "kv read version";
        if version == 0 {
            return Err(self.err(
                OP,
                ErrorKind::InvalidRequest(
                    "KV versions start at 1 (the server reads 0 as the latest); use kv_read for the latest".into(),
                ),
            ));
        }
        self.kv_get(OP, mount, path, Some(version)).await
    }

    async fn kv_get(
        &self,
        op: &'static str,
        mount: &str,
        path: &str,
        version: Option<u64>,
    ) -> Result<Option<KvSecret>, ApiError> {
        let url = format!(
            "{}/data/{}",
            mount_segs(self, op, mount)?,
            key_segs(self, op, path)?
        );
        let mut rb = self.request(Method::GET, &url);
        if let Some(v) = version {
            rb = rb.query(&[("version", v)]);
        }
        // A deleted version answers 404 with its metadata in the body and no `errors`, like a
        // missing key; both mean "no data to read".
        match self.send(op, rb).await {
            Ok(resp) => {
                let env: DataEnvelope<KvSecret> = self.decode(op, resp).await?;
                Ok(Some(env.data))
            }
            Err(e) if e.is_not_found() && e.server_errors().is_empty() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST {mount}/data/{path}`: writes a new version. `data` must serialize to a JSON
    /// object (a `serde_json::Map`, `json!({...})`, or a struct).
    ///
    /// With `cas: Some(0)` the write succeeds only if the key does not exist yet; with
    /// `Some(n)` only if the current version is `n`. A refused check-and-set gives an error
    /// for which [`ApiError::is_cas_mismatch`] is true.
    pub async fn kv_write<T: Serialize + ?Sized>(
        &self,
        mount: &str,
        path: &str,
        data: &T,
        cas: Option<u64>,
    ) -> Result<KvVersionMeta, ApiError> {
        const OP: &str = "kv write";
        #[derive(Serialize)]
        struct Options {
            cas: u64,
        }
        #[derive(Serialize)]
        struct Body<'a, T: ?Sized> {
            data: &'a T,
            #[serde(skip_serializing_if = "Option::is_none")]
            options: Option<Options>,
        }
        let url = format!(
            "{}/data/{}",
            mount_segs(self, OP, mount)?,
            key_segs(self, OP, path)?
        );
        let body = Body {
            data,
            options: cas.map(|cas| Options { cas }),
        };
        let env: DataEnvelope<KvVersionMeta> =
            self.call(OP, Method::POST, &url, Some(&body)).await?;
        Ok(env.data)
    }

    /// `LIST {mount}/metadata/{path}`: the keys directly under `path` (`""` for the mount's
    /// root); sub-folders end with `/`. Empty when there is nothing (the server's 404).
    pub async fn kv_list(&self, mount: &str, path: &str) -> Result<Vec<String>, ApiError> {
        const OP: &str = "kv list";
        let mount = mount_segs(self, OP, mount)?;
        let url = if path.trim_matches('/').is_empty() {
            format!("{mount}/metadata/")
        } else {
            format!("{mount}/metadata/{}/", key_segs(self, OP, path)?)
        };
        let env: Option<DataEnvelope<Keys>> = self
            .call_opt::<(), _>(OP, list_method(), &url, None)
            .await?;
        Ok(env.map(|e| e.data.keys).unwrap_or_default())
    }

    /// `LIST {mount}/{path}` on a KV **version 1** engine: the keys directly under `path`
    /// (`""` for the mount's root); sub-folders end with `/`. Empty when there is nothing.
    pub async fn kv1_list(&self, mount: &str, path: &str) -> Result<Vec<String>, ApiError> {
        const OP: &str = "kv v1 list";
        let mount = mount_segs(self, OP, mount)?;
        let url = if path.trim_matches('/').is_empty() {
            format!("{mount}/")
        } else {
            format!("{mount}/{}/", key_segs(self, OP, path)?)
        };
        let env: Option<DataEnvelope<Keys>> = self
            .call_opt::<(), _>(OP, list_method(), &url, None)
            .await?;
        Ok(env.map(|e| e.data.keys).unwrap_or_default())
    }

    /// `POST {mount}/{path}` on a KV **version 1** engine: replaces the key's data.
    pub async fn kv1_write<T: Serialize + ?Sized>(
        &self,
        mount: &str,
        path: &str,
        data: &T,
    ) -> Result<(), ApiError> {
        const OP: &str = "kv v1 write";
        let url = format!(
            "{}/{}",
            mount_segs(self, OP, mount)?,
            key_segs(self, OP, path)?
        );
        self.call_empty(OP, Method::POST, &url, Some(data)).await
    }

    /// `DELETE {mount}/data/{path}`: soft-deletes the latest version (undo with
    /// [`NodeClient::kv_undelete`]). Deleting a missing key succeeds.
    pub async fn kv_delete(&self, mount: &str, path: &str) -> Result<(), ApiError> {
        const OP: &str = "kv delete";
        let url = format!(
            "{}/data/{}",
            mount_segs(self, OP, mount)?,
            key_segs(self, OP, path)?
        );
        self.call_empty::<()>(OP, Method::DELETE, &url, None).await
    }

    /// `POST {mount}/delete/{path}`: soft-deletes the given versions.
    pub async fn kv_delete_versions(
        &self,
        mount: &str,
        path: &str,
        versions: &[u64],
    ) -> Result<(), ApiError> {
        self.kv_versions_op("kv delete versions", "delete", mount, path, versions)
            .await
    }

    /// `POST {mount}/undelete/{path}`: restores soft-deleted versions.
    pub async fn kv_undelete(
        &self,
        mount: &str,
        path: &str,
        versions: &[u64],
    ) -> Result<(), ApiError> {
        self.kv_versions_op("kv undelete", "undelete", mount, path, versions)
            .await
    }

    /// `POST {mount}/destroy/{path}`: removes the given versions' data for good (the
    /// metadata keeps a `destroyed` mark).
    pub async fn kv_destroy(
        &self,
        mount: &str,
        path: &str,
        versions: &[u64],
    ) -> Result<(), ApiError> {
        self.kv_versions_op("kv destroy", "destroy", mount, path, versions)
            .await
    }

    async fn kv_versions_op(
        &self,
        op: &'static str,
        action: &str,
        mount: &str,
        path: &str,
        versions: &[u64],
    ) -> Result<(), ApiError> {
        if versions.is_empty() || versions.contains(&0) {
            return Err(self.err(
                op,
                ErrorKind::InvalidRequest(format!(
                    "give at least one version number (versions start at 1), got {versions:?}"
                )),
            ));
        }
        let url = format!(
            "{}/{action}/{}",
            mount_segs(self, op, mount)?,
            key_segs(self, op, path)?
        );
        self.call_empty(op, Method::POST, &url, Some(&Versions { versions }))
            .await
    }

    /// `GET {mount}/metadata/{path}`: every version's state and the key's settings. `None`
    /// when the key does not exist (never written, or its metadata was deleted).
    pub async fn kv_metadata(
        &self,
        mount: &str,
        path: &str,
    ) -> Result<Option<KvMetadata>, ApiError> {
        const OP: &str = "kv metadata read";
        let url = format!(
            "{}/metadata/{}",
            mount_segs(self, OP, mount)?,
            key_segs(self, OP, path)?
        );
        let env: Option<DataEnvelope<KvMetadata>> =
            self.call_opt::<(), _>(OP, Method::GET, &url, None).await?;
        Ok(env.map(|e| e.data))
    }

    /// `DELETE {mount}/metadata/{path}`: removes the key with every version and its
    /// metadata, for good. Deleting a missing key succeeds.
    pub async fn kv_delete_metadata(&self, mount: &str, path: &str) -> Result<(), ApiError> {
        const OP: &str = "kv metadata delete";
        let url = format!(
            "{}/metadata/{}",
            mount_segs(self, OP, mount)?,
            key_segs(self, OP, path)?
        );
        self.call_empty::<()>(OP, Method::DELETE, &url, None).await
    }
}

// ---------------------------------------------------------------------------------------------
// Caller-given names and paths (shared with the AppRole module)
// ---------------------------------------------------------------------------------------------

/// Checks a `/`-separated caller-given path (a mount, a KV key) and percent-encodes each
/// segment. Refuses an empty path and empty, `.` or `..` segments: URL resolution would
/// apply dot segments and let the path escape into another API path.
pub(crate) fn checked_segs(
    client: &NodeClient,
    op: &'static str,
    what: &str,
    path: &str,
) -> Result<String, ApiError> {
    let trimmed = path.trim_matches('/');
    let bad = |why: &str| {
        client.err(
            op,
            ErrorKind::InvalidRequest(format!("the {what} {path:?} {why}")),
        )
    };
    if trimmed.is_empty() {
        return Err(bad("is empty"));
    }
    for part in trimmed.split('/') {
        if part.is_empty() {
            return Err(bad("has an empty segment (\"//\")"));
        }
        if part == "." || part == ".." {
            return Err(bad("has a \".\" or \"..\" segment"));
        }
    }
    Ok(segs(trimmed))
}

/// Checks one caller-given name (a role name, an accessor) and percent-encodes it as one
/// segment (`/` inside it is encoded, not a separator).
pub(crate) fn checked_seg(
    client: &NodeClient,
    op: &'static str,
    what: &str,
    name: &str,
) -> Result<String, ApiError> {
    if name.trim().is_empty() || name == "." || name == ".." {
        return Err(client.err(
            op,
            ErrorKind::InvalidRequest(format!("the {what} {name:?} is not a usable name")),
        ));
    }
    Ok(seg(name))
}

fn mount_segs(client: &NodeClient, op: &'static str, mount: &str) -> Result<String, ApiError> {
    checked_segs(client, op, "KV mount path", mount)
}

fn key_segs(client: &NodeClient, op: &'static str, path: &str) -> Result<String, ApiError> {
    checked_segs(client, op, "KV key path", path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientConfig;

    fn client() -> NodeClient {
        NodeClient::new("https://127.0.0.1:1", &ClientConfig::default()).unwrap()
    }

    #[test]
    fn paths_are_checked_and_encoded() {
        let c = client();
        assert_eq!(checked_segs(&c, "t", "p", "/a/b c/").unwrap(), "a/b%20c");
        for bad in ["", "/", "a//b", "a/../sys", "..", "./x"] {
            let e = checked_segs(&c, "t", "KV key path", bad).unwrap_err();
            assert!(matches!(e.kind, ErrorKind::InvalidRequest(_)), "{bad}: {e}");
        }
        assert_eq!(checked_seg(&c, "t", "role", "a/b").unwrap(), "a%2Fb");
        assert!(checked_seg(&c, "t", "role", "..").is_err());
        assert!(checked_seg(&c, "t", "role", " ").is_err());
    }

    #[test]
    fn secret_decodes_real_answers() {
        // OpenBao 2.7.2: a live version, then a deleted one (404 body shape, data null).
        let live: DataEnvelope<KvSecret> = serde_json::from_str(r#"{"data":{"data":{"u":"x2"},"metadata":{"created_time":"2026-11-29T10:05:49Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":2}}}"#).unwrap();
        assert_eq!(live.data.metadata.version, 2);
        assert_eq!(live.data.metadata.deletion_time, None);
        assert_eq!(live.data.data["u"], "x2");
        let gone: DataEnvelope<KvSecret> = serde_json::from_str(r#"{"data":{"data":null,"metadata":{"created_time":"t","custom_metadata":null,"deletion_time":"2026-11-29T10:05:49Z","destroyed":true,"version":1}}}"#).unwrap();
        assert!(gone.data.data.is_empty() && gone.data.metadata.destroyed);
    }

    #[test]
    fn metadata_versions_sort_numerically() {
        let m: KvMetadata = serde_json::from_str(r#"{"cas_required":false,"created_time":"t","current_metadata_version":0,"current_version":10,"custom_metadata":null,"delete_version_after":"0s","max_versions":0,"metadata_cas_required":false,"oldest_version":0,"updated_time":"u","versions":{"10":{"created_time":"a","deletion_time":"","destroyed":false},"2":{"created_time":"b","deletion_time":"x","destroyed":true}}}"#).unwrap();
        assert_eq!(m.versions.keys().copied().collect::<Vec<_>>(), vec![2, 10]);
        assert_eq!(m.versions[&2].deletion_time.as_deref(), Some("x"));
    }
}
