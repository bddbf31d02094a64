//! `vaultops apply` against a real 3-node OpenBao cluster: the rollout-day chain (apply,
//! idempotent re-apply, prune of a single role, the policy test matrix, root revocation)
//! and the failure paths (missing audit device, policy HCL error mid-apply, standby node,
//! non-root token, malformed file).

use std::time::Duration;
use vaultops_api::{AppRoleSpec, DEFAULT_APPROLE_MOUNT};
use vaultops_api::{NodeClient, TokenCreateRequest};
use vaultops_bootstrap::{apply, read_current, revoke_root, verify, ApplyError};
use vaultops_rollout::{
    plan, ChangeKind, CheckStatus, ObjectKind, Plan, PlanOptions, Rollout, RolloutError,
};
use vaultops_testkit::{Cluster, ClusterOptions};

const EXAMPLE: &str = include_str!("../../../examples/rollout.yaml");

fn fast() -> ClusterOptions {
    ClusterOptions {
        wait_voters: false,
        ..Default::default()
    }
}

/// The shipped example without its audit device: the test cluster declares none, and
/// OpenBao refuses to create one through the API (that path has its own test).
fn example_without_audit() -> Rollout {
    let mut r = Rollout::from_yaml(EXAMPLE, "examples/rollout.yaml").unwrap();
    r.audit = None;
    r
}

async fn plan_for(client: &NodeClient, r: &Rollout, prune: bool) -> Plan {
    let current = read_current(client, r).await.unwrap();
    plan(r, &current, &PlanOptions { prune })
}

