//! Whose keys these are, checked before any share is submitted, so that a bundle of another
//! cluster is named as such instead of as a wrong share, and its shares stay home.
//!
//! What a node shows of its cluster: its cluster id, but ONLY while it is unsealed (OpenBao
//! fills `cluster_id` in `sys/seal-status` and `sys/health` only when unsealed, and creates
//! the id at the first unseal); and, sealed or not, its key split (`n`, `t`). A sealed node
//! shows nothing else that tells clusters apart: `nonce` is drawn anew for every unseal
//! attempt, `version` and `build_date`/`commit_date` are the binary's. So a bundle is refused
//! before any share is sent when some node of the given set is unsealed and in another cluster,
//! or when any initialized node uses another split. When every node is sealed and the splits
//! match, nothing can tell; the unseal then stops at the first node that refuses the shares
//! (see `vaultops unseal`).

use crate::bundle::InitBundle;
use vaultops_api::{NodeClient, SealStatus};

/// The bundle belongs to another cluster than the node's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForeignClusterError {
    /// The node is unsealed and reports another cluster id than the bundle records.
    #[error("the bundle belongs to cluster {bundle_cluster}, but {node} is in cluster {node_cluster}: these shares cannot open it")]
    ClusterId {
        /// The cluster id the bundle records.
        bundle_cluster: String,
        /// The node's address.
        node: String,
        /// The cluster id the node reports.
        node_cluster: String,
    },
    /// The node's cluster uses another key split than the bundle's.
    #[error("the bundle belongs to {bundle_cluster}, split into {bundle_shares} shares with threshold {bundle_threshold}, but {node} is in a cluster split into {node_shares} shares with threshold {node_threshold}: it belongs to another cluster (or the cluster was rekeyed since, and these shares are void)")]
    Split {
        /// [`InitBundle::cluster_label`] of the bundle.
        bundle_cluster: String,
        node: String,
        bundle_shares: u8,
        bundle_threshold: u8,
        node_shares: u8,
        node_threshold: u8,
    },
}

impl InitBundle {
    /// Refuses `node` when both the bundle and the node know their cluster id and the ids
    /// differ; an unknown id on either side proves nothing.
    pub fn check_cluster(
        &self,
        node: &str,
        node_cluster: Option<&str>,
    ) -> Result<(), ForeignClusterError> {
        match (self.cluster_id.as_deref(), node_cluster) {
            (Some(want), Some(got)) if want != got => Err(ForeignClusterError::ClusterId {
                bundle_cluster: want.to_owned(),
                node: node.to_owned(),
                node_cluster: got.to_owned(),
            }),
            _ => Ok(()),
        }
    }

    /// Refuses `node`, whose seal status is `status`, when it shows another cluster: another
    /// cluster id (only an unsealed node shows one), or another key split (an initialized
    /// node shows its split even sealed; a raft follower that has not joined yet shows 0/0,
    /// which proves nothing).
    pub fn check_node(&self, node: &str, status: &SealStatus) -> Result<(), ForeignClusterError> {
        self.check_cluster(node, status.cluster_id.as_deref())?;
        if status.initialized
            && status.n > 0
            && (status.n, status.t) != (self.shares, self.threshold)
        {
            return Err(ForeignClusterError::Split {
                bundle_cluster: self.cluster_label(),
                node: node.to_owned(),
                bundle_shares: self.shares,
                bundle_threshold: self.threshold,
                node_shares: status.n,
                node_threshold: status.t,
            });
        }
        Ok(())
    }

    /// How to name the bundle's cluster: its id when recorded, else where and when it was
    /// initialized.
    pub fn cluster_label(&self) -> String {
        match &self.cluster_id {
            Some(id) => format!("cluster {id}"),
            None => format!(
                "the cluster initialized via {} at {} (its id is recorded at its first unseal with this bundle)",
                self.initialized_via, self.created_at
            ),
        }
    }
}

/// Refuses `bundle` when a node that answers shows another cluster (see
/// [`InitBundle::check_node`]; an unsealed standby is judged by its cluster id alone when the
/// bundle records one, as its split may be stale after a rekey). Nodes that do not answer are skipped: unsealing them reports
/// that. Call it before any share is sent.
pub async fn check_cluster_identity(
    bundle: &InitBundle,
    nodes: &[NodeClient],
) -> Result<(), ForeignClusterError> {
    for n in nodes {
        if let Ok(s) = n.seal_status().await {
            if !s.sealed && s.cluster_id.is_some() && bundle.cluster_id.is_some() {
                // An unsealed STANDBY keeps showing the split it had when it was unsealed
                // (measured on OpenBao 2.7.2: after a rekey, until it restarts): its id is
                // the evidence, its split is not. The active node's split is current.
                let standby = n
                    .health()
                    .await
                    .is_ok_and(|h| h.role != vaultops_api::NodeRole::Active);
                if standby {
                    bundle.check_cluster(n.addr(), s.cluster_id.as_deref())?;
                    continue;
                }
            }
            bundle.check_node(n.addr(), &s)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_of_another_cluster_is_refused_and_unknown_ids_prove_nothing() {
        let mut b = crate::bundle::sample();
        b.cluster_id = Some("c-1".into());
        let e = b.check_cluster("https://n1:8200", Some("c-2")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the bundle belongs to cluster c-1, but https://n1:8200 is in cluster c-2: these shares cannot open it"
        );
        assert_eq!(b.check_cluster("https://n1:8200", Some("c-1")), Ok(()));
        assert_eq!(b.check_cluster("https://n1:8200", None), Ok(()));
        b.cluster_id = None;
        assert_eq!(b.check_cluster("https://n1:8200", Some("c-2")), Ok(()));
    }

    fn status(initialized: bool, sealed: bool, n: u8, t: u8, id: Option<&str>) -> SealStatus {
        SealStatus {
            seal_type: "shamir".into(),
            initialized,
            sealed,
            t,
            n,
            progress: 0,
            nonce: String::new(),
            version: None,
            migration: false,
            recovery_seal: false,
            storage_type: Some("raft".into()),
            cluster_name: None,
            cluster_id: id.map(str::to_owned),
        }
    }

    #[test]
    fn a_node_with_another_split_or_id_is_refused_sealed_or_not() {
        let mut b = crate::bundle::sample();
        b.shares = 5;
        b.threshold = 3;
        b.cluster_id = Some("c-1".into());
        let n = "https://n1:8200";
        // Positive controls: the same cluster, sealed (no id shown) or unsealed.
        assert_eq!(b.check_node(n, &status(true, true, 5, 3, None)), Ok(()));
        assert_eq!(
            b.check_node(n, &status(true, false, 5, 3, Some("c-1"))),
            Ok(())
        );
        // A follower that has not joined yet (0/0) and an uninitialized node prove nothing.
        assert_eq!(b.check_node(n, &status(true, true, 0, 0, None)), Ok(()));
        assert_eq!(b.check_node(n, &status(false, true, 0, 0, None)), Ok(()));
        // Another id (unsealed node).
        let e = b
            .check_node(n, &status(true, false, 5, 3, Some("c-2")))
            .unwrap_err();
        assert!(matches!(e, ForeignClusterError::ClusterId { .. }), "{e:?}");
        // Another split, even sealed and with no id recorded in the bundle.
        b.cluster_id = None;
        let e = b
            .check_node(n, &status(true, true, 3, 2, None))
            .unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, ForeignClusterError::Split { .. }), "{e:?}");
        assert!(
            text.contains("initialized via https://n1:8200")
                && text.contains("5 shares with threshold 3")
                && text.contains("3 shares with threshold 2"),
            "{text}"
        );
    }
}
