//! Rotation against a real OpenBao cluster, run with a token that carries only the
//! rotator policy: rotating twice leaves the sinks with a working pair at every moment (a
//! watcher logs in from the env file in a loop throughout) and the old secret-ids no longer
//! log in; `AllOthers` sweeps stray secret-ids; a sink of another role is refused before
//! anything changes; a failing publish command stops before the old secret-id is destroyed.
//! The kill-between-steps test is `rotate_kill.rs`.

mod common;

use common::{cluster, rotator_client, MOUNT, ROLE};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use vaultops_api::NodeClient;
use vaultops_approle::PreviousOutcome;
use vaultops_approle::{
    issue, login, rotate, DestroyScope, EnvFileSink, IssueOptions, K8sSecretSink, LoginFailure,
    PublishCommand, RotateError, RotateOptions, Sink,
};

fn env_sink(path: &Path) -> Sink {
    Sink::EnvFile(EnvFileSink::new(path))
}

/// Logs in from the sink's current content in a loop until stopped; counts outcomes.
struct Watcher {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failures: Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    fn start(client: NodeClient, sink: Sink) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (s, o, f) = (stop.clone(), ok.clone(), failures.clone());
        let task = tokio::spawn(async move {
            while !s.load(Ordering::SeqCst) {
                let outcome = match sink.read_pair() {
                    Ok(stored) => login(&client, MOUNT, &stored.pair)
                        .await
                        .map(|auth| auth.accessor)
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                match outcome {
                    Ok(_) => {
                        o.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => f.lock().unwrap().push(e),
                }
            }
        });
        Self {
            stop,
            ok,
            failures,
            task,
        }
    }

    async fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap();
        let f = self.failures.lock().unwrap().clone();
        (self.ok.load(Ordering::SeqCst), f)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_twice_keeps_a_working_pair_and_kills_the_old_ones() {
    let (_c, root) = cluster().await;
    let rotator = rotator_client(&root).await;
    let tmp = tempfile::tempdir().unwrap();
    let env = env_sink(&tmp.path().join("vault-secrets.env"));
    let k8s = Sink::K8sSecret(K8sSecretSink {
        path: tmp.path().join("vault-credentials.yaml"),
        namespace: Some("atmr".into()),
        name: Some("vault-credentials".into()),
    });
    let first = issue(&rotator, MOUNT, ROLE, &IssueOptions::default())
        .await
        .unwrap();
    let first_pair = first.pair().unwrap();
    env.write(&first_pair).unwrap();
    k8s.write(&first_pair).unwrap();
    // The manifest sink keeps its namespace and name from the file during rotation.
    let k8s_rot = Sink::K8sSecret(K8sSecretSink {
        path: tmp.path().join("vault-credentials.yaml"),
        namespace: None,
        name: None,
    });
    let sinks = [env.clone(), k8s_rot.clone()];

    let watcher = Watcher::start(root.without_token(), env.clone());
    let mut old_pairs = vec![first_pair.clone()];
    let mut old_accessors = vec![first.secret_id_accessor.clone()];
    for round in 0..2 {
        let report = rotate(&rotator, MOUNT, ROLE, &sinks, &RotateOptions::default())
            .await
            .unwrap_or_else(|e| panic!("rotation {round}: {e}"));
        assert_eq!(
            report.previous.len(),
            1,
            "both sinks held one secret-id: {report:?}"
        );
        assert_eq!(report.previous[0].outcome, PreviousOutcome::Destroyed);
        assert_eq!(report.previous[0].accessor.as_ref(), old_accessors.last());
        assert_eq!(report.previous[0].sinks.len(), 2);
        let now = env.read_pair().unwrap().pair;
        assert_eq!(
            k8s_rot.read_pair().unwrap().pair,
            now,
            "both sinks got the same pair"
        );
        assert!(!old_pairs.contains(&now));
        login(&root, MOUNT, &now).await.unwrap();
        let json = serde_json::to_string(&report).unwrap();
        assert!(
            !json.contains(now.secret_id.expose()),
            "no secret in the report"
        );
        old_pairs.push(now);
        old_accessors.push(report.new_accessor.clone());
    }
    let (ok, failures) = watcher.finish().await;
    assert!(
        failures.is_empty(),
        "the env file held a non-working pair: {failures:?}"
    );
    assert!(ok > 0, "the watcher logged in at least once");

    // Both previous secret-ids are gone; only the current one remains.
    for old in &old_pairs[..2] {
        let e = login(&root, MOUNT, old).await.unwrap_err();
        assert_eq!(e.failure, LoginFailure::InvalidCredentials, "{e}");
    }
    assert_eq!(
        root.approle_list_secret_id_accessors(MOUNT, ROLE)
            .await
            .unwrap(),
        vec![old_accessors[2].clone()]
    );
    let text = std::fs::read_to_string(tmp.path().join("vault-credentials.yaml")).unwrap();
    assert!(text.contains("namespace: atmr") && text.contains("name: vault-credentials"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_scope_foreign_role_and_failed_publish() {
    let (_c, root) = cluster().await;
    let rotator = rotator_client(&root).await;
    let tmp = tempfile::tempdir().unwrap();
    let env = env_sink(&tmp.path().join("a.env"));
    let creds = issue(&rotator, MOUNT, ROLE, &IssueOptions::default())
        .await
        .unwrap();
    env.write(&creds.pair().unwrap()).unwrap();
    // Another instance's secret-id (one per instance) survives the default scope.
    let other_instance = issue(&rotator, MOUNT, ROLE, &IssueOptions::default())
        .await
        .unwrap();
    let r = rotate(
        &rotator,
        MOUNT,
        ROLE,
        std::slice::from_ref(&env),
        &RotateOptions::default(),
    )
    .await
    .unwrap();
    assert!(r.others_destroyed.is_empty());
    login(&root, MOUNT, &other_instance.pair().unwrap())
        .await
        .unwrap();
    // AllOthers sweeps it.
    let r = rotate(
        &rotator,
        MOUNT,
        ROLE,
        std::slice::from_ref(&env),
        &RotateOptions {
            destroy: DestroyScope::AllOthers,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        r.others_destroyed,
        vec![other_instance.secret_id_accessor.clone()]
    );
    assert!(login(&root, MOUNT, &other_instance.pair().unwrap())
        .await
        .is_err());
    assert_eq!(
        root.approle_list_secret_id_accessors(MOUNT, ROLE)
            .await
            .unwrap(),
        vec![r.new_accessor.clone()]
    );

    // A failing publish command stops before destroying: the sink holds the new pair,
    // the old one still works.
    let before = env.read_pair().unwrap().pair;
    let e = rotate(
        &rotator,
        MOUNT,
        ROLE,
        std::slice::from_ref(&env),
        &RotateOptions {
            publish: Some(PublishCommand {
                argv: vec![
                    "sh".into(),
                    "-c".into(),
                    "test -f {path} && echo 'cluster unreachable' >&2 && exit 1".into(),
                ],
                timeout: Duration::from_secs(30),
            }),
            grace: Duration::from_secs(3600),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(e, RotateError::Publish { .. }), "{e:?}");
    assert!(e.sinks_updated());
    assert!(e.to_string().contains("cluster unreachable"), "{e}");
    let after = env.read_pair().unwrap().pair;
    assert_ne!(after, before);
    login(&root, MOUNT, &after).await.unwrap();
    login(&root, MOUNT, &before).await.unwrap();

    // A sink holding another role's credentials is refused before anything changes.
    root.approle_write_role(MOUNT, "other", &Default::default())
        .await
        .unwrap();
    let foreign = issue(&root, MOUNT, "other", &IssueOptions::default())
        .await
        .unwrap();
    let fenv = env_sink(&tmp.path().join("foreign.env"));
    fenv.write(&foreign.pair().unwrap()).unwrap();
    let count = root
        .approle_list_secret_id_accessors(MOUNT, ROLE)
        .await
        .unwrap()
        .len();
    let e = rotate(
        &rotator,
        MOUNT,
        ROLE,
        std::slice::from_ref(&fenv),
        &RotateOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, RotateError::ForeignRoleId { .. }), "{e:?}");
    assert!(!e.sinks_updated());
    assert_eq!(fenv.read_pair().unwrap().pair, foreign.pair().unwrap());
    assert_eq!(
        root.approle_list_secret_id_accessors(MOUNT, ROLE)
            .await
            .unwrap()
            .len(),
        count,
        "nothing issued"
    );

    // A sink without credentials, or in a missing directory: refused up front.
    let e = rotate(
        &rotator,
        MOUNT,
        ROLE,
        &[env_sink(&tmp.path().join("empty.env"))],
        &RotateOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        vaultops_types::error_report(&e).contains("holds no credentials"),
        "{e}"
    );
    let e = rotate(
        &rotator,
        MOUNT,
        ROLE,
        &[env_sink(&tmp.path().join("nodir/a.env"))],
        &RotateOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        vaultops_types::error_report(&e).contains("does not exist"),
        "{e}"
    );
}
