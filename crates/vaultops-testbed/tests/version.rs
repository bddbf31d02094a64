//! Docker integration: a testbed on another pinned OpenBao release (`up --version 2.6.2`)
//! runs that release (its image tag carries the version; every node's `sys/seal-status` says
//! 2.6.2), and an unpinned version or a version with the Vault engine is refused before
//! anything is created.
//!
//! Needs a reachable Docker engine and FAILS (never skips) without one. The testbed has its own
//! name and free ports and is removed even when the test fails (unless TESTBED_KEEP=1).

mod common;

use std::time::Duration;

use common::{docker_or_fail, labelled_objects, run_and_clean_up, unique_name};
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
