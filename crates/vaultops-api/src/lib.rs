//! Typed async client for the Vault/OpenBao HTTP API.
//!
//! A [`NodeClient`] talks to ONE node: cluster-level behaviour (finding the active node,
//! unsealing every node) is built on top by the bootstrap crate. The client knows nothing of
//! Docker, processes or clusters. Errors are [`ApiError`]s that keep the operation, the
//! node, the HTTP status and the server's messages; secrets travel in the redacting types of
//! [`secret`].

mod client;
mod error;
mod seal;
mod secret;
mod status;
mod tls_problem;

pub use client::{BuildClientError, ClientConfig, NodeClient};
pub use error::{ApiError, ErrorKind, ServerErrors, TlsProblem};
pub use seal::{
    decode_otp_root_token, GenerateRootEndpoint, GenerateRootProtection, GenerateRootStatus,
    InitRequest, InitResponse, KeySplit, KeySplitError,
};
pub use secret::{SecretId, Token, UnsealKey, WrappingToken};
pub use status::{Health, HealthBody, HealthQuery, Leader, NodeRole, SealStatus};

// Endpoint groups (each module adds `impl NodeClient` methods and its own types).
mod approle;
mod kv;
mod metrics;
mod raft;
mod rekey;
mod sys;
mod token;
pub use approle::{
    AppRoleSpec, GeneratedSecretId, SecretIdInfo, SecretIdRequest, DEFAULT_APPROLE_MOUNT,
};
pub use kv::{KvMetadata, KvSecret, KvVersionMeta, KvVersionState};
pub use metrics::{parse_prometheus_gauge, Labels};
pub use raft::{
    AutopilotConfig, AutopilotServer, AutopilotServerStatus, AutopilotState, RaftConfiguration,
    RaftJoinRequest, RaftServer, SnapshotInfo,
};
pub use rekey::{KeyStatus, RekeyEndpoint, RekeyRequest, RekeyStatus, RekeyVerifyStatus};
pub use sys::{
    AuditDevice, AuditEnableRequest, EnableRequest, MountConfig, MountConfigOut, MountInfo,
    MountTune,
};
pub use token::{AuthInfo, TokenCreateRequest, TokenInfo, TokenType, Ttl, WrapInfo, WrapLookup};
