//! Plans of the shipped example and of hand-written server states, as OpenBao 2.7.2 reports
//! them: creates, semantic no-ops, updates, prune rules and blockers. Renderings are
//! snapshot-tested.

use std::collections::BTreeMap;
use vaultops_rollout::{
    plan, ChangeKind, CheckStatus, CurrentState, EngineSource, MountState, ObjectKind, Op, Plan,
    PlanOptions, RoleSettings, Rollout,
};

const EXAMPLE: &str = include_str!("../../../examples/rollout.yaml");

fn example() -> Rollout {
    Rollout::from_yaml(EXAMPLE, "examples/rollout.yaml").unwrap()
}

fn mount(mount_type: &str, description: &str) -> MountState {
    MountState {
        mount_type: mount_type.into(),
        description: description.into(),
        ..Default::default()
    }
}

fn kv2(description: &str) -> MountState {
    MountState {
        options: BTreeMap::from([("version".into(), "2".into())]),
        ..mount("kv", description)
    }
}

/// A fresh OpenBao 2.7.2 cluster: system mounts, the token method, two built-in policies.
fn fresh() -> CurrentState {
    CurrentState {
        server_version: Some("2.7.2".into()),
        secrets_engines: BTreeMap::from([
            ("sys".into(), mount("system", "system endpoints")),
            ("identity".into(), mount("identity", "identity store")),
            ("cubbyhole".into(), mount("cubbyhole", "per-token storage")),
        ]),
        auth: BTreeMap::from([("token".into(), mount("token", "token based credentials"))]),
        policies: BTreeMap::from([
            ("root".into(), String::new()),
            ("default".into(), "# default policy\n".into()),
        ]),
        ..Default::default()
    }
}

/// The role as OpenBao reads it back after the example was applied: TTLs in seconds.
fn atmr_role_on_server() -> RoleSettings {
    RoleSettings {
        token_policies: vec!["atmr-api-rotate".into()],
        token_ttl: 86_400,
        token_max_ttl: 172_800,
        ..RoleSettings::default()
    }
}

/// The example's objects as they exist on a server after an apply (the policy with an
/// extra trailing blank line, which must not count as a change).
fn applied() -> CurrentState {
    let mut s = fresh();
    let r = example();
    let hcl = r.policies.as_ref().unwrap()["atmr-api-rotate"]
        .hcl
        .clone()
        .unwrap();
    s.secrets_engines
        .insert("secret".into(), kv2("Application secrets (atmr-api)"));
    s.auth.insert(
        "approle".into(),
        mount("approle", "Machine login for atmr-api"),
    );
    s.policies
        .insert("atmr-api-rotate".into(), format!("{hcl}  \n\n"));
    s.approle_roles.insert(
        "approle".into(),
        BTreeMap::from([("atmr-api".into(), atmr_role_on_server())]),
    );
    s.audit.insert(
        "file".into(),
        vaultops_rollout::AuditState {
            device_type: "file".into(),
            options: BTreeMap::from([("file_path".into(), "/vault/audit/audit.log".into())]),
            ..Default::default()
        },
    );
    s
}

fn kinds(p: &Plan) -> Vec<(ChangeKind, String)> {
    p.changes
        .iter()
        .map(|c| (c.kind, c.object.to_string()))
        .collect()
}

#[test]
fn example_on_a_fresh_cluster_creates_everything_in_order_and_blocks_on_the_audit_device() {
    let p = plan(&example(), &fresh(), &PlanOptions::default());
    assert_eq!(p.engine_source, EngineSource::Declared);
    assert_eq!(
        kinds(&p),
        vec![
            (ChangeKind::Create, "secrets engine secret/".into()),
            (ChangeKind::Create, "auth method approle/".into()),
            (ChangeKind::Create, "policy atmr-api-rotate".into()),
            (ChangeKind::Create, "AppRole role approle/atmr-api".into()),
        ]
    );
    // OpenBao: the audit device is only checked, and its absence stops the apply.
    assert_eq!(p.checks.len(), 1);
    assert_eq!(p.checks[0].status, CheckStatus::Missing);
    assert!(p.is_blocked());
    insta::assert_snapshot!("example_fresh", p.to_string());
    insta::assert_json_snapshot!("example_fresh_json", p);
}

