//! Raft settling: tune autopilot so new nodes become voters quickly, and wait until every
//! node is a voter and autopilot reports the cluster healthy.

use crate::error::BootstrapError;
use crate::wait;
use std::time::Duration;
use vaultops_api::NodeClient;

/// Sets autopilot's `server_stabilization_time` (read, modify, write; the other settings
/// are kept). The default 10 s made three voters take ~22 s after start (measured); 1 s
/// brought that to ~9 s with the raft stanza's faster autopilot intervals.
pub async fn tune_autopilot(
    client: &NodeClient,
    stabilization: Duration,
) -> Result<(), BootstrapError> {
    let fail = |source| BootstrapError::Configure {
        step: "autopilot configuration",
        node: client.addr().to_owned(),
        source,
    };
    let mut cfg = client.autopilot_config().await.map_err(fail)?;
    // Whole seconds only: OpenBao 2.7.2 answers 204 to "500ms" but keeps its old value
    // (measured). Round up so the setting is never shorter than asked.
    let secs = stabilization.as_secs() + u64::from(stabilization.subsec_nanos() > 0);
    cfg.server_stabilization_time = format!("{}s", secs.max(1));
    client.set_autopilot_config(&cfg).await.map_err(fail)
}

/// Waits until autopilot is healthy with exactly `expected` voters. `client` needs a token
/// allowed to read `sys/storage/raft/autopilot/state`.
pub async fn wait_voters(
    client: &NodeClient,
    expected: usize,
    deadline: Duration,
) -> Result<(), BootstrapError> {
    wait::until(
        &format!("{expected} raft voters and autopilot healthy"),
        deadline,
        Duration::from_millis(200),
        || async {
            match client.autopilot_state().await {
                Ok(s) if s.healthy_with_voters(expected) => Ok(Some(())),
                Ok(s) => Err(format!(
                    "healthy={}, voters={:?}, servers={:?}",
                    s.healthy,
                    s.voters,
                    s.servers
                        .values()
                        .map(|v| format!("{}:{:?}", v.id, v.status))
                        .collect::<Vec<_>>()
                )),
                Err(e) => Err(e.kind.to_string()),
            }
        },
    )
    .await
    .map_err(|source| BootstrapError::Wait {
        step: "waiting for raft voters",
        source,
    })
}
