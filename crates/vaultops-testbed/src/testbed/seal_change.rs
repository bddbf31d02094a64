//! The operator's half of a seal migration, the testbed way: node `id`'s config re-rendered
//! with a new `seal` stanza (and, when leaving an auto-unseal seal, the old one with
//! `disabled = "true"`), uploaded into its container with the static key when a static seal is
//! involved, and the container restarted. What editing `/etc/openbao/config.hcl` and
//! `systemctl restart openbao` does in production. The config comes from the same templates
//! (`render::node_config_with`), so the scenario also tests the rendered migration stanzas.

use std::time::Duration;

use crate::docker::{self as dk, UploadEntry};
use crate::error::TestbedError;
use crate::names::NodeId;
use crate::render;
use crate::seal::{node_seal, SealKind, StaticKey, STATIC_KEY_DIR, STATIC_KEY_FILE};
use crate::testbed::resources::file;
use crate::testbed::Testbed;

impl Testbed {
    /// Rewrites node `id`'s config with the seal `to` (the stanza of `from` kept with
    /// `disabled = "true"` when `from` is an auto-unseal seal other than `to`; `from == to`
    /// writes only `to`'s stanza: the last node of a migration) and restarts it (SIGTERM,
    /// SIGKILL after `timeout`). Every other setting stays as the node was rendered (plan, audit
    /// sink, `disable_standby_reads` as its current file has it). The static key is created on
    /// first use (0600 in the state directory) and uploaded when either seal is static. A
    /// transit seal needs the testbed's unsealer ([`TestbedError::NoUnsealer`] otherwise). The
    /// node comes back sealed with `migration: true`, or (last node, auto-unseal) unsealed by
    /// itself; the caller unseals and polls with its own deadline.
    pub async fn change_seal(
        &self,
        id: NodeId,
        from: SealKind,
        to: SealKind,
        timeout: Duration,
    ) -> Result<(), TestbedError> {
        if (from == SealKind::Transit || to == SealKind::Transit) && self.unsealer.is_none() {
            return Err(TestbedError::NoUnsealer {
                name: self.name.to_string(),
                seal: self.seal.as_str(),
            });
        }
        let node = self.node(id)?.clone();
        let mut plan = self.plan_view();
        let current = dk::download_file(&self.docker, &node.container, render::CONFIG_FILE)
            .await?
            .unwrap_or_default();
        plan.disable_standby_reads =
            String::from_utf8_lossy(&current).contains("disable_standby_reads = true");
        let node_plan =
            plan.nodes
                .iter()
                .find(|n| n.id == id)
                .ok_or_else(|| TestbedError::NoSuchNode {
                    name: self.name.to_string(),
                    node: id.to_string(),
                    nodes: self.nodes.len(),
                })?;
        let sink = self.sink.is_some().then(|| plan.sink_addr());
        let disabled = (from != to && from.is_auto()).then(|| node_seal(from, render::CA_FILE));
        let rendered = render::node_config_with(
            &plan,
            node_plan,
            self.engine,
            sink.as_deref(),
            &node_seal(to, render::CA_FILE),
            disabled,
        )
        .map_err(|source| TestbedError::Render {
            node: id.hostname(),
            source,
        })?;
        crate::state::write_atomic(
            &self.state.node_config(id),
            rendered.hcl.as_bytes(),
            rendered.file_mode(),
        )?;
        let mut entries = vec![file(render::CONFIG_FILE, 0o640, rendered.hcl.as_bytes())];
        if from == SealKind::Static || to == SealKind::Static {
            let key = match self.state.read_static_key()? {
                Some(k) => k,
                None => {
                    let k = StaticKey::generate()
                        .map_err(|e| TestbedError::state(self.state.static_key_file(), e))?;
                    self.state.write_static_key(&k)?;
                    k
                }
            };
            entries.push(UploadEntry {
                path: STATIC_KEY_DIR.trim_start_matches('/').to_owned(),
                mode: 0o700,
                data: None,
            });
            entries.push(file(STATIC_KEY_FILE, 0o600, key.expose()));
        }
        dk::upload(&self.docker, &node.container, &entries).await?;
        self.restart(id, timeout).await
    }

    /// Records that every node now runs the seal `to` (after a finished migration), so that
    /// the testbed's own decisions (unseal after a restart or not) follow. In memory only: the
    /// containers' `vaultops.seal` label keeps the seal the testbed was created with, so a
    /// migrated testbed is meant to be removed after its scenario (its own testbed).
    pub fn record_seal(&mut self, to: SealKind) {
        self.seal = to;
    }
}
