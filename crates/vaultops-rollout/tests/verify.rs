//! Judging the policy test matrix: "has C" is a subset test, "denied" is exactly `deny`.

use vaultops_rollout::{evaluate, token_groups, Rollout, VerifyReport};

fn rollout() -> Rollout {
    Rollout::from_yaml(include_str!("../../../examples/rollout.yaml"), "x").unwrap()
}

fn caps(c: &[&str]) -> Vec<String> {
    c.iter().map(|s| s.to_string()).collect()
}

#[test]
fn capabilities_are_a_subset_and_denied_is_exact() {
    let r = rollout();
    let has = &r.expectations[0]; // create, read, update on secret/data/atmr/db
    assert!(evaluate(0, has, &caps(&["create", "read", "update"])).passed);
    assert!(evaluate(0, has, &caps(&["update", "read", "create", "list"])).passed);
    let partial = evaluate(0, has, &caps(&["read"]));
    assert!(!partial.passed);
    assert_eq!(partial.missing, ["create", "update"]);
    assert!(!evaluate(0, has, &caps(&["deny"])).passed);

    let denied = &r.expectations[2];
    assert!(evaluate(2, denied, &caps(&["deny"])).passed);
    assert!(!evaluate(2, denied, &caps(&["read"])).passed);
    assert!(!evaluate(2, denied, &caps(&["deny", "read"])).passed);
    assert!(!evaluate(2, denied, &[]).passed);
}

#[test]
fn the_report_names_each_failing_expectation() {
    let r = rollout();
    let report = VerifyReport {
        results: vec![
            evaluate(0, &r.expectations[0], &caps(&["create", "read", "update"])),
            evaluate(1, &r.expectations[1], &caps(&["deny"])),
            evaluate(3, &r.expectations[3], &caps(&["read", "list"])),
        ],
    };
    assert!(!report.passed());
    assert_eq!(report.failures().len(), 2);
    insta::assert_snapshot!("report", report.to_string());
}

#[test]
fn one_token_per_distinct_policy_set() {
    let yaml = "version: 1\npolicies: {a: {hcl: x}, b: {hcl: y}}\nexpectations:\n  - {policies: [a, b], path: p1, denied: true}\n  - {policies: [b, a, a], path: p2, denied: true}\n  - {policies: [a], path: p3, denied: true}\n";
    let r = Rollout::from_yaml(yaml, "x").unwrap();
    let g = token_groups(&r.expectations);
    assert_eq!(g.len(), 2);
    assert_eq!(
        g[&vec!["a".to_string(), "b".to_string()]],
        vec![(0, "p1".to_string()), (1, "p2".to_string())]
    );
}
