//! TLS material of running nodes, for the certificate rotation scenarios: reading the files a
//! node's configuration names (`tls_cert_file`, `leader_ca_cert_file`), delivering new ones
//! over them (a certificate and its key in one upload), which CA the testbed's own clients
//! trust, and the identity of a node's server process (to prove a reload did not restart it).
//!
//! Nothing here signals the server: a delivered file is read by the server only at its next
//! SIGHUP ([`Testbed::signal`]) or start.

use bollard::query_parameters::InspectContainerOptions;
use secrecy::{ExposeSecret, SecretString};

use crate::docker::{self as dk, UploadEntry};
use crate::error::TestbedError;
use crate::names::NodeId;
use crate::render;
use crate::testbed::resources::file;
use crate::testbed::Testbed;

/// New TLS files for one node: any of them may be left out.
#[derive(Debug, Default)]
pub struct TlsDelivery {
    /// A certificate and its private key, written together over the files the listener's
    /// `tls_cert_file` / `tls_key_file` name (0644 / 0600).
    pub leaf: Option<(String, SecretString)>,
    /// The CA file every `retry_join { leader_ca_cert_file }` names (0644): one CA or a
    /// trust bundle.
    pub ca: Option<String>,
}

/// Which server process runs in a node's container: a restart changes both fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerProcess {
    /// The server's process id as the host sees it.
    pub pid: i64,
    /// When Docker last started the container (RFC 3339).
    pub started_at: String,
}

impl Testbed {
    /// The certificate (PEM) node `id` is configured to serve, read from its container.
    pub async fn node_cert_pem(&self, id: NodeId) -> Result<String, TestbedError> {
        self.read_node_file(id, render::CERT_FILE).await
    }

    /// The content of node `id`'s `leader_ca_cert_file`, read from its container.
    pub async fn node_leader_ca_pem(&self, id: NodeId) -> Result<String, TestbedError> {
        self.read_node_file(id, render::CA_FILE).await
    }

    async fn read_node_file(&self, id: NodeId, path: &str) -> Result<String, TestbedError> {
        let c = self.node(id)?.container.clone();
        let data = dk::download_file(&self.docker, &c, path)
            .await?
            .ok_or_else(|| TestbedError::Inconsistent {
                name: self.name.to_string(),
                reason: format!("{c} has no {path}"),
            })?;
        String::from_utf8(data).map_err(|_| TestbedError::Inconsistent {
            name: self.name.to_string(),
            reason: format!("{c}:{path} is not PEM text"),
        })
    }

    /// Writes `files` over the paths node `id`'s configuration names, in ONE upload (a
    /// certificate never lands without its key). The running server keeps what it loaded
    /// until its next SIGHUP.
    pub async fn deliver_tls(&self, id: NodeId, files: &TlsDelivery) -> Result<(), TestbedError> {
        let c = self.node(id)?.container.clone();
        let entries = delivery_entries(files);
        if entries.is_empty() {
            return Ok(());
        }
        dk::upload(&self.docker, &c, &entries).await
    }

    /// The server process of node `id`'s container now.
    pub async fn server_process(&self, id: NodeId) -> Result<ServerProcess, TestbedError> {
        let c = self.node(id)?.container.clone();
        let state = self
            .docker
            .inspect_container(&c, None::<InspectContainerOptions>)
            .await
            .map_err(|e| TestbedError::docker("inspecting container", &c, e))?
            .state;
        let none = || TestbedError::Inconsistent {
            name: self.name.to_string(),
            reason: format!("{c} runs no process"),
        };
        let state = state.ok_or_else(none)?;
        match (state.pid.filter(|p| *p > 0), state.started_at) {
            (Some(pid), Some(started_at)) => Ok(ServerProcess { pid, started_at }),
            _ => Err(none()),
        }
    }

    /// Makes this handle's clients ([`Testbed::client_config`], [`Testbed::client`], …)
    /// trust `ca_pem` (one CA or a trust bundle) instead of the testbed CA: a CA rotation's
    /// clients. Only this handle changes; the state directory keeps the original CA.
    pub fn trust_ca(&mut self, ca_pem: &str) {
        self.client_config.ca_pem = Some(ca_pem.as_bytes().to_vec());
    }
}

/// The upload of `files`: the paths the node configuration names, the key readable by the
/// server user only. Pure.
fn delivery_entries(files: &TlsDelivery) -> Vec<UploadEntry> {
    let mut entries = Vec::new();
    if let Some((cert, key)) = &files.leaf {
        entries.push(file(render::CERT_FILE, 0o644, cert.as_bytes()));
        entries.push(file(
            render::KEY_FILE,
            0o600,
            key.expose_secret().as_bytes(),
        ));
    }
    if let Some(ca) = &files.ca {
        entries.push(file(render::CA_FILE, 0o644, ca.as_bytes()));
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_goes_with_its_key_over_the_configured_files_and_the_key_is_0600() {
        let leaf = TlsDelivery {
            leaf: Some(("CERT".into(), SecretString::from("KEY"))),
            ca: None,
        };
        let e = delivery_entries(&leaf);
        let got: Vec<(&str, u32, &[u8])> = e
            .iter()
            .map(|e| {
                (
                    e.path.as_str(),
                    e.mode,
                    e.data.as_deref().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("vault/tls/node.pem", 0o644, b"CERT".as_slice()),
                ("vault/tls/node-key.pem", 0o600, b"KEY".as_slice()),
            ]
        );
        let ca = TlsDelivery {
            leaf: None,
            ca: Some("BUNDLE".into()),
        };
        let e = delivery_entries(&ca);
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].path.as_str(), e[0].mode), ("vault/tls/ca.pem", 0o644));
        assert!(delivery_entries(&TlsDelivery::default()).is_empty());
    }
}