#[test]
fn example_on_an_applied_cluster_is_an_empty_plan() {
    let p = plan(&example(), &applied(), &PlanOptions { prune: true });
    assert!(p.is_empty(), "{p}");
    assert!(!p.is_blocked(), "{p}");
    assert_eq!(p.checks[0].status, CheckStatus::Present);
    insta::assert_snapshot!("example_applied", p.to_string());
}

#[test]
fn drift_shows_as_field_updates_compared_by_meaning() {
    let mut s = applied();
    let role = s
        .approle_roles
        .get_mut("approle")
        .unwrap()
        .get_mut("atmr-api")
        .unwrap();
    role.token_ttl = 3_600;
    role.token_bound_cidrs = vec!["10.0.0.0/8".into()];
    role.token_policies = vec!["atmr-api-rotate".into(), "default".into()];
    s.secrets_engines.get_mut("secret").unwrap().max_lease_ttl = 7_200;
    s.policies.insert(
        "atmr-api-rotate".into(),
        s.policies["atmr-api-rotate"]
            .replace("\"read\", \"list\"", "\"read\", \"list\", \"delete\""),
    );
    let p = plan(&example(), &s, &PlanOptions::default());
    assert_eq!(
        kinds(&p),
        vec![
            (ChangeKind::Update, "secrets engine secret/".into()),
            (ChangeKind::Update, "policy atmr-api-rotate".into()),
            (ChangeKind::Update, "AppRole role approle/atmr-api".into()),
        ]
    );
    match &p.changes[2].op {
        Op::WriteRole {
            settings, create, ..
        } => {
            assert!(!create);
            assert_eq!(settings, &atmr_role_on_server());
        }
        other => panic!("{other:?}"),
    }
    match &p.changes[0].op {
        Op::TuneSecretsEngine { tune, .. } => {
            assert_eq!(tune.max_lease_ttl, Some(0));
            assert_eq!(tune.description, None);
        }
        other => panic!("{other:?}"),
    }
    insta::assert_snapshot!("drift", p.to_string());
}

#[test]
fn prune_deletes_single_roles_and_policies_but_never_builtins_or_unmanaged_mounts() {
    let mut s = applied();
    s.approle_roles
        .get_mut("approle")
        .unwrap()
        .insert("extra".into(), RoleSettings::default());
    s.policies.insert("old-ops".into(), "path \"x\" {}".into());
    s.secrets_engines.insert("legacy".into(), kv2(""));
    s.auth.insert("userpass".into(), mount("userpass", ""));
    // A role on an AppRole mount the file does not declare is not managed.
    s.approle_roles.insert(
        "other-approle".into(),
        BTreeMap::from([("foreign".into(), RoleSettings::default())]),
    );

    let kept = plan(&example(), &s, &PlanOptions::default());
    assert!(kept.is_empty());
    let names: Vec<String> = kept.not_pruned.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["policy old-ops", "AppRole role approle/extra"]);

    let p = plan(&example(), &s, &PlanOptions { prune: true });
    assert_eq!(
        kinds(&p),
        vec![
            (ChangeKind::Delete, "AppRole role approle/extra".into()),
            (ChangeKind::Delete, "policy old-ops".into()),
        ]
    );
    insta::assert_snapshot!("prune", p.to_string());
}

#[test]
fn mounts_are_pruned_only_with_the_explicit_opt_in_and_never_system_ones() {
    let yaml = "version: 1\nallow_prune: {secrets_engines: true, auth: true}\nsecrets_engines: {}\nauth: {}\n";
    let r = Rollout::from_yaml(yaml, "t.yaml").unwrap();
    let mut s = applied();
    s.secrets_engines.insert("legacy".into(), kv2(""));
    let p = plan(&r, &s, &PlanOptions { prune: true });
    assert_eq!(
        kinds(&p),
        vec![
            (ChangeKind::Delete, "auth method approle/".into()),
            (ChangeKind::Delete, "secrets engine legacy/".into()),
            (ChangeKind::Delete, "secrets engine secret/".into()),
        ]
    );
    // No policies section: policies are not managed, nothing is said about them.
    assert!(p
        .changes
        .iter()
        .all(|c| c.object.kind != ObjectKind::Policy));
}

#[test]
fn unsafe_changes_are_blockers_not_changes() {
    let mut s = applied();
    s.secrets_engines.insert("secret".into(), mount("kv", "")); // KV v1
    s.auth.insert("approle".into(), mount("userpass", ""));
    s.approle_roles
        .get_mut("approle")
        .unwrap()
        .get_mut("atmr-api")
        .unwrap()
        .local_secret_ids = true;
    s.audit.get_mut("file").unwrap().device_type = "socket".into();
    let p = plan(&example(), &s, &PlanOptions::default());
    assert!(p.is_blocked());
    insta::assert_snapshot!("blockers", p.problems().join("\n"));
}

