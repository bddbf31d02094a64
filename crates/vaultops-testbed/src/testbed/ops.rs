//! Node operations for scenarios: start, stop (SIGTERM with a timeout), kill (SIGKILL),
//! pause/unpause, restart, disconnect from / reconnect to the testbed network (a partition
//! from everyone, the host included), cutting a node off from its peers only (the host still
//! reaches it), logs, and copying the audit logs out.
//!
//! Each operation is idempotent where Docker allows it: starting a running node, stopping a
//! stopped one or disconnecting a disconnected one succeeds. None of them waits for the
//! server to change state; callers poll (e.g. `NodeSet::wait_active`) with their own deadline.
//! A restarted Shamir node comes back sealed: see [`Testbed::unseal`]; an auto-unseal node
//! unseals itself. Every server container runs with Docker's `on-failure` restart policy
//! ([`crate::render::RESTART_POLICY`]): a crashed server comes back, but one stopped or
//! killed through these operations stays down until started (Docker counts that as a manual
//! stop; checked on Docker 20.10).

use std::path::PathBuf;
use std::time::Duration;

use bollard::models::{NetworkConnectRequest, NetworkDisconnectRequest};
use bollard::query_parameters::{
    InspectContainerOptions, KillContainerOptionsBuilder, RestartContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};

use crate::docker::{self as dk, is_not_modified};
use crate::error::TestbedError;
use crate::names::NodeId;
use crate::render;
use crate::testbed::{start_container, Testbed};

impl Testbed {
    fn container(&self, id: NodeId) -> Result<String, TestbedError> {
        Ok(self.node(id)?.container.clone())
    }

    /// Starts node `id`'s container (no-op when running).
    pub async fn start(&self, id: NodeId) -> Result<(), TestbedError> {
        let c = self.container(id)?;
        start_container(&self.docker, &self.name, &c).await
    }

    /// Stops node `id` with SIGTERM, then SIGKILL after `timeout` (no-op when stopped).
    /// Docker's restart policy does not start it again (a stop through the API counts as
    /// manual); [`Testbed::start`] does.
    pub async fn stop(&self, id: NodeId, timeout: Duration) -> Result<(), TestbedError> {
        let c = self.container(id)?;
        self.stop_container(&c, timeout).await
    }

    /// Kills node `id` with SIGKILL (a crash: no graceful shutdown). Like [`Testbed::stop`],
    /// the restart policy leaves it down until [`Testbed::start`].
    pub async fn kill(&self, id: NodeId) -> Result<(), TestbedError> {
        self.signal(id, "SIGKILL").await
    }

    /// Sends `signal` (e.g. `SIGHUP` to reload the config) to node `id`'s server process.
    pub async fn signal(&self, id: NodeId, signal: &str) -> Result<(), TestbedError> {
        let c = self.container(id)?;
        self.signal_container(&c, signal).await
    }

    pub(crate) async fn stop_container(
        &self,
        c: &str,
        timeout: Duration,
    ) -> Result<(), TestbedError> {
        let opts = StopContainerOptionsBuilder::new().t(secs(timeout)).build();
        match self.docker.stop_container(c, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_modified(&e) => Ok(()),
            Err(e) => Err(TestbedError::docker("stopping container", c, e)),
        }
    }

    pub(crate) async fn signal_container(&self, c: &str, signal: &str) -> Result<(), TestbedError> {
        let opts = KillContainerOptionsBuilder::new().signal(signal).build();
        match self.docker.kill_container(c, Some(opts)).await {
            Ok(()) => Ok(()),
            // 409: not running; a kill of a stopped node is already done.
            Err(e) if dk::is_conflict(&e) && signal == "SIGKILL" => Ok(()),
            Err(e) => Err(TestbedError::docker("signalling container", c, e)),
        }
    }

    /// Freezes node `id`'s processes (it keeps its sockets but answers nothing).
    pub async fn pause(&self, id: NodeId) -> Result<(), TestbedError> {
        let c = self.container(id)?;
        match self.docker.pause_container(&c).await {
            Ok(()) => Ok(()),
            Err(e) if dk::is_conflict(&e) && self.container_state(id).await? == "paused" => Ok(()),
            Err(e) => Err(TestbedError::docker("pausing container", c, e)),
        }
    }

