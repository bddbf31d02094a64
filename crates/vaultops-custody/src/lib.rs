//! Key custody for `vaultops init` and `vaultops unseal`.
//!
//! - `bundle`: the init bundle — what init leaves on disk: the shares and the root token,
//!   each encrypted (age by this tool, or PGP by the server), with the split, the seal type,
//!   the cluster id and a SHA-256 integrity digest. Never a plaintext share.
//! - `agekeys`: age keys (recipients, identity files; parsed only here), encryption of shares
//!   and root token before anything touches disk, and of backup streams.
//! - `pgp`: reading PGP public keys into the base64 form the server's `pgp_keys` expects.
//! - [`check_cluster_identity`]: refuses a bundle made for another cluster than the nodes'
//!   (cluster id of an unsealed node, key split of any initialized one), before any share
//!   is sent.
//! - [`rekeyed_bundle`]: the bundle `vaultops rekey` writes (new shares, new split, the old
//!   bundle's cluster, no root token).
//! - [`parse_share_text`]: checks a share typed at the unseal prompt (base64 or hex, length).
//! - `store`: the only I/O — the bundle written 0600 through a temp file and a rename,
//!   never over an existing bundle; [`record_cluster_id`] fills in the cluster id once a
//!   first unseal shows it.

mod agekeys;
mod bundle;
mod cluster;
mod pgp;
mod rekeyed;
mod share_text;
mod store;

pub use agekeys::{
    encrypt_shares, encrypt_token, generate_identity, parse_recipients, AgeError, AgeRecipient,
    AgeWriter, Identities,
};
pub use bundle::{
    now_rfc3339, BundleError, EncryptedSecret, InitBundle, KeyKind, ShareCustody, FORMAT,
};
pub use cluster::{check_cluster_identity, ForeignClusterError};
pub use pgp::{decrypt_with_gpg, public_key_base64, PgpKeyError};
pub use rekeyed::{rekeyed_bundle, BundleCluster};
pub use share_text::{parse_share_text, ShareTextError, MAX_SHARE_BYTES, MIN_SHARE_BYTES};
pub use store::{
    check_writable, read_bundle, record_cluster_id, write_bundle, ClusterIdRecord, StoreError,
};
