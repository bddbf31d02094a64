//! The credentials an application logs in with: a role-id and a secret-id, and what a sink
//! stores next to them (the server address and CA file). Pure types.

use std::path::PathBuf;
use vaultops_api::SecretId;

/// A role-id and the secret-id to log in with. The role-id identifies the role (it is not
/// a secret on its own); the secret-id is, and stays inside [`SecretId`] (redacted `Debug`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialPair {
    /// The role's role-id.
    pub role_id: String,
    /// The secret-id.
    pub secret_id: SecretId,
}

/// What a sink holds: the pair, and for an env file the address and CA path the
/// application uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredentials {
    /// The role-id/secret-id pair.
    pub pair: CredentialPair,
    /// `VAULT_ADDR` (env files only).
    pub vault_addr: Option<String>,
    /// `VAULT_CACERT` (env files only).
    pub ca_cert: Option<PathBuf>,
}