fn changes(p: &Plan) -> Vec<(ChangeKind, String)> {
    p.changes
        .iter()
        .map(|c| (c.kind, c.object.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_day_apply_reapply_prune_verify_and_revoke_root() {
    let c = Cluster::start(fast()).await;
    let active = c.wait_active(Duration::from_secs(30)).await;
    let root = c.root_client(active);

    // A standby is refused: its reads may be stale.
    let standby = c.root_client((active + 1) % 3);
    let r = example_without_audit();
    assert!(
        matches!(
            read_current(&standby, &r).await,
            Err(ApplyError::NotActive { .. })
        ),
        "a standby must be refused"
    );

    // First apply: everything is created, in order.
    let p = plan_for(&root, &r, false).await;
    assert_eq!(
        changes(&p),
        vec![
            (ChangeKind::Create, "secrets engine secret/".into()),
            (ChangeKind::Create, "auth method approle/".into()),
            (ChangeKind::Create, "policy atmr-api-rotate".into()),
            (ChangeKind::Create, "AppRole role approle/atmr-api".into()),
        ],
        "{p}"
    );
    let report = apply(&root, &p).await.unwrap();
    assert_eq!(report.applied.len(), 4, "{report}");
    let mounts = root.mounts_list().await.unwrap();
    assert!(mounts["secret/"].is_kv_v2());
    assert_eq!(
        root.policy_read("atmr-api-rotate")
            .await
            .unwrap()
            .as_deref(),
        r.policies.as_ref().unwrap()["atmr-api-rotate"]
            .hcl
            .as_deref(),
        "the server holds the policy text the file declares, verbatim"
    );
    let role = root
        .approle_read_role(DEFAULT_APPROLE_MOUNT, "atmr-api")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(role.token_ttl.unwrap().as_secs(), Some(86_400));
    assert_eq!(role.token_max_ttl.unwrap().as_secs(), Some(172_800));

    // Second apply: the server reads back as the file says, so nothing changes.
    let again = plan_for(&root, &r, true).await;
    assert!(again.is_empty() && !again.is_blocked(), "{again}");
    assert_eq!(apply(&root, &again).await.unwrap().applied.len(), 0);

    // Drift on the server is put back, field by field.
    root.approle_write_role(
        DEFAULT_APPROLE_MOUNT,
        "atmr-api",
        &AppRoleSpec {
            token_ttl: Some("1h".into()),
            token_bound_cidrs: Some(vec!["10.0.0.0/8".into()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    root.mount_tune(
        "secret",
        &vaultops_api::MountConfig {
            max_lease_ttl: Some("2h".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let drift = plan_for(&root, &r, false).await;
    assert_eq!(
        changes(&drift),
        vec![
            (ChangeKind::Update, "secrets engine secret/".into()),
            (ChangeKind::Update, "AppRole role approle/atmr-api".into()),
        ],
        "{drift}"
    );
    let fields: Vec<&str> = drift.changes[1]
        .diff
        .iter()
        .map(|d| d.field.as_str())
        .collect();
    assert_eq!(fields, ["token_ttl", "token_bound_cidrs"], "{drift}");
    apply(&root, &drift).await.unwrap();
    assert!(plan_for(&root, &r, true).await.is_empty());

    // An extra role and an extra policy appear on the server. Without --prune they are
    // kept and listed; with --prune exactly the extra role and policy are deleted.
    root.approle_write_role(DEFAULT_APPROLE_MOUNT, "extra", &AppRoleSpec::default())
        .await
        .unwrap();
    root.policy_write(
        "old-ops",
        "path \"ops/*\" {\n  capabilities = [\"read\"]\n}\n",
    )
    .await
    .unwrap();
    let kept = plan_for(&root, &r, false).await;
    assert!(kept.is_empty(), "{kept}");
    let listed: Vec<String> = kept.not_pruned.iter().map(ToString::to_string).collect();
    assert_eq!(listed, ["policy old-ops", "AppRole role approle/extra"]);
    let prune = plan_for(&root, &r, true).await;
    assert_eq!(
        changes(&prune),
        vec![
            (ChangeKind::Delete, "AppRole role approle/extra".into()),
            (ChangeKind::Delete, "policy old-ops".into()),
        ],
        "{prune}"
    );
    apply(&root, &prune).await.unwrap();
    assert_eq!(
        root.approle_list_roles(DEFAULT_APPROLE_MOUNT)
            .await
            .unwrap(),
        ["atmr-api"]
    );
    let mut policies = root.policy_list().await.unwrap();
    policies.sort();
    assert_eq!(policies, ["atmr-api-rotate", "default", "root"]);
    assert!(plan_for(&root, &r, true).await.is_empty());

    // The policy test matrix holds for the seed's policy…
    let report = verify(&root, &r).await.unwrap();
    assert!(report.passed(), "{report}");
    assert_eq!(report.results.len(), 5);
    // …and a wrong expectation fails, named by its position and path.
    let wrong = format!(
        "{EXAMPLE}  - policies: [atmr-api-rotate]\n    path: sys/policies/acl/atmr-api-rotate\n    capabilities: [read]\n"
    );
    let mut wrong = Rollout::from_yaml(&wrong, "wrong.yaml").unwrap();
    wrong.audit = None;
    let report = verify(&root, &wrong).await.unwrap();
    assert!(!report.passed());
    let failures = report.failures();
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(failures[0].index, 5);
    assert_eq!(failures[0].actual, ["deny"]);
    let text = report.to_string();
    assert!(
        text.contains("FAIL #5 [atmr-api-rotate] has [read] on sys/policies/acl/atmr-api-rotate"),
        "{text}"
    );

    // revoke_root refuses a token that is not root, and leaves it alone.
    let app = root
        .token_create(&TokenCreateRequest {
            policies: vec!["atmr-api-rotate".into()],
            ttl: Some("10m".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let app_client = root.with_token(app.client_token.clone());
    let err = revoke_root(&app_client).await.unwrap_err();
    assert!(matches!(err, ApplyError::NotRoot { .. }), "{err}");
    assert!(err.to_string().contains("not a root token"), "{err}");
    app_client.token_lookup_self().await.unwrap();

    // The rollout ends by revoking the root token: afterwards it is refused (403).
    let revoked = revoke_root(&root).await.unwrap();
    assert!(!revoked.accessor.is_empty());
    let after = root.mounts_list().await.unwrap_err();
    assert!(after.is_permission_denied(), "{after}");
    assert_eq!(after.status(), Some(403));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_stop_cleanly_and_say_why() {
    let c = Cluster::start(fast()).await;
    let active = c.wait_active(Duration::from_secs(30)).await;
    let root = c.root_client(active);

    // The example as shipped declares the file audit device. This cluster's server config
    // declares none: the plan reports it as missing and the apply changes nothing.
    let full = Rollout::from_yaml(EXAMPLE, "examples/rollout.yaml").unwrap();
    let p = plan_for(&root, &full, false).await;
    assert_eq!(p.checks.len(), 1);
    assert_eq!(p.checks[0].status, CheckStatus::Missing);
    assert!(p.to_string().contains(
        "check audit device file/ (server-config managed on OpenBao: check only): MISSING"
    ));
    let err = apply(&root, &p).await.unwrap_err();
    match &err {
        ApplyError::Blocked { problems } => {
            assert!(
                problems[0].contains("declare `audit \"file\" \"file\""),
                "{err}"
            )
        }
        other => panic!("{other}"),
    }
    assert!(!root.mounts_list().await.unwrap().contains_key("secret/"));

    // A policy with an HCL syntax error: the mount before it is created, the server's
    // parse error is reported, and the role after it is not attempted.
    let broken = r#"
version: 1
secrets_engines:
  team-kv: {type: kv-v2}
auth:
  approle: {type: approle}
policies:
  broken:
    hcl: |
      path "team-kv/data/*" {
        capabilities = ["read"
      }
approle_roles:
  after-broken:
    token_policies: [broken]
"#;
    let r = Rollout::from_yaml(broken, "broken.yaml").unwrap();
    let p = plan_for(&root, &r, false).await;
    let err = apply(&root, &p).await.unwrap_err();
    match &err {
        ApplyError::Apply {
            change,
            applied,
            source,
            ..
        } => {
            assert_eq!(change, "create policy broken");
            assert_eq!(
                applied,
                &[
                    "created secrets engine team-kv/".to_owned(),
                    "created auth method approle/".to_owned()
                ]
            );
            assert_eq!(source.status(), Some(400));
            assert!(
                source.server_errors()[0].contains("failed to parse policy"),
                "{source}"
            );
        }
        other => panic!("{other}"),
    }
    let text = vaultops_types::error_report(&err);
    assert!(text.contains("failed to parse policy"), "{text}");
    assert!(text.contains("Nothing after it was attempted"), "{text}");
    assert!(root
        .approle_read_role("approle", "after-broken")
        .await
        .unwrap()
        .is_none());
    assert!(root.policy_read("broken").await.unwrap().is_none());

    // Fixed and re-run, the apply resumes where it stopped.
    let fixed = broken.replace("[\"read\"\n", "[\"read\"]\n");
    let r = Rollout::from_yaml(&fixed, "broken.yaml").unwrap();
    let p = plan_for(&root, &r, false).await;
    let kinds: Vec<ObjectKind> = p.changes.iter().map(|c| c.object.kind).collect();
    assert_eq!(kinds, [ObjectKind::Policy, ObjectKind::ApproleRole], "{p}");
    apply(&root, &p).await.unwrap();
    assert!(plan_for(&root, &r, false).await.is_empty());
}

#[test]
fn a_malformed_rollout_file_names_line_and_key() {
    let bad = EXAMPLE.replace(
        "    token_max_ttl: 48h\n",
        "    token_max_ttl: 48h\n    token_maxttl: 48h\n",
    );
    let line = bad
        .lines()
        .position(|l| l.contains("token_maxttl"))
        .unwrap() as u64
        + 1;
    match Rollout::from_yaml(&bad, "rollout.yaml").unwrap_err() {
        RolloutError::Syntax { line: l, key, .. } => {
            assert_eq!(l, line);
            assert_eq!(key.as_deref(), Some("token_maxttl"));
        }
        other => panic!("{other}"),
    }
}
