//! `vaultops tls served`: reads the certificate each node serves, through the API client, and
//! compares it with the expected one (`vaultops_tls::compare_served`); optionally polls until
//! every node serves it, with a deadline.
//!
//! Every probe opens a NEW connection per node: a pooled keep-alive connection would still
//! show the certificate of the handshake made before a reload.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use vaultops_api::{ClientConfig, NodeClient};
use vaultops_tls::{compare_served, InspectError, ServedReport};

use crate::wait::until;

/// Reading or waiting for the served certificates failed before a report could be made.
#[derive(Debug, thiserror::Error)]
pub enum ServedCertError {
    /// The expected certificate is unreadable.
    #[error("the expected certificate cannot be read")]
    Expected(#[source] InspectError),
    /// No node address was given.
    #[error("no node address: pass --addr for every node")]
    NoNodes,
}

/// Reads what each node serves, once, and compares it with what it should serve: `expect`
/// holds (address, expected certificate PEM) pairs.
pub async fn served_certificates(
    expect: &[(String, String)],
    config: &ClientConfig,
) -> Result<ServedReport, ServedCertError> {
    if expect.is_empty() {
        return Err(ServedCertError::NoNodes);
    }
    let mut served = Vec::with_capacity(expect.len());
    for (addr, pem) in expect {
        served.push((addr.clone(), pem.clone(), read_one(addr, config).await));
    }
    compare_served(served).map_err(ServedCertError::Expected)
}

/// Polls [`served_certificates`] every `every` until every node serves the expected
/// certificate or `deadline` passes; returns the last report either way (the caller judges
/// `all_expected`).
pub async fn wait_served(
    expect: &[(String, String)],
    config: &ClientConfig,
    deadline: Duration,
    every: Duration,
) -> Result<ServedReport, ServedCertError> {
    let first = served_certificates(expect, config).await?;
    if first.all_expected {
        return Ok(first);
    }
    let last = Arc::new(Mutex::new(first));
    let _ = until(
        "every node to serve the expected certificate",
        deadline,
        every,
        || {
            let last = Arc::clone(&last);
            async move {
                let r = served_certificates(expect, config)
                    .await
                    .map_err(|e| e.to_string())?;
                let done = r.all_expected;
                let problems = r.problems().join("; ");
                *last.lock().expect("not poisoned") = r;
                if done {
                    Ok(Some(()))
                } else {
                    Err(problems)
                }
            }
        },
    )
    .await;
    let r = last.lock().expect("not poisoned").clone();
    Ok(r)
}

async fn read_one(addr: &str, config: &ClientConfig) -> Result<Vec<u8>, String> {
    let client = NodeClient::new(addr, config).map_err(|e| vaultops_types::error_report(&e))?;
    match client.peer_certificate().await {
        Ok(Some(der)) => Ok(der),
        Ok(None) => Err("no certificate presented (plain HTTP?)".into()),
        Err(e) => Err(vaultops_types::error_report(&e)),
    }
}
