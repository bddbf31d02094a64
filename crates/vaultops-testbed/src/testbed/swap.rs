//! The binary swap of a rolling upgrade, the testbed way: node `id`'s container is replaced by
//! one of the image of another pinned OpenBao release, keeping everything else: its name,
//! address and alias on the testbed network, published port, raft data volume, environment
//! (the transit token, when there is one) and the files uploaded into it (configuration, TLS
//! material, the static seal's key). What `docker compose up -d` with a new image tag, or a
//! StatefulSet pod deleted under `OnDelete`, does in production.

use std::time::Duration;

use bollard::query_parameters::{InspectContainerOptions, RemoveContainerOptionsBuilder};
use vaultops_types::Engine;

use crate::docker::{self as dk, UploadEntry};
use crate::error::TestbedError;
use crate::image::{ensure_image, openbao_release};
use crate::names::NodeId;
use crate::render::{self, ServerSpec};
use crate::seal::{SealKind, STATIC_KEY_DIR, STATIC_KEY_FILE};
use crate::testbed::resources::{create_container, dir, file};
use crate::testbed::{start_container, Testbed};

impl Testbed {
    /// Replaces node `id`'s container by one running pinned OpenBao release `version` (stopped
    /// with SIGTERM, SIGKILL after `timeout`), and starts it. Returns the new image reference.
    /// A Shamir node comes back sealed ([`Testbed::unseal`]); an auto-unseal node unseals
    /// itself. Does not wait for the server: callers poll with their own deadline.
    pub async fn swap_version(
        &self,
        id: NodeId,
        version: &str,
        timeout: Duration,
    ) -> Result<String, TestbedError> {
        if self.engine != Engine::OpenBao {
            return Err(TestbedError::VersionForVault {
                version: version.to_owned(),
            });
        }
        let release = openbao_release(Some(version))?;
        let image = ensure_image(&self.docker, Engine::OpenBao, None, release).await?;
        let node = self.node(id)?.clone();
        let plan = self.plan_view();
        let node_plan =
            plan.nodes
                .iter()
                .find(|n| n.id == id)
                .ok_or_else(|| TestbedError::NoSuchNode {
                    name: self.name.to_string(),
                    node: id.to_string(),
                    nodes: self.nodes.len(),
                })?;

        // What the old container holds that the new one needs: its files and environment.
        let mut paths = vec![
            (render::CONFIG_FILE, 0o640),
            (render::CA_FILE, 0o644),
            (render::CERT_FILE, 0o644),
            (render::KEY_FILE, 0o600),
        ];
        if self.seal == SealKind::Static {
            paths.push((STATIC_KEY_FILE, 0o600));
        }
        let mut entries = vec![dir("vault")];
        entries.extend(
            crate::image::VAULT_DIRS
                .iter()
                .map(|d| dir(&format!("vault/{d}"))),
        );
        if self.seal == SealKind::Static {
            entries.push(UploadEntry {
                path: STATIC_KEY_DIR.trim_start_matches('/').to_owned(),
                mode: 0o700,
                data: None,
            });
        }
        for (path, mode) in paths {
            let data = dk::download_file(&self.docker, &node.container, path)
                .await?
                .ok_or_else(|| TestbedError::Inconsistent {
                    name: self.name.to_string(),
                    reason: format!("{} has no {path}", node.container),
                })?;
            entries.push(file(path, mode, &data));
        }
        let env = self
            .docker
            .inspect_container(&node.container, None::<InspectContainerOptions>)
            .await
            .map_err(|e| TestbedError::docker("inspecting container", &node.container, e))?
            .config
            .and_then(|c| c.env);

        self.stop(id, timeout).await?;
        let remove = RemoveContainerOptionsBuilder::new().force(true).build();
        self.docker
            .remove_container(&node.container, Some(remove))
            .await
            .map_err(|e| TestbedError::docker("removing container", &node.container, e))?;

        let spec = ServerSpec {
            image: &image.reference,
            binary: image.binary,
            engine: Engine::OpenBao,
            seal: self.seal,
            transit_token: None,
        };
        let mut body = render::node_container(&self.name, node_plan, &spec);
        if env.is_some() {
            body.env = env;
        }
        create_container(&self.docker, &self.name, &node.container, body).await?;
        dk::upload(&self.docker, &node.container, &entries).await?;
        start_container(&self.docker, &self.name, &node.container).await?;
        Ok(image.reference)
    }
}
