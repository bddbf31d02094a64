//! Integrated storage (raft) endpoints, `sys/storage/raft/*`: the peer set
//! (configuration, join, remove-peer, promote, demote), autopilot (state and configuration) and snapshots.
//!
//! Snapshots are streamed, never held whole in memory: a save streams the response body
//! into a [`vaultops_fs::AsyncAtomicFile`] (hashing it on the way), so the target is either
//! the complete new snapshot (mode 0600) or untouched; a restore streams the file as the
//! request body.

use crate::client::NodeClient;
use crate::error::{classify_transport, ApiError, ErrorKind};
use futures_util::StreamExt;
use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use tokio::io::AsyncWriteExt;
use vaultops_fs::{AsyncAtomicFile, WriteOptions};

/// The raft peer set, as `GET sys/storage/raft/configuration` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftConfiguration {
    /// Every peer, voters and non-voters.
    #[serde(default)]
    pub servers: Vec<RaftServer>,
    /// The raft index of the configuration entry.
    #[serde(default)]
    pub index: u64,
}

impl RaftConfiguration {
    /// The peer that is the raft leader, if the node knows one.
    pub fn leader(&self) -> Option<&RaftServer> {
        self.servers.iter().find(|s| s.leader)
    }

    /// How many peers are voters.
    pub fn voter_count(&self) -> usize {
        self.servers.iter().filter(|s| s.voter).count()
    }
}

/// One raft peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftServer {
    /// The node id from the server's `storage "raft" { node_id = … }`.
    pub node_id: String,
    /// The peer's cluster address (`host:port`, the cluster port, not the API port).
    #[serde(default)]
    pub address: String,
    /// Whether this peer is the raft leader.
    #[serde(default)]
    pub leader: bool,
    /// Raft protocol version (the server sends it as a string, e.g. `"3"`).
    #[serde(default, deserialize_with = "string_or_number")]
    pub protocol_version: String,
    /// Whether the peer votes. New peers join as non-voters until autopilot promotes them.
    #[serde(default)]
    pub voter: bool,
}

/// What `POST sys/storage/raft/join` sends: it asks THE NODE THE CLIENT TALKS TO to join the
/// cluster led by `leader_api_addr`. The joining node must be uninitialized; it still needs
/// the unseal keys (or its auto-unseal) afterwards.
#[derive(Clone, Default, Serialize)]
pub struct RaftJoinRequest {
    /// The API address of a node of the cluster to join (e.g. `https://10.0.0.1:8200`).
    pub leader_api_addr: String,
    /// PEM of the CA that signed the leader's API certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_ca_cert: Option<String>,
    /// PEM client certificate presented to the leader, when its listener requires one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_client_cert: Option<String>,
    /// PEM private key of `leader_client_cert`. Redacted in `Debug`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose_opt_secret"
    )]
    pub leader_client_key: Option<secrecy::SecretString>,
    /// TLS server name to verify the leader's certificate against, when it differs from the
    /// host in `leader_api_addr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_tls_servername: Option<String>,
    /// Keep retrying in the background instead of failing on the first error.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retry: bool,
    /// Join as a permanent non-voter (autopilot never promotes it; `raft_promote` does).
    /// OpenBao 2.7.2 drops it when the joining node uses Shamir: the join answer is sent
    /// from the unseal path, which never sets the flag (read in the source,
    /// `internal/vault/raft.go`/`core.go`; measured: such a node became a voter). With an
    /// auto-unseal seal it is kept (measured).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub non_voter: bool,
}

impl std::fmt::Debug for RaftJoinRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftJoinRequest")
            .field("leader_api_addr", &self.leader_api_addr)
            .field(
                "leader_ca_cert",
                &self.leader_ca_cert.as_ref().map(|_| "<pem>"),
            )
            .field(
                "leader_client_cert",
                &self.leader_client_cert.as_ref().map(|_| "<pem>"),
            )
            .field(
                "leader_client_key",
                &self.leader_client_key.as_ref().map(|_| "<redacted>"),
            )
            .field("leader_tls_servername", &self.leader_tls_servername)
            .field("retry", &self.retry)
            .field("non_voter", &self.non_voter)
            .finish()
    }
}

