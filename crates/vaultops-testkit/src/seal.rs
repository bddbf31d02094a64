//! Seal migration helpers for [`Cluster`]: the operator's half of a migration (change one
//! node's `seal` stanza and restart it), and the bookkeeping once every node has migrated.
//!
//! The node comes back sealed with `migration: true`; unsealing it with the old keys and
//! `migrate` is the production code's job (`vaultops_bootstrap::migrate_unseal`), not this
//! harness's.

use std::time::Duration;

use crate::cluster::{render_node, start_transit_unsealer, static_seal, Cluster, NodePaths};
use crate::TestSeal;

impl Cluster {
    /// The `seal` stanza of `seal` for this cluster: the static key file in the cluster's
    /// directory (created once, then reused), or the transit unsealer (started on first use,
    /// its token then given to every node started afterwards). `None` for Shamir.
    pub async fn seal_stanza(&mut self, seal: TestSeal) -> Option<vaultops_config::Seal> {
        match seal {
            TestSeal::Shamir => None,
            TestSeal::Static => Some(static_seal(self.dir())),
            TestSeal::Transit => {
                if self.unsealer.is_none() {
                    let (unsealer, token) = start_transit_unsealer(self.render.0.deadline).await;
                    let env =
                        vaultops_config::TransitSeal::token_env(vaultops_types::Engine::OpenBao);
                    self.seal_env = Some((env, token));
                    self.unsealer = Some(Box::new(unsealer));
                }
                let u = self.unsealer.as_deref().expect("started above");
                Some(vaultops_config::Seal::Transit(
                    vaultops_config::TransitSeal::new(
                        u.nodes()[0].addr.clone(),
                        vaultops_bootstrap::TRANSIT_KEY,
                        Some(u.ca_path().to_string_lossy().into_owned()),
                    ),
                ))
            }
        }
    }

    /// The operator's step of a seal migration on node `i`: its config re-rendered with the
    /// seal `to` (and, when leaving an auto-unseal seal, the old stanza with
    /// `disabled = "true"`), then the node stopped (SIGTERM, up to `deadline`) and started
    /// again. It comes back sealed, waiting for an unseal with `migrate`. With `from == to`
    /// (the old active once the migration is complete) only the new stanza is written.
    pub async fn migrate_node_config(
        &mut self,
        i: usize,
        from: TestSeal,
        to: TestSeal,
        deadline: Duration,
    ) {
        let new = self.seal_stanza(to).await;
        // `from == to`: the old active after the migration, given only the new stanza.
        let old = if from == to {
            None
        } else {
            self.seal_stanza(from).await
        };
        self.write_node_config(i, new, old);
        self.stop_node(i, deadline).await;
        self.start_node(i);
    }

    /// The last step of a migration to `to`: every node's config rendered with only the new
    /// seal (the disabled old stanza removed), and the cluster's seal recorded as `to` (so
    /// [`Cluster::unseal`], nodes added later and restarts follow). Restarts nothing.
    pub async fn finish_seal_migration(&mut self, to: TestSeal) {
        let new = self.seal_stanza(to).await;
        for i in 0..self.nodes().len() {
            self.write_node_config(i, new.clone(), None);
        }
        self.render.1 = new.unwrap_or(vaultops_config::Seal::Shamir);
        self.seal = to;
    }

    fn write_node_config(
        &self,
        i: usize,
        seal: Option<vaultops_config::Seal>,
        disabled: Option<vaultops_config::Seal>,
    ) {
        let (opts, _) = &self.render;
        let files = self.node_tls_files(i);
        let data = self.node_data_dir(i);
        let name = &self.nodes()[i].name;
        let audit_log = opts
            .file_audit
            .then(|| self.dir().join(name).join("audit.log"));
        let hcl = render_node(
            &self.nodes()[i],
            self.nodes(),
            &NodePaths {
                cert: &files.cert,
                key: &files.key,
                ca: &self.ca_path(),
                data: &data,
                audit_log: audit_log.as_deref(),
            },
            opts,
            &seal.unwrap_or(vaultops_config::Seal::Shamir),
            disabled,
        );
        vaultops_fs::write_atomic(
            &self.nodes()[i].config_path,
            hcl.as_bytes(),
            vaultops_fs::WriteOptions::private(),
        )
        .expect("writing a node config");
    }
}
