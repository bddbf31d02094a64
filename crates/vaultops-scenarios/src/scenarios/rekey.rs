//! `rekey`: unseal-key rotation and barrier key rotation under the workload, through the
//! functions `vaultops rekey` and `vaultops rotate-encryption-key` run (`plan_rekey`,
//! `rekey_persisted`, `probe_shares`, `rotate_encryption_key`, the bundle of
//! `vaultops_custody::rekeyed_bundle`), with tokens carrying only the documented policies
//! (`REKEY_POLICY`, `ROTATE_ENCRYPTION_KEY_POLICY`), then every node restarted at once and
//! unsealed the way `vaultops unseal` does (`unseal_when_joined`) with shares decrypted from
//! the new bundle on disk.
//!
//! Steps: (1) positive control of the old-shares check: a standby restarted BEFORE the rekey
//! is opened by the old shares (so the check below would fail had the rekey not happened);
//! (2) rekey 5/3 → 6/4 with verification, the new shares encrypted to six age holders and
//! written to a new bundle before the verification activates them; the testbed's record of
//! its keys replaced (`Testbed::replace_unseal_keys`); (3) the command's probe: old shares
//! refused, new ones accepted; (4) `rotate-encryption-key`: the term read from
//! `sys/key-status` goes up; (5) every node restarted at once; the old shares are refused by a
//! sealed node; the shares decrypted from the new bundle open every node; each node reports
//! the new split, and the key term survived the restart.

use std::path::Path;
use std::time::Duration;

use vaultops_api::{KeySplit, NodeClient, TokenCreateRequest, UnsealKey};
use vaultops_bootstrap::{
    plan_rekey, probe_shares, rekey_persisted, rotate_encryption_key, unseal_when_joined,
    BootstrapError, NodeSet, RekeyError, UnsealOutcome, REKEY_POLICY, ROTATE_ENCRYPTION_KEY_POLICY,
};
use vaultops_custody::{
    encrypt_shares, generate_identity, read_bundle, rekeyed_bundle, write_bundle, AgeRecipient,
    BundleCluster, Identities,
};

use crate::details::RekeyRecord;
use crate::error::{api, boot, testbed, ScenarioError};
use crate::lifecycle::id;
use crate::model::{node_name, Observed};
use crate::run::{Run, NODE_DEADLINE};

use super::wait_all_unsealed;

/// The split after the rekey: another split than the testbed's 5/3, so that every restarted
/// node shows in `sys/seal-status` that it reads the new seal configuration.
const NEW_SHARES: u32 = 6;
const NEW_THRESHOLD: u32 = 4;

/// What a sealed node did with a set of shares (`vaultops unseal`'s path).
#[derive(Debug)]
enum Opening {
    Opened,
    /// Refused at the threshold: the server's message.
    Refused(String),
    /// The node was not sealed: nothing was judged.
    WasUnsealed,
}

impl Opening {
    fn describe(&self) -> String {
        match self {
            Opening::Opened => "opened the node".into(),
            Opening::Refused(m) => format!("refused ({m})"),
            Opening::WasUnsealed => "not judged: the node was not sealed".into(),
        }
    }
}

/// Gives `keys` to the sealed `node` as `vaultops unseal` does.
async fn open_with(node: &NodeClient, keys: &[UnsealKey]) -> Result<Opening, ScenarioError> {
    match unseal_when_joined(node, keys, NODE_DEADLINE).await {
        Ok(UnsealOutcome::Unsealed { .. }) => Ok(Opening::Opened),
        Ok(UnsealOutcome::AlreadyUnsealed) => Ok(Opening::WasUnsealed),
        Err(BootstrapError::UnsealWrongKeys { message, .. }) => Ok(Opening::Refused(message)),
        Err(e) => Err(boot("unsealing a restarted node")(e)),
    }
}

/// Node clients carrying a new token with only `policy` (written under `name`).
async fn scoped(
    run: &Run<'_>,
    root: &NodeClient,
    name: &str,
    policy: &str,
) -> Result<NodeSet, ScenarioError> {
    root.policy_write(name, policy)
        .await
        .map_err(api("writing a rotation policy"))?;
    let auth = root
        .token_create(&TokenCreateRequest {
            policies: vec![name.to_owned()],
            no_default_policy: Some(true),
            ..Default::default()
        })
        .await
        .map_err(api("creating a scoped token"))?;
    Ok(NodeSet::new(
        (0..run.nodes())
            .map(|i| run.tb.client(id(i)).with_token(auth.client_token.clone()))
            .collect(),
    ))
}

