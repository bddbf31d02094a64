//! Unit tests of the membership safety rules: every action against every peer of small
//! clusters in every health combination, checked against an independent statement of the
//! rules.

use super::*;

fn peer(id: &str, voter: bool, leader: bool, healthy: bool) -> Peer {
    Peer {
        node_id: id.into(),
        address: format!("{id}:8201"),
        voter,
        leader,
        healthy,
        permanent_non_voter: !voter,
        last_contact: if healthy { "0s" } else { "1m0s" }.into(),
    }
}

/// n voters (node1 leader) + m non-voters, health from the bit mask.
fn cluster(voters: usize, non_voters: usize, healthy_mask: u32) -> Vec<Peer> {
    (0..voters + non_voters)
        .map(|i| {
            peer(
                &format!("node{}", i + 1),
                i < voters,
                i == 0,
                // The leader is healthy by construction (it answers).
                i == 0 || healthy_mask & (1 << i) != 0,
            )
        })
        .collect()
}

#[test]
fn replacing_a_dead_node_is_allowed() {
    let peers = cluster(3, 0, 0b011);
    let plan = plan_member_change(&peers, MemberAction::RemovePeer, "node3").unwrap();
    assert_eq!(plan.noop, None);
    assert_eq!(plan.voters_after, ["node1", "node2"]);
    assert_eq!(plan.voters_before, ["node1", "node2", "node3"]);
}

#[test]
fn removing_a_healthy_node_while_another_is_dead_would_lose_quorum() {
    let peers = cluster(3, 0, 0b011);
    let err = plan_member_change(&peers, MemberAction::RemovePeer, "node2").unwrap_err();
    match err {
        MembershipError::WouldLoseQuorum {
            remaining,
            healthy,
            quorum,
            ..
        } => {
            assert_eq!(remaining, ["node1", "node3"]);
            assert_eq!(healthy, ["node1"]);
            assert_eq!(quorum, 2);
        }
        other => panic!("expected WouldLoseQuorum, got {other}"),
    }
}

#[test]
fn the_leader_is_never_removed_or_demoted() {
    let peers = cluster(5, 0, 0b11111);
    for action in [MemberAction::RemovePeer, MemberAction::Demote] {
        let err = plan_member_change(&peers, action, "node1").unwrap_err();
        assert!(
            matches!(err, MembershipError::IsLeader { .. }),
            "{action:?}: {err}"
        );
        assert!(err.to_string().contains("step-down"), "{err}");
    }
}

#[test]
fn rerun_after_removal_is_a_noop() {
    let peers = cluster(2, 0, 0b11);
    let plan = plan_member_change(&peers, MemberAction::RemovePeer, "node3").unwrap();
    assert!(plan.noop.unwrap().contains("already removed"));
}

#[test]
fn promote_demote_reruns_are_noops_and_unknown_peers_named() {
    let peers = cluster(3, 1, 0b1111);
    let p = plan_member_change(&peers, MemberAction::Promote, "node2").unwrap();
    assert!(p.noop.unwrap().contains("already a voter"));
    let d = plan_member_change(&peers, MemberAction::Demote, "node4").unwrap();
    assert!(d.noop.unwrap().contains("already a non-voter"));
    let err = plan_member_change(&peers, MemberAction::Promote, "node9").unwrap_err();
    assert!(
        err.to_string().contains("node9") && err.to_string().contains("node4"),
        "{err}"
    );
}

#[test]
fn a_peer_autopilot_will_promote_can_be_demoted_before_it_votes() {
    let mut peers = cluster(3, 1, 0b0111);
    // Just joined: not caught up yet, promotion pending.
    peers[3].permanent_non_voter = false;
    let d = plan_member_change(&peers, MemberAction::Demote, "node4").unwrap();
    assert_eq!(d.noop, None, "{d:?}");
    assert_eq!(d.voters_after, d.voters_before);
    assert_eq!(d.voters_after, ["node1", "node2", "node3"]);
    // Another unhealthy peer still refuses it.
    peers[1].healthy = false;
    let err = plan_member_change(&peers, MemberAction::Demote, "node4").unwrap_err();
    assert!(matches!(err, MembershipError::Unhealthy { .. }), "{err}");
}