#[test]
fn vault_audit_devices_are_created_and_never_all_pruned() {
    let yaml = r#"
version: 1
engine: vault
allow_prune: {audit: true}
audit:
  file:
    type: file
    options: {file_path: /vault/audit/audit.log, log_raw: false}
"#;
    let r = Rollout::from_yaml(yaml, "t.yaml").unwrap();
    let mut s = fresh();
    s.server_version = Some("1.17.2".into());
    s.audit.insert(
        "old-socket".into(),
        vaultops_rollout::AuditState {
            device_type: "socket".into(),
            ..Default::default()
        },
    );
    let p = plan(&r, &s, &PlanOptions { prune: true });
    assert_eq!(
        kinds(&p),
        vec![
            (ChangeKind::Create, "audit device file/".into()),
            (ChangeKind::Delete, "audit device old-socket/".into()),
        ]
    );
    insta::assert_snapshot!("vault_audit", p.to_string());

    let none = Rollout::from_yaml(
        "version: 1\nengine: vault\nallow_prune: {audit: true}\naudit: {}\n",
        "t.yaml",
    )
    .unwrap();
    let p = plan(&none, &s, &PlanOptions { prune: true });
    assert!(p.is_empty() && p.is_blocked());
    assert!(p.problems()[0].contains("refusing to disable every audit device"));
}

#[test]
fn the_engine_is_detected_from_the_version_when_not_declared() {
    let r = Rollout::from_yaml("version: 1\naudit:\n  file: {type: file}\n", "t.yaml").unwrap();
    let p = plan(&r, &fresh(), &PlanOptions::default());
    assert_eq!(p.engine, Some(vaultops_types::Engine::OpenBao));
    assert_eq!(p.engine_source, EngineSource::Detected);
    let mut unknown = fresh();
    unknown.server_version = Some("9.9.9".into());
    let p = plan(&r, &unknown, &PlanOptions::default());
    assert!(p.problems()[0].contains("set `engine: openbao` or `engine: vault`"));
    // A declared engine wins over the version, with a note.
    let r = Rollout::from_yaml("version: 1\nengine: vault\n", "t.yaml").unwrap();
    let p = plan(&r, &fresh(), &PlanOptions::default());
    assert_eq!(p.engine, Some(vaultops_types::Engine::Vault));
    assert!(p.notes[0].contains("looks like OpenBao"), "{:?}", p.notes);
}

#[test]
fn file_policies_are_loaded_through_the_callers_reader() {
    let yaml = "version: 1\npolicies:\n  ops:\n    file: policies/ops.hcl\n";
    let mut r = Rollout::from_yaml(yaml, "t.yaml").unwrap();
    let p = plan(&r, &fresh(), &PlanOptions::default());
    assert!(p.problems()[0].contains("was not loaded"), "{p}");

    let mut asked = Vec::new();
    r.resolve_policy_files(|path| {
        asked.push(path.to_owned());
        Ok("path \"ops/*\" { capabilities = [\"read\"] }\n".to_owned())
    })
    .unwrap();
    assert_eq!(asked, ["policies/ops.hcl"]);
    let p = plan(&r, &fresh(), &PlanOptions::default());
    assert_eq!(kinds(&p), vec![(ChangeKind::Create, "policy ops".into())]);

    let mut r = Rollout::from_yaml(yaml, "t.yaml").unwrap();
    let err = r
        .resolve_policy_files(|_| Err(std::io::Error::from(std::io::ErrorKind::NotFound)))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("policy `ops`: cannot read its HCL file policies/ops.hcl"),
        "{err}"
    );
}

#[test]
fn a_role_handing_out_an_unknown_policy_gets_a_note() {
    let yaml = "version: 1\nauth: {approle: {type: approle}}\napprole_roles:\n  app: {token_policies: [typo-policy]}\n";
    let r = Rollout::from_yaml(yaml, "t.yaml").unwrap();
    let p = plan(&r, &fresh(), &PlanOptions::default());
    assert!(
        p.notes.iter().any(|n| n.contains("`typo-policy`")),
        "{:?}",
        p.notes
    );
}
