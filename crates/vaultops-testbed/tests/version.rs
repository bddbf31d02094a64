//! Docker integration: a testbed on another pinned OpenBao release (`up --version 2.6.2`)
//! runs that release (its image tag carries the version; every node's `sys/seal-status` says
//! 2.6.2); `swap_version` replaces the node's container by a 2.7.2 one that keeps its data
//! (a secret written on 2.6.2 is read on 2.7.2); an unpinned version or a version with the
//! Vault engine is refused before anything is created.
//!
//! Needs a reachable Docker engine and FAILS (never skips) without one. The testbed has its own
//! name and free ports and is removed even when the test fails (unless TESTBED_KEEP=1).

mod common;

use std::time::Duration;

use common::{docker_or_fail, labelled_objects, poll, run_and_clean_up, unique_name};
use vaultops_testbed::{NodeCount, Silent, Testbed, TestbedError, UpOptions, UpOutcome};
use vaultops_types::Engine;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_testbed_on_2_6_2_runs_2_6_2() {
    let d = docker_or_fail().await;
    let name = unique_name("v262");
    let root = tempfile::tempdir().unwrap();
    let mut opts = UpOptions::new(name.clone(), root.path().to_owned());
    opts.nodes = Some(NodeCount::new(1).unwrap());
    opts.openbao_version = Some("2.6.2".into());
    opts.deadline = Duration::from_secs(120);
    let scenario = async {
        let (tb, outcome) = Testbed::up(&opts, &mut Silent).await.unwrap();
        match &outcome {
            UpOutcome::Created { image, .. } => {
                assert!(
                    image.ends_with(":2.6.2") || image.contains(":2.6.2-"),
                    "{image}"
                )
            }
            other => panic!("expected a new testbed, got {other:?}"),
        }
        for n in tb.nodes() {
            let s = tb.client(n.id).seal_status().await.unwrap();
            assert_eq!(s.version.as_deref(), Some("2.6.2"), "{}", n.id);
            assert!(!s.sealed);
        }

        // The binary swap: same node, same data, the 2.7.2 image.
        let id = tb.nodes()[0].id;
        let root = tb.root_client(id);
        let secret = serde_json::json!({ "written-on": "2.6.2" });
        root.kv_write("secret", "upgrade/probe", &secret, None)
            .await
            .unwrap();
        let image = tb
            .swap_version(id, "2.7.2", Duration::from_secs(30))
            .await
            .unwrap();
        assert!(image.contains(":2.7.2"), "{image}");
        let client = tb.client(id);
        poll(
            "the swapped node to answer sealed",
            Duration::from_secs(60),
            || {
                let client = client.clone();
                async move {
                    match client.seal_status().await {
                        Ok(s) if s.sealed => Ok(Some(s)),
                        Ok(s) => Err(format!("unsealed? {s:?}")),
                        Err(e) => Err(e.to_string()),
                    }
                }
            },
        )
        .await;
        tb.unseal(id).await.unwrap();
        let s = client.seal_status().await.unwrap();
        assert_eq!(s.version.as_deref(), Some("2.7.2"));
        assert!(!s.sealed);
        let got = poll(
            "the secret written on 2.6.2",
            Duration::from_secs(60),
            || {
                let root = root.clone();
                async move {
                    match root.kv_read("secret", "upgrade/probe").await {
                        Ok(Some(s)) => Ok(Some(s.data)),
                        Ok(None) => Err("not found".to_owned()),
                        Err(e) => Err(e.to_string()),
                    }
                }
            },
        )
        .await;
        assert_eq!(got["written-on"], "2.6.2");
    };
    run_and_clean_up(&name, root, scenario).await;
    assert_eq!(labelled_objects(&d, &name).await, (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpinned_version_or_vault_with_a_version_is_refused_creating_nothing() {
    let d = docker_or_fail().await;
    let name = unique_name("vbad");
    let root = tempfile::tempdir().unwrap();
    let mut opts = UpOptions::new(name.clone(), root.path().to_owned());
    opts.keep_on_failure = false;
    opts.openbao_version = Some("2.5.0".into());
    let err = Testbed::up(&opts, &mut Silent).await.unwrap_err();
    assert!(
        matches!(err, TestbedError::UnpinnedVersion { .. }),
        "{err:?}"
    );
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(
        cause.contains("2.6.1, 2.6.2, 2.7.0, 2.7.1, 2.7.2"),
        "{cause}"
    );

    opts.openbao_version = Some("2.6.2".into());
    opts.engine = Some(Engine::Vault);
    let err = Testbed::up(&opts, &mut Silent).await.unwrap_err();
    assert!(
        matches!(err, TestbedError::VersionForVault { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("--engine openbao"), "{err}");
    assert_eq!(labelled_objects(&d, &name).await, (0, 0, 0));
}