impl RaftJoinRequest {
    /// A join request for the cluster at `leader_api_addr`, verified against `ca_pem`.
    pub fn new(leader_api_addr: impl Into<String>, ca_pem: Option<String>) -> Self {
        Self {
            leader_api_addr: leader_api_addr.into(),
            leader_ca_cert: ca_pem,
            ..Default::default()
        }
    }
}

fn expose_opt_secret<S: Serializer>(
    v: &Option<secrecy::SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use secrecy::ExposeSecret;
    match v {
        Some(k) => s.serialize_str(k.expose_secret()),
        None => s.serialize_none(),
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    // Vault has sent this field both as "3" and as 3; accept either.
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Null => Ok(String::new()),
        other => Ok(other.to_string()),
    }
}

/// Autopilot's view of the cluster: `GET sys/storage/raft/autopilot/state`.
///
/// Every field is defaulted, so a server that omits one (another version, Vault vs OpenBao)
/// still decodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutopilotState {
    /// True when every server is healthy.
    pub healthy: bool,
    /// How many voters may fail without losing quorum.
    pub failure_tolerance: u32,
    /// The node id of the leader.
    pub leader: String,
    /// Node ids of the voters.
    pub voters: Vec<String>,
    /// Node ids of the non-voters (not sent by every server version).
    pub non_voters: Vec<String>,
    /// Every server by node id.
    pub servers: BTreeMap<String, AutopilotServer>,
}

impl AutopilotState {
    /// True when autopilot is healthy and exactly `n` servers are voters.
    pub fn healthy_with_voters(&self, n: usize) -> bool {
        self.healthy && self.voters.len() == n
    }
}

/// One server in [`AutopilotState`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutopilotServer {
    /// Node id.
    pub id: String,
    /// Node name (equal to the id on OpenBao).
    pub name: String,
    /// Cluster address.
    pub address: String,
    /// Serf-style liveness: `alive`, `left` or `failed`.
    pub node_status: String,
    /// Time since the leader last heard from it, as a Go duration (`"0s"`, `"1.32s"`).
    pub last_contact: String,
    /// Last raft term it reported.
    pub last_term: u64,
    /// Last raft index it reported.
    pub last_index: u64,
    /// Whether autopilot considers it healthy.
    pub healthy: bool,
    /// RFC 3339 time since which it has been healthy.
    pub stable_since: String,
    /// Its raft role.
    pub status: AutopilotServerStatus,
    /// Server version, when reported.
    pub version: String,
    /// `voter` or `non-voter` as configured (a new server is a `voter` type that is not
    /// yet promoted: `status` says what it is now).
    pub node_type: String,
    /// Free-form metadata (Vault sends some; OpenBao none).
    pub meta: BTreeMap<String, String>,
}

impl AutopilotServer {
    /// True for the leader and for voters.
    pub fn is_voter(&self) -> bool {
        matches!(
            self.status,
            AutopilotServerStatus::Leader | AutopilotServerStatus::Voter
        )
    }
}

/// A server's raft role in [`AutopilotServer::status`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutopilotServerStatus {
    /// The raft leader.
    Leader,
    /// A voting follower.
    Voter,
    /// A non-voting follower (new servers until autopilot promotes them).
    NonVoter,
    /// Being caught up before promotion (Vault).
    Staging,
    /// Anything this client does not know.
    #[default]
    #[serde(other)]
    Unknown,
}