    /// Resumes a paused node.
    pub async fn unpause(&self, id: NodeId) -> Result<(), TestbedError> {
        let c = self.container(id)?;
        match self.docker.unpause_container(&c).await {
            Ok(()) => Ok(()),
            Err(e) if dk::is_conflict(&e) && self.container_state(id).await? != "paused" => Ok(()),
            Err(e) => Err(TestbedError::docker("unpausing container", c, e)),
        }
    }

    /// Restarts node `id` (SIGTERM, SIGKILL after `timeout`, start).
    pub async fn restart(&self, id: NodeId, timeout: Duration) -> Result<(), TestbedError> {
        let c = self.container(id)?;
        let opts = RestartContainerOptionsBuilder::new()
            .t(secs(timeout))
            .build();
        self.docker
            .restart_container(&c, Some(opts))
            .await
            .map_err(|e| TestbedError::docker("restarting container", c, e))
    }

    /// Cuts node `id` off the testbed network (its published port goes with it: the host
    /// cannot reach it either). No-op when already disconnected.
    pub async fn disconnect(&self, id: NodeId) -> Result<(), TestbedError> {
        let c = self.container(id)?;
        if !self.is_connected(id).await? {
            return Ok(());
        }
        let req = NetworkDisconnectRequest {
            container: c.clone(),
            force: Some(true),
        };
        self.docker
            .disconnect_network(&self.name.network(), req)
            .await
            .map_err(|e| TestbedError::docker("disconnecting container", c, e))
    }

    /// Reconnects node `id` with its original address and `node<i>` alias. No-op when
    /// connected.
    pub async fn reconnect(&self, id: NodeId) -> Result<(), TestbedError> {
        let n = self.node(id)?.clone();
        if self.is_connected(id).await? {
            return Ok(());
        }
        let req = NetworkConnectRequest {
            container: n.container.clone(),
            endpoint_config: Some(render::endpoint(n.ip.to_string(), vec![id.hostname()])),
        };
        self.docker
            .connect_network(&self.name.network(), req)
            .await
            .map_err(|e| TestbedError::docker("reconnecting container", n.container, e))
    }

    /// Cuts node `id` off from the other server nodes in both directions while the host (the
    /// test client, through the published port) still reaches it: DROP rules for every peer
    /// address in the node's own network namespace (`nsenter --net=/proc/<pid>/ns/net
    /// iptables`; needs root and the host's iptables). The rules live in the container's
    /// namespace: a restart of the node clears them. Undo with [`Testbed::heal_peers`].
    pub async fn isolate_from_peers(&self, id: NodeId) -> Result<(), TestbedError> {
        self.peer_rules(id, "-I").await
    }

    /// Removes the rules [`Testbed::isolate_from_peers`] added.
    pub async fn heal_peers(&self, id: NodeId) -> Result<(), TestbedError> {
        self.peer_rules(id, "-D").await
    }

