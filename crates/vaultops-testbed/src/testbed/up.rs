//! `up`: creating a new testbed (image, network, TLS material and configs, volumes, audit
//! sink, transit unsealer, node containers, then the bootstrap) or bringing an existing one
//! back to healthy (start, unpause, reconnect, unseal), idempotently.

use bollard::Docker;
use vaultops_api::NodeRole;
use vaultops_bootstrap::TRANSIT_KEY;
use vaultops_types::Engine;

use super::resources::{
    create_network, create_nodes, create_unsealer, create_volumes, start_sink, write_material,
};
use super::*;
use crate::docker::{self as dk};
use crate::error::TestbedError;
use crate::image::{ensure_image, openbao_release};
use crate::plan::{check_ports_free, host_ports_with_unsealer, Plan};
use crate::progress::{Progress, Step};
use crate::render::ServerSpec;
use crate::seal::SealKind;
use crate::state::StateDir;

impl Testbed {
    /// Brings testbed `opts.name` up, or reports that it already is (idempotent).
    pub async fn up(
        opts: &UpOptions,
        progress: &mut dyn Progress,
    ) -> Result<(Testbed, UpOutcome), TestbedError> {
        let step = Step::begin(progress, "docker");
        let docker = dk::connect().await?;
        let existing = dk::containers(&docker, &opts.name).await?;
        step.end(if existing.is_empty() {
            "connected; no existing testbed".to_owned()
        } else {
            format!("connected; testbed {} exists", opts.name)
        });
        if !existing.is_empty() {
            return Self::ensure_running(docker, opts, progress).await;
        }
        // Left-overs without containers (a kept failed run, an interrupted down) are ours:
        // clear them so the names are free.
        dk::remove_all(&docker, &opts.name).await?;
        match Self::create(&docker, opts, progress).await {
            Ok(ok) => Ok(ok),
            Err(e) if opts.keep_on_failure => {
                tracing::warn!(testbed = %opts.name, "up failed; keeping its resources ({KEEP_ENV}=1)");
                Err(e)
            }
            Err(e) => {
                if let Err(cleanup) = dk::remove_all(&docker, &opts.name).await {
                    tracing::warn!(testbed = %opts.name, error = %cleanup, "cleanup after a failed up failed");
                }
                let _ = StateDir::new(&opts.state_root, &opts.name).reset();
                Err(e)
            }
        }
    }