/// Autopilot's configuration: read with [`NodeClient::autopilot_config`], written whole with
/// [`NodeClient::set_autopilot_config`] (read, modify, write).
///
/// Durations are Go duration strings: the server accepts `"10s"`, `"1h"` and returns them
/// normalised (`"24h0m0s"`). [`Default`] holds OpenBao 2.7's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutopilotConfig {
    /// Remove servers that have been unreachable for `dead_server_last_contact_threshold`.
    /// The server refuses `true` unless `min_quorum` is at least 3.
    pub cleanup_dead_servers: bool,
    /// A server not heard from for this long is unhealthy.
    pub last_contact_threshold: String,
    /// A server not heard from for this long is dead (removed when cleanup is on).
    pub dead_server_last_contact_threshold: String,
    /// A server trailing the leader by more log entries than this is unhealthy.
    pub max_trailing_logs: u64,
    /// Cleanup never shrinks the voters below this.
    pub min_quorum: u32,
    /// How long a new server must be healthy before it is promoted to voter.
    pub server_stabilization_time: String,
}

impl Default for AutopilotConfig {
    fn default() -> Self {
        Self {
            cleanup_dead_servers: false,
            last_contact_threshold: "10s".into(),
            dead_server_last_contact_threshold: "24h0m0s".into(),
            max_trailing_logs: 1000,
            min_quorum: 0,
            server_stabilization_time: "10s".into(),
        }
    }
}

/// What [`NodeClient::snapshot_save`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    /// Size of the snapshot file.
    pub bytes: u64,
    /// SHA-256 of the snapshot file, lowercase hex.
    pub sha256: String,
}

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Deserialize)]
struct ConfigEnvelope {
    config: RaftConfiguration,
}

#[derive(Deserialize)]
struct Joined {
    #[serde(default)]
    joined: bool,
}

/// The first bytes of every raft snapshot: it is a gzip-compressed archive.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

impl NodeClient {
    /// `GET sys/storage/raft/configuration`: the raft peer set as this node sees it.
    pub async fn raft_configuration(&self) -> Result<RaftConfiguration, ApiError> {
        let d: Data<ConfigEnvelope> = self
            .call::<(), _>(
                "raft configuration",
                Method::GET,
                "sys/storage/raft/configuration",
                None,
            )
            .await?;
        Ok(d.data.config)
    }

    /// `POST sys/storage/raft/join`, sent to the node that should join (no token needed on
    /// an uninitialized node). Returns the server's `joined` flag: `false` means it could not
    /// join now (with `retry` it keeps trying in the background). A leader that cannot be
    /// reached or verified (wrong `leader_ca_cert`) is HTTP 500 "failed to join raft
    /// cluster: failed to get raft challenge". After joining, the node must be unsealed with
    /// the cluster's keys.
    pub async fn raft_join(&self, req: &RaftJoinRequest) -> Result<bool, ApiError> {
        const OP: &str = "raft join";
        if req.leader_api_addr.trim().is_empty() {
            return Err(self.err(
                OP,
                ErrorKind::InvalidRequest(
                    "leader_api_addr is empty; give the API address of a cluster node, e.g. https://10.0.0.1:8200"
                        .into(),
                ),
            ));
        }
        if req.leader_client_cert.is_some() != req.leader_client_key.is_some() {
            return Err(self.err(
                OP,
                ErrorKind::InvalidRequest(
                    "leader_client_cert and leader_client_key go together; give both or neither"
                        .into(),
                ),
            ));
        }
        let j: Joined = self
            .call(OP, Method::POST, "sys/storage/raft/join", Some(req))
            .await?;
        Ok(j.joined)
    }

    /// `POST sys/storage/raft/remove-peer`: removes `node_id` from the peer set. Send it to
    /// the active node. The server answers success for an unknown node id too.
    pub async fn raft_remove_peer(&self, node_id: &str) -> Result<(), ApiError> {
        const OP: &str = "raft remove-peer";
        if node_id.trim().is_empty() {
            return Err(self.err(
                OP,
                ErrorKind::InvalidRequest("node id is empty; give the peer's raft node_id".into()),
            ));
        }
        self.call_empty(
            OP,
            Method::POST,
            "sys/storage/raft/remove-peer",
            Some(&serde_json::json!({ "server_id": node_id })),
        )
        .await
    }

