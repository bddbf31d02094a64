//! Tests of `served` (served certificate vs expected) and `bundle` (trust bundles).

use crate::build::{create_ca, create_node_cert, Ca, CaParams, NodeParams};
use crate::bundle::{der_to_pem, trust_bundle, TrustBundleError};
use crate::inspect::verify;
use crate::parse::decode_pem;
use crate::served::*;

fn ca(cn: &str) -> (String, Ca) {
    let b = create_ca(&CaParams {
        common_name: cn.into(),
        ..CaParams::default()
    })
    .unwrap();
    let ca = Ca::from_bundle(&b).unwrap();
    (b.cert_pem, ca)
}

fn node_pem(ca: &Ca) -> String {
    create_node_cert(
        ca,
        &NodeParams {
            name: "node1".into(),
            ips: vec!["127.0.0.1".parse().unwrap()],
            ..NodeParams::default()
        },
    )
    .unwrap()
    .cert_pem
}

fn der(pem: &str) -> Vec<u8> {
    decode_pem(pem).unwrap().contents
}

#[test]
fn every_node_serving_the_expected_certificate_matches() {
    let (_, ca) = ca("A");
    let new = node_pem(&ca);
    let other = node_pem(&ca);
    let r = compare_served(vec![
        ("n1".into(), new.clone(), Ok(der(&new))),
        ("n2".into(), other.clone(), Ok(der(&other))),
    ])
    .unwrap();
    assert!(r.all_expected, "{r:?}");
    assert!(r.problems().is_empty());
    assert_eq!(r.nodes[0].expected.fingerprint, fingerprint_der(&der(&new)));
    assert_eq!(r.nodes[0].expected.fingerprint.len(), 32 * 3 - 1);
}

#[test]
fn a_node_serving_the_old_certificate_is_named_with_its_serial() {
    let (_, ca) = ca("A");
    let old = node_pem(&ca);
    let new = node_pem(&ca);
    let r = compare_served(vec![
        ("https://n1:8200".into(), new.clone(), Ok(der(&new))),
        ("https://n2:8200".into(), new.clone(), Ok(der(&old))),
        (
            "https://n3:8200".into(),
            new.clone(),
            Err("connection refused".into()),
        ),
    ])
    .unwrap();
    assert!(!r.all_expected);
    let old_serial = crate::inspect::inspect(&old).unwrap().serial;
    let problems = r.problems();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].starts_with("https://n2:8200 serves serial ")
            && problems[0].contains(&old_serial),
        "{problems:?}"
    );
    assert!(problems[1].contains("connection refused"), "{problems:?}");
    assert!(matches!(r.nodes[0].state, ServedState::Expected { .. }));
    assert!(matches!(r.nodes[1].state, ServedState::Other { .. }));
}

#[test]
fn garbage_from_a_node_is_unreadable_and_no_nodes_is_not_a_match() {
    let (_, ca) = ca("A");
    let new = node_pem(&ca);
    let r = compare_served(vec![("n1".into(), new.clone(), Ok(vec![1, 2, 3]))]).unwrap();
    assert!(matches!(r.nodes[0].state, ServedState::Unreadable { .. }));
    assert!(!r.all_expected);
    assert!(!compare_served(vec![]).unwrap().all_expected);
    assert!(compare_served(vec![("n1".into(), "not pem".into(), Ok(der(&new)))]).is_err());
}

#[test]
fn bundle_holds_both_cas_once_and_verifies_leaves_of_each() {
    let (old_pem, old) = ca("old CA");
    let (new_pem, new) = ca("new CA");
    let (bundle, n) = trust_bundle(&[old_pem.clone(), new_pem.clone(), old_pem.clone()]).unwrap();
    assert_eq!(n, 2);
    assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2);
    // Re-encoding keeps the DER: each block is exactly one of the inputs.
    assert_eq!(der_to_pem(&der(&old_pem)), old_pem.replace("\r\n", "\n"));
    // A bundle given again (bundle + new) adds nothing.
    assert_eq!(trust_bundle(&[bundle.clone(), new_pem]).unwrap().1, 2);
    // Each leaf verifies against its own CA, and not against the other: a client needs both.
    verify(&node_pem(&old), &old_pem).unwrap();
    assert!(verify(&node_pem(&new), &old_pem).is_err());
}

#[test]
fn bundle_refuses_node_certificates_and_empty_input() {
    let (ca_pem, ca) = ca("A");
    let err = trust_bundle(&[ca_pem.clone(), node_pem(&ca)]).unwrap_err();
    assert!(
        matches!(err, TrustBundleError::NotCa { index: 2, .. }),
        "{err:?}"
    );
    assert!(matches!(
        trust_bundle(&[ca_pem, String::from("nothing")]).unwrap_err(),
        TrustBundleError::Empty { index: 2 }
    ));
    assert_eq!(trust_bundle(&[]).unwrap_err(), TrustBundleError::NoInput);
}

#[test]
fn reissue_moves_a_leaf_to_the_new_ca_keeping_its_names_and_renew_refuses_that() {
    use crate::build::{reissue_node_cert, renew_node_cert};
    use crate::inspect::inspect;
    let (_, old) = ca("old CA");
    let (new_pem, new) = ca("new CA");
    let leaf = node_pem(&old);
    let moved = reissue_node_cert(&new, &leaf, 30).unwrap().cert_pem;
    verify(&moved, &new_pem).unwrap();
    let (a, b) = (inspect(&leaf).unwrap(), inspect(&moved).unwrap());
    assert_eq!((a.subject, a.ip_sans), (b.subject, b.ip_sans));
    assert_ne!(a.serial, b.serial);
    // Control: renew keeps the same-CA check.
    assert!(renew_node_cert(&new, &leaf, 30).is_err());
}
