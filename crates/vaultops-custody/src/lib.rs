//! Key custody for `vaultops init` and `vaultops unseal`.
//!
//! - [`bundle`]: the init bundle — what init leaves on disk: the shares and the root token,
//!   each encrypted (age by this tool, or PGP by the server), with the split, the seal type,
//!   the cluster id and a SHA-256 integrity digest. Never a plaintext share.
//! - [`agekeys`]: age encryption of shares and root token before anything touches disk, and
//!   decryption with an operator's identity file.
//! - [`pgp`]: reading PGP public keys into the base64 form the server's `pgp_keys` expects.
//! - [`check_cluster_identity`]: refuses a bundle made for another cluster than the nodes'.
//! - [`store`]: the only I/O — the bundle written 0600 through a temp file and a rename,
//!   never over an existing bundle.

pub mod agekeys;
pub mod bundle;
mod cluster;
pub mod pgp;
pub mod store;

pub use bundle::{BundleError, EncryptedSecret, InitBundle, KeyKind, ShareCustody};
pub use cluster::{check_cluster_identity, ForeignClusterError};