    /// `POST sys/storage/raft/promote`: makes the permanent non-voter `node_id` (joined with
    /// `non_voter`, or demoted) a voter. Send it to the active node. Exists in OpenBao 2.x
    /// (read in the 2.7.2 binary's paths and `bao operator raft promote`); Vault has no such
    /// endpoint. Measured refusals (HTTP 500, message kept): an unknown id ("server … not
    /// found in raft configuration"), a peer that is not a permanent non-voter ("server is
    /// not a non-voter"); demoting one twice: "server is already a non-voter".
    pub async fn raft_promote(&self, node_id: &str) -> Result<(), ApiError> {
        self.raft_peer_op("raft promote", "sys/storage/raft/promote", node_id)
            .await
    }

    /// `POST sys/storage/raft/demote`: makes the voter `node_id` a permanent non-voter
    /// (autopilot no longer promotes it). Send it to the active node. OpenBao 2.x only.
    pub async fn raft_demote(&self, node_id: &str) -> Result<(), ApiError> {
        self.raft_peer_op("raft demote", "sys/storage/raft/demote", node_id)
            .await
    }

    async fn raft_peer_op(
        &self,
        op: &'static str,
        path: &'static str,
        node_id: &str,
    ) -> Result<(), ApiError> {
        if node_id.trim().is_empty() {
            return Err(self.err(
                op,
                ErrorKind::InvalidRequest("node id is empty; give the peer's raft node_id".into()),
            ));
        }
        self.call_empty(
            op,
            Method::POST,
            path,
            Some(&serde_json::json!({ "server_id": node_id })),
        )
        .await
    }

    /// `GET sys/storage/raft/autopilot/state`.
    pub async fn autopilot_state(&self) -> Result<AutopilotState, ApiError> {
        let d: Data<AutopilotState> = self
            .call::<(), _>(
                "autopilot state",
                Method::GET,
                "sys/storage/raft/autopilot/state",
                None,
            )
            .await?;
        Ok(d.data)
    }

    /// `GET sys/storage/raft/autopilot/configuration`.
    pub async fn autopilot_config(&self) -> Result<AutopilotConfig, ApiError> {
        let d: Data<AutopilotConfig> = self
            .call::<(), _>(
                "autopilot config read",
                Method::GET,
                "sys/storage/raft/autopilot/configuration",
                None,
            )
            .await?;
        Ok(d.data)
    }

    /// `POST sys/storage/raft/autopilot/configuration` with every field of `config`. The
    /// server validates it (a bad duration or `cleanup_dead_servers` with `min_quorum` < 3
    /// is a 400 whose message is kept). OpenBao 2.7 treats a `min_quorum` of 0 as "not
    /// given": once set, it cannot be reset to 0 through this endpoint.
    pub async fn set_autopilot_config(&self, config: &AutopilotConfig) -> Result<(), ApiError> {
        self.call_empty(
            "autopilot config write",
            Method::POST,
            "sys/storage/raft/autopilot/configuration",
            Some(config),
        )
        .await
    }

    /// `GET sys/storage/raft/snapshot`, streamed into `path`.
    ///
    /// The body goes into a temporary file in `path`'s directory while its SHA-256 is
    /// computed; the file is synced and then renamed to `path`. On any failure (the server
    /// refuses, the connection breaks midway, the disk fills, the body is not a snapshot) the
    /// temporary file is removed and an existing `path` is left untouched; this also holds
    /// when the returned future is dropped. The file is created mode 0600: a snapshot holds
    /// every secret, encrypted with the cluster's keys.
    pub async fn snapshot_save(&self, path: &Path) -> Result<SnapshotInfo, ApiError> {
        let (file, info) = self.snapshot_stream(path).await?;
        // A failure of the final directory sync leaves a complete file in place: it is
        // reported, not undone.
        file.commit()
            .await
            .map_err(|source| self.err("snapshot save", ErrorKind::WriteFile { source }))?;
        Ok(info)
    }

