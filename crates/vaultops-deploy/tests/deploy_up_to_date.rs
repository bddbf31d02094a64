//! The committed `deploy/` folder is exactly what the generator produces (rust-analyzer's
//! codegen check). With `VAULTOPS_UPDATE_DEPLOY=1` the test rewrites the folder first, which
//! is how it is regenerated.

use std::path::PathBuf;

use vaultops_deploy::{check, generate, write_all, DeployOptions, StaleFile};

fn deploy_dir() -> PathBuf {
    let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // crates/vaultops-deploy -> the workspace root.
    crate_dir
        .ancestors()
        .nth(2)
        .expect("the crate lives two levels below the workspace root")
        .join("deploy")
}

#[test]
fn deploy_folder_is_up_to_date() {
    let dir = deploy_dir();
    let files = generate(&DeployOptions::default()).expect("the default options generate");
    if std::env::var_os("VAULTOPS_UPDATE_DEPLOY").is_some_and(|v| v == "1") {
        let changed = write_all(&dir, &files).expect("writing deploy/");
        for path in changed {
            eprintln!("updated {}", path.display());
        }
    }
    let stale = check(&dir, &files);
    assert!(stale.is_empty(), "{}", StaleFile::report(&dir, &stale));
}

#[test]
fn the_check_fails_on_a_stale_copy() {
    // The same check on a copy with one edited file: proves the assertion above can fail and
    // that its message names the file and the command.
    let files = generate(&DeployOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    write_all(tmp.path(), &files).unwrap();
    let victim = tmp.path().join("prometheus/alerts.yml");
    let mut text = std::fs::read_to_string(&victim).unwrap();
    text.push_str("# hand edit\n");
    std::fs::write(&victim, text).unwrap();

    let stale = check(tmp.path(), &files);
    let report = StaleFile::report(tmp.path(), &stale);
    assert_eq!(stale.len(), 1, "{report}");
    assert!(
        report.contains("prometheus/alerts.yml: differs"),
        "{report}"
    );
    assert!(
        report.contains(vaultops_deploy::REGENERATE_COMMAND),
        "{report}"
    );
}
