//! Unit tests of the pure upgrade planning: versions, the order, every reason to block, the
//! downgrade refusal, and the plan of a cluster half-way through.

use super::*;

fn v(s: &str) -> ServerVersion {
    s.parse().unwrap()
}

fn node(addr: &str, role: NodeRole, version: &str, index: u64) -> NodeStatus {
    NodeStatus {
        addr: addr.into(),
        reachable: true,
        error: None,
        initialized: Some(true),
        sealed: Some(matches!(role, NodeRole::Sealed)),
        role: Some(role),
        version: Some(version.into()),
        cluster_name: Some("c".into()),
        raft_applied_index: (!matches!(role, NodeRole::Sealed)).then_some(index),
        leader_address: None,
    }
}

fn down(addr: &str) -> NodeStatus {
    NodeStatus {
        addr: addr.into(),
        reachable: false,
        error: Some("connection refused".into()),
        initialized: None,
        sealed: None,
        role: None,
        version: None,
        cluster_name: None,
        raft_applied_index: None,
        leader_address: None,
    }
}

fn healthy_autopilot(voters: usize) -> Option<AutopilotView> {
    Some(AutopilotView {
        healthy: true,
        failure_tolerance: 1,
        voters,
        unhealthy: vec![],
    })
}

fn view(nodes: Vec<NodeStatus>) -> UpgradeView {
    let n = nodes.len();
    UpgradeView {
        nodes,
        autopilot: healthy_autopilot(n),
        autopilot_error: None,
    }
}

fn opts(target: &str) -> UpgradeOptions {
    UpgradeOptions::new(v(target))
}

use NodeRole::{Active, Sealed, Standby};

#[test]
fn versions_parse_order_and_print() {
    assert_eq!(
        v("2.7.2"),
        ServerVersion {
            major: 2,
            minor: 7,
            patch: 2
        }
    );
    assert_eq!(v("v2.6.2"), v("2.6.2"));
    assert_eq!(v("2.7.2-beta1"), v("2.7.2"));
    assert_eq!(v("1.20.4+ent"), v("1.20.4"));
    assert!(v("2.6.2") < v("2.7.0"));
    assert!(v("2.7.0") < v("2.7.10"), "numeric, not lexical");
    assert!(v("2.10.0") > v("2.9.9"));
    assert_eq!(v("2.7.2").to_string(), "2.7.2");
    for bad in ["", "2.7", "2.7.2.1", "two.7.2", "latest", "2..2"] {
        let e = bad.parse::<ServerVersion>().unwrap_err();
        assert!(e.to_string().contains("MAJOR.MINOR.PATCH"), "{e}");
    }
}

#[test]
fn standbys_go_first_one_at_a_time_in_the_order_given() {
    let mut nodes = vec![
        node("a", Active, "2.6.2", 100),
        node("b", Standby, "2.6.2", 100),
        node("c", Standby, "2.6.2", 99),
    ];
    assert_eq!(
        next_action(&view(nodes.clone()), &opts("2.7.2")),
        Action::Swap {
            node: "b".into(),
            from: "2.6.2".into(),
            to: v("2.7.2"),
            remaining: 3
        }
    );
    nodes[1].version = Some("2.7.2".into());
    assert_eq!(
        next_action(&view(nodes.clone()), &opts("2.7.2")),
        Action::Swap {
            node: "c".into(),
            from: "2.6.2".into(),
            to: v("2.7.2"),
            remaining: 2
        }
    );
    nodes[2].version = Some("2.7.2".into());
    assert_eq!(
        next_action(&view(nodes.clone()), &opts("2.7.2")),
        Action::StepDown {
            node: "a".into(),
            from: "2.6.2".into(),
            to: v("2.7.2")
        }
    );
    // After the step-down c is active; the old active a is a standby on the old version.
    nodes[0].role = Some(Standby);
    nodes[2].role = Some(Active);
    assert_eq!(
        next_action(&view(nodes.clone()), &opts("2.7.2")),
        Action::Swap {
            node: "a".into(),
            from: "2.6.2".into(),
            to: v("2.7.2"),
            remaining: 1
        }
    );
    nodes[0].version = Some("2.7.2".into());
    assert_eq!(
        next_action(&view(nodes), &opts("2.7.2")),
        Action::Done {
            version: v("2.7.2")
        }
    );
}

