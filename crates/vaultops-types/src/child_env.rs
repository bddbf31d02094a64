//! The environment a child process gets: the parent's, without the variables that carry a
//! Vault/OpenBao token. A publish hook, `gpg` or a server binary never needs the operator's
//! token, and one that inherited it could use it or leak it into its own logs.

use std::ffi::{OsStr, OsString};

/// Variables that carry a token.
pub const TOKEN_ENV_VARS: &[&str] = &["VAULT_TOKEN", "BAO_TOKEN"];

/// `vars` (e.g. `std::env::vars_os()`) without the token variables; pass the result to a
/// command after `env_clear()`.
pub fn without_tokens(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> Vec<(OsString, OsString)> {
    vars.into_iter()
        .filter(|(k, _)| {
            !TOKEN_ENV_VARS
                .iter()
                .any(|t| k.as_os_str() == OsStr::new(t))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_variables_are_dropped_and_the_rest_kept() {
        let parent = [
            ("PATH", "/usr/bin"),
            ("VAULT_TOKEN", "s.root"),
            ("BAO_TOKEN", "s.other"),
            ("VAULT_ADDR", "https://v:8200"),
            ("HOME", "/root"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let kept: Vec<String> = without_tokens(parent)
            .into_iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert_eq!(kept, ["PATH", "VAULT_ADDR", "HOME"]);
    }
}
