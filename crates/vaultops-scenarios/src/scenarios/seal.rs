//! `seal-active`: an operator seal of the active node, then the unseal rules (a wrong key is
//! refused and resets the progress, a reset discards given shares, any 3 of 5 keys open it).

use vaultops_api::UnsealKey;

use crate::error::{api, boot, ScenarioError};
use crate::lifecycle::id;
use crate::model::{node_name, Observed};
use crate::run::Run;

/// A syntactically valid share that belongs to no cluster (33 bytes, base64).
fn wrong_key() -> UnsealKey {
    use base64::Engine as _;
    UnsealKey::new(base64::engine::general_purpose::STANDARD.encode([0x5Au8; 33]))
}

pub(super) async fn seal_active(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let keys: Vec<UnsealKey> = run
        .tb
        .init()
        .map(|i| i.keys_base64.clone())
        .ok_or_else(|| ScenarioError::NoInitRecord {
            testbed: run.tb.name().to_string(),
        })?;
    if keys.len() < 5 {
        return Err(ScenarioError::TooFewShares {
            scenario: run.scenario.to_string(),
            found: keys.len(),
        });
    }
    let old = run.begin().await?;
    run.fault(format!("operator seal {} (active)", node_name(old)));
    run.root(old)
        .seal()
        .await
        .map_err(api("sealing the active node"))?;
    run.wait_new_active().await?;
    run.wait_role(old, Observed::Sealed).await?;
    let c = run.tb.client(id(old));

    // A wrong share is only detected when the threshold is reached: 2 good + 1 wrong.
    run.recovery(format!("{}: 2 good keys + 1 wrong key", node_name(old)));
    c.unseal(&keys[0]).await.map_err(api("unseal (key 1)"))?;
    c.unseal(&keys[1]).await.map_err(api("unseal (key 2)"))?;
    let wrong = c.unseal(&wrong_key()).await;
    let status = c.seal_status().await.map_err(api("seal status"))?;
    let (refused, msg) = match &wrong {
        Err(e) => (
            e.status() == Some(400)
                && e.server_errors()
                    .iter()
                    .any(|m| m.contains("message authentication failed")),
            e.to_string(),
        ),
        Ok(s) => (
            false,
            format!("accepted: sealed={} progress={}", s.sealed, s.progress),
        ),
    };
    run.check(
        "wrong key refused, progress reset",
        refused && status.sealed && status.progress == 0,
        format!(
            "{msg}; afterwards sealed={} progress={}",
            status.sealed, status.progress
        ),
    );
    run.details.wrong_key_error = Some(msg);

    // A reset discards the shares given so far.
    run.recovery(format!("{}: 1 key, then reset", node_name(old)));
    let one = c.unseal(&keys[0]).await.map_err(api("unseal (key 1)"))?;
    let reset = c.unseal_reset().await.map_err(api("unseal reset"))?;
    run.check(
        "reset discards the given shares",
        one.progress == 1 && reset.progress == 0 && reset.sealed,
        format!(
            "progress {} after one key, {} after reset",
            one.progress, reset.progress
        ),
    );

    // Any 3 of the 5 shares open it: keys 3, 4 and 5.
    run.recovery(format!("{}: keys 3, 4, 5", node_name(old)));
    let p = vaultops_bootstrap::submit_shares(&c, &keys[2..5])
        .await
        .map_err(boot("unsealing with keys 3, 4, 5"))?;
    run.check(
        "3 of 5 keys (3, 4, 5) unseal",
        p == vaultops_bootstrap::ShareProgress::Unsealed,
        format!("{p:?}"),
    );
    run.wait_role(old, Observed::Standby).await?;
    run.settle().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_key_is_valid_base64_of_33_bytes() {
        use base64::Engine as _;
        let k = wrong_key();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(k.expose())
                .unwrap()
                .len(),
            33
        );
    }
}