    /// [`NodeClient::snapshot_save`] without the commit: the complete snapshot is in the
    /// returned file's temporary file, which the caller commits (or drops, which removes it),
    /// e.g. together with a checksum file that must match it.
    pub async fn snapshot_stream(
        &self,
        path: &Path,
    ) -> Result<(AsyncAtomicFile, SnapshotInfo), ApiError> {
        const OP: &str = "snapshot save";
        let io = |p: &Path, source: std::io::Error| {
            self.err(
                OP,
                ErrorKind::Io {
                    path: p.display().to_string(),
                    source,
                },
            )
        };
        if path.file_name().is_none() {
            return Err(self.err(
                OP,
                ErrorKind::InvalidRequest(format!(
                    "{} names no file; give a file path such as backups/raft.snap",
                    path.display()
                )),
            ));
        }
        let write_err = |source| self.err(OP, ErrorKind::WriteFile { source });
        // Dropping `file` (an error below, or this future) removes the temporary file.
        let mut file = AsyncAtomicFile::create(path, WriteOptions::private())
            .await
            .map_err(write_err)?;

        let rb = self
            .request(Method::GET, "sys/storage/raft/snapshot")
            .timeout(self.snapshot_timeout());
        let resp = self.send(OP, rb).await?;
        let mut stream = resp.bytes_stream();
        let mut hasher = Sha256::new();
        let mut bytes: u64 = 0;
        let mut head: Vec<u8> = Vec::with_capacity(2);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.err(OP, classify_transport(e)))?;
            if head.len() < 2 {
                let need = 2 - head.len();
                head.extend(chunk.iter().take(need));
            }
            hasher.update(&chunk);
            bytes += chunk.len() as u64;
            file.write_all(&chunk)
                .await
                .map_err(|e| io(file.temp_path(), e))?;
        }
        if head != GZIP_MAGIC {
            return Err(self.err(OP, ErrorKind::NotASnapshot { bytes }));
        }
        Ok((
            file,
            SnapshotInfo {
                bytes,
                sha256: hex::encode(hasher.finalize()),
            },
        ))
    }

    /// `POST sys/storage/raft/snapshot` (or `snapshot-force` when `force`), with the body
    /// streamed from the file at `path`.
    ///
    /// Without `force` the server refuses a snapshot taken under other unseal keys (HTTP 400
    /// "could not verify hash file…"); a truncated or corrupt file is refused too (HTTP 500
    /// "failed to read snapshot file…"). Both come back as [`ErrorKind::Server`] with the
    /// server's message. After a forced restore of another cluster's snapshot the nodes seal
    /// themselves and need THAT cluster's unseal keys. Send it to the active node.
    pub async fn snapshot_restore(&self, path: &Path, force: bool) -> Result<(), ApiError> {
        let op: &'static str = if force {
            "snapshot restore (forced)"
        } else {
            "snapshot restore"
        };
        let io = |source: std::io::Error| {
            self.err(
                op,
                ErrorKind::Io {
                    path: path.display().to_string(),
                    source,
                },
            )
        };
        let mut file = tokio::fs::File::open(path).await.map_err(io)?;
        let len = file.metadata().await.map_err(io)?.len();
        // Check the gzip header locally: a wrong file gets a clear message instead of the
        // server's "failed to decompress snapshot".
        let mut head = [0u8; 2];
        let got = read_up_to(&mut file, &mut head).await.map_err(io)?;
        if got < 2 || head != GZIP_MAGIC {
            return Err(self.err(
                op,
                ErrorKind::InvalidRequest(format!(
                    "{} is not a raft snapshot ({}); give a file written by snapshot save",
                    path.display(),
                    if len == 0 {
                        "it is empty"
                    } else {
                        "no gzip header"
                    }
                )),
            ));
        }
        use tokio::io::AsyncSeekExt;
        file.seek(std::io::SeekFrom::Start(0)).await.map_err(io)?;
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        let endpoint = if force {
            "sys/storage/raft/snapshot-force"
        } else {
            "sys/storage/raft/snapshot"
        };
        let rb = self
            .request(Method::POST, endpoint)
            .timeout(self.snapshot_timeout())
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(body);
        let resp = self.send(op, rb).await?;
        let _ = resp.bytes().await;
        Ok(())
    }
}