    async fn peer_rules(&self, id: NodeId, action: &str) -> Result<(), TestbedError> {
        let c = self.container(id)?;
        let info = self
            .docker
            .inspect_container(&c, None::<InspectContainerOptions>)
            .await
            .map_err(|e| TestbedError::docker("inspecting container", &c, e))?;
        let pid = info
            .state
            .and_then(|s| s.pid)
            .filter(|p| *p > 0)
            .ok_or_else(|| TestbedError::PeerFirewall {
                node: id.to_string(),
                command: "docker inspect".into(),
                outcome: "found no running process".into(),
            })?;
        let netns = format!("--net=/proc/{pid}/ns/net");
        for peer in self.nodes().iter().filter(|n| n.id != id) {
            let ip = peer.ip.to_string();
            for (chain, dir) in [("INPUT", "-s"), ("OUTPUT", "-d")] {
                let args = [
                    netns.as_str(),
                    "iptables",
                    "-w",
                    action,
                    chain,
                    dir,
                    &ip,
                    "-j",
                    "DROP",
                ];
                let command = format!("nsenter {}", args.join(" "));
                let out = tokio::process::Command::new("nsenter")
                    .args(args)
                    .output()
                    .await
                    .map_err(|e| TestbedError::PeerFirewall {
                        node: id.to_string(),
                        command: command.clone(),
                        outcome: format!("could not run: {e}"),
                    })?;
                if !out.status.success() {
                    return Err(TestbedError::PeerFirewall {
                        node: id.to_string(),
                        command,
                        outcome: format!(
                            "failed ({}): {}",
                            out.status,
                            String::from_utf8_lossy(&out.stderr).trim()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Whether node `id`'s container is attached to the testbed network.
    pub async fn is_connected(&self, id: NodeId) -> Result<bool, TestbedError> {
        let c = self.container(id)?;
        let i = self
            .docker
            .inspect_container(&c, None::<InspectContainerOptions>)
            .await
            .map_err(|e| TestbedError::docker("inspecting container", &c, e))?;
        Ok(i.network_settings
            .and_then(|s| s.networks)
            .is_some_and(|n| n.contains_key(&self.name.network())))
    }

    /// The last `tail` lines of node `id`'s server log.
    pub async fn logs(&self, id: NodeId, tail: usize) -> Result<String, TestbedError> {
        let c = self.container(id)?;
        dk::logs(&self.docker, &c, tail).await
    }

    /// The last `tail` lines of the audit sink's own output (`None` without a sink).
    pub async fn sink_logs(&self, tail: usize) -> Result<Option<String>, TestbedError> {
        match &self.sink {
            Some(s) => dk::logs(&self.docker, s, tail).await.map(Some),
            None => Ok(None),
        }
    }

    /// Unseals node `id` with the saved keys (after a restart, a Shamir node is sealed).
    /// With auto-unseal there are no keys: an unsealed node gives `AlreadyUnsealed`, a sealed
    /// one [`TestbedError::AutoUnseal`] (it unseals itself; wait for it).
    pub async fn unseal(
        &self,
        id: NodeId,
    ) -> Result<vaultops_bootstrap::UnsealOutcome, TestbedError> {
        if self.seal.is_auto() {
            let client = self.client(id);
            return match client.seal_status().await {
                Ok(s) if !s.sealed => Ok(vaultops_bootstrap::UnsealOutcome::AlreadyUnsealed),
                Ok(_) => Err(TestbedError::AutoUnseal {
                    name: self.name.to_string(),
                    node: id.to_string(),
                    seal: self.seal.as_str(),
                }),
                Err(source) => Err(TestbedError::Api {
                    name: self.name.to_string(),
                    step: "reading the seal status",
                    node: id.to_string(),
                    source: Box::new(source),
                }),
            };
        }
        let keys = self.threshold_keys().to_vec();
        match vaultops_bootstrap::unseal_node(&self.client(id), &keys).await {
            Ok(o) => Ok(o),
            Err(e) => Err(self.failed("unsealing a node", e).await),
        }
    }

    /// Copies every node's file audit log and the sink's log into the state's `audit/`
    /// directory (`node<i>.log`, `sink.log`); returns the files written.
    pub async fn fetch_audit_logs(&self) -> Result<Vec<PathBuf>, TestbedError> {
        let dir = self.state.audit_dir();
        let mut written = Vec::new();
        let mut sources: Vec<(String, String, &str)> = self
            .nodes
            .iter()
            .map(|n| {
                (
                    n.container.clone(),
                    format!("{}.log", n.id),
                    render::AUDIT_FILE,
                )
            })
            .collect();
        if let Some(s) = &self.sink {
            sources.push((s.clone(), "sink.log".to_owned(), render::SINK_FILE));
        }
        for (container, file, path) in sources {
            if let Some(data) = dk::download_file(&self.docker, &container, path).await? {
                let target = dir.join(file);
                self.state.write_file(&target, &data)?;
                written.push(target);
            }
        }
        Ok(written)
    }
}

fn secs(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}
