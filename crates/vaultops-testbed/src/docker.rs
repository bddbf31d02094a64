//! The Docker plumbing shared by the runtime: connecting (with API version negotiation),
//! classifying 404/409 as the idempotent outcomes they are, listing and removing a testbed's
//! objects by label, reading logs, uploading files as a tar with explicit ownership, and
//! running a command in a container.

use std::collections::HashMap;

use bollard::errors::Error as BollardError;
use bollard::models::ContainerSummary;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use crate::error::TestbedError;
use crate::names::TestbedName;

/// Connects to the local engine (`DOCKER_HOST` or the unix socket) and negotiates the API
/// version down to what the engine speaks (20.10 speaks 1.41).
pub async fn connect() -> Result<Docker, TestbedError> {
    let docker =
        Docker::connect_with_local_defaults().map_err(|e| TestbedError::DockerUnreachable {
            reason: e.to_string(),
        })?;
    docker
        .negotiate_version()
        .await
        .map_err(|e| TestbedError::DockerUnreachable {
            reason: e.to_string(),
        })
}

pub(crate) use crate::error::docker_status as status_of;

/// 404: the object does not exist (a delete of it is already done).
pub fn is_not_found(e: &BollardError) -> bool {
    status_of(e) == Some(404)
}

/// 409: the object already exists (a create of it is already done), or is in a state that
/// makes the request moot (e.g. removal already in progress).
pub fn is_conflict(e: &BollardError) -> bool {
    status_of(e) == Some(409)
}

/// 304: start of a running / stop of a stopped container.
pub fn is_not_modified(e: &BollardError) -> bool {
    status_of(e) == Some(304)
}

/// Every container of the testbed, running or not.
pub async fn containers(
    docker: &Docker,
    name: &TestbedName,
) -> Result<Vec<ContainerSummary>, TestbedError> {
    let opts = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&name.label_filter())
        .build();
    docker
        .list_containers(Some(opts))
        .await
        .map_err(|e| TestbedError::docker("listing containers of", name.network(), e))
}

/// Names of the testbed's networks.
pub async fn networks(docker: &Docker, name: &TestbedName) -> Result<Vec<String>, TestbedError> {
    let opts = ListNetworksOptionsBuilder::new()
        .filters(&name.label_filter())
        .build();
    let nets = docker
        .list_networks(Some(opts))
        .await
        .map_err(|e| TestbedError::docker("listing networks of", name.network(), e))?;
    Ok(nets.into_iter().filter_map(|n| n.name).collect())
}

/// Names of the testbed's volumes.
pub async fn volumes(docker: &Docker, name: &TestbedName) -> Result<Vec<String>, TestbedError> {
    let opts = ListVolumesOptionsBuilder::new()
        .filters(&name.label_filter())
        .build();
    let vols = docker
        .list_volumes(Some(opts))
        .await
        .map_err(|e| TestbedError::docker("listing volumes of", name.network(), e))?;
    Ok(vols
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect())
}

/// What [`remove_all`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

impl Removed {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty() && self.volumes.is_empty()
    }
}

/// Removes every container, network and volume labelled with the testbed's name, in that
/// order (a network or volume in use cannot be removed). Objects that vanish meanwhile (404)
/// count as removed, so running it twice, or concurrently, is safe.
pub async fn remove_all(docker: &Docker, name: &TestbedName) -> Result<Removed, TestbedError> {
    let mut removed = Removed::default();
    let force = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    let list = containers(docker, name).await?;
    let tasks = list.iter().filter_map(container_name).map(|cname| {
        let force = force.clone();
        async move {
            match docker.remove_container(&cname, Some(force)).await {
                Ok(()) => Ok(cname),
                Err(e) if is_not_found(&e) || is_conflict(&e) => Ok(cname),
                Err(e) => Err(TestbedError::docker("removing container", cname, e)),
            }
        }
    });
    for r in futures_util::future::join_all(tasks).await {
        removed.containers.push(r?);
    }
    for net in networks(docker, name).await? {
        match docker.remove_network(&net).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(TestbedError::docker("removing network", net, e)),
        }
        removed.networks.push(net);
    }
    for vol in volumes(docker, name).await? {
        let opts = RemoveVolumeOptionsBuilder::new().force(true).build();
        match docker.remove_volume(&vol, Some(opts)).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(TestbedError::docker("removing volume", vol, e)),
        }
        removed.volumes.push(vol);
    }
    Ok(removed)
}

/// A container's name without Docker's leading `/`.
pub fn container_name(c: &ContainerSummary) -> Option<String> {
    c.names
        .as_ref()?
        .first()
        .map(|n| n.trim_start_matches('/').to_owned())
}

