//! `vaultops render`: writes the generated deployment artifacts under `deploy/`, or checks
//! that they are up to date (`--check`, the codegen test). Both warn about every image pinned
//! by a tag only (a tag is mutable; a digest is not) without failing: the official images'
//! digests cannot be looked up offline, so the defaults are tags.

use std::process::ExitCode;

/// `vaultops render`: writes (or checks) the generated deployment artifacts.
pub fn run(dir: &std::path::Path, check: bool) -> anyhow::Result<ExitCode> {
    let opts = vaultops_deploy::DeployOptions::default();
    let files = vaultops_deploy::generate(&opts)?;
    for (field, image) in opts.tag_only_images() {
        eprintln!(
            "warning: {field} = {image} is pinned by tag only; the registry can move a tag to \
             other bytes: append @sha256:<digest> to pin them (docs/deploy.md, \"Images\")"
        );
    }
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
