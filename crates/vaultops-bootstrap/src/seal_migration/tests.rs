//! The seal-migration order decided from forged views: each state of a 3-node Shamir → static
//! and static → Shamir migration, and every refusal and block with its reason.

use super::*;

fn unsealed(addr: &str, seal: &str, role: NodeRole) -> SealNodeView {
    SealNodeView {
        addr: addr.into(),
        seal: NodeSeal::Unsealed {
            seal_type: seal.into(),
            role,
        },
    }
}

fn node(addr: &str, seal: NodeSeal) -> SealNodeView {
    SealNodeView {
        addr: addr.into(),
        seal,
    }
}

fn mismatch(stored: &str, configured: &str) -> NodeSeal {
    NodeSeal::Mismatch {
        stored: stored.into(),
        configured: configured.into(),
    }
}

fn healthy(nodes: Vec<SealNodeView>) -> SealView {
    let voters = nodes.len();
    SealView {
        nodes,
        autopilot: Some(AutopilotView {
            healthy: true,
            failure_tolerance: 1,
            voters,
            unhealthy: vec![],
        }),
        autopilot_error: None,
    }
}

use NodeRole::{Active, Standby};

#[test]
fn shamir_to_static_goes_standby_by_standby_then_step_down_then_the_old_active() {
    let to = SealKind::Static;
    // Start: the first standby in the order given, with the new stanza only (Shamir has none).
    let v = healthy(vec![
        unsealed("a", "shamir", Active),
        unsealed("b", "shamir", Standby),
        unsealed("c", "shamir", Standby),
    ]);
    assert_eq!(
        next_seal_action(&v, to),
        SealAction::Reconfigure {
            node: "b".into(),
            seal: to,
            disabled: None,
            last: false,
            remaining: 3
        }
    );
    // b restarted with the new stanza: sealed, migration → the command's migrate-unseal.
    let v = healthy(vec![
        unsealed("a", "shamir", Active),
        node(
            "b",
            NodeSeal::Sealed {
                seal_type: "static".into(),
                migration: true,
            },
        ),
        unsealed("c", "shamir", Standby),
    ]);
    assert_eq!(
        next_seal_action(&v, to),
        SealAction::MigrateUnseal { node: "b".into() }
    );
    // b migrated (its seal-status fails with the mismatch): c next.
    let v = healthy(vec![
        unsealed("a", "shamir", Active),
        node("b", mismatch("shamir", "static")),
        unsealed("c", "shamir", Standby),
    ]);
    assert!(
        matches!(next_seal_action(&v, to), SealAction::Reconfigure { node, remaining: 2, .. } if node == "c")
    );
    // A migrated standby may also answer as an unsealed standby on the new seal.
    let v = healthy(vec![
        unsealed("a", "shamir", Active),
        unsealed("b", "static", Standby),
        unsealed("c", "shamir", Standby),
    ]);
    assert!(
        matches!(next_seal_action(&v, to), SealAction::Reconfigure { node, .. } if node == "c")
    );
    // Every standby migrated: the step-down.
    let v = healthy(vec![
        unsealed("a", "shamir", Active),
        node("b", mismatch("shamir", "static")),
        node("c", mismatch("shamir", "static")),
    ]);
    assert_eq!(
        next_seal_action(&v, to),
        SealAction::StepDown { node: "a".into() }
    );
    // After the step-down: the old active still on the old config; only the new stanza.
    let v = healthy(vec![
        node("a", mismatch("static", "shamir")),
        unsealed("b", "static", Active),
        unsealed("c", "static", Standby),
    ]);
    assert_eq!(
        next_seal_action(&v, to),
        SealAction::Reconfigure {
            node: "a".into(),
            seal: to,
            disabled: None,
            last: true,
            remaining: 1
        }
    );
    let v = healthy(vec![
        unsealed("a", "static", Standby),
        unsealed("b", "static", Active),
        unsealed("c", "static", Standby),
    ]);
    assert_eq!(next_seal_action(&v, to), SealAction::Done { seal: to });
}

#[test]
fn static_to_shamir_keeps_the_old_stanza_disabled_and_unseals_the_old_active_plainly() {
    let to = SealKind::Shamir;
    let v = healthy(vec![
        unsealed("a", "static", Standby),
        unsealed("b", "static", Active),
        unsealed("c", "static", Standby),
    ]);
    assert_eq!(
        next_seal_action(&v, to),
        SealAction::Reconfigure {
            node: "a".into(),
            seal: to,
            disabled: Some(SealKind::Static),
            last: false,
            remaining: 3
        }
    );
    // The old active restarted with the Shamir stanza after the migration: sealed, no
    // migration → an ordinary unseal with the same shares.
    let v = healthy(vec![
        unsealed("a", "shamir", Active),
        node(
            "b",
            NodeSeal::Sealed {
                seal_type: "shamir".into(),
                migration: false,
            },
        ),
        unsealed("c", "shamir", Standby),
    ]);
    assert_eq!(
        next_seal_action(&v, to),
        SealAction::Unseal { node: "b".into() }
    );
}