#[test]
fn a_peer_autopilot_will_promote_is_not_promoted_by_hand() {
    let mut peers = cluster(3, 1, 0b1111);
    peers[3].permanent_non_voter = false;
    let p = plan_member_change(&peers, MemberAction::Promote, "node4").unwrap();
    assert!(p.noop.unwrap().contains("autopilot promotes it"));
}

#[test]
fn promote_needs_a_caught_up_peer() {
    let peers = cluster(3, 2, 0b01111);
    let err = plan_member_change(&peers, MemberAction::Promote, "node5").unwrap_err();
    assert!(matches!(err, MembershipError::NotCaughtUp { .. }), "{err}");
    let ok = plan_member_change(&peers, MemberAction::Promote, "node4");
    // node5 (another non-voter) is unhealthy: refused, naming it.
    let err = ok.unwrap_err();
    assert!(err.to_string().contains("node5"), "{err}");
    let all = cluster(3, 2, 0b11111);
    let plan = plan_member_change(&all, MemberAction::Promote, "node4").unwrap();
    assert_eq!(plan.voters_after, ["node1", "node2", "node3", "node4"]);
}

#[test]
fn an_unhealthy_bystander_refuses_the_change_and_is_named() {
    // 5 voters, node5 dead: removing healthy node4 keeps quorum (3 of 4) but node5 is sick.
    let peers = cluster(5, 0, 0b01111);
    let err = plan_member_change(&peers, MemberAction::RemovePeer, "node4").unwrap_err();
    match &err {
        MembershipError::Unhealthy { problems } => {
            assert_eq!(problems.len(), 1);
            assert!(problems[0].contains("node5"), "{err}");
        }
        other => panic!("expected Unhealthy, got {other}"),
    }
}

