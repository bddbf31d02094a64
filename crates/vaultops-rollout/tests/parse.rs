//! Reading rollout files: the shipped example, and bad input reported with line and key.

use vaultops_rollout::{Capability, Expected, Rollout, RolloutError, TtlSecs};

const EXAMPLE: &str = include_str!("../../../examples/rollout.yaml");

#[test]
fn the_example_reads_as_the_seed_describes_it() {
    let r = Rollout::from_yaml(EXAMPLE, "examples/rollout.yaml").unwrap();
    assert_eq!(r.engine, Some(vaultops_types::Engine::OpenBao));
    let role = &r.approle_roles.as_ref().unwrap()["atmr-api"];
    assert_eq!(role.mount.as_str(), "approle");
    assert_eq!(role.token_ttl, Some(TtlSecs::from_secs(86_400)));
    assert_eq!(role.token_max_ttl, Some(TtlSecs::from_secs(172_800)));
    assert_eq!(role.secret_id_ttl, Some(TtlSecs::from_secs(0)));
    assert_eq!(role.secret_id_num_uses, Some(0));
    assert_eq!(r.expectations.len(), 5);
    assert_eq!(
        r.expectations[0].expected(),
        Expected::Capabilities(vec![
            Capability::Create,
            Capability::Read,
            Capability::Update
        ])
    );
    assert_eq!(r.expectations[2].expected(), Expected::Denied);
}

fn syntax(yaml: &str) -> (u64, Option<String>, String, String) {
    match Rollout::from_yaml(yaml, "rollout.yaml").unwrap_err() {
        e @ RolloutError::Syntax { .. } => {
            let text = e.to_string();
            let RolloutError::Syntax {
                line, key, message, ..
            } = e
            else {
                unreachable!()
            };
            (line, key, message, text)
        }
        other => panic!("expected a syntax error, got {other}"),
    }
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let yaml = "version: 1\nauth:\n  approle:\n    type: approle\napprole_roles:\n  app:\n    token_tll: 1h\n";
    let (line, key, message, text) = syntax(yaml);
    assert_eq!(line, 7);
    assert_eq!(key.as_deref(), Some("token_tll"));
    assert!(message.contains("unknown key `token_tll`"), "{message}");
    assert!(
        message.contains("token_ttl"),
        "lists the allowed keys: {message}"
    );
    assert!(
        !message.contains(" at line "),
        "the location is said once: {message}"
    );
    assert!(
        text.starts_with("rollout.yaml: line 7, column 5: unknown key `token_tll`"),
        "{text}"
    );
    assert!(text.contains("token_tll: 1h"), "shows the line: {text}");

    // At the top level and in flow style too.
    let (line, key, ..) = syntax("version: 1\nsecret_engines: {}\n");
    assert_eq!((line, key.as_deref()), (2, Some("secret_engines")));
    let (line, key, ..) =
        syntax("version: 1\nexpectations:\n  - {policies: [a], path: x, denied: true, why: 1}\n");
    assert_eq!((line, key.as_deref()), (3, Some("why")));
}

#[test]
fn bad_values_are_reported_at_their_line() {
    let (line, _, message, _) = syntax("version: 1\nauth:\n  approle: {type: approle}\napprole_roles:\n  app:\n    token_ttl: 1.5h\n");
    assert_eq!(line, 6);
    assert!(message.contains("`1.5h` is not a duration"), "{message}");

    let (line, _, message, _) = syntax("version: 1\npolicies:\n  Ops:\n    hcl: x\n");
    assert_eq!(line, 3);
    assert!(message.contains("write `ops`"), "{message}");

    let (line, _, message, _) = syntax("version: 1\nexpectations:\n  - policies: [a]\n    path: x\n    capabilities: [read, write]\n");
    assert_eq!(line, 5);
    assert!(message.contains("write"), "{message}");

    let (line, _, message, _) = syntax("version: 1\nsecrets_engines:\n  secret/: {type: kv-v2}\n");
    assert_eq!(line, 3);
    assert!(
        message.contains("without leading or trailing `/`"),
        "{message}"
    );

    let (_, _, message, _) = syntax("version: 1\nsecrets_engines:\n  secret: {type: transit}\n");
    assert!(message.contains("kv-v2"), "{message}");

    let (line, _, message, _) = syntax("version: 1\npolicies:\n  a: {hcl: x}\n  a: {hcl: y}\n");
    assert_eq!(line, 4);
    assert_eq!(
        message,
        "duplicate key `a`: each key may appear only once in a mapping"
    );
}

#[test]
fn a_value_of_the_wrong_kind_names_its_key_and_where_to_look() {
    let (line, _, message, _) = syntax("version: 1\nengine: openbao\npolicies: [a, b]\n");
    assert_eq!(line, 3);
    assert!(
        message.starts_with("`policies`: ") && message.contains("wrong kind"),
        "{message}"
    );
    assert!(message.contains("docs/rollout.md"), "{message}");
    let (_, _, message, _) = syntax("version: 1\nsecrets_engines:\n  secret: [kv-v2]\n");
    assert!(
        message.starts_with("`secret`: ") && message.contains("wrong kind"),
        "{message}"
    );
}

#[test]
fn rule_violations_are_all_listed_with_their_lines() {
    let yaml = r#"version: 2
policies:
  root:
    hcl: 'path "x" {}'
  both:
    hcl: 'path "x" {}'
    file: x.hcl
auth:
  userpass:
    type: userpass
approle_roles:
  app:
    mount: userpass
    token_ttl: 48h
    token_max_ttl: 24h
  orphan:
    mount: approle2
expectations:
  - policies: [nope]
    path: /v1/secret/data/x
    capabilities: [read]
    denied: true
  - policies: [both]
    path: secret/data/x
    capabilities: [deny]
"#;
    let err = Rollout::from_yaml(yaml, "rollout.yaml").unwrap_err();
    insta::assert_snapshot!("rule_violations", err.to_string());
    let RolloutError::Invalid { problems, .. } = err else {
        panic!()
    };
    let at = |path: &str| {
        problems
            .iter()
            .find(|p| p.path == path)
            .unwrap_or_else(|| panic!("no problem at {path}: {problems:?}"))
            .line
    };
    assert_eq!(at("version"), Some(1));
    assert_eq!(at("policies.root"), Some(3));
    assert_eq!(at("approle_roles.app.mount"), Some(13));
    assert_eq!(at("approle_roles.app.token_ttl"), Some(14));
    assert_eq!(at("approle_roles.orphan.mount"), Some(17));
    assert_eq!(at("expectations[0].policies"), Some(19));
    assert_eq!(at("expectations[0].path"), Some(20));
    assert_eq!(at("expectations[1].capabilities"), Some(25));
}

#[test]
fn an_empty_or_non_yaml_file_is_an_error_not_a_panic() {
    for text in ["", "[1, 2]", "version: [", "\t- x"] {
        assert!(Rollout::from_yaml(text, "r.yaml").is_err(), "{text:?}");
    }
    let err = Rollout::from_yaml("", "r.yaml").unwrap_err();
    assert!(err.to_string().starts_with("r.yaml: line"), "{err}");
}
