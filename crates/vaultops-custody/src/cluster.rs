//! Whose keys these are: a bundle records the id of the cluster it was made for, and a node
//! that reports another id cannot be opened with its shares. Checked before any share is
//! submitted, so a wrong bundle is named as such instead of as a wrong share.

use crate::bundle::InitBundle;
use vaultops_api::NodeClient;

/// The bundle belongs to another cluster than the node's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the bundle belongs to cluster {bundle_cluster}, but {node} is in cluster {node_cluster}: these shares cannot open it")]
pub struct ForeignClusterError {
    /// The cluster id the bundle records.
    pub bundle_cluster: String,
    /// The node's address.
    pub node: String,
    /// The cluster id the node reports.
    pub node_cluster: String,
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
            (Some(want), Some(got)) if want != got => Err(ForeignClusterError {
                bundle_cluster: want.to_owned(),
                node: node.to_owned(),
                node_cluster: got.to_owned(),
            }),
            _ => Ok(()),
        }
    }
}

/// Refuses `bundle` when a node that can tell (it answers and reports a cluster id) is in
/// another cluster. Nodes that do not answer are skipped: unsealing them reports that.
pub async fn check_cluster_identity(
    bundle: &InitBundle,
    nodes: &[NodeClient],
) -> Result<(), ForeignClusterError> {
    if bundle.cluster_id.is_none() {
        return Ok(());
    }
    for n in nodes {
        if let Ok(s) = n.seal_status().await {
            bundle.check_cluster(n.addr(), s.cluster_id.as_deref())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {

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
}
