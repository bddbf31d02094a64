//! The configuration the scenario gives Prometheus: the shipped rules with a short hold, the
//! scrape configuration for the testbed's published ports, and names and versions.

use super::*;

pub(crate) fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the crate lives two levels below the workspace root")
        .join("deploy")
}

/// The generator's alert table for the default deployment (3 voters).
pub(crate) fn shipped_alerts() -> Vec<Alert> {
    let opts = DeployOptions::default();
    vaultops_deploy::alerts(&opts.prometheus, opts.replicas)
}

/// The committed rules with every `for:` set to [`HOLD`], rendered by the generator.
pub(crate) fn rules_with_short_hold() -> String {
    let alerts = shipped_alerts();
    let path = deploy_dir().join("prometheus/alerts.yml");
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert_eq!(
        vaultops_deploy::alert_rules(&alerts),
        committed,
        "{} is not what the generator renders; regenerate with {REGENERATE_COMMAND}",
        path.display()
    );
    let short: Vec<Alert> = alerts
        .into_iter()
        .map(|mut a| {
            a.for_ = a.for_.map(|_| HOLD);
            a
        })
        .collect();
    let rendered = vaultops_deploy::alert_rules(&short);
    assert_eq!(rendered.lines().count(), committed.lines().count());
    let mut changed = 0;
    for (new, old) in rendered.lines().zip(committed.lines()) {
        if new != old {
            assert!(
                new.trim_start().starts_with("for: ") && old.trim_start().starts_with("for: "),
                "only `for:` may differ from the committed rules: {old:?} → {new:?}"
            );
            changed += 1;
        }
    }
    assert!(changed > 0, "no `for:` was shortened");
    rendered
}

pub(crate) fn path_str(p: &Path) -> String {
    p.to_str().expect("temp paths are UTF-8").to_owned()
}

/// Writes the testbed CA, the rules and `prometheus.yml` into `dir`; returns the config path.
pub(crate) fn write_config(tb: &Testbed, dir: &Path) -> PathBuf {
    let ca = dir.join("testbed-ca.pem");
    std::fs::write(&ca, tb.ca_pem()).unwrap();
    let rules = dir.join("alerts.yml");
    std::fs::write(&rules, rules_with_short_hold()).unwrap();
    let cfg = ScrapeConfig {
        scrape_interval: INTERVAL.to_owned(),
        servers: tb
            .nodes()
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.host_port))
            .collect(),
        ca_file: path_str(&ca),
        // The node certificates carry 127.0.0.1 as an IP SAN: the target address verifies.
        tls_server_name: None,
        blackbox_address: None,
        backup_exporter_address: None,
        rule_files: vec![path_str(&rules)],
    };
    let path = dir.join("prometheus.yml");
    std::fs::write(
        &path,
        vaultops_deploy::prometheus_config(&cfg, "The prometheus_e2e test's testbed."),
    )
    .unwrap();
    path
}

pub(crate) fn unique_name() -> TestbedName {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    TestbedName::new(format!("t-prom-{}-{nanos:x}", std::process::id())).unwrap()
}

/// `prometheus --version`'s first line; fails with what to install when it is missing.
pub(crate) fn prometheus_version() -> String {
    match Command::new(PROMETHEUS).arg("--version").output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            text.lines()
                .next()
                .unwrap_or("prometheus")
                .trim()
                .to_owned()
        }
        Ok(out) => panic!(
            "`{PROMETHEUS} --version` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "this test needs the `{PROMETHEUS}` binary on PATH (Debian: `apt-get install \
             prometheus`; .ci/run installs it), and running it failed: {e}"
        ),
    }
}
