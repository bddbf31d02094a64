//! Issuing certificates: a self-signed CA, node certificates signed by it, and renewal of a
//! node certificate with a fresh key.

use std::net::IpAddr;
use vaultops_types::Cause;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use secrecy::SecretString;

use super::*;
use crate::parse;

/// Creates a self-signed CA: `basicConstraints CA:true, pathlen:0` (it signs node certificates
/// only) and key usage keyCertSign + cRLSign.
pub fn create_ca(params: &CaParams) -> Result<CaBundle, CreateCaError> {
    let cn = params.common_name.trim();
    if cn.is_empty() {
        return Err(CreateCaError::EmptyCommonName);
    }
    let validity =
        Validity::resolve(params.days, params.validity).map_err(CreateCaError::Validity)?;

    let mut cp = CertificateParams::default();
    cp.distinguished_name = dn(cn);
    cp.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    cp.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    cp.not_before = validity.not_before;
    cp.not_after = validity.not_after;

    let key = KeyPair::generate_for(params.key_algorithm.rcgen()).map_err(|e| {
        CreateCaError::Generate {
            source: Cause::new(e),
        }
    })?;
    let cert = cp.self_signed(&key).map_err(|e| CreateCaError::Generate {
        source: Cause::new(e),
    })?;
    Ok(CaBundle {
        cert_pem: cert.pem(),
        key_pem: SecretString::from(key.serialize_pem()),
    })
}

/// Issues a node certificate signed by `ca`: serverAuth + clientAuth, key usage
/// digitalSignature + keyEncipherment, `basicConstraints CA:false`, the given DNS and IP SANs,
/// and a new key.
pub fn create_node_cert(ca: &Ca, params: &NodeParams) -> Result<NodeCert, CreateNodeCertError> {
    let name = params.name.trim();
    if name.is_empty() {
        return Err(CreateNodeCertError::EmptyName);
    }
    let err_name = || name.to_owned();
    let validity = Validity::resolve(params.days, params.validity).map_err(|source| {
        CreateNodeCertError::Validity {
            name: err_name(),
            source,
        }
    })?;

    let now = now();
    if ca.not_after <= now {
        return Err(CreateNodeCertError::CaExpired {
            subject: ca.subject.clone(),
            not_after: ca.not_after,
        });
    }
    // A chain is only valid while every certificate in it is, so a node certificate reaching
    // past its CA would fail at the CA's expiry anyway; say so now instead of then.
    if validity.not_after > ca.not_after {
        return Err(CreateNodeCertError::OutlivesCa {
            name: err_name(),
            not_after: validity.not_after,
            ca_subject: ca.subject.clone(),
            ca_not_after: ca.not_after,
        });
    }
    // Starting a node certificate before its CA only adds a window in which the chain cannot
    // verify, so a `days` window starts no earlier than the CA (a CA made on a machine whose
    // clock runs ahead). An explicit window is honoured as given.
    let not_before = match params.validity {
        Some(v) => v.not_before,
        None => validity.not_before.max(ca.not_before),
    };

    let mut sans = Vec::new();
    let mut seen_dns: Vec<String> = Vec::new();
    for dns in &params.dns {
        let dns = dns.trim();
        check_dns_name(dns).map_err(|reason| CreateNodeCertError::InvalidDnsName {
            name: err_name(),
            dns: dns.to_owned(),
            reason,
        })?;
        let lower = dns.to_ascii_lowercase();
        if seen_dns.contains(&lower) {
            continue;
        }
        seen_dns.push(lower);
        let ia5 = dns.to_owned().try_into().map_err(|e: rcgen::Error| {
            CreateNodeCertError::InvalidDnsName {
                name: err_name(),
                dns: dns.to_owned(),
                reason: e.to_string(),
            }
        })?;
        sans.push(SanType::DnsName(ia5));
    }
    let mut seen_ips: Vec<IpAddr> = Vec::new();
    for ip in &params.ips {
        if !seen_ips.contains(ip) {
            seen_ips.push(*ip);
            sans.push(SanType::IpAddress(*ip));
        }
    }
    if sans.is_empty() {
        return Err(CreateNodeCertError::NoSans { name: err_name() });
    }

    let mut cp = CertificateParams::default();
    cp.distinguished_name = dn(name);
    cp.subject_alt_names = sans;
    cp.is_ca = IsCa::ExplicitNoCa;
    cp.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    cp.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    cp.use_authority_key_identifier_extension = true;
    cp.not_before = not_before;
    cp.not_after = validity.not_after;

    let generate = |e: rcgen::Error| CreateNodeCertError::Generate {
        name: err_name(),
        source: Cause::new(e),
    };
    let key = KeyPair::generate_for(params.key_algorithm.rcgen()).map_err(generate)?;
    let cert = cp.signed_by(&key, &ca.issuer).map_err(generate)?;
    Ok(NodeCert {
        cert_pem: cert.pem(),
        key_pem: SecretString::from(key.serialize_pem()),
    })
}

