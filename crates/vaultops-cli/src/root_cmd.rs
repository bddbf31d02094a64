//! `vaultops root generate`: a new root token from a quorum of shares (OTP flow).

use crate::cli::{Global, RootGenerateArgs};
use crate::unseal_cmd::gather_shares;
use anyhow::{bail, Context};
use std::process::ExitCode;
use vaultops_api::GenerateRootEndpoint;
use vaultops_fs::{write_atomic, WriteOptions};
use vaultops_types::error_report;

pub async fn generate(global: &Global, args: &RootGenerateArgs) -> anyhow::Result<ExitCode> {
    let mut nodes = global.clients()?;
    if nodes.len() != 1 {
        bail!("root generate talks to ONE node: pass a single --addr");
    }
    let node = nodes.remove(0);
    if let Some(out) = &args.out {
        if out.exists() {
            bail!("{} already exists: choose another --out", out.display());
        }
    }
    let (bundle, keys) = gather_shares(&args.shares)?;
    if let Some(b) = &bundle {
        // The node is unsealed (generate-root needs it): it shows its cluster id.
        if let Err(e) =
            vaultops_custody::check_cluster_identity(b, std::slice::from_ref(&node)).await
        {
            bail!("refusing to generate a root token with this bundle: {e}; no share was sent");
        }
    }
    let endpoint = if args.unauthenticated_endpoint {
        GenerateRootEndpoint::Unauthenticated
    } else {
        GenerateRootEndpoint::Authenticated
    };
    let token = vaultops_bootstrap::generate_root(&node, endpoint, &keys)
        .await
        .map_err(|e| {
            let status = match &e {
                vaultops_bootstrap::BootstrapError::GenerateRoot { source, .. } => source.status(),
                _ => None,
            };
            let hint = match (endpoint, status) {
                (GenerateRootEndpoint::Authenticated, Some(403)) => "; pass --token with a policy allowing sys/generate-root-token/*",
                (GenerateRootEndpoint::Unauthenticated, Some(405)) => "; the server disables the unauthenticated endpoint (OpenBao ≥ 2.5.3): drop --unauthenticated-endpoint and pass --token",
                _ => "",
            };
            anyhow::anyhow!("{}{hint}", error_report(&e))
        })?;
    match &args.out {
        Some(path) => {
            let text = zeroize::Zeroizing::new(format!("{}\n", token.expose()));
            write_atomic(
                path,
                text.as_bytes(),
                WriteOptions::private().refuse_existing(),
            )
            .with_context(|| format!("creating {}", path.display()))?;
            eprintln!(
                "new root token written to {} (mode 0600); revoke it when done",
                path.display()
            );
        }
        None => {
            println!("{}", token.expose());
            eprintln!(
                "new root token printed above; revoke it when done (vault token revoke -self)"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
