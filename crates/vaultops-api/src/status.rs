//! Node status endpoints: `sys/health` (decoded into a [`NodeRole`]), `sys/seal-status`,
//! `sys/leader` and `sys/step-down`.
//!
//! Health is the one endpoint whose non-200 answers are results, not errors: 429 means
//! standby, 503 sealed, 501 uninitialized. The role is decoded from the body (robust to
//! custom status codes) and the status is kept alongside.

use crate::client::NodeClient;
use crate::error::ApiError;
use reqwest::Method;
use serde::{Deserialize, Serialize};

/// What a node is, as its health endpoint reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// Unsealed and holding the HA lock: serves writes.
    Active,
    /// Unsealed standby.
    Standby,
    /// Vault Enterprise performance standby.
    PerformanceStandby,
    /// Vault Enterprise DR replication secondary.
    DrSecondary,
    /// Initialized but sealed.
    Sealed,
    /// Not initialized.
    Uninitialized,
}

impl NodeRole {
    /// The role the default health status codes stand for (no query parameters).
    pub fn from_default_status(status: u16) -> Option<Self> {
        HealthQuery::default().role_for_status(status)
    }
}

impl std::fmt::Display for NodeRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NodeRole::Active => "active",
            NodeRole::Standby => "standby",
            NodeRole::PerformanceStandby => "perf-standby",
            NodeRole::DrSecondary => "dr-secondary",
            NodeRole::Sealed => "sealed",
            NodeRole::Uninitialized => "uninitialized",
        })
    }
}

/// Query parameters of `sys/health`. `None` leaves the server default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HealthQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standbyok: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perfstandbyok: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activecode: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standbycode: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drsecondarycode: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performancestandbycode: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sealedcode: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uninitcode: Option<u16>,
}

impl HealthQuery {
    /// The role a status code stands for under this query, when it is unambiguous.
    /// With `standbyok`, 200 is either active or standby: `None` (use the body).
    pub fn role_for_status(&self, status: u16) -> Option<NodeRole> {
        let active = self.activecode.unwrap_or(200);
        let standby = if self.standbyok == Some(true) {
            active
        } else {
            self.standbycode.unwrap_or(429)
        };
        let perf = if self.perfstandbyok == Some(true) {
            active
        } else {
            self.performancestandbycode.unwrap_or(473)
        };
        let table = [
            (active, NodeRole::Active),
            (standby, NodeRole::Standby),
            (perf, NodeRole::PerformanceStandby),
            (self.drsecondarycode.unwrap_or(472), NodeRole::DrSecondary),
            (self.sealedcode.unwrap_or(503), NodeRole::Sealed),
            (self.uninitcode.unwrap_or(501), NodeRole::Uninitialized),
        ];
        let mut hits = table.iter().filter(|(c, _)| *c == status).map(|(_, r)| *r);
        match (hits.next(), hits.next()) {
            (Some(r), None) => Some(r),
            _ => None,
        }
    }
}

/// The body of `sys/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthBody {
    pub initialized: bool,
    pub sealed: bool,
    pub standby: bool,
    #[serde(default)]
    pub performance_standby: bool,
    #[serde(default)]
    pub replication_performance_mode: Option<String>,
    #[serde(default)]
    pub replication_dr_mode: Option<String>,
    #[serde(default)]
    pub server_time_utc: Option<i64>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub cluster_id: Option<String>,
}

/// A decoded health answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// HTTP status the node answered with.
    pub status: u16,
    /// Role decoded from the body.
    pub role: NodeRole,
    pub body: HealthBody,
}

impl HealthBody {
    /// The role these fields describe.
    pub fn role(&self) -> NodeRole {
        if !self.initialized {
            NodeRole::Uninitialized
        } else if self.sealed {
            NodeRole::Sealed
        } else if self.replication_dr_mode.as_deref() == Some("secondary") {
            NodeRole::DrSecondary
        } else if self.performance_standby {
            NodeRole::PerformanceStandby
        } else if self.standby {
            NodeRole::Standby
        } else {
            NodeRole::Active
        }
    }
}

/// `sys/seal-status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealStatus {
    #[serde(rename = "type")]
    pub seal_type: String,
    pub initialized: bool,
    pub sealed: bool,
    /// Threshold.
    pub t: u8,
    /// Shares.
    pub n: u8,
    pub progress: u8,
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub migration: bool,
    #[serde(default)]
    pub recovery_seal: bool,
    #[serde(default)]
    pub storage_type: Option<String>,
    #[serde(default)]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub cluster_id: Option<String>,
}

/// `sys/leader`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leader {
    pub ha_enabled: bool,
    #[serde(default)]
    pub is_self: bool,
    #[serde(default)]
    pub active_time: Option<String>,
    #[serde(default)]
    pub leader_address: String,
    #[serde(default)]
    pub leader_cluster_address: String,
    #[serde(default)]
    pub raft_committed_index: Option<u64>,
    #[serde(default)]
    pub raft_applied_index: Option<u64>,
}

