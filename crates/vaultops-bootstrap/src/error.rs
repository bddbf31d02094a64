//! Bootstrap errors, one variant per operation, each naming the node it concerns.

use crate::wait::WaitTimeout;
use vaultops_api::ApiError;

/// A bootstrap step failed.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("init of {node}: the cluster is already initialized; nothing was changed (use unseal, or another cluster)")]
    AlreadyInitialized { node: String },
    #[error("init of {node} failed")]
    Init {
        node: String,
        #[source]
        source: ApiError,
    },
    #[error("unseal of {node}: the node is not initialized yet (has it joined the cluster?)")]
    UnsealNotInitialized { node: String },
    #[error("unseal of {node}: the keys do not open this cluster (a share is wrong or belongs to another cluster); progress was reset: {message}")]
    UnsealWrongKeys { node: String, message: String },
    #[error("unseal of {node}: {given} distinct share(s) given but the threshold is {threshold}; give at least {threshold}")]
    UnsealNotEnoughKeys {
        node: String,
        given: usize,
        threshold: u8,
    },
    #[error("unseal of {node} failed")]
    Unseal {
        node: String,
        #[source]
        source: ApiError,
    },
    #[error("{step} failed")]
    Wait {
        step: &'static str,
        #[source]
        source: WaitTimeout,
    },
    #[error("{step} on {node} failed")]
    Configure {
        step: &'static str,
        node: String,
        #[source]
        source: ApiError,
    },
    #[error("generate-root on {node} failed")]
    GenerateRoot {
        node: String,
        #[source]
        source: ApiError,
    },
    #[error("generate-root on {node}: {given} share(s) accepted but {threshold} are needed; the attempt was cancelled")]
    RootNotEnoughKeys {
        node: String,
        given: u8,
        threshold: u8,
    },
    #[error("generate-root on {node}: {reason}")]
    RootDecode { node: String, reason: String },
}
