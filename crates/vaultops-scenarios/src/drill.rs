//! The backup/restore drill (`backup-restore`): write N secrets and an AppRole secret-id,
//! back the source cluster up (age-encrypted, with `vaultops-backup`), check the backup with
//! `verify --restore` (a throwaway local node counts what it holds), DESTROY the source,
//! create a fresh cluster, show that a truncated and a corrupted snapshot are refused while
//! the target keeps its data, force-restore the encrypted backup, watch every node seal
//! itself, unseal with the OLD cluster's keys, and verify every secret, the inventory (what
//! the source held, counted the same way), an AppRole login with the old credentials and the
//! old root token.
//!
//! Shared facts: after a forced restore of another cluster's snapshot the nodes seal
//! themselves (~6.5 s); the OLD cluster's unseal keys and root token are the valid ones, the
//! target's own keys and root token no longer work.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use futures_util::StreamExt;
use serde_json::json;
use vaultops_api::DEFAULT_APPROLE_MOUNT;
use vaultops_api::{NodeClient, SecretIdRequest};
use vaultops_backup as backup;
use vaultops_bootstrap::BootstrapError;
use vaultops_bootstrap::APP_ROLE;
use vaultops_testbed::{Testbed, TestbedName};

use crate::catalogue::Scenario;
use crate::details::BackupFigures;
use crate::error::{api, backup as backup_err, boot, testbed, ScenarioError};
use crate::lifecycle::{ensure_healthy, id, node_logs, up};
use crate::model::{node_name, Observed};
use crate::options::SuiteOptions;
use crate::report::ScenarioReport;
use crate::run::{Run, NODE_DEADLINE};

/// Runs the drill with `source` as the cluster to back up (it is destroyed) and a fresh
/// target testbed named `target`.
pub(crate) async fn drill(
    source: Testbed,
    opts: &SuiteOptions,
    target: &TestbedName,
    run_id: String,
) -> Result<ScenarioReport, ScenarioError> {
    ensure_healthy(&source, opts).await?;
    let mut run = Run::new(source, opts, Scenario::BackupRestore, run_id);
    run.say(&format!("start on testbed {}", run.tb.name()));
    let snapshots = opts.reports_dir.join(format!("{}.snapshots", run.run_id));
    let result = steps(&mut run, target, &snapshots).await;
    if !opts.keep {
        // The snapshot holds every secret (encrypted with the source's keys): not kept.
        let _ = std::fs::remove_dir_all(&snapshots);
    }
    match result {
        Ok(()) => run.finish().await.map(|(r, _)| r),
        Err(e) => {
            let logs = node_logs(&run.tb, 30).await;
            drop(run);
            Err(ScenarioError::InScenario {
                scenario: Scenario::BackupRestore.to_string(),
                logs,
                source: Box::new(e),
            })
        }
    }
}

/// Maps an I/O error on the drill's file `path` while doing `action`.
fn file_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ScenarioError {
    let path = path.to_owned();
    move |source| ScenarioError::DrillFile {
        action,
        path,
        source,
    }
}

fn private_dir(p: &Path) -> Result<(), ScenarioError> {
    let err = |e| file_err("creating the drill's private directory", p)(e);
    std::fs::create_dir_all(p).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Ok(())
}

/// Writes one of the drill's snapshot files (0600, atomically, never through a link).
fn write_private(p: &Path, data: &[u8]) -> Result<(), ScenarioError> {
    vaultops_fs::write_atomic(p, data, vaultops_fs::WriteOptions::private())
        .map_err(ScenarioError::WriteDrillFile)
}

async fn read_all(
    client: &NodeClient,
    mount: &str,
    prefix: &str,
    n: usize,
) -> Result<(usize, Vec<String>), ScenarioError> {
    let reads = (0..n).map(|i| {
        let key = format!("{prefix}/bk-{i}");
        async move {
            let r = client.kv_read(mount, &key).await;
            (i, key, r)
        }
    });
    let results: Vec<_> = futures_util::stream::iter(reads)
        .buffer_unordered(8)
        .collect()
        .await;
    let mut ok = 0;
    let mut missing = Vec::new();
    for (i, key, r) in results {
        let s = r.map_err(api("reading a restored secret"))?;
        let good = s.is_some_and(|s| s.data.get("value") == Some(&json!(format!("secret-{i}"))));
        if good {
            ok += 1;
        } else {
            missing.push(key);
        }
    }
    missing.sort();
    Ok((ok, missing))
}

