//! Tests of the `build` module: certificates it issues, read back through `inspect`.

use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use crate::build::*;
use crate::inspect::{inspect, verify, VerifyError};
use crate::parse;
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry::{OID_EC_P256, OID_NIST_EC_P384};

fn ca() -> (CaBundle, Ca) {
    let bundle = create_ca(&CaParams::default()).unwrap();
    let ca = Ca::from_bundle(&bundle).unwrap();
    (bundle, ca)
}

fn node_params(name: &str) -> NodeParams {
    NodeParams {
        name: name.into(),
        dns: vec![name.into(), "localhost".into()],
        ips: vec!["127.0.0.11".parse().unwrap(), "127.0.0.1".parse().unwrap()],
        ..NodeParams::default()
    }
}

#[test]
fn ca_is_self_signed_ca_with_given_cn_and_usages() {
    let bundle = create_ca(&CaParams {
        common_name: "test root".into(),
        days: 30,
        ..CaParams::default()
    })
    .unwrap();
    let info = inspect(&bundle.cert_pem).unwrap();
    assert!(info.is_ca);
    assert_eq!(info.subject, "CN=test root");
    assert_eq!(info.issuer, "CN=test root");
    assert!((29..=30).contains(&info.days_left), "{}", info.days_left);
    // The CA verifies against itself (self-signed).
    verify(&bundle.cert_pem, &bundle.cert_pem).unwrap();

    parse::with_cert(&bundle.cert_pem, |c| {
        let ku = c.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign());
        assert!(ku.crl_sign());
        assert!(!ku.digital_signature());
        let bc = c.basic_constraints().unwrap().unwrap().value;
        assert!(bc.ca);
        assert_eq!(bc.path_len_constraint, Some(0));
        let now = OffsetDateTime::now_utc();
        let nb = c.validity().not_before.to_datetime();
        // not_before is backdated by about one minute for clock skew.
        assert!(nb < now - Duration::seconds(50) && nb > now - Duration::seconds(70));
    })
    .unwrap();
}

#[test]
fn default_ca_common_name() {
    let bundle = create_ca(&CaParams::default()).unwrap();
    assert_eq!(inspect(&bundle.cert_pem).unwrap().subject, "CN=vaultops CA");
}

#[test]
fn zero_days_is_rejected() {
    let err = create_ca(&CaParams {
        days: 0,
        ..CaParams::default()
    })
    .unwrap_err();
    assert!(matches!(
        err,
        CreateCaError::Validity(ValidityError::ZeroDays)
    ));
    // The advice is in the cause (`ValidityError`), reached through `source()`.
    let text = vaultops_types::error_report(&err);
    assert!(text.contains("--days"), "{text}");

    let (_, ca) = self::ca();
    let err = create_node_cert(
        &ca,
        &NodeParams {
            days: 0,
            ..node_params("node1")
        },
    )
    .unwrap_err();
    assert!(matches!(
        err,
        CreateNodeCertError::Validity {
            source: ValidityError::ZeroDays,
            ..
        }
    ));
    assert!(matches!(
        Validity::days_from_now(MAX_DAYS + 1),
        Err(ValidityError::TooManyDays { .. })
    ));
}

#[test]
fn empty_validity_window_is_rejected() {
    let now = OffsetDateTime::now_utc();
    assert!(matches!(
        Validity::between(now, now - Duration::days(1)),
        Err(ValidityError::Empty { .. })
    ));
}

#[test]
fn node_cert_has_sans_ekus_and_verifies_against_its_ca() {
    let (bundle, ca) = ca();
    let node = create_node_cert(&ca, &node_params("node1")).unwrap();
    let info = inspect(&node.cert_pem).unwrap();
    assert_eq!(info.subject, "CN=node1");
    assert_eq!(info.issuer, "CN=vaultops CA");
    assert_eq!(info.dns_sans, vec!["node1", "localhost"]);
    assert_eq!(
        info.ip_sans,
        vec![
            "127.0.0.11".parse::<IpAddr>().unwrap(),
            "127.0.0.1".parse().unwrap()
        ]
    );
    assert!(!info.is_ca);
    assert!((364..=365).contains(&info.days_left));
    verify(&node.cert_pem, &bundle.cert_pem).unwrap();

    parse::with_cert(&node.cert_pem, |c| {
        let eku = c.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth);
        assert!(eku.client_auth);
        let ku = c.key_usage().unwrap().unwrap().value;
        assert!(ku.digital_signature());
        assert!(ku.key_encipherment());
        assert!(!ku.key_cert_sign());
        let bc = c.basic_constraints().unwrap().unwrap().value;
        assert!(!bc.ca);
        // ECDSA P-256 by default.
        let curve = c.public_key().algorithm.parameters.as_ref().unwrap();
        assert_eq!(curve.as_oid().unwrap(), OID_EC_P256);
        // Authority key identifier present so chain building does not rely on names only.
        assert!(c.extensions().iter().any(|e| matches!(
            e.parsed_extension(),
            ParsedExtension::AuthorityKeyIdentifier(_)
        )));
    })
    .unwrap();
    assert!(node.key_pem.expose_secret().contains("BEGIN PRIVATE KEY"));
}

