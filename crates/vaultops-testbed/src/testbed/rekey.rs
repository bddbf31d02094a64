//! After a rekey (`vaultops rekey`, the `rekey` scenario): the testbed's record of its unseal
//! keys replaced by the new shares, `init.json` first (0600, atomically, through
//! `vaultops_fs`) and then the copy in memory, so that every later unseal of this testbed
//! (`Testbed::unseal`, `cargo xtask testbed unseal`, the repair in `up`, which reads
//! `init.json`) gives the shares that now open it. The root token is kept (a rekey does not
//! touch it).

use vaultops_api::{KeySplit, UnsealKey};

use crate::error::TestbedError;
use crate::state::InitFile;
use crate::testbed::Testbed;

impl Testbed {
    /// Replaces the recorded unseal keys by `keys`, every share of the new `split` (a Shamir
    /// testbed only). Writes `init.json` before changing memory: when the write fails, both
    /// are unchanged. Other `Testbed` values of the same testbed (clones) keep the old keys
    /// in memory until attached again.
    pub fn replace_unseal_keys(
        &mut self,
        split: KeySplit,
        keys: &[UnsealKey],
    ) -> Result<(), TestbedError> {
        let refuse = |reason: String| TestbedError::ReplaceKeys {
            name: self.name.to_string(),
            reason,
        };
        if self.seal.is_auto() {
            return Err(refuse(format!(
                "it uses the {} seal: it has no unseal keys (its recovery keys are not rotated here)",
                self.seal.as_str()
            )));
        }
        let Some(current) = &self.init else {
            return Err(refuse("it has no init.json".to_owned()));
        };
        let next = rekeyed(current, split, keys).map_err(refuse)?;
        self.state.write_init(&next)?;
        self.init = Some(next);
        Ok(())
    }
}

/// `init` with the unseal keys and split replaced (pure); the reason when `keys` are not
/// every share of `split`, all distinct.
fn rekeyed(init: &InitFile, split: KeySplit, keys: &[UnsealKey]) -> Result<InitFile, String> {
    if keys.len() != usize::from(split.shares()) {
        return Err(format!(
            "{} keys given for a split of {} shares: every share is recorded",
            keys.len(),
            split.shares()
        ));
    }
    if keys.iter().enumerate().any(|(i, k)| keys[..i].contains(k)) {
        return Err("the same share was given twice".to_owned());
    }
    Ok(InitFile {
        shares: split.shares(),
        threshold: split.threshold(),
        keys_base64: keys.to_vec(),
        recovery_keys_base64: init.recovery_keys_base64.clone(),
        root_token: init.root_token.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::TestbedName;
    use crate::state::StateDir;
    use vaultops_api::Token;

    fn keys(prefix: &str, n: usize) -> Vec<UnsealKey> {
        (0..n)
            .map(|i| UnsealKey::new(format!("{prefix}-{i}")))
            .collect()
    }

    fn old() -> InitFile {
        InitFile {
            shares: 5,
            threshold: 3,
            keys_base64: keys("old", 5),
            recovery_keys_base64: Vec::new(),
            root_token: Token::new("s.root"),
        }
    }

    #[test]
    fn the_new_split_and_shares_replace_the_old_ones_and_the_root_token_stays() {
        let split = KeySplit::new(6, 4).unwrap();
        let new = rekeyed(&old(), split, &keys("new", 6)).unwrap();
        assert_eq!((new.shares, new.threshold), (6, 4));
        assert_eq!(new.keys_base64, keys("new", 6));
        assert_eq!(new.root_token, Token::new("s.root"));

        // Written through the state dir (0600, atomic) and read back as `attach` reads it.
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path(), &TestbedName::new("t").unwrap());
        state.write_init(&old()).unwrap();
        state.write_init(&new).unwrap();
        let back = state.read_init().unwrap().unwrap();
        assert_eq!(back.keys_base64, keys("new", 6));
        assert_eq!((back.shares, back.threshold), (6, 4));
    }

    #[test]
    fn too_few_or_repeated_shares_are_refused() {
        let split = KeySplit::new(5, 3).unwrap();
        let e = rekeyed(&old(), split, &keys("new", 3)).unwrap_err();
        assert!(e.contains("3 keys given for a split of 5 shares"), "{e}");
        let mut twice = keys("new", 5);
        twice[4] = twice[0].clone();
        let e = rekeyed(&old(), split, &twice).unwrap_err();
        assert!(e.contains("twice"), "{e}");
    }
}
