//! Writers racing on one role, against a real OpenBao server: two rotations of the same
//! sink run one after the other (the sink lock) and both succeed; a sweep of "all other"
//! secret-ids spares the one a concurrent delivery issued after it started; a delivery
//! into a sink that already held a pair of the role retires that pair (it used to stay
//! valid forever); a Secret manifest keeps the keys and labels others added.

mod common;

use common::{cluster, rotator_client, MOUNT, ROLE};
use std::time::Duration;
use vaultops_approle::{
    issue, login, replace_credentials, rotate, DestroyScope, EnvFileSink, IssueOptions,
    K8sSecretSink, LoginFailure, PreviousOutcome, RotateOptions, Sink,
};

fn opts(grace_ms: u64, destroy: DestroyScope) -> RotateOptions {
    RotateOptions {
        grace: Duration::from_millis(grace_ms),
        lock_wait: Duration::from_secs(60),
        destroy,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writers_never_destroy_what_the_other_delivered() {
    let (_c, root) = cluster().await;
    let rotator = rotator_client(&root).await;
    let tmp = tempfile::tempdir().unwrap();
    let a = Sink::EnvFile(EnvFileSink::new(tmp.path().join("a.env")));
    let b = Sink::EnvFile(EnvFileSink::new(tmp.path().join("b.env")));
    let first = issue(&rotator, MOUNT, ROLE, &IssueOptions::default())
        .await
        .unwrap();
    a.write(&first.pair().unwrap()).unwrap();

    // Two rotations of sink a, with the sweep of every other secret-id, at the same time:
    // without the lock, the second would destroy the pair the first just delivered.
    let one = [a.clone()];
    let all_others = opts(1500, DestroyScope::AllOthers);
    let (r1, r2) = tokio::join!(
        rotate(&rotator, MOUNT, ROLE, &one, &all_others),
        rotate(&rotator, MOUNT, ROLE, &one, &all_others),
    );
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    let now = a.read_pair().unwrap().pair;
    login(&root, MOUNT, &now).await.unwrap();
    // They ran one after the other: the second replaced the first's pair and destroyed it.
    let (earlier, later) = if r2.previous[0].accessor.as_deref() == Some(&r1.new_accessor) {
        (&r1, &r2)
    } else {
        (&r2, &r1)
    };
    assert_eq!(
        later.previous[0].accessor.as_deref(),
        Some(earlier.new_accessor.as_str()),
        "serialized: the later rotation found the earlier one's pair in the sink"
    );
    assert_eq!(later.previous[0].outcome, PreviousOutcome::Destroyed);

    // A sweep of sink a while another instance (sink b, which shared a's secret-id) is
    // delivered its own: the sweep started first, so b's newer secret-id is spared, and the
    // shared one, retired by whichever comes first, is "already gone" for the other.
    b.write(&a.read_pair().unwrap().pair).unwrap();
    let sweep = [a.clone()];
    let sweep_opts = opts(2000, DestroyScope::AllOthers);
    let deliver_opts = opts(0, DestroyScope::SinkHeld);
    let b_sinks = [b.clone()];
    let before = a.read_pair().unwrap().pair;
    let sweeping = rotate(&rotator, MOUNT, ROLE, &sweep, &sweep_opts);
    let delivering = async {
        // The delivery starts once the sweep has: its new pair is in sink a (it then waits
        // out its 2 s grace before destroying), so b's secret-id is newer than the sweep.
        vaultops_bootstrap::wait_until(
            "the sweep to publish its new pair into sink a",
            Duration::from_secs(30),
            Duration::from_millis(20),
            || async {
                let now = a.read_pair().map_err(|e| e.to_string())?.pair;
                Ok((now != before).then_some(()))
            },
        )
        .await
        .unwrap();
        replace_credentials(&rotator, MOUNT, ROLE, &b_sinks, &deliver_opts).await
    };
    let (swept, delivered) = tokio::join!(sweeping, delivering);
    let swept = swept.unwrap();
    let (delivered, _) = delivered.unwrap();
    assert!(
        swept.others_spared.contains(&delivered.new_accessor),
        "the sweep spared the newer secret-id: {swept:?}"
    );
    login(&root, MOUNT, &b.read_pair().unwrap().pair)
        .await
        .expect("the other instance's new pair survives the sweep");
    login(&root, MOUNT, &a.read_pair().unwrap().pair)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_retires_the_pair_it_replaces_and_keeps_what_others_own() {
    let (_c, root) = cluster().await;
    let rotator = rotator_client(&root).await;
    let tmp = tempfile::tempdir().unwrap();
    let manifest = tmp.path().join("secret.yaml");
    let k8s = Sink::K8sSecret(K8sSecretSink {
        path: manifest.clone(),
        namespace: Some("atmr".into()),
        name: Some("vault-credentials".into()),
    });
    // A first delivery into an empty sink: nothing to retire, no grace waited.
    let (report, _) = replace_credentials(
        &rotator,
        MOUNT,
        ROLE,
        std::slice::from_ref(&k8s),
        &opts(60_000, DestroyScope::SinkHeld),
    )
    .await
    .unwrap();
    assert!(
        report.previous.is_empty() && report.grace_secs == 0,
        "{report:?}"
    );
    let old = k8s.read_pair().unwrap().pair;
    // Someone adds a key and a label to the manifest.
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text.replace("  labels:\n", "  labels:\n    team: payments\n")
        + "stringData:\n  sentry-dsn: https://sentry.example\n";
    std::fs::write(&manifest, text).unwrap();

    let (report, creds) = replace_credentials(
        &rotator,
        MOUNT,
        ROLE,
        std::slice::from_ref(&k8s),
        &opts(200, DestroyScope::SinkHeld),
    )
    .await
    .unwrap();
    assert_eq!(report.previous.len(), 1);
    assert_eq!(report.previous[0].outcome, PreviousOutcome::Destroyed);
    let e = login(&root, MOUNT, &old).await.unwrap_err();
    assert_eq!(
        e.failure,
        LoginFailure::InvalidCredentials,
        "the replaced pair is retired: {e}"
    );
    assert_eq!(k8s.read_pair().unwrap().pair, creds.pair().unwrap());
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(
        text.contains("team: payments") && text.contains("sentry-dsn: https://sentry.example"),
        "what others added is kept:\n{text}"
    );
}