/// Re-issues a node certificate with `ca`: same subject common name, same DNS and IP SANs, same
/// key type (P-384 stays P-384; anything else becomes P-256), a new key, and `days` of validity
/// from now.
///
/// The existing certificate may have expired (that is the usual reason to renew), but it must
/// have been issued by `ca`.
pub fn renew_node_cert(
    ca: &Ca,
    existing_cert_pem: &str,
    days: u32,
) -> Result<NodeCert, RenewError> {
    reissue(ca, existing_cert_pem, days, true)
}

/// Re-issues a node certificate with ANOTHER CA (phase 2 of a CA rotation): same common name,
/// SANs and key type as `existing_cert_pem`, a new key, signed by `new_ca`. Unlike
/// [`renew_node_cert`], the existing certificate's issuer is not checked.
pub fn reissue_node_cert(
    new_ca: &Ca,
    existing_cert_pem: &str,
    days: u32,
) -> Result<NodeCert, RenewError> {
    reissue(new_ca, existing_cert_pem, days, false)
}

fn reissue(
    ca: &Ca,
    existing_cert_pem: &str,
    days: u32,
    same_ca: bool,
) -> Result<NodeCert, RenewError> {
    // The CA certificate was parsed when `ca` was loaded, so reading it again cannot fail in
    // practice; the existing certificate is parsed inside so it can borrow the CA's key.
    let parsed = parse::with_cert(&ca.cert_pem, |ca_cert| {
        parse::with_cert(existing_cert_pem, |c| {
            let curve = c
                .public_key()
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            let key_algorithm = match curve {
                Some(oid) if oid == OID_NIST_EC_P384 => KeyAlgorithm::EcdsaP384,
                Some(oid) if oid == OID_EC_P256 => KeyAlgorithm::EcdsaP256,
                _ => KeyAlgorithm::default(),
            };
            (
                c.subject().to_string(),
                c.issuer().to_string(),
                parse::subject_cn(c),
                c.is_ca(),
                c.verify_signature(Some(ca_cert.public_key())).is_ok(),
                key_algorithm,
                parse::sans(c),
            )
        })
    });
    let (subject, issuer, cn, is_ca, signed_by_ca, key_algorithm, sans) = parsed
        .and_then(|inner| inner)
        .map_err(RenewError::Existing)?;
    if is_ca {
        return Err(RenewError::IsCa { subject });
    }
    if same_ca && !signed_by_ca {
        return Err(RenewError::NotIssuedByCa {
            issuer,
            ca_subject: ca.subject.clone(),
        });
    }
    let name = cn.ok_or(RenewError::NoCommonName { subject })?;
    let (dns, ips) = sans.map_err(RenewError::Existing)?;
    Ok(create_node_cert(
        ca,
        &NodeParams {
            name,
            dns,
            ips,
            days,
            validity: None,
            key_algorithm,
        },
    )?)
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// Checks that `dns` is a host name a TLS client can match: letters, digits and hyphens in
/// labels of 1 to 63 characters, optionally a leading `*.` wildcard label.
fn check_dns_name(dns: &str) -> Result<(), String> {
    if dns.is_empty() {
        return Err("it is empty".into());
    }
    if dns.parse::<IpAddr>().is_ok() {
        return Err("it is an IP address: pass it with --ip instead of --dns".into());
    }
    if dns.len() > 253 {
        return Err("it is longer than 253 characters".into());
    }
    let host = dns.strip_prefix("*.").unwrap_or(dns);
    for label in host.split('.') {
        if label.is_empty() {
            return Err("it has an empty label (leading, trailing or double dot)".into());
        }
        if label.len() > 63 {
            return Err(format!("label {label:?} is longer than 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with a hyphen"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "character {c:?} is not allowed (only letters, digits, '-' and a leading '*.')"
            ));
        }
    }
    Ok(())
}
