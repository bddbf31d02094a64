//! Bootstrapping a freshly created testbed the production way: `vaultops_bootstrap::bring_up`
//! (init 5/3, or recovery 5/3 with auto-unseal; unseal, autopilot, explicit raft join, voters)
//! with the testbed's hooks (init.json saved first, the other node containers started while
//! node1 unseals, progress), then the baseline: the shipped example rollout applied through
//! `vaultops_bootstrap::baseline`, with the audit devices the nodes were rendered with (declared
//! in the config on OpenBao, enabled by the apply on Vault), and `env.sh`.

use std::future::Future;
use std::time::{Duration, Instant};

use vaultops_api::{InitResponse, KeySplit, RaftJoinRequest};
use vaultops_bootstrap::{BringUpError, BringUpHooks, BringUpOptions, Milestone, SealMode};
use vaultops_rollout::Rollout;

use crate::error::TestbedError;
use crate::names::NodeId;
use crate::progress::{Progress, Step};
use crate::render;
use crate::state::InitFile;
use crate::testbed::{Testbed, UpOptions};

/// The Shamir split `up` initialises with.
pub const KEY_SHARES: u8 = 5;
/// See [`KEY_SHARES`].
pub const KEY_THRESHOLD: u8 = 3;
/// Autopilot's server stabilization time on a testbed (default 10 s). Not lower: OpenBao
/// 2.7.2 takes `"500ms"` without error but keeps 10 s (measured: the value is read in whole
/// seconds and 0 means "default").
pub const AUTOPILOT_STABILIZATION: Duration = Duration::from_secs(1);

/// The testbed's side of the bring-up: keeps init.json, starts the other nodes, reports.
struct UpHooks<'a> {
    tb: &'a mut Testbed,
    progress: &'a mut dyn Progress,
    /// The step being timed and when it began.
    step: (&'static str, Instant),
}

impl UpHooks<'_> {
    fn next(&mut self, outcome: &str, next: Option<&'static str>) {
        let (name, started) = self.step;
        self.progress.end(name, started.elapsed(), outcome);
        if let Some(next) = next {
            self.progress.begin(next);
            self.step = (next, Instant::now());
        }
    }
}

impl BringUpHooks for UpHooks<'_> {
    type Error = TestbedError;

    async fn initialized(&mut self, init: &InitResponse) -> Result<(), TestbedError> {
        let init = InitFile {
            shares: KEY_SHARES,
            threshold: KEY_THRESHOLD,
            keys_base64: init.keys_base64.clone(),
            recovery_keys_base64: init.recovery_keys_base64.clone(),
            root_token: init.root_token.clone(),
        };
        // Saved before anything else can fail: without it the cluster is unrecoverable.
        self.tb.state.write_init(&init)?;
        self.tb.init = Some(init);
        Ok(())
    }

    fn start_followers(&self) -> impl Future<Output = Result<(), TestbedError>> + Send {
        // Only the testbed is captured: the progress sink is not `Sync`.
        let tb: &Testbed = self.tb;
        async move {
            let starts = tb.nodes[1..].iter().map(|n| tb.start(n.id));
            for r in futures_util::future::join_all(starts).await {
                r?;
            }
            Ok(())
        }
    }

    fn reached(&mut self, milestone: Milestone) {
        match milestone {
            Milestone::Listening => self.next("node1 answering", Some("init")),
            Milestone::Initialized => {
                let outcome = format!(
                    "{KEY_SHARES} {}shares, threshold {KEY_THRESHOLD}; saved {}",
                    if self.tb.seal.is_auto() {
                        "recovery "
                    } else {
                        ""
                    },
                    self.tb.state.init_file().display()
                );
                self.next(&outcome, Some("unseal"));
            }
            Milestone::Unsealed => {
                let outcome = format!(
                    "{} nodes unsealed{}",
                    self.tb.nodes.len(),
                    if self.tb.seal.is_auto() {
                        format!(" by themselves ({} seal)", self.tb.seal)
                    } else {
                        String::new()
                    }
                );
                self.next(&outcome, Some("voters"));
            }
            Milestone::Settled => {
                let outcome = format!("{} voters, autopilot healthy", self.tb.nodes.len());
                self.next(&outcome, None);
            }
        }
    }
}

impl Testbed {
    /// Bring-up, baseline, env.sh (node1 runs; the other containers exist, not started).
    pub(crate) async fn bootstrap(
        &mut self,
        opts: &UpOptions,
        progress: &mut dyn Progress,
    ) -> Result<(), TestbedError> {
        let set = self.node_set();
        let bring = BringUpOptions {
            seal: if self.seal.is_auto() {
                SealMode::Auto
            } else {
                SealMode::Shamir
            },
            split: KeySplit::new(KEY_SHARES.into(), KEY_THRESHOLD.into())
                .expect("5/3 is a valid split"),
            explicit_join: Some(RaftJoinRequest::new(
                self.plan_view().nodes[0].api_addr(),
                Some(self.ca_pem.clone()),
            )),
            autopilot_stabilization: Some(AUTOPILOT_STABILIZATION),
            wait_voters: true,
            deadline: opts.deadline,
        };
        progress.begin("listeners");
        let mut hooks = UpHooks {
            tb: self,
            progress: &mut *progress,
            step: ("listeners", Instant::now()),
        };
        let up = vaultops_bootstrap::bring_up(&set, &bring, &mut hooks).await;
        let up = match up {
            Ok(up) => up,
            Err(BringUpError::Hook { source, .. }) => return Err(source),
            Err(BringUpError::Step { step, source }) => {
                return Err(self.failed(step, source).await)
            }
        };

        let step = Step::begin(progress, "baseline");
        let active = self.root_client(NodeId::from_index(up.active)?);
        let rollout = self.baseline_rollout()?;
        vaultops_bootstrap::apply_rollout(&active, &rollout)
            .await
            .map_err(|source| TestbedError::Baseline {
                name: self.name.to_string(),
                source: Box::new(source),
            })?;
        step.end(
            "examples/rollout.yaml: KV v2 at secret/, policy atmr-api-rotate, AppRole atmr-api",
        );

        self.write_env(opts.with_token)?;
        Ok(())
    }

    /// The shipped example rollout for this testbed: its engine, and the audit devices its
    /// nodes were rendered with instead of the example's (which depend on the server config).
    fn baseline_rollout(&self) -> Result<Rollout, TestbedError> {
        let plan = self.plan_view();
        let sink = self.sink.is_some().then(|| plan.sink_addr());
        let devices: serde_json::Map<String, serde_json::Value> =
            render::audit_devices(sink.as_deref())
                .iter()
                .map(|d| {
                    let options: serde_json::Map<String, serde_json::Value> = d
                        .options()
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v.into()))
                        .collect();
                    (
                        d.name.clone(),
                        serde_json::json!({ "type": d.type_name(), "options": options }),
                    )
                })
                .collect();
        let mut rollout = vaultops_bootstrap::example_rollout();
        let invalid = |e: serde_json::Error| TestbedError::BaselineRollout {
            reason: e.to_string(),
        };
        rollout.engine =
            serde_json::from_value(serde_json::json!(self.engine.as_str())).map_err(invalid)?;
        rollout.audit =
            serde_json::from_value(serde_json::Value::Object(devices)).map_err(invalid)?;
        Ok(rollout)
    }
}