    async fn create(
        docker: &Docker,
        opts: &UpOptions,
        progress: &mut dyn Progress,
    ) -> Result<(Testbed, UpOutcome), TestbedError> {
        let name = &opts.name;
        let count = opts.nodes.unwrap_or_default();
        let engine = opts.engine.unwrap_or(Engine::OpenBao);
        let seal = opts.seal.unwrap_or_default();
        if !seal.supported_by(engine) {
            return Err(TestbedError::SealUnsupported {
                seal: seal.as_str(),
                engine,
            });
        }
        let transit = seal == SealKind::Transit;
        let release = match (engine, opts.openbao_version.as_deref()) {
            (Engine::Vault, Some(version)) => {
                return Err(TestbedError::VersionForVault {
                    version: version.to_owned(),
                })
            }
            (_, version) => openbao_release(version)?,
        };

        let step = Step::begin(progress, "ports");
        let (ports, unsealer_port) = host_ports_with_unsealer(opts.ports, count, transit)?;
        let mut wanted: Vec<(String, u16)> = count
            .ids()
            .map(|id| id.to_string())
            .zip(ports.iter().copied())
            .collect();
        if let Some(p) = unsealer_port {
            wanted.push(("the transit unsealer".to_owned(), p));
        }
        check_ports_free(&wanted)?;
        step.end(format!(
            "127.0.0.1:{}{}",
            join(&ports),
            unsealer_port.map_or(String::new(), |p| format!(" (unsealer {p})"))
        ));

        let step = Step::begin(progress, "image");
        let image = ensure_image(docker, engine, opts.image.as_deref(), release).await?;
        step.end(format!("{} ({:?})", image.reference, image.origin));

        let step = Step::begin(progress, "network");
        let subnet = create_network(docker, name).await?;
        let mut plan = Plan::new(name, subnet, &ports);
        plan.disable_standby_reads = opts.disable_standby_reads;
        if let Some(p) = unsealer_port {
            plan = plan.with_unsealer(p);
        }
        step.end(format!("{} {subnet}", name.network()));

        let step = Step::begin(progress, "tls+config");
        let state = StateDir::new(&opts.state_root, name);
        state.reset()?;
        let sink_addr = image.has_busybox.then(|| plan.sink_addr());
        let material = write_material(&state, &plan, engine, sink_addr.as_deref(), seal)?;
        step.end(format!(
            "{}{}",
            state.dir().display(),
            if seal == SealKind::Static {
                "; static seal key 0600"
            } else {
                ""
            }
        ));

        let nodes: Vec<TestbedNode> = plan
            .nodes
            .iter()
            .map(|n| TestbedNode {
                id: n.id,
                container: n.container.clone(),
                ip: n.ip,
                host_port: n.host_port,
            })
            .collect();
        let mut tb = Testbed::assemble(
            docker.clone(),
            name.clone(),
            (engine, seal),
            state,
            (nodes, subnet),
            None,
        )?;
        tb.unsealer = plan.unsealer.as_ref().map(|u| UnsealerNode {
            container: u.container.clone(),
            ip: u.ip,
            host_port: u.host_port,
        });
        let spec = ServerSpec {
            image: &image.reference,
            binary: image.binary,
            engine,
            seal,
            transit_token: None,
        };

        let step = Step::begin(progress, "containers");
        // The sink must listen before the nodes log anything (a socket device that cannot
        // write fails requests when it is the only device); node1 starts only after both.
        let sink = async {
            if !image.has_busybox {
                // ensure_image refuses such an image; never run with less than documented.
                return Err(TestbedError::ImageWithoutBusybox {
                    image: image.reference.clone(),
                });
            }
            start_sink(docker, &plan, &image).await.map(Some)
        };
        // Node containers need the transit token in their environment, which exists only
        // once the unsealer is prepared: with transit they are created after it.
        let servers = async {
            create_volumes(docker, &plan, engine, seal).await?;
            match (&plan.unsealer, &material.unsealer) {
                (Some(u), Some(files)) => {
                    create_unsealer(docker, &plan.name, u, &spec, &material.ca_pem, files).await
                }
                _ => create_nodes(docker, &plan, &spec, &material).await,
            }
        };
        let (sink, created) = tokio::join!(sink, servers);
        tb.sink = sink?;
        created?;
        step.end(format!(
            "{}{}",
            if transit {
                "unsealer".to_owned()
            } else {
                format!("{} node(s)", tb.nodes.len())
            },
            if tb.sink.is_some() {
                " + audit sink"
            } else {
                ""
            }
        ));

        if transit {
            let step = Step::begin(progress, "unsealer");
            let token = tb.prepare_unsealer(opts.deadline).await?;
            let spec = ServerSpec {
                transit_token: Some(&token),
                ..spec
            };
            create_nodes(docker, &plan, &spec, &material).await?;
            step.end(format!(
                "{} ready: transit key {TRANSIT_KEY}, orphan periodic token; {} node(s) created",
                tb.unsealer.as_ref().map_or("", |u| u.container.as_str()),
                tb.nodes.len()
            ));
        }
        // Only node1 now: the others start once it is initialized (see `bootstrap`).
        tb.start(tb.nodes[0].id).await?;

        tb.bootstrap(opts, progress).await?;
        Ok((
            tb,
            UpOutcome::Created {
                image: image.reference,
                origin: image.origin,
            },
        ))
    }