async fn read_up_to(file: &mut tokio::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    use tokio::io::AsyncReadExt;
    let mut got = 0;
    while got < buf.len() {
        let n = file.read(&mut buf[got..]).await?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_decodes_as_measured() {
        // Body measured on OpenBao 2.7.2 (one voter leader, one fresh non-voter).
        let body = r#"{"data":{"config":{"servers":[
            {"node_id":"n1","address":"127.0.0.1:18401","leader":true,"protocol_version":"3","voter":true},
            {"node_id":"n2","address":"127.0.0.1:18411","leader":false,"protocol_version":3,"voter":false}],
            "index":0}}}"#;
        let d: Data<ConfigEnvelope> = serde_json::from_str(body).unwrap();
        let c = d.data.config;
        assert_eq!(c.voter_count(), 1);
        assert_eq!(c.leader().unwrap().node_id, "n1");
        assert_eq!(c.servers[1].protocol_version, "3");
    }

    #[test]
    fn autopilot_state_decodes_and_tolerates_unknowns() {
        let body = r#"{"failure_tolerance":0,"healthy":false,"leader":"n1","servers":{
            "n1":{"id":"n1","name":"n1","address":"a:1","node_status":"alive","last_contact":"0s","last_term":3,"last_index":37,"healthy":true,"stable_since":"2026-11-29T10:06:08Z","status":"leader","version":"2.7.2","node_type":"voter"},
            "n2":{"id":"n2","status":"non-voter","healthy":false,"new_field":1},
            "n3":{"id":"n3","status":"something-new"}},
            "voters":["n1"]}"#;
        let s: AutopilotState = serde_json::from_str(body).unwrap();
        assert!(!s.healthy_with_voters(1));
        assert_eq!(s.servers["n1"].status, AutopilotServerStatus::Leader);
        assert!(s.servers["n1"].is_voter());
        assert_eq!(s.servers["n2"].status, AutopilotServerStatus::NonVoter);
        assert!(!s.servers["n2"].is_voter());
        assert_eq!(s.servers["n3"].status, AutopilotServerStatus::Unknown);
        assert!(s.non_voters.is_empty());
    }

    #[test]
    fn autopilot_config_round_trips() {
        let body = r#"{"cleanup_dead_servers":false,"dead_server_last_contact_threshold":"24h0m0s","last_contact_threshold":"10s","max_trailing_logs":1000,"min_quorum":0,"server_stabilization_time":"10s"}"#;
        let c: AutopilotConfig = serde_json::from_str(body).unwrap();
        assert_eq!(c, AutopilotConfig::default());
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["server_stabilization_time"], "10s");
        assert_eq!(v["max_trailing_logs"], 1000);
    }

    #[test]
    fn join_request_body_and_debug() {
        let req = RaftJoinRequest {
            leader_client_cert: Some("CERT".into()),
            leader_client_key: Some(secrecy::SecretString::from("KEY-PLAIN")),
            ..RaftJoinRequest::new("https://n1:8200", Some("CA".into()))
        };
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "leader_api_addr": "https://n1:8200",
                "leader_ca_cert": "CA",
                "leader_client_cert": "CERT",
                "leader_client_key": "KEY-PLAIN",
            })
        );
        let d = format!("{req:?}");
        assert!(!d.contains("KEY-PLAIN"), "{d}");
        let v = serde_json::to_value(RaftJoinRequest {
            retry: true,
            non_voter: true,
            ..RaftJoinRequest::new("https://n1:8200", None)
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"leader_api_addr":"https://n1:8200","retry":true,"non_voter":true})
        );
    }
}
