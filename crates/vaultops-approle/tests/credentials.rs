//! Credentials against a real OpenBao cluster with the rollout baseline: issue → env file →
//! login check; the Secret manifest snapshot and its decoding; wrapping and interception;
//! and the bad inputs of the issue (missing role or mount, unusable sink directory,
//! exhausted, expired and CIDR-refused secret-ids).

mod common;

use base64::Engine as _;
use common::{cluster, MOUNT, ROLE};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use vaultops_api::{SecretIdRequest, WrappingToken};
use vaultops_approle::{
    deliver, issue, login, login_check, unwrap_secret_id, write_verified, CheckKind,
    CredentialPair, DeliverError, EnvFileSink, EnvValue, Expectations, IssueError, IssueOptions,
    IssuedSecret, K8sSecretSink, LoginCheckError, LoginFailure, Sink, SinkError, UnwrapError,
};

fn env_sink(path: &Path, addr: &str, ca: &Path) -> Sink {
    Sink::EnvFile(EnvFileSink {
        path: path.to_owned(),
        vault_addr: EnvValue::Set(addr.to_owned()),
        ca_cert: EnvValue::Set(ca.to_owned()),
    })
}

fn app_expectations() -> Expectations {
    Expectations {
        policies: vec!["atmr-api-rotate".into(), "default".into()],
        read: vec!["secret/data/atmr/config".into()],
        deny: vec![
            "secret/data/other/config".into(),
            "sys/mounts".into(),
            "auth/approle/role/atmr-api/secret-id".into(),
        ],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_to_env_file_then_login_check_passes() {
    let (c, root) = cluster().await;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vault-secrets.env");
    std::fs::write(
        &path,
        "# atmr production\nFLASK_ENV=production\nUSE_VAULT=true\n",
    )
    .unwrap();
    let sink = env_sink(&path, root.addr(), &c.ca_path());
    sink.check().unwrap();

    // What `vaultops approle credentials --env-file` runs: preflight, issue, write, verify.
    let creds = deliver(
        &root,
        MOUNT,
        ROLE,
        std::slice::from_ref(&sink),
        &IssueOptions {
            metadata: BTreeMap::from([("instance".into(), "api-1".into())]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(creds.warnings.is_empty(), "{:?}", creds.warnings);
    let pair = creds.pair().unwrap();
    assert_eq!(
        Some(pair.role_id.clone()),
        root.approle_role_id(MOUNT, ROLE).await.unwrap()
    );

    // What the app reads from the file: the server address, its CA, the pair.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# atmr production\nFLASK_ENV=production\nUSE_VAULT=true\n"),
        "{text}"
    );
    let stored = sink.read_pair().unwrap();
    assert_eq!(stored.pair, pair);
    assert_eq!(stored.vault_addr.as_deref(), Some(root.addr()));
    assert_eq!(stored.ca_cert.as_deref(), Some(c.ca_path().as_path()));

    // The login check, as the app: a client built from the file alone.
    let config = vaultops_api::ClientConfig {
        ca_pem: Some(std::fs::read(stored.ca_cert.as_ref().unwrap()).unwrap()),
        ..Default::default()
    };
    let app =
        vaultops_api::NodeClient::new(stored.vault_addr.as_deref().unwrap(), &config).unwrap();
    let report = login_check(&app, MOUNT, &stored.pair, &app_expectations())
        .await
        .unwrap();
    assert!(report.passed(), "{report}");
    assert_eq!(report.checks.len(), 2 + 1 + 3 + 1, "{report}");
    assert!(report.token_revoked);
    assert_eq!(report.ttl_secs, 86_400);
    let shown = report.to_string();
    assert!(
        shown.contains("ok   read secret/data/atmr/config"),
        "{shown}"
    );
    let json = serde_json::to_string(&report).unwrap();
    assert!(
        !json.contains(pair.secret_id.expose()),
        "no secret in the report"
    );
    // The check's token was revoked: its accessor no longer resolves.
    assert!(root
        .token_lookup_accessor(&report.token_accessor)
        .await
        .unwrap()
        .is_none());
    // The metadata reached the secret-id.
    let info = root
        .approle_lookup_secret_id(MOUNT, ROLE, &pair.secret_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        info.metadata.get("instance").map(String::as_str),
        Some("api-1")
    );
    assert_eq!(info.secret_id_accessor, creds.secret_id_accessor);

    // Failing expectations are report lines, not errors.
    let wrong = Expectations {
        policies: vec!["admin".into()],
        read: vec!["secret/data/other/config".into()],
        deny: vec!["secret/data/atmr/config".into()],
    };
    let report = login_check(&app, MOUNT, &pair, &wrong).await.unwrap();
    assert!(!report.passed());
    let failed: Vec<CheckKind> = report
        .checks
        .iter()
        .filter(|l| !l.ok)
        .map(|l| l.kind)
        .collect();
    assert_eq!(
        failed,
        [CheckKind::Policy, CheckKind::Read, CheckKind::Deny],
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_manifest_matches_the_snapshot_and_decodes_back() {
    let (_c, root) = cluster().await;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vault-secrets.yaml");
    let sink = Sink::K8sSecret(K8sSecretSink {
        path: path.clone(),
        namespace: Some("atmr".into()),
        name: Some("vault-credentials".into()),
    });
    sink.check().unwrap();
    let creds = issue(&root, MOUNT, ROLE, &IssueOptions::default())
        .await
        .unwrap();
    let pair = creds.pair().unwrap();
    sink.write(&pair).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();

    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    insta::assert_yaml_snapshot!("vault_credentials_secret", doc, {
        r#".data["vault-role-id"]"# => "[base64 role-id]",
        r#".data["vault-secret-id"]"# => "[base64 secret-id]",
    });
    // Decoding by hand (as `kubectl get secret -o jsonpath=… | base64 -d` would).
    let b64 = base64::engine::general_purpose::STANDARD;
    let decode =
        |k: &str| String::from_utf8(b64.decode(doc["data"][k].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(decode("vault-role-id"), pair.role_id);
    assert_eq!(decode("vault-secret-id"), pair.secret_id.expose());
    // And through the sink, which is what rotation and login-check read.
    let back = sink.read_pair().unwrap().pair;
    assert_eq!(back, pair);
    login(&root, MOUNT, &back).await.unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrapped_secret_id_unwraps_once_and_a_second_unwrap_reports_interception() {
    let (c, root) = cluster().await;
    let creds = issue(
        &root,
        MOUNT,
        ROLE,
        &IssueOptions {
            wrap_ttl: Some("5m".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        creds.pair().is_none(),
        "a wrapped secret-id has no pair to write"
    );
    let IssuedSecret::Wrapped(w) = &creds.secret else {
        panic!("expected a wrapping token")
    };
    assert_eq!(w.creation_path, "auth/approle/role/atmr-api/secret-id");
    let json = creds.to_json_with_secret();
    assert_eq!(json["wrapping_token"], w.token.expose());
    assert!(json.get("secret_id").is_none());

    // The receiving side needs no token.
    let anon = root.without_token();
    let got = unwrap_secret_id(&anon, MOUNT, ROLE, &creds.role_id, &w.token)
        .await
        .unwrap();
    assert_eq!(got.secret_id_accessor, creds.secret_id_accessor);
    // The receiver writes it to its sink (checked before unwrapping) and proves it.
    let tmp = tempfile::tempdir().unwrap();
    let sink = env_sink(&tmp.path().join("app.env"), root.addr(), &c.ca_path());
    sink.check().unwrap();
    write_verified(&anon, std::slice::from_ref(&sink), &got)
        .await
        .unwrap();
    assert_eq!(sink.read_pair().unwrap().pair, got.pair().unwrap());
    let e = write_verified(&anon, std::slice::from_ref(&sink), &creds)
        .await
        .unwrap_err();
    assert!(matches!(e, DeliverError::WrappedToSink), "{e:?}");

    let e = unwrap_secret_id(&anon, MOUNT, ROLE, &creds.role_id, &w.token)
        .await
        .unwrap_err();
    assert!(
        matches!(e, UnwrapError::InvalidWrappingToken { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("INTERCEPTED"), "{e}");

    // A token wrapping something else (a secret-id of another role) is refused unopened.
    root.approle_write_role(MOUNT, "other", &Default::default())
        .await
        .unwrap();
    let other = issue(
        &root,
        MOUNT,
        "other",
        &IssueOptions {
            wrap_ttl: Some("5m".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let IssuedSecret::Wrapped(ow) = &other.secret else {
        panic!("expected a wrapping token")
    };
    let e = unwrap_secret_id(&anon, MOUNT, ROLE, &creds.role_id, &ow.token)
        .await
        .unwrap_err();
    assert!(matches!(e, UnwrapError::WrongCreationPath { .. }), "{e:?}");
    // Not consumed: the rightful receiver can still unwrap it.
    unwrap_secret_id(&anon, MOUNT, "other", &other.role_id, &ow.token)
        .await
        .unwrap();
    let bogus = WrappingToken::new("s.notarealwrappingtoken");
    let e = unwrap_secret_id(&anon, MOUNT, ROLE, &creds.role_id, &bogus)
        .await
        .unwrap_err();
    assert!(
        matches!(e, UnwrapError::InvalidWrappingToken { .. }),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gives_clear_errors() {
    let (c, root) = cluster().await;
    let accessors = || async {
        root.approle_list_secret_id_accessors(MOUNT, ROLE)
            .await
            .unwrap()
            .len()
    };

    // Role missing: named with its mount and the roles that exist.
    let e = issue(&root, MOUNT, "atmr-apj", &IssueOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, IssueError::RoleNotFound { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("\"atmr-apj\"")
            && msg.contains("auth/approle/")
            && msg.contains("roles there: atmr-api"),
        "{msg}"
    );
    // Mount missing.
    let e = issue(&root, "approle2", ROLE, &IssueOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, IssueError::MountNotFound { .. }), "{e:?}");

    // Sink directory missing: the preflight fails, and it runs before anything is issued.
    let tmp = tempfile::tempdir().unwrap();
    let before = accessors().await;
    let sink = env_sink(
        &tmp.path().join("missing/dir/app.env"),
        root.addr(),
        &c.ca_path(),
    );
    let e = sink.check().unwrap_err();
    assert!(matches!(e, SinkError::DirMissing { .. }), "{e}");
    let e = deliver(
        &root,
        MOUNT,
        ROLE,
        std::slice::from_ref(&sink),
        &IssueOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, DeliverError::Preflight(SinkError::DirMissing { .. })),
        "{e:?}"
    );
    assert!(e.to_string().ends_with("nothing was issued"), "{e}");
    // A wrapped secret-id is for stdout only.
    let ok_sink = env_sink(&tmp.path().join("app.env"), root.addr(), &c.ca_path());
    let wrapped = IssueOptions {
        wrap_ttl: Some("1m".into()),
        ..Default::default()
    };
    let e = deliver(&root, MOUNT, ROLE, std::slice::from_ref(&ok_sink), &wrapped)
        .await
        .unwrap_err();
    assert!(matches!(e, DeliverError::WrappedToSink), "{e:?}");
    assert_eq!(accessors().await, before, "no secret-id issued");

    // The num_uses trap is reported when the role sets a limit.
    let mut spec = vaultops_bootstrap::app_role_spec();
    spec.secret_id_num_uses = Some(2);
    root.approle_write_role(MOUNT, "limited", &spec)
        .await
        .unwrap();
    let limited = issue(&root, MOUNT, "limited", &IssueOptions::default())
        .await
        .unwrap();
    assert!(
        limited
            .warnings
            .iter()
            .any(|w| w.contains("transaction commit failed") && w.contains("173 of 200")),
        "{:?}",
        limited.warnings
    );
    // Exhausted: two logins allowed, the third is refused with a clear cause.
    let pair = limited.pair().unwrap();
    for _ in 0..2 {
        login(&root, MOUNT, &pair).await.unwrap();
    }
    let e = login_check(&root, MOUNT, &pair, &Expectations::default())
        .await
        .unwrap_err();
    let LoginCheckError::Login(le) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(le.failure, LoginFailure::InvalidCredentials);
    assert!(e.to_string().contains("used up its logins"), "{e}");

    // Expired: a 1 s secret-id stops logging in (polled with a deadline).
    let role_id = root.approle_role_id(MOUNT, ROLE).await.unwrap().unwrap();
    let short = root
        .approle_generate_secret_id(
            MOUNT,
            ROLE,
            &SecretIdRequest {
                ttl: Some("1s".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let short_pair = CredentialPair {
        role_id: role_id.clone(),
        secret_id: short.secret_id,
    };
    let failure = vaultops_bootstrap::wait_until(
        "the 1 s secret-id to expire",
        Duration::from_secs(20),
        Duration::from_millis(200),
        || async {
            match login(&root, MOUNT, &short_pair).await {
                Ok(_) => Ok(None),
                Err(e) => Ok(Some(e.failure)),
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(failure, LoginFailure::InvalidCredentials);

    // CIDR-bound elsewhere: the refusal names the source address restriction.
    let far = issue(
        &root,
        MOUNT,
        ROLE,
        &IssueOptions {
            cidr_list: vec!["10.99.0.0/16".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let e = login(&root, MOUNT, &far.pair().unwrap()).await.unwrap_err();
    assert_eq!(e.failure, LoginFailure::SourceAddressRefused, "{e}");
    assert!(!e
        .to_string()
        .contains(far.pair().unwrap().secret_id.expose()));
}
