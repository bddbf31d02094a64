//! Why a node configuration could not be rendered: a feature the chosen engine lacks, or a value
//! that would give a broken or unsafe file.

use vaultops_types::Engine;

/// Error from rendering a node (`vaultops_config::render`). Every variant names the node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The engine has no such feature (e.g. consul storage on OpenBao, static seal on Vault).
    #[error("node {node}: {engine} does not support {what}; {hint}")]
    Unsupported {
        node: String,
        engine: Engine,
        what: &'static str,
        hint: &'static str,
    },

    /// A field holds a value the server would reject, ignore, or that is unsafe.
    ///
    /// `value` is the offending value, except for secrets, which are never echoed.
    #[error("node {node}: invalid {field} {value:?}: {reason}")]
    Invalid {
        node: String,
        field: String,
        value: String,
        reason: String,
    },
}