#[test]
fn node_cert_fails_verify_against_another_ca_with_the_same_name() {
    let (_, ca) = ca();
    let (other_bundle, _) = self::ca();
    let node = create_node_cert(&ca, &node_params("node1")).unwrap();
    let err = verify(&node.cert_pem, &other_bundle.cert_pem).unwrap_err();
    assert!(
        matches!(&err, VerifyError::SignatureMismatch { issuer, ca_subject }
            if issuer == "CN=vaultops CA" && ca_subject == "CN=vaultops CA"),
        "{err:?}"
    );
}

#[test]
fn duplicate_sans_are_dropped() {
    let (_, ca) = ca();
    let node = create_node_cert(
        &ca,
        &NodeParams {
            name: "n".into(),
            dns: vec!["a.example".into(), "A.example".into()],
            ips: vec!["::1".parse().unwrap(), "::1".parse().unwrap()],
            ..NodeParams::default()
        },
    )
    .unwrap();
    let info = inspect(&node.cert_pem).unwrap();
    assert_eq!(info.dns_sans, vec!["a.example"]);
    assert_eq!(info.ip_sans, vec!["::1".parse::<IpAddr>().unwrap()]);
}

#[test]
fn bad_node_input_is_rejected_with_a_reason() {
    let (_, ca) = ca();
    let err = create_node_cert(
        &ca,
        &NodeParams {
            dns: vec!["127.0.0.1".into()],
            ..node_params("node1")
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("--ip"), "{err}");
    for bad in ["", "a..b", "-a.b", "a b", "a_b.c", "node1."] {
        let err = create_node_cert(
            &ca,
            &NodeParams {
                dns: vec![bad.into()],
                ..node_params("node1")
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, CreateNodeCertError::InvalidDnsName { ref dns, .. } if dns == bad.trim()),
            "{bad}: {err:?}"
        );
    }
    let err = create_node_cert(
        &ca,
        &NodeParams {
            name: "node1".into(),
            ..NodeParams::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, CreateNodeCertError::NoSans { .. }), "{err:?}");
    let err = create_node_cert(&ca, &node_params("  ")).unwrap_err();
    assert!(matches!(err, CreateNodeCertError::EmptyName), "{err:?}");
    // A wildcard is fine.
    create_node_cert(
        &ca,
        &NodeParams {
            dns: vec!["*.vault.internal".into()],
            ..node_params("node1")
        },
    )
    .unwrap();
}

#[test]
fn node_cert_may_not_outlive_or_follow_an_expired_ca() {
    let bundle = create_ca(&CaParams {
        days: 10,
        ..CaParams::default()
    })
    .unwrap();
    let ca = Ca::from_bundle(&bundle).unwrap();
    let err = create_node_cert(
        &ca,
        &NodeParams {
            days: 11,
            ..node_params("node1")
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, CreateNodeCertError::OutlivesCa { .. }),
        "{err:?}"
    );

    let now = OffsetDateTime::now_utc();
    let expired = create_ca(&CaParams {
        validity: Some(
            Validity::between(now - Duration::days(3), now - Duration::days(1)).unwrap(),
        ),
        ..CaParams::default()
    })
    .unwrap();
    let expired = Ca::from_bundle(&expired).unwrap();
    let err = create_node_cert(&expired, &node_params("node1")).unwrap_err();
    assert!(
        matches!(err, CreateNodeCertError::CaExpired { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("create a new CA"), "{err}");
}

#[test]
fn expired_node_cert_can_be_created_for_tests() {
    let (bundle, ca) = ca();
    let now = OffsetDateTime::now_utc();
    let window = Validity::between(now - Duration::days(30), now - Duration::days(2)).unwrap();
    let node = create_node_cert(
        &ca,
        &NodeParams {
            validity: Some(window),
            ..node_params("node1")
        },
    )
    .unwrap();
    let info = inspect(&node.cert_pem).unwrap();
    assert_eq!(info.not_before, window.not_before());
    assert_eq!(info.not_after, window.not_after());
    assert!(info.days_left < 0, "{}", info.days_left);
    assert!(matches!(
        verify(&node.cert_pem, &bundle.cert_pem),
        Err(VerifyError::Expired { .. })
    ));
}

#[test]
fn renewal_keeps_cn_and_sans_and_changes_the_key() {
    let (bundle, ca) = ca();
    let now = OffsetDateTime::now_utc();
    let old = create_node_cert(
        &ca,
        &NodeParams {
            validity: Some(
                Validity::between(now - Duration::days(30), now - Duration::days(1)).unwrap(),
            ),
            ..node_params("node2")
        },
    )
    .unwrap();
    let new = renew_node_cert(&ca, &old.cert_pem, 90).unwrap();
    let (old_info, new_info) = (
        inspect(&old.cert_pem).unwrap(),
        inspect(&new.cert_pem).unwrap(),
    );
    assert_eq!(new_info.subject, old_info.subject);
    assert_eq!(new_info.dns_sans, old_info.dns_sans);
    assert_eq!(new_info.ip_sans, old_info.ip_sans);
    assert_ne!(new_info.serial, old_info.serial);
    assert!((89..=90).contains(&new_info.days_left));
    assert_ne!(new.key_pem.expose_secret(), old.key_pem.expose_secret());
    let spki = |pem: &str| parse::with_cert(pem, |c| c.public_key().raw.to_vec()).unwrap();
    assert_ne!(spki(&new.cert_pem), spki(&old.cert_pem));
    verify(&new.cert_pem, &bundle.cert_pem).unwrap();
}

#[test]
fn renewal_keeps_p384() {
    let (_, ca) = ca();
    let old = create_node_cert(
        &ca,
        &NodeParams {
            key_algorithm: KeyAlgorithm::EcdsaP384,
            ..node_params("node3")
        },
    )
    .unwrap();
    let new = renew_node_cert(&ca, &old.cert_pem, 30).unwrap();
    parse::with_cert(&new.cert_pem, |c| {
        let curve = c.public_key().algorithm.parameters.as_ref().unwrap();
        assert_eq!(curve.as_oid().unwrap(), OID_NIST_EC_P384);
    })
    .unwrap();
}

#[test]
fn renewal_refuses_a_cert_from_another_ca_and_a_ca_cert() {
    let (_, ca) = ca();
    let (other_bundle, other) = self::ca();
    let node = create_node_cert(&other, &node_params("node1")).unwrap();
    let err = renew_node_cert(&ca, &node.cert_pem, 30).unwrap_err();
    assert!(matches!(err, RenewError::NotIssuedByCa { .. }), "{err:?}");
    let err = renew_node_cert(&other, &other_bundle.cert_pem, 30).unwrap_err();
    assert!(matches!(err, RenewError::IsCa { .. }), "{err:?}");
    let err = renew_node_cert(&other, &node.cert_pem, 0).unwrap_err();
    assert!(matches!(
        err,
        RenewError::Issue(CreateNodeCertError::Validity { .. })
    ));
}

#[test]
fn ca_from_pem_rejects_mismatched_key_and_non_ca() {
    let (a, ca) = ca();
    let (b, _) = self::ca();
    let err = Ca::from_pem(&a.cert_pem, &b.key_pem).unwrap_err();
    assert!(matches!(err, ParseCaError::KeyMismatch { .. }), "{err:?}");
    let node = create_node_cert(&ca, &node_params("node1")).unwrap();
    let err = Ca::from_pem(&node.cert_pem, &node.key_pem).unwrap_err();
    assert!(matches!(err, ParseCaError::NotCa { .. }), "{err:?}");
    let err = Ca::from_pem(&a.cert_pem, &SecretString::from("junk".to_owned())).unwrap_err();
    assert!(matches!(err, ParseCaError::Key { .. }), "{err:?}");
    let err = Ca::from_pem(a.key_pem.expose_secret(), &a.key_pem).unwrap_err();
    assert!(matches!(err, ParseCaError::Certificate(_)), "{err:?}");
}

#[test]
fn debug_output_redacts_key_material() {
    let (bundle, ca) = ca();
    let node = create_node_cert(&ca, &node_params("node1")).unwrap();
    for (key, dbg) in [
        (bundle.key_pem.expose_secret(), format!("{bundle:?}")),
        (node.key_pem.expose_secret(), format!("{node:?}")),
        (bundle.key_pem.expose_secret(), format!("{ca:?}")),
    ] {
        let body = key.lines().nth(1).unwrap();
        assert!(!dbg.contains(key), "{dbg}");
        assert!(!dbg.contains(body), "{dbg}");
        assert!(!dbg.contains("PRIVATE KEY"), "{dbg}");
    }
    assert!(format!("{bundle:?}").contains("REDACTED"));
}
