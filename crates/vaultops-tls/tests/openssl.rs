//! Cross-checks the generated PEM files with the `openssl` CLI, an independent X.509
//! implementation: the chain verifies, and the SANs, EKUs and CA flags are what we meant.

use std::path::Path;
use std::process::Command;

use vaultops_tls::{
    create_ca, create_node_cert, write_ca, write_node, Ca, CaParams, NodeParams, Overwrite,
};

/// Runs `openssl` with `args` and returns (success, stdout + stderr).
fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap_or_else(|e| {
        panic!(
            "cannot run the `openssl` CLI ({e}); these tests need it on PATH: install it with `apt-get install openssl`"
        )
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn openssl_accepts_the_chain_and_shows_the_sans() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = create_ca(&CaParams::default()).unwrap();
    let ca_files = write_ca(tmp.path(), &bundle, Overwrite::Refuse).unwrap();
    let ca = Ca::from_bundle(&bundle).unwrap();
    let node = create_node_cert(
        &ca,
        &NodeParams {
            name: "node1".into(),
            dns: vec!["node1".into(), "localhost".into()],
            ips: vec!["127.0.0.11".parse().unwrap(), "127.0.0.1".parse().unwrap()],
            ..NodeParams::default()
        },
    )
    .unwrap();
    let node_files = write_node(tmp.path(), "node1", &node).unwrap();

    let (ok, out) = openssl(&["verify", "-CAfile", p(&ca_files.cert), p(&node_files.cert)]);
    assert!(ok, "openssl verify failed: {out}");
    assert!(
        out.contains(&format!("{}: OK", p(&node_files.cert))),
        "{out}"
    );

    // The chain is also good for TLS in both directions, which is what raft nodes need.
    for purpose in ["sslserver", "sslclient"] {
        let (ok, out) = openssl(&[
            "verify",
            "-purpose",
            purpose,
            "-CAfile",
            p(&ca_files.cert),
            p(&node_files.cert),
        ]);
        assert!(ok && out.contains(": OK"), "purpose {purpose}: {out}");
    }

    let (ok, out) = openssl(&[
        "x509",
        "-noout",
        "-in",
        p(&node_files.cert),
        "-ext",
        "subjectAltName",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("DNS:node1, DNS:localhost, IP Address:127.0.0.11, IP Address:127.0.0.1"),
        "{out}"
    );

    let (ok, out) = openssl(&[
        "x509",
        "-noout",
        "-in",
        p(&node_files.cert),
        "-ext",
        "extendedKeyUsage,keyUsage,basicConstraints",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
        "{out}"
    );
    assert!(out.contains("Digital Signature, Key Encipherment"), "{out}");
    assert!(out.contains("CA:FALSE"), "{out}");

    let (ok, out) = openssl(&[
        "x509",
        "-noout",
        "-in",
        p(&ca_files.cert),
        "-ext",
        "basicConstraints,keyUsage",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("CA:TRUE"), "{out}");
    assert!(out.contains("Certificate Sign, CRL Sign"), "{out}");

    // The private keys are readable by openssl and match their certificates.
    for (cert, key) in [
        (&ca_files.cert, &ca_files.key),
        (&node_files.cert, &node_files.key),
    ] {
        let (ok, cert_pub) = openssl(&["x509", "-noout", "-pubkey", "-in", p(cert)]);
        assert!(ok, "{cert_pub}");
        let (ok, key_pub) = openssl(&["pkey", "-pubout", "-in", p(key)]);
        assert!(ok, "{key_pub}");
        assert_eq!(cert_pub, key_pub, "{} does not match {}", p(key), p(cert));
    }
}

#[test]
fn openssl_rejects_a_node_cert_against_another_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::from_bundle(&create_ca(&CaParams::default()).unwrap()).unwrap();
    let other = create_ca(&CaParams::default()).unwrap();
    let other_files = write_ca(tmp.path(), &other, Overwrite::Refuse).unwrap();
    let node = create_node_cert(
        &ca,
        &NodeParams {
            name: "node1".into(),
            dns: vec!["node1".into()],
            ..NodeParams::default()
        },
    )
    .unwrap();
    let node_files = write_node(tmp.path(), "node1", &node).unwrap();
    let (ok, out) = openssl(&[
        "verify",
        "-CAfile",
        p(&other_files.cert),
        p(&node_files.cert),
    ]);
    // This test guards the positive one above: openssl does fail for a wrong CA.
    assert!(
        !ok,
        "openssl verify accepted a certificate from another CA: {out}"
    );
    assert!(
        out.contains("signature failure") || out.contains("unable to get"),
        "{out}"
    );
}
