//! Tests of the `inspect` module, on certificates issued by `build`.

use time::format_description::well_known::Rfc3339;

use time::OffsetDateTime;

use crate::build::{create_ca, create_node_cert, Ca, CaParams, NodeParams, Validity};
use crate::inspect::*;
use crate::parse::InspectError;
use secrecy::ExposeSecret;
use time::Duration;

fn setup() -> (String, Ca) {
    let bundle = create_ca(&CaParams::default()).unwrap();
    let ca = Ca::from_bundle(&bundle).unwrap();
    (bundle.cert_pem, ca)
}

fn node(ca: &Ca, validity: Option<Validity>) -> String {
    create_node_cert(
        ca,
        &NodeParams {
            name: "node1".into(),
            dns: vec!["node1".into(), "*.vault.internal".into()],
            ips: vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
            validity,
            ..NodeParams::default()
        },
    )
    .unwrap()
    .cert_pem
}

#[test]
fn expired_certificate_is_detected() {
    let (ca_pem, ca) = setup();
    let now = OffsetDateTime::now_utc();
    let window = Validity::between(now - Duration::days(10), now - Duration::hours(1)).unwrap();
    let cert = node(&ca, Some(window));
    let err = verify(&cert, &ca_pem).unwrap_err();
    assert_eq!(
        err,
        VerifyError::Expired {
            not_after: window.not_after()
        }
    );
    assert!(err.to_string().contains("expired at"), "{err}");
    // An hour past expiry is already -1 days left, not 0.
    assert_eq!(inspect(&cert).unwrap().days_left, -1);
}

#[test]
fn not_yet_valid_certificate_is_detected() {
    let (ca_pem, ca) = setup();
    let now = OffsetDateTime::now_utc();
    let window = Validity::between(now + Duration::days(1), now + Duration::days(2)).unwrap();
    let err = verify(&node(&ca, Some(window)), &ca_pem).unwrap_err();
    assert_eq!(
        err,
        VerifyError::NotYetValid {
            not_before: window.not_before()
        }
    );
}

#[test]
fn hostname_mismatch_is_detected_and_names_the_sans() {
    let (ca_pem, ca) = setup();
    let cert = node(&ca, None);
    for ok in [
        "node1",
        "NODE1",
        "node1.",
        "127.0.0.1",
        "::1",
        "[::1]",
        "a.vault.internal",
    ] {
        verify_for_host(&cert, &ca_pem, ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in ["node2", "127.0.0.2", "vault.internal", "a.b.vault.internal"] {
        let err = verify_for_host(&cert, &ca_pem, bad).unwrap_err();
        assert_eq!(
            err,
            VerifyError::HostnameMismatch {
                host: bad.into(),
                sans: vec![
                    "DNS:node1".into(),
                    "DNS:*.vault.internal".into(),
                    "IP:127.0.0.1".into(),
                    "IP:::1".into()
                ],
            },
            "{bad}"
        );
        assert!(err.to_string().contains("--dns or --ip"), "{err}");
    }
}

#[test]
fn wrong_inputs_are_named() {
    let (ca_pem, ca) = setup();
    let cert = node(&ca, None);
    assert_eq!(inspect("hello"), Err(InspectError::NotPem));
    let key = create_ca(&CaParams::default()).unwrap().key_pem;
    assert_eq!(
        inspect(key.expose_secret()),
        Err(InspectError::NotACertificate {
            label: "PRIVATE KEY".into()
        })
    );
    let broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        inspect(broken),
        Err(InspectError::Malformed { .. })
    ));
    assert!(matches!(
        verify(&cert, &cert),
        Err(VerifyError::NotCa { .. })
    ));
    assert!(matches!(
        verify("x", &ca_pem),
        Err(VerifyError::Certificate(InspectError::NotPem))
    ));
    assert!(matches!(
        verify(&cert, "x"),
        Err(VerifyError::CaCertificate(InspectError::NotPem))
    ));
}

#[test]
fn expired_ca_is_reported_as_such() {
    let now = OffsetDateTime::now_utc();
    let window = Validity::between(now - Duration::days(10), now - Duration::days(1)).unwrap();
    let bundle = create_ca(&CaParams {
        validity: Some(window),
        ..CaParams::default()
    })
    .unwrap();
    let err = verify(&bundle.cert_pem, &bundle.cert_pem).unwrap_err();
    assert_eq!(
        err,
        VerifyError::CaExpired {
            not_after: window.not_after()
        }
    );
}

#[test]
fn cert_info_serialises_with_rfc3339_times() {
    let (_, ca) = setup();
    let info = inspect(&node(&ca, None)).unwrap();
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["subject"], "CN=node1");
    assert_eq!(json["ip_sans"][0], "127.0.0.1");
    assert_eq!(json["is_ca"], false);
    let not_after = json["not_after"].as_str().unwrap();
    assert_eq!(
        OffsetDateTime::parse(not_after, &Rfc3339).unwrap(),
        info.not_after
    );
}

#[test]
fn days_left_rounds_down() {
    let (_, ca) = setup();
    let cert = node(&ca, None);
    let info = inspect(&cert).unwrap();
    let at = |t| inspect_at(&cert, t).unwrap().days_left;
    assert_eq!(at(info.not_after - Duration::hours(1)), 0);
    assert_eq!(at(info.not_after - Duration::hours(25)), 1);
    assert_eq!(at(info.not_after + Duration::seconds(1)), -1);
    assert_eq!(at(info.not_after + Duration::hours(25)), -2);
}