#[test]
fn blocked_on_an_unreachable_node_an_unhealthy_autopilot_or_no_active_node() {
    let to = SealKind::Static;
    let v = healthy(vec![
        unsealed("a", "shamir", Active),
        node(
            "b",
            NodeSeal::Unreachable {
                error: "connection refused".into(),
            },
        ),
    ]);
    let SealAction::Blocked { reasons } = next_seal_action(&v, to) else {
        panic!("not blocked")
    };
    assert!(
        reasons[0].contains("b is unreachable: connection refused"),
        "{reasons:?}"
    );

    let mut v = healthy(vec![
        unsealed("a", "shamir", Active),
        unsealed("b", "shamir", Standby),
    ]);
    v.autopilot.as_mut().unwrap().healthy = false;
    v.autopilot.as_mut().unwrap().unhealthy = vec!["b".into()];
    let SealAction::Blocked { reasons } = next_seal_action(&v, to) else {
        panic!("not blocked")
    };
    assert!(
        reasons[0].contains("unhealthy (not healthy: b)"),
        "{reasons:?}"
    );

    let v = healthy(vec![
        unsealed("a", "shamir", Standby),
        unsealed("b", "shamir", Standby),
    ]);
    assert!(matches!(
        next_seal_action(&v, to),
        SealAction::Blocked { .. }
    ));

    // A sealed auto-unseal node that does not open by itself.
    let v = healthy(vec![
        unsealed("a", "static", Active),
        node(
            "b",
            NodeSeal::Sealed {
                seal_type: "static".into(),
                migration: false,
            },
        ),
    ]);
    let SealAction::Blocked { reasons } = next_seal_action(&v, to) else {
        panic!("not blocked")
    };
    assert!(reasons[0].contains("does not unseal itself"), "{reasons:?}");

    // A node left out of --addr would never be migrated.
    let mut v = healthy(vec![
        unsealed("a", "shamir", Active),
        unsealed("b", "shamir", Standby),
    ]);
    v.autopilot.as_mut().unwrap().voters = 3;
    assert!(matches!(
        next_seal_action(&v, to),
        SealAction::Blocked { .. }
    ));
}

#[test]
fn a_standby_on_an_unexpected_seal_blocks_and_auto_to_auto_is_refused() {
    let v = healthy(vec![
        unsealed("a", "shamir", Active),
        node("b", mismatch("shamir", "transit")),
    ]);
    let SealAction::Blocked { reasons } = next_seal_action(&v, SealKind::Static) else {
        panic!("not blocked")
    };
    assert!(
        reasons[0].contains("configured with transit"),
        "{reasons:?}"
    );

    let v = healthy(vec![
        unsealed("a", "static", Active),
        unsealed("b", "static", Standby),
    ]);
    assert!(matches!(
        next_seal_action(&v, SealKind::Transit),
        SealAction::Refused { .. }
    ));
    // Positive control: the same cluster towards Shamir is a plan, not a refusal.
    assert!(matches!(
        next_seal_action(&v, SealKind::Shamir),
        SealAction::Reconfigure { .. }
    ));
}

#[test]
fn the_plan_lists_standbys_then_the_step_down_then_the_old_active() {
    let v = healthy(vec![
        unsealed("a", "shamir", Active),
        node("b", mismatch("shamir", "static")),
        unsealed("c", "shamir", Standby),
    ]);
    let plan = plan_seal_migration(&v, SealKind::Static);
    let steps: Vec<(&str, &str)> = plan.iter().map(|s| (s.step, s.node.as_str())).collect();
    assert_eq!(
        steps,
        vec![
            ("reconfigure", "c"),
            ("migrate-unseal", "c"),
            ("step-down", "a"),
            ("reconfigure", "a"),
        ]
    );
    let v = healthy(vec![
        unsealed("a", "static", Active),
        unsealed("b", "static", Standby),
    ]);
    let plan = plan_seal_migration(&v, SealKind::Shamir);
    assert_eq!(plan.last().map(|s| s.step), Some("unseal"));
    assert!(plan[0].note.contains("disabled = \"true\""), "{plan:?}");
}

#[test]
fn seal_names_parse_and_others_are_refused() {
    assert_eq!("static".parse::<SealKind>(), Ok(SealKind::Static));
    assert!("awskms".parse::<SealKind>().is_err());
}