    /// The idempotent path of `up`: the testbed exists. Healthy: nothing to do. Otherwise
    /// start what is stopped, reconnect what is partitioned, unseal what is sealed.
    async fn ensure_running(
        docker: Docker,
        opts: &UpOptions,
        progress: &mut dyn Progress,
    ) -> Result<(Testbed, UpOutcome), TestbedError> {
        let step = Step::begin(progress, "existing");
        let tb = Testbed::attach_with(docker, &opts.name, &opts.state_root).await?;
        if let Some(n) = opts.nodes {
            if n.get() != tb.nodes.len() {
                return Err(TestbedError::Inconsistent {
                    name: opts.name.to_string(),
                    reason: format!(
                        "has {} nodes, not the {} asked for",
                        tb.nodes.len(),
                        n.get()
                    ),
                });
            }
        }
        if let Some(e) = opts.engine {
            if e != tb.engine {
                return Err(TestbedError::Inconsistent {
                    name: opts.name.to_string(),
                    reason: format!("runs {}, not {e}", tb.engine),
                });
            }
        }
        if let Some(seal) = opts.seal {
            if seal != tb.seal {
                return Err(TestbedError::Inconsistent {
                    name: opts.name.to_string(),
                    reason: format!("uses the {} seal, not {seal}", tb.seal),
                });
            }
        }
        if tb.seal == SealKind::Transit && tb.unsealer.is_none() {
            return Err(TestbedError::Inconsistent {
                name: opts.name.to_string(),
                reason: format!(
                    "uses the transit seal but its unsealer container {} is missing",
                    opts.name.unsealer_container()
                ),
            });
        }
        if tb.init.is_none() {
            return Err(TestbedError::Inconsistent {
                name: opts.name.to_string(),
                reason: format!("has no {}", tb.state.init_file().display()),
            });
        }
        let status = tb.status().await?;
        if status.healthy() {
            step.end("running and healthy: nothing to do");
            tb.write_env(opts.with_token)?;
            return Ok((tb, UpOutcome::AlreadyRunning));
        }
        step.end(format!("not healthy: {}", status.problems.join("; ")));

        let step = Step::begin(progress, "repair");
        // The unsealer first: a transit node cannot start (it exits and Docker restarts it)
        // until the unsealer answers unsealed.
        let mut actions = tb.restore_unsealer(opts.deadline).await?;
        for n in &status.nodes {
            match n.container_state.as_str() {
                "running" => {}
                "paused" => {
                    tb.unpause(n.id).await?;
                    actions.push(format!("unpaused {}", n.id));
                }
                _ => {
                    tb.start(n.id).await?;
                    actions.push(format!("started {}", n.id));
                }
            }
            if !tb.is_connected(n.id).await? {
                tb.reconnect(n.id).await?;
                actions.push(format!("reconnected {}", n.id));
            }
        }
        let set = tb.node_set();
        set.wait_all(
            "every node's API listener",
            &[
                NodeRole::Sealed,
                NodeRole::Active,
                NodeRole::Standby,
                NodeRole::PerformanceStandby,
            ],
            opts.deadline,
        )
        .await
        .or_fail(&tb, "waiting for the listeners")
        .await?;
        if tb.seal.is_auto() {
            set.wait_all(
                "every node to unseal itself",
                &[
                    NodeRole::Active,
                    NodeRole::Standby,
                    NodeRole::PerformanceStandby,
                ],
                opts.deadline,
            )
            .await
            .or_fail(&tb, "waiting for the nodes to unseal themselves")
            .await?;
        }
        // Every sealed node at once: one node alone cannot become active without quorum.
        // (Nothing to do with auto-unseal: there are no unseal keys, and none is sealed.)
        let keys = tb.threshold_keys().to_vec();
        let unseals = set.nodes().iter().filter(|_| !keys.is_empty()).map(|c| {
            let keys = keys.clone();
            async move { vaultops_bootstrap::unseal_node(c, &keys).await }
        });
        for (i, r) in futures_util::future::join_all(unseals)
            .await
            .into_iter()
            .enumerate()
        {
            match r {
                Ok(vaultops_bootstrap::UnsealOutcome::Unsealed { .. }) => {
                    actions.push(format!("unsealed node{}", i + 1))
                }
                Ok(_) => {}
                Err(e) => return Err(tb.failed("unsealing", e).await),
            }
        }
        let active = set
            .wait_active(opts.deadline)
            .await
            .or_fail(&tb, "waiting for an active node")
            .await?;
        let active = tb.root_client(tb.nodes[active].id);
        vaultops_bootstrap::wait_voters(&active, tb.nodes.len(), opts.deadline)
            .await
            .or_fail(&tb, "waiting for every node to be a raft voter")
            .await?;
        step.end(if actions.is_empty() {
            "settled without changes".to_owned()
        } else {
            actions.join(", ")
        });
        tb.write_env(opts.with_token)?;
        Ok((tb, UpOutcome::Repaired { actions }))
    }
}

fn join(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
