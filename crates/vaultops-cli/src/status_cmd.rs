//! `vaultops status`: every node's state and the cluster verdict.

use crate::cli::{Global, StatusArgs};
use crate::output::{emit, table};
use std::process::ExitCode;
use vaultops_bootstrap::cluster_status;
use vaultops_bootstrap::NodeSet;

pub async fn run(global: &Global, _args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let nodes = NodeSet::new(global.clients()?);
    let status = cluster_status(&nodes).await;
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    emit(global.format, &status, || {
        let rows: Vec<Vec<String>> = status
            .nodes
            .iter()
            .map(|n| {
                vec![
                    n.addr.clone(),
                    if n.reachable {
                        "yes".into()
                    } else {
                        "NO".into()
                    },
                    opt(n.initialized.map(|b| b.to_string())),
                    opt(n.sealed.map(|b| b.to_string())),
                    opt(n.role.map(|r| r.to_string())),
                    opt(n.version.clone()),
                    opt(n.raft_applied_index.map(|i| i.to_string())),
                ]
            })
            .collect();
        let mut t = table(
            &[
                "NODE",
                "REACHABLE",
                "INITIALIZED",
                "SEALED",
                "ROLE",
                "VERSION",
                "APPLIED_INDEX",
            ],
            &rows,
        );
        if status.healthy() {
            t.push_str("cluster: healthy (one active node, every node unsealed)\n");
        }
        t
    })?;
    if status.healthy() {
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &status.problems {
            eprintln!("problem: {p}");
        }
        Ok(ExitCode::from(2))
    }
}
