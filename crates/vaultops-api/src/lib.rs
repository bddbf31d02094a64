//! Typed async client for the Vault/OpenBao HTTP API, one client per node address.