/// The shares of the bundle at `path` that `ids` open, read from disk.
fn bundle_shares(path: &Path, ids: &Identities) -> Result<Vec<UnsealKey>, ScenarioError> {
    let b = read_bundle(path).map_err(|source| ScenarioError::RekeyBundle {
        path: path.to_owned(),
        source,
    })?;
    let mut keys = Vec::new();
    for s in &b.encrypted_shares {
        if let Some(plain) = ids.decrypt(s).map_err(ScenarioError::RekeyShare)? {
            keys.push(UnsealKey::new(plain));
        }
    }
    if keys.len() != usize::from(b.shares) {
        return Err(ScenarioError::RekeyShares {
            opened: keys.len(),
            shares: b.shares,
        });
    }
    Ok(keys)
}

fn rekey_step(step: &'static str) -> impl FnOnce(RekeyError) -> ScenarioError {
    move |source| ScenarioError::Rekey {
        step,
        source: Box::new(source),
    }
}

pub(super) async fn rekey(run: &mut Run<'_>) -> Result<(), ScenarioError> {
    let active = run.begin().await?;
    // Every old share, as the old bundle holds them: after the rekey the threshold is 4, and
    // 3 old shares would not even reach it (nothing judged).
    let old_keys: Vec<UnsealKey> = run
        .tb
        .init()
        .map(|i| i.keys_base64.clone())
        .unwrap_or_default();
    let root = run.root(active);
    let rekey_nodes = scoped(run, &root, "vaultops-rekey", REKEY_POLICY).await?;
    let rotate_nodes = scoped(
        run,
        &root,
        "vaultops-rotate-encryption-key",
        ROTATE_ENCRYPTION_KEY_POLICY,
    )
    .await?;

    // (1) Control: before the rekey, a restarted standby opens with the old shares.
    let standby = (0..run.nodes())
        .find(|i| *i != active)
        .expect("a testbed has standbys");
    run.fault(format!(
        "restart {} (control: the old shares before the rekey)",
        node_name(standby)
    ));
    run.tb
        .restart(id(standby), Duration::from_secs(30))
        .await
        .map_err(testbed("restarting a standby"))?;
    run.wait_role(standby, Observed::Sealed).await?;
    let before = open_with(&run.root(standby), &old_keys).await?;
    run.check(
        "control: the old shares open a restarted node before the rekey",
        matches!(before, Opening::Opened),
        format!(
            "{} after its restart: the old shares {} (the check after the rekey must tell this apart)",
            node_name(standby),
            before.describe()
        ),
    );
    run.wait_role(standby, Observed::Standby).await?;
    vaultops_bootstrap::wait_voters(&root, run.nodes(), NODE_DEADLINE)
        .await
        .map_err(boot("waiting for autopilot after the standby's restart"))?;

    // (2) The rekey, as `vaultops rekey --age-recipient ×6 --key-shares 6 --key-threshold 4`.
    let split = KeySplit::new(NEW_SHARES, NEW_THRESHOLD).expect("a valid split");
    let holders: Vec<(Identities, AgeRecipient)> =
        (0..NEW_SHARES).map(|_| generate_identity()).collect();
    let recipients: Vec<AgeRecipient> = holders.iter().map(|(_, r)| r.clone()).collect();
    let mut ids = Identities::default();
    for (i, _) in &holders {
        ids.extend(i.clone());
    }
    let bundle = run
        .tb
        .state()
        .dir()
        .join(format!("rekeyed-{}.json", run.run_id));
    let from = run.clock.now();
    run.recovery(format!(
        "rekey 5/3 -> {NEW_SHARES}/{NEW_THRESHOLD} (sys/rotate/root, require_verification)"
    ));
    let (plan, holder) = plan_rekey(&rekey_nodes, split)
        .await
        .map_err(rekey_step("the plan"))?;
    let seal = holder
        .seal_status()
        .await
        .map_err(api("reading the cluster id"))?;
    let cluster = BundleCluster {
        id: seal.cluster_id,
        name: seal.cluster_name,
    };
    let persist = |keys: &[UnsealKey]| -> Result<Vec<UnsealKey>, String> {
        let shares =
            encrypt_shares(keys, &recipients).map_err(|e| vaultops_types::error_report(&e))?;
        let b = rekeyed_bundle(shares, split, &plan.active, cluster.clone());
        write_bundle(&bundle, &b).map_err(|e| vaultops_types::error_report(&e))?;
        // Verify with what the holders read back from disk, not with what the server sent.
        bundle_shares(&bundle, &ids).map_err(|e| e.report())
    };
    let new_keys = rekey_persisted(&rekey_nodes, &holder, &plan, &old_keys, &[], persist)
        .await
        .map_err(rekey_step("rotating the unseal shares"))?;
    run.observed(format!(
        "new shares verified (now active), bundle {}",
        bundle.display()
    ));
    run.tb
        .replace_unseal_keys(split, &new_keys)
        .map_err(testbed("recording the new unseal keys"))?;

    // (3) The command's probe (a throwaway attempt, cancelled).
    let new_accepted = probe_shares(&holder, plan.engine, &new_keys)
        .await
        .map_err(rekey_step("probing the new shares"))?;
    let old_accepted = probe_shares(&holder, plan.engine, &old_keys)
        .await
        .map_err(rekey_step("probing the old shares"))?;
    run.check(
        "probe: old shares refused, new shares accepted",
        new_accepted && !old_accepted,
        format!(
            "old shares {}, new shares {} (rotate-root attempt, cancelled)",
            if old_accepted {
                "STILL ACCEPTED"
            } else {
                "refused"
            },
            if new_accepted { "accepted" } else { "REFUSED" }
        ),
    );

    // (4) Barrier key rotation.
    let rotation = rotate_encryption_key(&rotate_nodes, false)
        .await
        .map_err(rekey_step("rotating the encryption key"))?;
    run.check(
        "encryption key term increased",
        rotation.after.term > rotation.before.term,
        format!(
            "sys/key-status term {} -> {}",
            rotation.before.term, rotation.after.term
        ),
    );
    run.details.rekey = Some(RekeyRecord {
        from,
        to: run.clock.now(),
        term_before: rotation.before.term,
        term_after: rotation.after.term,
        largest_write_gap: None,
    });

    // (5) Every node restarted at once; only the new bundle opens them.
    let all: Vec<usize> = (0..run.nodes()).collect();
    run.anchor_leader_change_now();
    run.fault("restart every node (SIGTERM, start)");
    let tb = run.tb.clone();
    let restarts = all
        .iter()
        .map(|i| tb.restart(id(*i), Duration::from_secs(30)));
    for r in futures_util::future::join_all(restarts).await {
        r.map_err(testbed("restarting every node"))?;
    }
    run.monitor()
        .wait_for("every node to answer sealed", NODE_DEADLINE, |tls| {
            tls.iter()
                .all(|tl| tl.transitions.last().map(|t| t.seen) == Some(Observed::Sealed))
                .then_some(())
        })
        .await?;
    run.observed("every node sealed");
    let old_after = open_with(&run.root(0), &old_keys).await?;
    run.check(
        "old shares refused by a restarted node",
        matches!(old_after, Opening::Refused(_)),
        format!("{}: the old shares {}", node_name(0), old_after.describe()),
    );
    let from_disk = bundle_shares(&bundle, &ids)?;
    run.recovery(format!(
        "unseal every node with {} shares decrypted from the new bundle",
        from_disk.len()
    ));
    let clients: Vec<NodeClient> = all.iter().map(|i| run.root(*i)).collect();
    let openings =
        futures_util::future::join_all(clients.iter().map(|c| open_with(c, &from_disk))).await;
    let mut seen = Vec::new();
    for (i, o) in openings.into_iter().enumerate() {
        seen.push(format!("{} {}", node_name(i), o?.describe()));
    }
    run.wait_new_active().await?;
    wait_all_unsealed(run, "every node unsealed with the new bundle").await?;
    let mut splits = Vec::new();
    for c in &clients {
        splits.push(c.seal_status().await.map(|s| (s.n, s.t)).ok());
    }
    let new_split = (split.shares(), split.threshold());
    run.check(
        "every node opened by the new bundle, reporting the new split",
        splits.iter().all(|s| *s == Some(new_split)),
        format!(
            "{}; sys/seal-status split per node: {}",
            seen.join(", "),
            splits
                .iter()
                .map(|s| s.map_or("no answer".to_owned(), |(n, t)| format!("{n}/{t}")))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let set = run.tb.node_set();
    let now_active = set
        .wait_active(NODE_DEADLINE)
        .await
        .map_err(boot("finding the active node after the restart"))?;
    let term = run
        .root(now_active)
        .key_status()
        .await
        .map_err(api("reading the key term after the restart"))?
        .term;
    run.check(
        "encryption key term kept across the restart",
        term == rotation.after.term,
        format!(
            "sys/key-status term {term} (rotated to {})",
            rotation.after.term
        ),
    );
    let record = run
        .tb
        .state()
        .read_init()
        .map_err(testbed("reading the testbed's init.json"))?;
    let recorded = record
        .as_ref()
        .is_some_and(|r| (r.shares, r.threshold) == new_split && r.keys_base64 == from_disk);
    run.check(
        "the testbed records the new shares",
        recorded,
        format!(
            "init.json split {}",
            record.map_or("missing".into(), |r| format!(
                "{}/{}",
                r.shares, r.threshold
            ))
        ),
    );
    run.settle().await
}
