//! Docker integration: auto-unseal testbeds (`--seal static`, `--seal transit`).
//!
//! For each seal: `up` → three nodes unsealed with no key entered, one active, three voters →
//! every node container restarted → unsealed again with no operator input, within a deadline
//! (the time is printed; run with `--nocapture` to see it). Transit also: the unsealer stopped,
//! a node restarted → it exits with code 1 and Docker's restart policy starts it again, until
//! the unsealer is back; then it unseals itself.
//!
//! Needs a reachable Docker engine and FAILS (never skips) without one. Each testbed has its
//! own name and free ports and is removed even when the test fails (unless TESTBED_KEEP=1).

mod common;

use std::time::{Duration, Instant};

use bollard::models::RestartPolicyNameEnum;
use bollard::query_parameters::InspectContainerOptions;
use common::{docker_or_fail, labelled_objects, mode, poll, run_and_clean_up, unique_name};
use futures_util::StreamExt;
use vaultops_api::{NodeRole, Token};
use vaultops_testbed::{NodeId, SealKind, Silent, Testbed, UpOptions, UpOutcome};

/// How long a whole-cluster restart may take to be unsealed again (measured: a few seconds).
const RESTART_DEADLINE: Duration = Duration::from_secs(60);

fn options(
    name: &vaultops_testbed::TestbedName,
    root: &std::path::Path,
    seal: SealKind,
) -> UpOptions {
    let mut opts = UpOptions::new(name.clone(), root.to_owned());
    opts.seal = Some(seal);
    opts.deadline = Duration::from_secs(120);
    opts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_seal_testbed_unseals_itself_after_every_node_restarts() {
    let d = docker_or_fail().await;
    let name = unique_name("static");
    let root = tempfile::tempdir().unwrap();
    let opts = options(&name, root.path(), SealKind::Static);
    run_and_clean_up(&name, root, static_scenario(&d, opts)).await;
    assert_eq!(labelled_objects(&d, &name).await, (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transit_seal_testbed_survives_restarts_and_an_unsealer_outage() {
    let d = docker_or_fail().await;
    let name = unique_name("transit");
    let root = tempfile::tempdir().unwrap();
    let opts = options(&name, root.path(), SealKind::Transit);
    run_and_clean_up(&name, root, transit_scenario(&d, opts)).await;
    assert_eq!(labelled_objects(&d, &name).await, (0, 0, 0));
}

/// A transit testbed whose unsealer never gets ready: a clear error naming the unsealer step,
/// with the unsealer's log tail, and nothing left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_transit_up_reports_the_unsealer_and_cleans_up() {
    let d = docker_or_fail().await;
    let name = unique_name("trfail");
    let root = tempfile::tempdir().unwrap();
    let mut opts = options(&name, root.path(), SealKind::Transit);
    opts.nodes = Some(vaultops_testbed::NodeCount::new(1).unwrap());
    // No wait can succeed within zero time: the unsealer's listener wait fails first.
    opts.deadline = Duration::ZERO;
    opts.keep_on_failure = false;
    let err = Testbed::up(&opts, &mut Silent).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, vaultops_testbed::TestbedError::Unsealer { .. }),
        "{err:?}"
    );
    assert!(msg.contains("on the transit unsealer failed"), "{msg}");
    assert!(msg.contains("--- unsealer (vaultops-t-trfail-"), "{msg}");
    assert_eq!(labelled_objects(&d, &name).await, (0, 0, 0));
    assert!(!root.path().join(name.as_str()).exists());
}

async fn static_scenario(d: &bollard::Docker, opts: UpOptions) {
    let (tb, outcome) = Testbed::up(&opts, &mut Silent)
        .await
        .unwrap_or_else(|e| panic!("up failed: {e}"));
    assert!(matches!(outcome, UpOutcome::Created { .. }), "{outcome:?}");
    assert_auto_unsealed(&tb, "static").await;
    assert_recovery_init(&tb);
    assert_restart_policy(d, &tb).await;

    // The key: 32 bytes, 0600 on the host; the same bytes in every node, owned by the server
    // user (uid 100) and readable by it only.
    let key_path = tb.state().static_key_file();
    assert_eq!(mode(&key_path), 0o600);
    let key = std::fs::read(&key_path).unwrap();
    assert_eq!(key.len(), 32);
    for n in tb.nodes() {
        let (data, uid, file_mode) =
            container_file(d, &n.container, vaultops_testbed::STATIC_KEY_FILE).await;
        assert_eq!(data, key, "{}", n.id);
        assert_eq!((uid, file_mode & 0o777), (100, 0o600), "{}", n.id);
        let cfg = std::fs::read_to_string(tb.state().node_config(n.id)).unwrap();
        assert!(cfg.contains("file:///vault/seal/static.key"), "{cfg}");
    }

    write_secret(&tb, "before the restart").await;
    restart_everything(d, &tb, Restart::KillThenStart).await;
    read_secret(&tb, "before the restart").await;
}

async fn transit_scenario(d: &bollard::Docker, opts: UpOptions) {
    let (tb, outcome) = Testbed::up(&opts, &mut Silent)
        .await
        .unwrap_or_else(|e| panic!("up failed: {e}"));
    assert!(matches!(outcome, UpOutcome::Created { .. }), "{outcome:?}");
    assert_auto_unsealed(&tb, "transit").await;
    assert_recovery_init(&tb);
    assert_restart_policy(d, &tb).await;

    // The unsealer: its own container, unsealed and active, its init output kept 0600.
    let st = tb.status().await.unwrap();
    let u = st
        .unsealer
        .as_ref()
        .expect("a transit testbed reports its unsealer");
    assert_eq!(u.container, opts.name.unsealer_container());
    assert_eq!(u.container_state, "running");
    assert_eq!(
        (u.api.sealed, u.api.role),
        (Some(false), Some(NodeRole::Active))
    );
    assert_eq!(mode(&tb.state().unsealer_init_file()), 0o600);

    // The nodes' token is in their environment, never in a config file; it is an orphan
    // periodic token that can only use the autounseal policy.
    let token = node_env_token(d, &tb.nodes()[0].container).await;
    for n in tb.nodes() {
        assert_eq!(node_env_token(d, &n.container).await, token, "{}", n.id);
        let host_cfg = std::fs::read_to_string(tb.state().node_config(n.id)).unwrap();
        let (in_container, _, _) =
            container_file(d, &n.container, vaultops_testbed::CONFIG_FILE).await;
        for cfg in [host_cfg, String::from_utf8(in_container).unwrap()] {
            assert!(cfg.contains(r#"seal "transit""#), "{cfg}");
            assert!(cfg.contains("https://unsealer:8200"), "{cfg}");
            assert!(!cfg.contains(&token) && !cfg.contains("token"), "{cfg}");
        }
    }
    let token = Token::new(token);
    let unsealer_root = tb.unsealer_client().unwrap().with_token(
        tb.state()
            .read_unsealer_init()
            .unwrap()
            .expect("unsealer-init.json")
            .root_token,
    );
    let caps = unsealer_root
        .capabilities(
            &token,
            &[
                "transit/encrypt/autounseal",
                "transit/decrypt/autounseal",
                "transit/keys/autounseal",
                "transit/encrypt/other",
                "sys/mounts",
            ],
        )
        .await
        .unwrap();
    let caps: Vec<(&str, Vec<&str>)> = caps
        .iter()
        .map(|(p, c)| (p.as_str(), c.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        caps,
        [
            ("sys/mounts", vec!["deny"]),
            ("transit/decrypt/autounseal", vec!["update"]),
            ("transit/encrypt/autounseal", vec!["update"]),
            ("transit/encrypt/other", vec!["deny"]),
            ("transit/keys/autounseal", vec!["deny"]),
        ]
    );
    // No default policy: it cannot even look itself up.
    let e = tb
        .unsealer_client()
        .unwrap()
        .with_token(token)
        .token_lookup_self()
        .await
        .unwrap_err();
    assert!(e.is_permission_denied(), "{e}");
    let unsealer_env = container_env(d, &u.container).await;
    assert!(
        !unsealer_env.iter().any(|e| e.contains("TOKEN")),
        "{unsealer_env:?}"
    );

    write_secret(&tb, "before the restart").await;
    restart_everything(d, &tb, Restart::DockerRestart).await;
    read_secret(&tb, "before the restart").await;

    // Unsealer down: a node restarted now cannot configure its seal and exits with code 1;
    // Docker starts it again and again; the others keep serving.
    let st = tb.status().await.unwrap();
    let victim = st
        .nodes
        .iter()
        .find(|n| n.api.role == Some(NodeRole::Standby))
        .expect("a standby")
        .id;
    let container = tb.node(victim).unwrap().container.clone();
    let restart_count = || async {
        d.inspect_container(&container, None::<InspectContainerOptions>)
            .await
            .map_err(|e| e.to_string())
            .map(|s| s.restart_count.unwrap_or(0))
    };
    // Restarts through the API (`docker restart`, `start`) are not counted; only those the
    // restart policy makes after a failed exit are.
    let before = restart_count().await.unwrap();
    tb.stop_unsealer(Duration::from_secs(2)).await.unwrap();
    let restarted = Instant::now();
    tb.restart(victim, Duration::from_secs(10)).await.unwrap();
    poll(
        "the node to exit and be restarted by Docker's restart policy",
        Duration::from_secs(60),
        || async {
            let count = restart_count().await?;
            if count > before {
                Ok(Some(()))
            } else {
                Err(format!("restart count {count}"))
            }
        },
    )
    .await;
    let exited_after = restarted.elapsed();
    eprintln!(
        "transit: unsealer down, restarted {victim} exited (non-zero) and was restarted by Docker after {:.1}s",
        exited_after.as_secs_f64()
    );
    let logs = tb.logs(victim, 200).await.unwrap();
    assert!(
        logs.contains(r#"Error configuring seal "transit""#),
        "{logs}"
    );
    // The rest of the cluster still has an active node.
    let others: Vec<NodeId> = tb
        .nodes()
        .iter()
        .map(|n| n.id)
        .filter(|id| *id != victim)
        .collect();
    let mut roles = Vec::new();
    for id in &others {
        roles.push(tb.client(*id).health().await.map(|h| h.role).ok());
    }
    assert!(roles.contains(&Some(NodeRole::Active)), "{roles:?}");
    let st = tb.status().await.unwrap();
    assert!(
        st.problems.iter().any(|p| p.contains("transit unsealer")),
        "{:?}",
        st.problems
    );

    // Unsealer back (started and unsealed): the node unseals itself on its next start.
    let back = Instant::now();
    let actions = tb.restore_unsealer(Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        actions,
        ["started the unsealer", "unsealed the unsealer"],
        "{actions:?}"
    );
    let client = tb.client(victim);
    poll(
        "the restarted node to unseal itself",
        Duration::from_secs(90),
        || {
            let c = client.clone();
            async move {
                match c.health().await {
                    Ok(h) if matches!(h.role, NodeRole::Standby | NodeRole::Active) => Ok(Some(())),
                    Ok(h) => Err(h.role.to_string()),
                    Err(e) => Err(e.kind.to_string()),
                }
            }
        },
    )
    .await;
    eprintln!(
        "transit: unsealer back → {victim} unsealed by itself after {:.1}s",
        back.elapsed().as_secs_f64()
    );
    wait_healthy(&tb).await;
}

/// Every node unsealed without a key, one active and the others standby, three voters; the
/// servers report the auto-unseal seal with a recovery seal.
async fn assert_auto_unsealed(tb: &Testbed, seal: &str) {
    let st = tb.status().await.unwrap();
    assert!(st.healthy(), "problems: {:?}", st.problems);
    assert_eq!(st.seal.as_str(), seal);
    let roles: Vec<_> = st.nodes.iter().map(|n| n.api.role).collect();
    let count = |r| roles.iter().filter(|x| **x == Some(r)).count();
    assert_eq!(
        (count(NodeRole::Active), count(NodeRole::Standby)),
        (1, 2),
        "{roles:?}"
    );
    assert_eq!(st.voters(), 3, "{st:?}");
    for n in tb.nodes() {
        let s = tb.client(n.id).seal_status().await.unwrap();
        assert_eq!(s.seal_type, seal, "{}", n.id);
        assert!(s.recovery_seal && !s.sealed, "{}: {s:?}", n.id);
    }
    // The baseline went through the production path too.
    let root = tb.root_client(st.active().unwrap());
    assert!(root.mounts_list().await.unwrap().contains_key("secret/"));
}

/// init.json holds 5 recovery keys and no unseal keys, mode 0600.
fn assert_recovery_init(tb: &Testbed) {
    let init = tb.init().expect("init.json");
    assert!(init.keys_base64.is_empty());
    assert_eq!(init.recovery_keys_base64.len(), 5);
    assert_eq!((init.shares, init.threshold), (5, 3));
    assert!(tb.threshold_keys().is_empty());
    assert_eq!(mode(&tb.state().init_file()), 0o600);
}

async fn assert_restart_policy(d: &bollard::Docker, tb: &Testbed) {
    let mut containers: Vec<String> = tb.nodes().iter().map(|n| n.container.clone()).collect();
    containers.extend(tb.unsealer().map(|u| u.container.clone()));
    for c in containers {
        let i = d
            .inspect_container(&c, None::<InspectContainerOptions>)
            .await
            .unwrap();
        let policy = i
            .host_config
            .and_then(|h| h.restart_policy)
            .and_then(|p| p.name);
        assert_eq!(policy, Some(RestartPolicyNameEnum::ON_FAILURE), "{c}");
    }
}

#[derive(Debug, Clone, Copy)]
enum Restart {
    /// SIGKILL every node (checking Docker leaves them down), then start them.
    KillThenStart,
    /// `docker restart` every node (SIGTERM, then start).
    DockerRestart,
}

/// Restarts every node container at once and waits, without entering any key, until all are
/// unsealed with one active; prints how long that took.
async fn restart_everything(d: &bollard::Docker, tb: &Testbed, how: Restart) {
    let ids: Vec<NodeId> = tb.nodes().iter().map(|n| n.id).collect();
    let started = match how {
        Restart::KillThenStart => {
            futures_util::future::try_join_all(ids.iter().map(|id| tb.kill(*id)))
                .await
                .unwrap();
            // The restart policy must not undo a kill a scenario made: the containers stay
            // down. Docker restarts a failed container after 100 ms, so 1.5 s of observation
            // would show it.
            let until = Instant::now() + Duration::from_millis(1500);
            while Instant::now() < until {
                for n in tb.nodes() {
                    let i = d
                        .inspect_container(&n.container, None::<InspectContainerOptions>)
                        .await
                        .unwrap();
                    assert_eq!(i.restart_count, Some(0), "{}", n.id);
                    assert_eq!(
                        tb.container_state(n.id).await.unwrap(),
                        "exited",
                        "{} came back by itself after a kill",
                        n.id
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let t = Instant::now();
            futures_util::future::try_join_all(ids.iter().map(|id| tb.start(*id)))
                .await
                .unwrap();
            t
        }
        Restart::DockerRestart => {
            let t = Instant::now();
            futures_util::future::try_join_all(
                ids.iter()
                    .map(|id| tb.restart(*id, Duration::from_secs(10))),
            )
            .await
            .unwrap();
            t
        }
    };
    let set = tb.node_set();
    poll(
        "every node unsealed by itself, one active",
        RESTART_DEADLINE,
        || async {
            let states = set.states().await;
            let roles: Vec<Option<NodeRole>> = states
                .iter()
                .map(|s| match s {
                    vaultops_bootstrap::NodeState::Role(r) => Some(*r),
                    vaultops_bootstrap::NodeState::Unreachable(_) => None,
                })
                .collect();
            let active = roles
                .iter()
                .filter(|r| **r == Some(NodeRole::Active))
                .count();
            let standby = roles
                .iter()
                .filter(|r| **r == Some(NodeRole::Standby))
                .count();
            if active == 1 && active + standby == roles.len() {
                Ok(Some(()))
            } else {
                Err(set.describe(&states))
            }
        },
    )
    .await;
    eprintln!(
        "{}: {how:?} of all {} nodes → all unsealed with no key entered, one active: {:.2}s",
        tb.seal(),
        ids.len(),
        started.elapsed().as_secs_f64()
    );
}

async fn wait_healthy(tb: &Testbed) {
    poll(
        "the testbed to be healthy",
        Duration::from_secs(60),
        || async {
            let st = tb.status().await.map_err(|e| e.to_string())?;
            if st.healthy() {
                Ok(Some(()))
            } else {
                Err(st.problems.join("; "))
            }
        },
    )
    .await;
}

async fn write_secret(tb: &Testbed, value: &str) {
    let active = tb.status().await.unwrap().active().unwrap();
    let c = tb.root_client(active);
    // Retried: KV v2 may still be finishing its upgrade right after up.
    poll("a KV write", Duration::from_secs(20), || {
        let c = c.clone();
        async move {
            c.kv_write(
                "secret",
                "testbed/autounseal",
                &serde_json::json!({ "v": value }),
                None,
            )
            .await
            .map(Some)
            .map_err(|e| e.to_string())
        }
    })
    .await;
}

async fn read_secret(tb: &Testbed, value: &str) {
    let set = tb.node_set();
    poll(
        "the secret after the restart",
        Duration::from_secs(30),
        || async {
            let active = set.active_index().await.ok_or("no active node")?;
            let c = tb.root_client(NodeId::from_index(active).unwrap());
            match c.kv_read("secret", "testbed/autounseal").await {
                Ok(Some(s)) if s.data.get("v") == Some(&serde_json::json!(value)) => Ok(Some(())),
                Ok(other) => Err(format!("{other:?}")),
                Err(e) => Err(e.to_string()),
            }
        },
    )
    .await;
}

async fn container_env(d: &bollard::Docker, container: &str) -> Vec<String> {
    d.inspect_container(container, None::<InspectContainerOptions>)
        .await
        .unwrap()
        .config
        .and_then(|c| c.env)
        .unwrap_or_default()
}

/// The value of `BAO_TOKEN` in a node container's environment.
async fn node_env_token(d: &bollard::Docker, container: &str) -> String {
    let env = container_env(d, container).await;
    env.iter()
        .find_map(|e| e.strip_prefix("BAO_TOKEN="))
        .unwrap_or_else(|| panic!("no BAO_TOKEN in the environment of {container}"))
        .to_owned()
}

/// A file's bytes, owner uid and mode inside a container (through the archive API).
async fn container_file(d: &bollard::Docker, container: &str, path: &str) -> (Vec<u8>, u64, u32) {
    let opts = bollard::query_parameters::DownloadFromContainerOptionsBuilder::new()
        .path(path)
        .build();
    let mut stream = d.download_from_container(container, Some(opts));
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut entry = archive
        .entries()
        .unwrap()
        .next()
        .expect("one entry")
        .unwrap();
    let uid = entry.header().uid().unwrap();
    let file_mode = entry.header().mode().unwrap();
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
    (data, uid, file_mode)
}