/// Exhaustive: every action on every peer of every cluster up to 5 voters + 2 non-voters
/// (permanent or promotion pending) in every health combination agrees with the rules stated independently here.
#[test]
fn exhaustive_against_the_rules() {
    let mut checked = 0;
    for voters in 1..=5usize {
        for non_voters in 0..=2usize {
            let n = voters + non_voters;
            for (mask, pending) in (0..(1u32 << n)).flat_map(|m| [(m, false), (m, true)]) {
                let mut peers = cluster(voters, non_voters, mask);
                // Non-voters that autopilot is about to promote, or permanent ones.
                for p in peers.iter_mut().filter(|p| !p.voter) {
                    p.permanent_non_voter = !pending;
                }
                for target in 0..=n {
                    let id = format!("node{}", target + 1);
                    for action in [
                        MemberAction::RemovePeer,
                        MemberAction::Promote,
                        MemberAction::Demote,
                    ] {
                        let got = plan_member_change(&peers, action, &id);
                        let expected = expected_ok(&peers, action, &id);
                        assert_eq!(
                            got.is_ok(),
                            expected,
                            "{action:?} {id} on {peers:?}: got {got:?}"
                        );
                        if let Ok(plan) = got {
                            if plan.noop.is_none() {
                                let h = plan
                                    .voters_after
                                    .iter()
                                    .filter(|v| peers.iter().any(|p| &p.node_id == *v && p.healthy))
                                    .count();
                                assert!(h >= quorum(plan.voters_after.len()));
                                assert!(!plan.voters_after.is_empty());
                            }
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}

fn expected_ok(peers: &[Peer], action: MemberAction, id: &str) -> bool {
    let Some(t) = peers.iter().find(|p| p.node_id == id) else {
        return action == MemberAction::RemovePeer;
    };
    let noop = match action {
        MemberAction::Promote => t.voter || !t.permanent_non_voter,
        MemberAction::Demote => !t.voter && t.permanent_non_voter,
        MemberAction::RemovePeer => false,
    };
    if noop {
        return true;
    }
    if action != MemberAction::Promote && t.leader {
        return false;
    }
    if action == MemberAction::Promote && !t.healthy {
        return false;
    }
    let voters_after: Vec<&Peer> = peers
        .iter()
        .filter(|p| match action {
            MemberAction::Promote => p.voter || p.node_id == id,
            _ => p.voter && p.node_id != id,
        })
        .collect();
    let healthy = voters_after.iter().filter(|p| p.healthy).count();
    let others_healthy = peers.iter().all(|p| p.node_id == id || p.healthy);
    !voters_after.is_empty() && 2 * healthy > voters_after.len() && others_healthy
}

#[test]
fn safe_min_quorum_is_a_majority_and_at_least_three() {
    let table = [
        (1, 3),
        (2, 3),
        (3, 3),
        (4, 3),
        (5, 3),
        (6, 4),
        (7, 4),
        (9, 5),
    ];
    for (voters, safe) in table {
        assert_eq!(safe_min_quorum(voters), safe, "{voters} voters");
    }
}

fn change() -> AutopilotChange {
    AutopilotChange {
        cleanup_dead_servers: Some(true),
        min_quorum: Some(3),
        dead_server_last_contact_threshold: Some("10m".into()),
        ..Default::default()
    }
}

#[test]
fn autopilot_plan_shows_the_diff() {
    let plan = plan_autopilot(&AutopilotConfig::default(), &change(), 3).unwrap();
    let fields: Vec<_> = plan.diff.iter().map(|d| d.field).collect();
    assert_eq!(
        fields,
        [
            "cleanup_dead_servers",
            "min_quorum",
            "dead_server_last_contact_threshold"
        ]
    );
    assert_eq!(plan.diff[2].before, "24h0m0s");
    assert_eq!(plan.diff[2].after, "10m");
    assert!(plan.after.cleanup_dead_servers);
    // Applying the same change again (server-normalised durations) is an empty diff.
    let mut applied = plan.after.clone();
    applied.dead_server_last_contact_threshold = "10m0s".into();
    let again = plan_autopilot(&applied, &change(), 3).unwrap();
    assert!(again.diff.is_empty(), "{:?}", again.diff);
}

#[test]
fn autopilot_refuses_an_unsafe_min_quorum() {
    for (voters, given, refused) in [
        (3, 2, true),
        (3, 3, false),
        (5, 2, true),
        (5, 3, false),
        (7, 3, true),
        (7, 4, false),
    ] {
        let c = AutopilotChange {
            min_quorum: Some(given),
            ..change()
        };
        let got = plan_autopilot(&AutopilotConfig::default(), &c, voters);
        assert_eq!(got.is_err(), refused, "{voters} voters, min_quorum {given}");
        if let Err(e) = got {
            assert!(matches!(e, MembershipError::UnsafeMinQuorum { .. }), "{e}");
            assert!(e.to_string().contains("majority"), "{e}");
        }
    }
    // Turning cleanup on while the current min_quorum (0: unset) is unsafe is refused too.
    let c = AutopilotChange {
        cleanup_dead_servers: Some(true),
        ..Default::default()
    };
    assert!(plan_autopilot(&AutopilotConfig::default(), &c, 3).is_err());
}

#[test]
fn autopilot_refuses_bad_or_too_short_durations() {
    let c = AutopilotChange {
        dead_server_last_contact_threshold: Some("ten minutes".into()),
        ..change()
    };
    let e = plan_autopilot(&AutopilotConfig::default(), &c, 3).unwrap_err();
    assert!(e.to_string().contains("ten minutes"), "{e}");
    let c = AutopilotChange {
        dead_server_last_contact_threshold: Some("5s".into()),
        ..change()
    };
    let e = plan_autopilot(&AutopilotConfig::default(), &c, 3).unwrap_err();
    assert!(
        matches!(e, MembershipError::DeadBeforeUnhealthy { .. }),
        "{e}"
    );
}

#[test]
fn go_durations_parse() {
    let ok = [
        ("24h0m0s", 86_400_000),
        ("10s", 10_000),
        ("1h30m", 5_400_000),
        ("500ms", 500),
    ];
    for (s, ms) in ok {
        assert_eq!(
            parse_go_duration("f", s).unwrap(),
            Duration::from_millis(ms),
            "{s}"
        );
    }
    for bad in ["", "10", "s", "1d", "-1s", "1.5s", "10 s"] {
        assert!(parse_go_duration("f", bad).is_err(), "{bad:?}");
    }
}
