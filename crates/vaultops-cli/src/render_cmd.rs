//! `vaultops render`: writes the generated deployment artifacts under `deploy/`, or checks
//! that they are up to date (`--check`, the codegen test).

use std::process::ExitCode;

/// `vaultops render`: writes (or checks) the generated deployment artifacts.
pub fn run(dir: &std::path::Path, check: bool) -> anyhow::Result<ExitCode> {
    let files = vaultops_deploy::generate(&vaultops_deploy::DeployOptions::default())?;
    if check {
        let stale = vaultops_deploy::check(dir, &files);
        if !stale.is_empty() {
            eprintln!("{}", vaultops_deploy::StaleFile::report(dir, &stale));
            return Ok(ExitCode::from(1));
        }
        eprintln!(
            "{}: {} generated files up to date",
            dir.display(),
            files.len()
        );
    } else {
        for p in vaultops_deploy::write_all(dir, &files)? {
            eprintln!("wrote {}", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