async fn steps(run: &mut Run<'_>, target: &TestbedName, dir: &Path) -> Result<(), ScenarioError> {
    let n = run.opts.backup_secrets;
    let mount = run.keys.mount.clone();
    let prefix = run.keys.prefix.clone();
    let set = run.tb.node_set();
    let src_active = set
        .wait_active(NODE_DEADLINE)
        .await
        .map_err(boot("finding the source's active node"))?;
    let root = run.root(src_active);

    run.observed(format!(
        "write {n} secrets and an AppRole secret-id on the source"
    ));
    let t = Instant::now();
    let writes = (0..n).map(|i| {
        let (root, mount, key) = (&root, &mount, format!("{prefix}/bk-{i}"));
        async move {
            root.kv_write(
                mount,
                &key,
                &json!({ "i": i, "value": format!("secret-{i}") }),
                None,
            )
            .await
        }
    });
    let written: Vec<_> = futures_util::stream::iter(writes)
        .buffer_unordered(8)
        .collect()
        .await;
    for w in written {
        w.map_err(api("writing the drill's secrets"))?;
    }
    let write_s = t.elapsed().as_secs_f64();
    let role_id = root
        .approle_role_id(DEFAULT_APPROLE_MOUNT, APP_ROLE)
        .await
        .map_err(api("reading the AppRole's role-id"))?
        .ok_or(ScenarioError::NoAppRole { role: APP_ROLE })?;
    let secret_id = root
        .approle_generate_secret_id(DEFAULT_APPROLE_MOUNT, APP_ROLE, &SecretIdRequest::default())
        .await
        .map_err(api("generating a secret-id"))?
        .secret_id;
    root.approle_login(DEFAULT_APPROLE_MOUNT, &role_id, &secret_id)
        .await
        .map_err(api("AppRole login on the source"))?;

    let source_inventory =
        backup::take_inventory(&root)
            .await
            .map_err(|source| ScenarioError::Inventory {
                step: "taking the source's inventory",
                source: Box::new(source),
            })?;

    // The backup as production takes it: streamed, encrypted to an age recipient while it is
    // written, with a checksum file; checked without a server.
    private_dir(dir)?;
    let (identity, recipient) = vaultops_custody::generate_identity();
    let backup_file = dir.join("source.snap.age");
    let t = Instant::now();
    let info = backup::save(&root, &backup_file, &[recipient])
        .await
        .map_err(backup_err("saving the encrypted backup of the source"))?;
    let save_s = t.elapsed().as_secs_f64();
    run.observed(format!(
        "encrypted backup saved: snapshot {} bytes, {} bytes encrypted",
        info.snapshot_bytes, info.bytes
    ));
    let verified = backup::verify_file(&backup_file, &identity);
    run.check(
        "encrypted backup verifies (checksum, age, archive SHA256SUMS)",
        verified
            .as_ref()
            .is_ok_and(|v| v.encrypted && v.checksum == backup::ChecksumState::Matches),
        match &verified {
            Ok(v) => format!("entries {:?}, raft index {}", v.entries, v.meta["Index"]),
            Err(e) => e.to_string(),
        },
    );
    // `vaultops backup verify --restore`: the backup restored into a throwaway local node,
    // unsealed with the source's keys, holds what the source holds.
    let old = run
        .tb
        .init()
        .cloned()
        .ok_or_else(|| ScenarioError::NoInitRecord {
            testbed: run.tb.name().to_string(),
        })?;
    let old_keys =
        old.keys_base64[..usize::from(old.threshold).min(old.keys_base64.len())].to_vec();
    let bao =
        match tokio::task::spawn_blocking(|| vaultops_install::ensure_bao(&Default::default()))
            .await
        {
            Ok(r) => r.map_err(ScenarioError::InstallBao)?,
            // The install panicked: the panic is the error to see.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
    let mut scratch = backup::ScratchOptions::new(bao);
    scratch.work_dir = Some(dir.to_owned());
    let checked = backup::verify_by_restore(&backup_file, &identity, &old_keys, &scratch).await;
    run.check(
        "verify --restore: a throwaway node restores the backup with the source's keys and counts what the source holds",
        checked
            .as_ref()
            .is_ok_and(|c| c.inventory == source_inventory),
        match &checked {
            Ok(c) => format!(
                "{} secrets in {} KV engine(s) (source {}), restored in {:.1} s",
                c.inventory.secrets,
                c.inventory.kv.len(),
                source_inventory.secrets,
                c.timings.total_s
            ),
            Err(e) => e.to_string(),
        },
    );
    let verify_restore_s = checked.as_ref().map(|c| c.timings.total_s).ok();
    // A truncated encrypted backup is refused before anything reaches a server.
    let enc = std::fs::read(&backup_file).map_err(file_err("reading", &backup_file))?;
    let cut = dir.join("truncated.snap.age");
    write_private(&cut, &enc[..enc.len() / 2])?;
    let e = backup::verify_file(&cut, &identity);
    run.check(
        "truncated encrypted backup refused locally",
        e.is_err(),
        match &e {
            Err(e) => e.to_string(),
            Ok(_) => "accepted".to_owned(),
        },
    );
    // The plain snapshot, for the server-side refusal tests below.
    let snap = dir.join("source.snap");
    backup::decrypt_to(&backup_file, &identity, &snap)
        .map_err(backup_err("decrypting the backup for the refusal tests"))?;

    run.fault(format!("destroy the source cluster {}", run.tb.name()));
    run.tb
        .clone()
        .down()
        .await
        .map_err(testbed("destroying the source cluster"))?;
    run.recovery(format!("fresh target cluster {target}"));
    let t = Instant::now();
    let fresh = up(run.opts, target).await?;
    let target_up_s = t.elapsed().as_secs_f64();
    let new_keys = fresh.threshold_keys().to_vec();
    run.tb = fresh;
    let active = run.start_monitor().await?;
    let new_root = run.root(active);
    let marker = format!("{prefix}/target-marker");
    new_root
        .kv_write(
            &mount,
            &marker,
            &json!({ "written": "before the restore" }),
            None,
        )
        .await
        .map_err(api("writing the target's marker"))?;

    // Refused snapshots: the target must keep its data and stay in service.
    let full = std::fs::read(&snap).map_err(file_err("reading", &snap))?;
    let truncated = full[..full.len() / 2].to_vec();
    let mut corrupted = full.clone();
    let mid = corrupted.len() / 2;
    for b in corrupted.iter_mut().skip(mid).take(64) {
        *b ^= 0xFF;
    }
    let mut refused = BTreeMap::new();
    for (label, bytes) in [("truncated", truncated), ("corrupted", corrupted)] {
        let path = dir.join(format!("{label}.snap"));
        write_private(&path, &bytes)?;
        run.observed(format!("forced restore of a {label} snapshot"));
        let r = new_root.snapshot_restore(&path, true).await;
        let kept = new_root
            .kv_read(&mount, &marker)
            .await
            .map(|s| s.is_some())
            .unwrap_or(false);
        let in_service = run.monitor().active().is_some()
            && run
                .monitor()
                .current()
                .iter()
                .all(|s| matches!(s, Some(Observed::Active | Observed::Standby)));
        let msg = match &r {
            Err(e) => e.to_string(),
            Ok(()) => "accepted".to_owned(),
        };
        run.check(
            &format!("{label} snapshot refused, target keeps its data"),
            r.is_err() && kept && in_service,
            format!("{msg}; marker readable: {kept}; every node unsealed: {in_service}"),
        );
        refused.insert(label.to_owned(), msg);
    }

    // The real restore.
    run.anchor_leader_change_now();
    run.fault(format!(
        "forced restore of the source snapshot via {}",
        node_name(active)
    ));
    let t_restore = Instant::now();
    backup::restore(&new_root, &backup_file, &identity, true)
        .await
        .map_err(backup_err("forced restore of the encrypted backup"))?;
    let restore_call_s = t_restore.elapsed().as_secs_f64();
    run.monitor()
        .wait_for(
            "every node to seal itself after the restore",
            NODE_DEADLINE,
            |tls| {
                tls.iter()
                    .all(|tl| tl.transitions.last().map(|t| t.seen) == Some(Observed::Sealed))
                    .then_some(())
            },
        )
        .await?;
    let sealed_s = t_restore.elapsed().as_secs_f64();
    run.observed("every node sealed itself");

    let r = vaultops_bootstrap::unseal_node(&run.tb.client(id(0)), &new_keys).await;
    run.check(
        "the target's own keys no longer open it",
        matches!(r, Err(BootstrapError::UnsealWrongKeys { .. })),
        match r {
            Err(e) => e.to_string(),
            Ok(o) => format!("unexpected: {o:?}"),
        },
    );

    run.recovery("unseal every node with the OLD cluster's keys");
    let t_unseal = Instant::now();
    let clients: Vec<NodeClient> = (0..run.nodes()).map(|i| run.tb.client(id(i))).collect();
    let unseals = clients
        .iter()
        .map(|c| vaultops_bootstrap::unseal_node(c, &old_keys));
    for r in futures_util::future::join_all(unseals).await {
        r.map_err(boot("unsealing with the old keys"))?;
    }
    let now_active = match run.wait_new_active().await {
        Ok(i) => i,
        Err(e) => return Err(explain_no_active(&run.tb, e).await),
    };
    let active_s = t_unseal.elapsed().as_secs_f64();

    let old_root = run
        .tb
        .client(id(now_active))
        .with_token(old.root_token.clone());
    let t = Instant::now();
    let (ok, missing) = read_all(&old_root, &mount, &prefix, n).await?;
    let verify_s = t.elapsed().as_secs_f64();
    run.extra_lost = missing.len() as u64;
    run.check(
        "every secret restored",
        missing.is_empty() && ok == n,
        format!(
            "{ok} of {n} secrets read back with their values{}",
            if missing.is_empty() {
                String::new()
            } else {
                format!(
                    "; missing e.g. {}",
                    missing[..missing.len().min(5)].join(", ")
                )
            }
        ),
    );
    let restored_inventory = backup::take_inventory(&old_root).await;
    run.check(
        "the restored cluster holds what the source held (every KV engine's count, engines, auth methods, policies)",
        restored_inventory
            .as_ref()
            .is_ok_and(|i| *i == source_inventory),
        match &restored_inventory {
            Ok(i) => format!("{} secrets (source {})", i.secrets, source_inventory.secrets),
            Err(e) => e.to_string(),
        },
    );
    let login = old_root
        .approle_login(DEFAULT_APPROLE_MOUNT, &role_id, &secret_id)
        .await;
    run.check(
        "AppRole login with the source's role-id and secret-id",
        login.is_ok(),
        match &login {
            Ok(a) => format!("token with policies {:?}", a.policies),
            Err(e) => e.to_string(),
        },
    );
    let old_root_ok = old_root.token_lookup_self().await.is_ok();
    let new_root_gone = run
        .root(now_active)
        .token_lookup_self()
        .await
        .is_err_and(|e| e.is_permission_denied());
    run.check(
        "the source's root token works, the target's is gone",
        old_root_ok && new_root_gone,
        format!("old root token valid: {old_root_ok}; target's root token refused (403): {new_root_gone}"),
    );
    let marker_after = old_root
        .kv_read(&mount, &marker)
        .await
        .ok()
        .flatten()
        .is_some();
    run.details.backup = Some(BackupFigures {
        secrets: n,
        write_s,
        snapshot_bytes: info.snapshot_bytes,
        snapshot_sha256: info.snapshot_sha256.clone(),
        encrypted_bytes: info.bytes,
        encrypted_sha256: info.sha256.clone(),
        snapshot_save_s: save_s,
        target_up_s,
        restore_call_s,
        restore_to_all_sealed_s: sealed_s,
        unseal_old_keys_to_active_s: active_s,
        verify_s,
        verify_restore_s,
        source_inventory_secrets: source_inventory.secrets,
        secrets_verified: ok,
        refused,
        target_marker_after_restore: marker_after,
    });
    run.details.target_up_s = Some(target_up_s);
    run.say(&format!(
        "restore: {} bytes, sealed {sealed_s:.2} s after the restore, active {active_s:.2} s after the old keys, {ok}/{n} secrets",
        info.snapshot_bytes
    ));
    Ok(())
}

/// OpenBao's log line when the restored cluster's declarative audit devices differ from the
/// audit table inside the snapshot: no node can become active then.
const AUDIT_MISMATCH: &str = "modifications to audit devices are not allowed";

/// Names the known cause when no node became active after the restore.
async fn explain_no_active(tb: &Testbed, e: ScenarioError) -> ScenarioError {
    let logs = node_logs(tb, 60).await;
    if logs.contains(AUDIT_MISMATCH) {
        ScenarioError::RestoreAuditMismatch {
            marker: AUDIT_MISMATCH,
            source: Box::new(e),
        }
    } else {
        e
    }
}