/// The last `tail` lines of a container's stdout and stderr, interleaved as Docker stored them.
pub async fn logs(docker: &Docker, container: &str, tail: usize) -> Result<String, TestbedError> {
    let opts = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .tail(&tail.to_string())
        .build();
    let mut stream = docker.logs(container, Some(opts));
    let mut out = String::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => out.push_str(&chunk.to_string()),
            Err(e) => return Err(TestbedError::docker("reading logs of", container, e)),
        }
    }
    Ok(out)
}

/// One file (or directory, when `data` is `None`) to upload with [`upload`].
#[derive(Debug, Clone)]
pub struct UploadEntry {
    /// Path relative to `/`, e.g. `vault/config/config.hcl`.
    pub path: String,
    pub mode: u32,
    pub data: Option<Vec<u8>>,
}

/// Owner of uploaded files: the server user of every image (uid 100, gid 1000).
pub const SERVER_UID: u64 = 100;
/// See [`SERVER_UID`].
pub const SERVER_GID: u64 = 1000;

/// The tar [`upload`] sends: entries owned by 100:1000 with the given modes. Pure.
pub fn upload_tar(entries: &[UploadEntry]) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_uid(SERVER_UID);
        h.set_gid(SERVER_GID);
        h.set_mode(e.mode);
        h.set_mtime(0);
        match &e.data {
            Some(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(d.len() as u64);
                tar.append_data(&mut h, &e.path, d.as_slice())?;
            }
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                tar.append_data(&mut h, format!("{}/", e.path), std::io::empty())?;
            }
        }
    }
    tar.into_inner()
}

/// Extracts `entries` at `/` in a (created, not necessarily started) container. The daemon
/// keeps the tar's ownership, so the non-root server can read its key and write its data dir
/// without any bind-mount permission games.
pub async fn upload(
    docker: &Docker,
    container: &str,
    entries: &[UploadEntry],
) -> Result<(), TestbedError> {
    let tar = upload_tar(entries).map_err(|source| TestbedError::UploadArchive {
        container: container.to_owned(),
        source,
    })?;
    let opts = UploadToContainerOptionsBuilder::new().path("/").build();
    docker
        .upload_to_container(container, Some(opts), bollard::body_full(tar.into()))
        .await
        .map_err(|e| TestbedError::docker("uploading files to", container, e))
}

/// Reads a file from a container (running or stopped) through the archive API; `None` when it
/// does not exist.
pub async fn download_file(
    docker: &Docker,
    container: &str,
    path: &str,
) -> Result<Option<Vec<u8>>, TestbedError> {
    let opts = bollard::query_parameters::DownloadFromContainerOptionsBuilder::new()
        .path(path)
        .build();
    let mut stream = docker.download_from_container(container, Some(opts));
    let mut tar_bytes = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(b) => tar_bytes.extend_from_slice(&b),
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => {
                return Err(TestbedError::docker(
                    "downloading a file from",
                    container,
                    e,
                ))
            }
        }
    }
    let mut archive = tar::Archive::new(tar_bytes.as_slice());
    let unreadable = |source| TestbedError::DownloadArchive {
        container: container.to_owned(),
        path: path.to_owned(),
        source,
    };
    let entries = archive.entries().map_err(unreadable)?;
    for entry in entries {
        let mut entry = entry.map_err(unreadable)?;
        if entry.header().entry_type().is_file() {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).map_err(unreadable)?;
            return Ok(Some(data));
        }
    }
    Ok(None)
}

/// Labels of a listed container.
pub fn labels(c: &ContainerSummary) -> HashMap<String, String> {
    c.labels.clone().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_tar_sets_owner_and_modes() {
        let tar = upload_tar(&[
            UploadEntry {
                path: "vault/tls".into(),
                mode: 0o755,
                data: None,
            },
            UploadEntry {
                path: "vault/tls/node-key.pem".into(),
                mode: 0o600,
                data: Some(b"key".to_vec()),
            },
        ])
        .unwrap();
        let mut a = tar::Archive::new(tar.as_slice());
        let got: Vec<(String, u64, u64, u32, bool)> = a
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                    h.mode().unwrap(),
                    h.entry_type().is_dir(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("vault/tls/".to_owned(), 100, 1000, 0o755, true),
                ("vault/tls/node-key.pem".to_owned(), 100, 1000, 0o600, false),
            ]
        );
    }

    #[test]
    fn status_classification() {
        let e = |status_code| BollardError::DockerResponseServerError {
            status_code,
            message: String::new(),
        };
        assert!(is_not_found(&e(404)) && !is_conflict(&e(404)));
        assert!(is_conflict(&e(409)) && !is_not_found(&e(409)));
        assert!(is_not_modified(&e(304)));
        assert!(!is_not_found(&BollardError::RequestTimeoutError));
    }
}
