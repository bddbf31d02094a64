//! [`TestbedError`]: one variant per operation that can fail, each naming the object (testbed,
//! node, image, path) and saying what to do next.

use std::path::PathBuf;

use crate::names::{InvalidName, InvalidNodeCount, InvalidNodeId};
use crate::plan::{InvalidSubnet, PortError};

/// A testbed operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TestbedError {
    #[error("cannot reach the Docker engine: {reason}. Start Docker (e.g. `systemctl start docker` or `dockerd &`), check that /var/run/docker.sock is accessible, or set DOCKER_HOST")]
    DockerUnreachable { reason: String },

    #[error("docker: {op} {object} failed")]
    Docker {
        op: &'static str,
        object: String,
        #[source]
        source: DockerError,
    },
    #[error("docker: creating network {network} failed {attempts} times: the subnet Docker offered was taken each time before it could be used (last answer: {last}); remove unused networks (`docker network prune`) and run up again")]
    NetworkSubnetTaken {
        network: String,
        attempts: u32,
        last: String,
    },
    #[error("cutting {node} off from its peers (or healing it): `{command}` {outcome}; this needs root and the host's iptables (Debian package `iptables`), run in the node's network namespace through nsenter (util-linux)")]
    PeerFirewall {
        node: String,
        command: String,
        outcome: String,
    },
    #[error("docker: assembling the archive of files for container {container} failed")]
    UploadArchive {
        container: String,
        #[source]
        source: std::io::Error,
    },
    #[error("docker: reading {path} from the archive container {container} sent failed")]
    DownloadArchive {
        container: String,
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    InvalidName(#[from] InvalidName),
    #[error(transparent)]
    InvalidNodeCount(#[from] InvalidNodeCount),
    #[error(transparent)]
    InvalidNode(#[from] InvalidNodeId),
    #[error(transparent)]
    Port(#[from] PortError),
    #[error("network {network} has no usable IPv4 subnet")]
    Subnet {
        network: String,
        #[source]
        source: InvalidSubnet,
    },

    #[error("image {image} is not present locally and cannot be pulled: {reason}")]
    ImageUnavailable { image: String, reason: String },
    #[error("the Vault engine needs the image {image}, which is not present locally and cannot be pulled ({reason}); no Vault binary can be built here: `docker load` the image from a machine with registry access, or use --engine openbao")]
    VaultImageUnavailable { image: String, reason: String },
    #[error("no static busybox at {}: the local testbed image needs it for its audit sink (the socket and syslog audit devices) and `docker exec … sh`; install it (Debian: `apt-get install busybox-static`) and run again", .path.display())]
    BusyboxMissing { path: std::path::PathBuf },
    #[error("image {image} has no busybox (label vaultops.busybox=false): the testbed needs it for its audit sink; use an image with /bin/busybox (the official images have it) or let the testbed build its local image")]
    ImageWithoutBusybox { image: String },
    #[error("building image {image} failed: {reason}{}", fmt_output(.output))]
    ImageBuild {
        image: String,
        reason: String,
        output: String,
    },
    #[error("obtaining the bao binary for the local image failed")]
    InstallBao {
        #[source]
        source: vaultops_install::InstallError,
    },

    #[error("TLS material for {what}: {reason}")]
    Tls { what: String, reason: String },
    #[error("rendering the server config of {node} failed")]
    Render {
        node: String,
        #[source]
        source: vaultops_config::RenderError,
    },
    #[error("testbed state {} could not be written or read", .path.display())]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("testbed state {} could not be written", .path.display())]
    WriteState {
        path: PathBuf,
        #[source]
        source: vaultops_fs::AtomicWriteError,
    },

    #[error("testbed {name}: {step} failed{}", fmt_logs(.logs))]
    Bootstrap {
        name: String,
        step: &'static str,
        #[source]
        source: Box<vaultops_bootstrap::BootstrapError>,
        /// The last log lines of every node, to show why.
        logs: String,
    },
    #[error("testbed {name}: {step} on {node} failed")]
    Api {
        name: String,
        step: &'static str,
        node: String,
        #[source]
        source: Box<vaultops_api::ApiError>,
    },
    #[error("testbed {name}: applying the baseline rollout (examples/rollout.yaml) failed")]
    Baseline {
        name: String,
        #[source]
        source: Box<vaultops_bootstrap::ApplyError>,
    },
    #[error("the baseline rollout (examples/rollout.yaml) for the testbed is invalid: {reason}")]
    BaselineRollout { reason: String },
    #[error("testbed {name}: container {container} did not start: {reason}{}", fmt_logs(.logs))]
    ContainerStart {
        name: String,
        container: String,
        reason: String,
        logs: String,
    },

    #[error("testbed {name}: {step} on the transit unsealer failed{}", fmt_logs(.logs))]
    Unsealer {
        name: String,
        step: &'static str,
        #[source]
        source: Box<vaultops_bootstrap::BootstrapError>,
        /// The unsealer's last log lines.
        logs: String,
    },
    #[error("testbed {name}: {node} uses the {seal} seal and unseals itself; wait for it instead (if it stays sealed, check `cargo xtask testbed status --name {name}` and its logs)")]
    AutoUnseal {
        name: String,
        node: String,
        seal: &'static str,
    },
    #[error("testbed {name} uses the {seal} seal: it has no transit unsealer (create one with `--seal transit`)")]
    NoUnsealer { name: String, seal: &'static str },
    #[error("--version {version} chooses an OpenBao release; the Vault engine runs its pinned official image (drop --version, or use --engine openbao)")]
    VersionForVault { version: String },
    #[error("testbed --version: not a pinned OpenBao release")]
    UnpinnedVersion {
        #[source]
        source: vaultops_install::InstallError,
    },
    #[error("the {seal} seal does not work with {engine}: use --seal transit or --seal shamir, or --engine openbao")]
    SealUnsupported {
        seal: &'static str,
        engine: vaultops_types::Engine,
    },

    #[error(
        "no testbed named {name} exists: create it with `cargo xtask testbed up --name {name}`"
    )]
    NotFound { name: String },
    #[error("testbed {name} exists but {reason}: remove it with `cargo xtask testbed down --name {name}` and run up again")]
    Inconsistent { name: String, reason: String },
    #[error("testbed {name}: its unseal keys were not replaced ({reason}); init.json and the keys in memory are unchanged")]
    ReplaceKeys { name: String, reason: String },
    #[error("testbed {name} has no {node} (it has {nodes} nodes)")]
    NoSuchNode {
        name: String,
        node: String,
        nodes: usize,
    },
    #[error("cannot locate the testbed state root (the workspace target directory): {reason}")]
    StateRoot { reason: String },
    #[error("{what} failed: the background task did not finish ({reason})")]
    BlockingTask { what: &'static str, reason: String },
    #[error("testbed {name}: cannot make a client for the transit unsealer")]
    UnsealerClient {
        name: String,
        #[source]
        source: Box<vaultops_api::BuildClientError>,
    },
}

/// An error from the Docker engine or its client. Its text is the engine's answer; the
/// engine client's own error type stays inside (it is not part of this crate's API).
#[derive(Debug)]
pub struct DockerError(bollard::errors::Error);

impl DockerError {
    /// The HTTP status the engine answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        docker_status(&self.0)
    }
}

/// The HTTP status of an engine answer (`None` when the engine did not answer).
pub(crate) fn docker_status(e: &bollard::errors::Error) -> Option<u16> {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

impl std::fmt::Display for DockerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DockerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl TestbedError {
    pub(crate) fn docker(
        op: &'static str,
        object: impl Into<String>,
        source: bollard::errors::Error,
    ) -> Self {
        Self::Docker {
            op,
            object: object.into(),
            source: DockerError(source),
        }
    }

    pub(crate) fn blocking(what: &'static str, e: tokio::task::JoinError) -> Self {
        Self::BlockingTask {
            what,
            reason: e.to_string(),
        }
    }

    pub(crate) fn state(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::State {
            path: path.into(),
            source,
        }
    }
}

fn fmt_output(output: &str) -> String {
    if output.is_empty() {
        String::new()
    } else {
        format!("\n--- build output (last lines) ---\n{output}")
    }
}

fn fmt_logs(logs: &str) -> String {
    if logs.is_empty() {
        String::new()
    } else {
        format!("\n{logs}")
    }
}
