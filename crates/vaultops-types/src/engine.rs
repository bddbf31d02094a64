//! [`Engine`]: the server product, with every spelling the tree uses (file and flag value,
//! binary name, display name) and its detection from a server version.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which server product: decides what a configuration may contain (see
/// `vaultops_config::render`) and how audit devices are handled by a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// OpenBao (`bao`, 2.x; the measured target is 2.7.2): audit devices are declared in the
    /// server configuration; the API refuses to create them.
    #[serde(rename = "openbao")]
    OpenBao,
    /// HashiCorp Vault (`vault`, 1.x): audit devices are managed through the API.
    Vault,
}

impl Engine {
    /// Lowercase identifier: `"openbao"` or `"vault"` (the `--engine` and rollout-file
    /// spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::OpenBao => "openbao",
            Engine::Vault => "vault",
        }
    }

    /// Name of the server binary: `"bao"` or `"vault"`.
    pub fn binary_name(self) -> &'static str {
        match self {
            Engine::OpenBao => "bao",
            Engine::Vault => "vault",
        }
    }

    /// Tells the engine from a server version string (`sys/health` `version`): OpenBao
    /// started its numbering at 2.0.0 precisely so as not to overlap Vault's 1.x, so the
    /// major version is the signal. `None` for anything else (including a future Vault
    /// 2.x): set `engine:` in the rollout file then.
    pub fn detect(version: &str) -> Option<Engine> {
        let v = version.trim().trim_start_matches('v');
        let major: u32 = v.split(['.', '-', '+']).next()?.parse().ok()?;
        match major {
            1 => Some(Engine::Vault),
            2 => Some(Engine::OpenBao),
            _ => None,
        }
    }
}

impl fmt::Display for Engine {
    /// The product name: `OpenBao` or `Vault`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::OpenBao => "OpenBao",
            Engine::Vault => "Vault",
        })
    }
}

/// Error of `Engine::from_str`: the text that is not an engine name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown engine {0:?}: expected \"openbao\" or \"vault\"")]
pub struct ParseEngineError(pub String);

impl FromStr for Engine {
    type Err = ParseEngineError;

    /// `openbao` (or `bao`) and `vault`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "openbao" | "bao" => Ok(Engine::OpenBao),
            "vault" => Ok(Engine::Vault),
            _ => Err(ParseEngineError(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_parses_and_prints() {
        assert_eq!("openbao".parse::<Engine>().unwrap(), Engine::OpenBao);
        assert_eq!("bao".parse::<Engine>().unwrap(), Engine::OpenBao);
        assert_eq!("Vault".parse::<Engine>().unwrap(), Engine::Vault);
        let err = "consul".parse::<Engine>().unwrap_err().to_string();
        assert!(err.contains("openbao"), "{err}");
        assert_eq!(Engine::OpenBao.to_string(), "OpenBao");
        assert_eq!(Engine::Vault.as_str(), "vault");
        assert_eq!(Engine::OpenBao.binary_name(), "bao");
    }

    #[test]
    fn engine_is_detected_from_the_major_version() {
        assert_eq!(Engine::detect("2.7.2"), Some(Engine::OpenBao));
        assert_eq!(Engine::detect("v2.0.0-beta1"), Some(Engine::OpenBao));
        assert_eq!(Engine::detect("1.15.2+ent"), Some(Engine::Vault));
        assert_eq!(Engine::detect("3.0.0"), None);
        assert_eq!(Engine::detect(""), None);
    }
}