impl NodeClient {
    /// `GET sys/health` with default query: every answer the endpoint documents is a result.
    pub async fn health(&self) -> Result<Health, ApiError> {
        self.health_with(&HealthQuery::default()).await
    }

    /// `GET sys/health` with query parameters. Answers with a documented health body are
    /// results, whatever their status; anything else is an error.
    pub async fn health_with(&self, query: &HealthQuery) -> Result<Health, ApiError> {
        const OP: &str = "health";
        let rb = self.request(Method::GET, "sys/health").query(query);
        let resp = self.send_raw(OP, rb).await?;
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp
            .text()
            .await
            .map_err(|e| self.err(OP, crate::error::classify_transport(e)))?;
        match serde_json::from_str::<HealthBody>(&text) {
            Ok(body) => Ok(Health {
                status,
                role: body.role(),
                body,
            }),
            Err(source) if (200..300).contains(&status) => Err(self.err(
                OP,
                crate::error::ErrorKind::Decode {
                    status,
                    source: vaultops_types::Cause::new(source),
                },
            )),
            Err(_) => Err(self.err(OP, crate::error::classify_status(status, location, &text))),
        }
    }

    /// `GET sys/seal-status` (no token needed; answers on sealed nodes).
    pub async fn seal_status(&self) -> Result<SealStatus, ApiError> {
        self.call::<(), _>("seal status", Method::GET, "sys/seal-status", None)
            .await
    }

    /// `GET sys/leader`. A sealed node answers 503 (`ErrorKind::Sealed`).
    pub async fn leader(&self) -> Result<Leader, ApiError> {
        self.call::<(), _>("leader", Method::GET, "sys/leader", None)
            .await
    }

    /// `PUT sys/step-down`: the active node gives up the HA lock. Note: a node that just
    /// stepped down waits ~10 s before it can take the lock again.
    pub async fn step_down(&self) -> Result<(), ApiError> {
        self.call_empty::<()>("step-down", Method::PUT, "sys/step-down", None)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_codes_map_to_roles() {
        let q = HealthQuery::default();
        assert_eq!(q.role_for_status(200), Some(NodeRole::Active));
        assert_eq!(q.role_for_status(429), Some(NodeRole::Standby));
        assert_eq!(q.role_for_status(473), Some(NodeRole::PerformanceStandby));
        assert_eq!(q.role_for_status(472), Some(NodeRole::DrSecondary));
        assert_eq!(q.role_for_status(503), Some(NodeRole::Sealed));
        assert_eq!(q.role_for_status(501), Some(NodeRole::Uninitialized));
        assert_eq!(q.role_for_status(418), None);
    }

    #[test]
    fn standbyok_makes_200_ambiguous_and_custom_codes_apply() {
        let q = HealthQuery {
            standbyok: Some(true),
            sealedcode: Some(200),
            ..Default::default()
        };
        assert_eq!(q.role_for_status(200), None);
        assert_eq!(q.role_for_status(429), None);
        let q = HealthQuery {
            sealedcode: Some(299),
            uninitcode: Some(298),
            ..Default::default()
        };
        assert_eq!(q.role_for_status(299), Some(NodeRole::Sealed));
        assert_eq!(q.role_for_status(298), Some(NodeRole::Uninitialized));
    }

    #[test]
    fn body_decodes_role() {
        // Bodies as measured on OpenBao 2.7.2 (shared facts).
        let active: HealthBody = serde_json::from_str(r#"{"initialized":true,"sealed":false,"standby":false,"replication_performance_mode":"primary","replication_dr_mode":"disabled","server_time_utc":1,"version":"2.7.2","cluster_name":"c","cluster_id":"i"}"#).unwrap();
        assert_eq!(active.role(), NodeRole::Active);
        let sealed: HealthBody = serde_json::from_str(r#"{"initialized":true,"sealed":true,"standby":true,"replication_performance_mode":"unknown","replication_dr_mode":"unknown","server_time_utc":1,"version":"2.7.2"}"#).unwrap();
        assert_eq!(sealed.role(), NodeRole::Sealed);
        let uninit: HealthBody =
            serde_json::from_str(r#"{"initialized":false,"sealed":true,"standby":true}"#).unwrap();
        assert_eq!(uninit.role(), NodeRole::Uninitialized);
        let dr: HealthBody = serde_json::from_str(r#"{"initialized":true,"sealed":false,"standby":true,"replication_dr_mode":"secondary"}"#).unwrap();
        assert_eq!(dr.role(), NodeRole::DrSecondary);
        let perf: HealthBody = serde_json::from_str(
            r#"{"initialized":true,"sealed":false,"standby":true,"performance_standby":true}"#,
        )
        .unwrap();
        assert_eq!(perf.role(), NodeRole::PerformanceStandby);
    }
}