#[test]
fn never_a_step_down_while_a_standby_is_on_an_older_version() {
    // Mixed versions: b already upgraded, c on an intermediate version still below the target.
    let nodes = vec![
        node("a", Active, "2.6.2", 10),
        node("b", Standby, "2.7.2", 10),
        node("c", Standby, "2.7.0", 10),
    ];
    assert!(matches!(
        next_action(&view(nodes), &opts("2.7.2")),
        Action::Swap { node, from, .. } if node == "c" && from == "2.7.0"
    ));
}

#[test]
fn an_active_node_already_on_the_target_needs_no_step_down() {
    let nodes = vec![
        node("a", Standby, "2.6.2", 10),
        node("b", Active, "2.7.2", 10),
        node("c", Standby, "2.7.2", 10),
    ];
    assert!(matches!(
        next_action(&view(nodes), &opts("2.7.2")),
        Action::Swap { node, remaining: 1, .. } if node == "a"
    ));
}

#[test]
fn a_downgrade_is_refused_naming_the_node_even_on_a_healthy_cluster() {
    let nodes = vec![
        node("a", Active, "2.7.2", 10),
        node("b", Standby, "2.7.2", 10),
        node("c", Standby, "2.7.2", 10),
    ];
    match next_action(&view(nodes.clone()), &opts("2.6.2")) {
        Action::Refused { reasons } => {
            assert_eq!(reasons.len(), 3, "{reasons:?}");
            assert!(
                reasons[0].contains("downgrade refused: a runs 2.7.2"),
                "{reasons:?}"
            );
            assert!(reasons[0].contains("target 2.6.2"), "{reasons:?}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // One node newer than the target is enough, even half-way through another upgrade.
    let mut mixed = nodes;
    mixed[0].version = Some("2.6.2".into());
    mixed[2].version = Some("2.6.2".into());
    match next_action(&view(mixed), &opts("2.7.0")) {
        Action::Refused { reasons } => {
            assert_eq!(reasons.len(), 1, "{reasons:?}");
            assert!(reasons[0].contains("b runs 2.7.2"), "{reasons:?}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Positive control: the same cluster with the target it already runs is done, not refused.
    let same = vec![
        node("a", Active, "2.7.2", 10),
        node("b", Standby, "2.7.2", 10),
    ];
    assert!(matches!(
        next_action(&view(same), &opts("2.7.2")),
        Action::Done { .. }
    ));
}

fn blocked(view: &UpgradeView, target: &str) -> Vec<String> {
    match next_action(view, &opts(target)) {
        Action::Blocked { reasons } => reasons,
        other => panic!("expected blocked, got {other:?}"),
    }
}

#[test]
fn a_node_down_blocks_and_is_named() {
    let nodes = vec![
        node("a", Active, "2.6.2", 10),
        node("b", Standby, "2.7.2", 10),
        down("c"),
    ];
    let reasons = blocked(&view(nodes), "2.7.2");
    assert!(
        reasons
            .iter()
            .any(|r| r == "c is unreachable: connection refused"),
        "{reasons:?}"
    );
}

#[test]
fn a_sealed_node_blocks_and_is_named() {
    let nodes = vec![
        node("a", Active, "2.6.2", 10),
        node("b", Sealed, "2.7.2", 0),
        node("c", Standby, "2.6.2", 10),
    ];
    let reasons = blocked(&view(nodes), "2.7.2");
    assert!(
        reasons.iter().any(|r| r.contains("b is sealed")),
        "{reasons:?}"
    );
}

#[test]
fn a_standby_behind_the_active_blocks_until_it_catches_up() {
    let mut nodes = vec![
        node("a", Active, "2.6.2", 5_000),
        node("b", Standby, "2.7.2", 4_000),
        node("c", Standby, "2.6.2", 5_000),
    ];
    let reasons = blocked(&view(nodes.clone()), "2.7.2");
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].contains("b is not caught up: raft applied index 4000, the active's 5000"),
        "{reasons:?}"
    );
    // Within the tolerance (the limit itself included) it is caught up.
    nodes[1].raft_applied_index = Some(5_000 - DEFAULT_MAX_LAG);
    assert!(matches!(
        next_action(&view(nodes.clone()), &opts("2.7.2")),
        Action::Swap { node, .. } if node == "c"
    ));
    nodes[1].raft_applied_index = Some(5_000 - DEFAULT_MAX_LAG - 1);
    assert_eq!(blocked(&view(nodes.clone()), "2.7.2").len(), 1);
    // A standby ahead of what the active reported (read a moment later) is fine.
    nodes[1].raft_applied_index = Some(5_010);
    assert!(matches!(
        next_action(&view(nodes.clone()), &opts("2.7.2")),
        Action::Swap { .. }
    ));
    // A standby that does not report its index is not taken as caught up.
    nodes[1].raft_applied_index = None;
    let reasons = blocked(&view(nodes), "2.7.2");
    assert!(
        reasons[0].contains("b does not report its raft applied index"),
        "{reasons:?}"
    );
}

#[test]
fn autopilot_unhealthy_unreadable_or_short_of_voters_blocks() {
    let nodes = vec![
        node("a", Active, "2.6.2", 10),
        node("b", Standby, "2.7.2", 10),
        node("c", Standby, "2.6.2", 10),
    ];
    let mut unhealthy = view(nodes.clone());
    unhealthy.autopilot = Some(AutopilotView {
        healthy: false,
        failure_tolerance: 0,
        voters: 3,
        unhealthy: vec!["node2".into()],
    });
    let reasons = blocked(&unhealthy, "2.7.2");
    assert_eq!(
        reasons,
        ["autopilot reports the cluster unhealthy (not healthy: node2)"]
    );

    let mut unreadable = view(nodes.clone());
    unreadable.autopilot = None;
    unreadable.autopilot_error = Some("permission denied".into());
    let reasons = blocked(&unreadable, "2.7.2");
    assert_eq!(reasons, ["autopilot state unreadable: permission denied"]);

    let mut short = view(nodes.clone());
    short.autopilot = healthy_autopilot(2);
    let reasons = blocked(&short, "2.7.2");
    assert_eq!(
        reasons,
        ["autopilot counts 2 voter(s) for the 3 node(s) given"]
    );

    // A node left out of --addr: never "done" while it would stay on the old version.
    let mut partial = view(nodes[..2].to_vec());
    partial.autopilot = healthy_autopilot(3);
    let reasons = blocked(&partial, "2.7.2");
    assert_eq!(
        reasons,
        ["autopilot counts 3 voters but 2 node(s) were given: give every node of the cluster with --addr"]
    );
}

#[test]
fn no_active_node_or_two_block() {
    let none = vec![
        node("a", Standby, "2.7.2", 10),
        node("b", Standby, "2.7.2", 10),
    ];
    let mut v0 = view(none);
    v0.autopilot = None;
    let reasons = blocked(&v0, "2.7.2");
    assert!(
        reasons.iter().any(|r| r == "no node is active"),
        "{reasons:?}"
    );
    let two = vec![
        node("a", Active, "2.7.2", 10),
        node("b", Active, "2.7.2", 10),
    ];
    let reasons = blocked(&view(two), "2.7.2");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("2 nodes claim to be active")),
        "{reasons:?}"
    );
}

#[test]
fn a_missing_or_unreadable_version_blocks() {
    let mut nodes = vec![
        node("a", Active, "2.6.2", 10),
        node("b", Standby, "2.6.2", 10),
    ];
    nodes[1].version = None;
    let reasons = blocked(&view(nodes.clone()), "2.7.2");
    assert_eq!(reasons, ["b does not report its version"]);
    nodes[1].version = Some("dev".into());
    let reasons = blocked(&view(nodes), "2.7.2");
    assert!(
        reasons[0].starts_with("b: \"dev\" is not a server version"),
        "{reasons:?}"
    );
}

#[test]
fn done_requires_a_healthy_cluster() {
    let nodes = vec![
        node("a", Active, "2.7.2", 10),
        node("b", Standby, "2.7.2", 10),
        node("c", Sealed, "2.7.2", 0),
    ];
    assert!(!blocked(&view(nodes), "2.7.2").is_empty());
}

#[test]
fn the_plan_lists_standbys_then_step_down_then_the_old_active() {
    let nodes = vec![
        node("a", Active, "2.6.2", 10),
        node("b", Standby, "2.6.2", 10),
        node("c", Standby, "2.6.2", 10),
    ];
    let steps = plan_steps(&view(nodes.clone()), v("2.7.2"));
    let order: Vec<(&str, &str)> = steps.iter().map(|s| (s.step, s.node.as_str())).collect();
    assert_eq!(
        order,
        [
            ("swap", "b"),
            ("swap", "c"),
            ("step-down", "a"),
            ("swap", "a")
        ]
    );
    assert!(steps
        .iter()
        .all(|s| s.from == "2.6.2" && s.to == v("2.7.2")));

    // Half-way (b done, c down): c still to swap (named as down), then the active.
    let mut half = nodes;
    half[1].version = Some("2.7.2".into());
    half[2] = down("c");
    let steps = plan_steps(&view(half), v("2.7.2"));
    let order: Vec<(&str, &str)> = steps.iter().map(|s| (s.step, s.node.as_str())).collect();
    assert_eq!(order, [("swap", "c"), ("step-down", "a"), ("swap", "a")]);
    assert!(steps[0].note.contains("unreachable"), "{:?}", steps[0]);

    // Everything on the target: nothing to do.
    let done = vec![
        node("a", Active, "2.7.2", 1),
        node("b", Standby, "2.7.2", 1),
    ];
    assert!(plan_steps(&view(done), v("2.7.2")).is_empty());
}

#[test]
fn next_serialises_for_automation() {
    let a = Action::Swap {
        node: "https://n2:8200".into(),
        from: "2.6.2".into(),
        to: v("2.7.2"),
        remaining: 3,
    };
    assert_eq!(
        serde_json::to_value(&a).unwrap(),
        serde_json::json!({"action": "swap", "node": "https://n2:8200", "from": "2.6.2",
                           "to": "2.7.2", "remaining": 3})
    );
    let d = Action::Done {
        version: v("2.7.2"),
    };
    assert_eq!(
        serde_json::to_value(&d).unwrap(),
        serde_json::json!({"action": "done", "version": "2.7.2"})
    );
    let s = Action::StepDown {
        node: "x".into(),
        from: "2.6.2".into(),
        to: v("2.7.2"),
    };
    assert_eq!(serde_json::to_value(&s).unwrap()["action"], "step-down");
    let b = Action::Blocked {
        reasons: vec!["c is sealed".into()],
    };
    assert_eq!(
        serde_json::to_value(&b).unwrap(),
        serde_json::json!({"action": "blocked", "reasons": ["c is sealed"]})
    );
}

#[test]
fn the_policy_names_only_what_the_commands_call() {
    assert!(UPGRADE_POLICY.contains("path \"sys/storage/raft/autopilot/state\""));
    assert!(UPGRADE_POLICY.contains("path \"sys/step-down\""));
    assert!(!UPGRADE_POLICY.contains("*"), "no wildcard");
    assert!(!UPGRADE_POLICY.contains("root"), "never the root policy");
}
