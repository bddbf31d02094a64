//! The bundle `vaultops rekey` writes ([`rekeyed_bundle`]): the new shares, already encrypted
//! (age by vaultops, or PGP by the server), with the new split, for the cluster the old bundle
//! named; no root token (a rekey does not touch it). The `rekey` scenario writes the same
//! bundle through this function, so what it unseals with is what the command leaves on disk.

use vaultops_api::KeySplit;

use crate::bundle::{now_rfc3339, EncryptedSecret, InitBundle, KeyKind, FORMAT};

/// The cluster a bundle belongs to, as far as known (a Shamir cluster shows its id only once
/// unsealed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleCluster {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// The new bundle of a rekey through `active` (the node that held the attempt): `shares`
/// (one per share of `split`, in share order) with the integrity digest set.
pub fn rekeyed_bundle(
    shares: Vec<EncryptedSecret>,
    split: KeySplit,
    active: &str,
    cluster: BundleCluster,
) -> InitBundle {
    let mut b = InitBundle {
        format: FORMAT.to_owned(),
        created_at: now_rfc3339(),
        initialized_via: format!("rekey via {active}"),
        seal_type: "shamir".into(),
        key_kind: KeyKind::Unseal,
        shares: split.shares(),
        threshold: split.threshold(),
        cluster_id: cluster.id,
        cluster_name: cluster.name,
        encrypted_shares: shares,
        root_token: None,
        integrity_sha256: String::new(),
    };
    b.seal_integrity();
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encrypt_shares, generate_identity};
    use vaultops_api::UnsealKey;

    #[test]
    fn a_rekeyed_bundle_reads_back_and_its_shares_open_with_the_new_identity() {
        let (ids, recipient) = generate_identity();
        let keys: Vec<UnsealKey> = (0..6)
            .map(|i| UnsealKey::new(format!("new-share-{i}")))
            .collect();
        let split = KeySplit::new(6, 4).unwrap();
        let b = rekeyed_bundle(
            encrypt_shares(&keys, &[recipient]).unwrap(),
            split,
            "https://node1:8200",
            BundleCluster {
                id: Some("cid".into()),
                name: None,
            },
        );
        let back = InitBundle::from_json(&b.to_json()).unwrap();
        assert_eq!((back.shares, back.threshold), (6, 4));
        assert_eq!(back.key_kind, KeyKind::Unseal);
        assert_eq!(back.seal_type, "shamir");
        assert!(back.root_token.is_none());
        assert_eq!(back.cluster_id.as_deref(), Some("cid"));
        assert_eq!(back.initialized_via, "rekey via https://node1:8200");
        let opened: Vec<String> = back
            .encrypted_shares
            .iter()
            .map(|s| ids.decrypt(s).unwrap().unwrap())
            .collect();
        assert_eq!(opened[5], "new-share-5");
        // Shares that do not match the split make a bundle that does not read back.
        let short = rekeyed_bundle(
            encrypt_shares(&keys[..5], &[generate_identity().1]).unwrap(),
            split,
            "x",
            BundleCluster::default(),
        );
        assert!(InitBundle::from_json(&short.to_json()).is_err());
    }
}
