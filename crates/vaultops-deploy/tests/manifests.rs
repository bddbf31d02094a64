//! Cross-references inside the generated files that no schema checks: Services select the
//! StatefulSet's pods, every pod finds its config in the ConfigMap and that config lints
//! clean, the application reads the seed's Secret keys as files, the NetworkPolicy opens each
//! port to its clients only, Compose mounts files that exist, Prometheus scrapes every node's
//! metrics port. The files are parsed as YAML (serde-saphyr), not grepped.

use std::collections::BTreeMap;

use serde_json::Value;
use vaultops_config::{lint, HostFacts};
use vaultops_deploy::{generate, DeployOptions, GeneratedFile};
use vaultops_types::Engine;

fn files() -> BTreeMap<String, String> {
    generate(&DeployOptions::default())
        .unwrap()
        .into_iter()
        .map(|GeneratedFile { path, contents }| (path, contents))
        .collect()
}

fn yaml(files: &BTreeMap<String, String>, path: &str) -> Value {
    let text = files
        .get(path)
        .unwrap_or_else(|| panic!("{path} is not generated"));
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn str_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not a mapping: {v}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn is_subset(small: &BTreeMap<String, String>, big: &BTreeMap<String, String>) -> bool {
    small.iter().all(|(k, v)| big.get(k) == Some(v))
}

#[test]
fn kubernetes_objects_fit_together() {
    let files = files();
    for (engine, name) in [(Engine::OpenBao, "openbao"), (Engine::Vault, "vault")] {
        let dir = format!("kubernetes/{name}");
        let sts = yaml(&files, &format!("{dir}/40-statefulset.yaml"));
        let pod_labels = str_map(&sts["spec"]["template"]["metadata"]["labels"]);
        assert!(is_subset(
            &str_map(&sts["spec"]["selector"]["matchLabels"]),
            &pod_labels
        ));
        let replicas = sts["spec"]["replicas"].as_u64().unwrap();
        assert_eq!(replicas, 3);

        // Every pod's -config file is a ConfigMap key, and lints clean for its engine.
        let container = &sts["spec"]["template"]["spec"]["containers"][0];
        let args: Vec<&str> = container["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let config_arg = args.iter().find(|a| a.starts_with("-config=")).unwrap();
        assert!(config_arg.ends_with("/$(POD_NAME).hcl"), "{config_arg}");
        let cm = yaml(&files, &format!("{dir}/20-configmap.yaml"));
        let data = str_map(&cm["data"]);
        for i in 0..replicas {
            let key = format!("{name}-{i}.hcl");
            let hcl = data.get(&key).unwrap_or_else(|| panic!("{dir}: no {key}"));
            assert!(hcl.contains(&format!("node_id                = \"{name}-{i}\"")));
            let report = lint(hcl, engine, &HostFacts::default());
            assert!(report.is_clean(), "{dir} {key}:\n{report}");
        }
        let volumes = sts["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .unwrap();
        let cm_volume = volumes
            .iter()
            .find(|v| v["name"] == "config")
            .expect("a config volume");
        assert_eq!(cm_volume["configMap"]["name"], cm["metadata"]["name"]);

        // The headless Service is the StatefulSet's serviceName and publishes unready pods.
        let headless = yaml(&files, &format!("{dir}/30-service-internal.yaml"));
        assert_eq!(headless["metadata"]["name"], sts["spec"]["serviceName"]);
        assert_eq!(headless["spec"]["clusterIP"], "None");
        assert_eq!(headless["spec"]["publishNotReadyAddresses"], true);

        // Every Service selects the pods; the active one also on the registration label.
        for svc in [
            "30-service-internal",
            "31-service-client",
            "32-service-active",
        ] {
            let s = yaml(&files, &format!("{dir}/{svc}.yaml"));
            let mut selector = str_map(&s["spec"]["selector"]);
            if svc.ends_with("active") {
                assert_eq!(
                    selector.remove(&format!("{name}-active")).as_deref(),
                    Some("true"),
                    "{svc}"
                );
            }
            assert!(is_subset(&selector, &pod_labels), "{dir}/{svc}");
        }

        // Probes: readiness on standbyok, liveness tolerating sealed and uninitialised.
        let ready = container["readinessProbe"]["httpGet"]["path"]
            .as_str()
            .unwrap();
        let live = container["livenessProbe"]["httpGet"]["path"]
            .as_str()
            .unwrap();
        assert_eq!(ready, "/v1/sys/health?standbyok=true&perfstandbyok=true");
        assert!(live.contains("sealedcode=204") && live.contains("uninitcode=204"));
        assert_eq!(container["readinessProbe"]["httpGet"]["scheme"], "HTTPS");

        // RBAC: the pods' ServiceAccount may patch pods (service registration).
        let role = yaml(&files, &format!("{dir}/11-role.yaml"));
        let verbs = role["rules"][0]["verbs"].as_array().unwrap();
        assert!(verbs.iter().any(|v| v == "patch"));
        let binding = yaml(&files, &format!("{dir}/12-rolebinding.yaml"));
        assert_eq!(
            binding["subjects"][0]["name"],
            sts["spec"]["template"]["spec"]["serviceAccountName"]
        );
        assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);

        let pdb = yaml(&files, &format!("{dir}/50-poddisruptionbudget.yaml"));
        assert_eq!(pdb["spec"]["maxUnavailable"], 1);
        assert!(is_subset(
            &str_map(&pdb["spec"]["selector"]["matchLabels"]),
            &pod_labels
        ));

        // The TLS Secret template has the keys the pod mounts.
        let tls = yaml(
            &files,
            &format!("kubernetes/templates/{name}-tls-secret.yaml"),
        );
        let secret_volume = volumes.iter().find(|v| v["name"] == "tls").unwrap();
        assert_eq!(
            secret_volume["secret"]["secretName"],
            tls["metadata"]["name"]
        );
        let keys = str_map(&tls["stringData"]);
        for k in ["ca.pem", "node.pem", "node-key.pem"] {
            assert!(keys.contains_key(k), "{name} TLS template lacks {k}");
        }
    }
}

#[test]
fn the_application_reads_the_seeds_secret_as_files_that_follow_rotation() {
    let files = files();
    let d = yaml(&files, "kubernetes/app/10-atmr-api-deployment.yaml");
    assert_eq!(d["metadata"]["namespace"], "atmr");
    let pod = &d["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let env = container["env"].as_array().unwrap();
    let by_name = |n: &str| env.iter().find(|e| e["name"] == n).cloned();
    // No credential in the environment: it would be fixed at container start.
    assert!(
        env.iter().all(|e| e.get("valueFrom").is_none()),
        "an env var from a Secret or ConfigMap: {env:?}"
    );
    for var in ["VAULT_ROLE_ID", "VAULT_SECRET_ID"] {
        assert!(by_name(var).is_none(), "{var} is still set");
    }

    // The Secret is a read-only volume, mounted whole (a subPath mount is never updated).
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["secret"]["secretName"] == "vault-credentials")
        .expect("a volume from the credentials Secret");
    assert!(volume["secret"].get("items").is_none(), "{volume}");
    let mode = volume["secret"]["defaultMode"].as_u64().unwrap();
    assert_eq!(
        mode & 0o007,
        0,
        "credential files readable by others: {mode:o}"
    );
    assert!(pod["securityContext"]["fsGroup"].as_u64().is_some());
    let mount = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == volume["name"])
        .expect("the credentials volume is mounted");
    assert_eq!(mount["readOnly"], true);
    assert!(mount.get("subPath").is_none(), "{mount}");
    let dir = mount["mountPath"].as_str().unwrap();
    assert_eq!(dir, "/var/run/secrets/vault");

    // The _FILE variables name the files the volume holds: one per Secret key.
    let secret = yaml(&files, "kubernetes/templates/vault-credentials-secret.yaml");
    assert_eq!(secret["metadata"]["namespace"], "atmr");
    let keys = str_map(&secret["stringData"]);
    for (var, key) in [
        ("VAULT_ROLE_ID_FILE", "vault-role-id"),
        ("VAULT_SECRET_ID_FILE", "vault-secret-id"),
    ] {
        assert!(keys.contains_key(key), "the Secret template lacks {key}");
        let e = by_name(var).unwrap_or_else(|| panic!("{var} is not set"));
        assert_eq!(e["value"], format!("{dir}/{key}"), "{var}");
    }
    assert_eq!(
        by_name("VAULT_ADDR").unwrap()["value"],
        "https://openbao.openbao.svc:8200"
    );
    assert_eq!(
        by_name("VAULT_CACERT").unwrap()["value"],
        "/etc/vault-ca/ca.pem"
    );
}

#[test]
fn network_policy_opens_each_port_to_its_clients_only() {
    let files = files();
    for name in ["openbao", "vault"] {
        let sts = yaml(&files, &format!("kubernetes/{name}/40-statefulset.yaml"));
        let pod_labels = str_map(&sts["spec"]["template"]["metadata"]["labels"]);
        let np = yaml(&files, &format!("kubernetes/{name}/60-networkpolicy.yaml"));
        assert!(is_subset(
            &str_map(&np["spec"]["podSelector"]["matchLabels"]),
            &pod_labels
        ));
        let app = yaml(&files, "kubernetes/app/10-atmr-api-deployment.yaml");
        let app_labels = str_map(&app["spec"]["template"]["metadata"]["labels"]);

        // Every rule names its peers (no rule open to all) and its ports.
        let mut by_port: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
        for rule in np["spec"]["ingress"].as_array().unwrap() {
            let from = rule["from"].as_array().expect("every rule has `from`");
            assert!(!from.is_empty());
            for port in rule["ports"].as_array().expect("every rule has ports") {
                by_port
                    .entry(port["port"].as_u64().unwrap())
                    .or_default()
                    .extend(from.iter().cloned());
            }
        }
        assert_eq!(
            by_port.keys().copied().collect::<Vec<_>>(),
            [8200, 8201, 8202],
            "{name}"
        );
        let ns_of = |peer: &Value| {
            peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                .as_str()
                .map(str::to_owned)
        };
        let is_server = |peer: &Value| {
            peer.get("namespaceSelector").is_none()
                && is_subset(&str_map(&peer["podSelector"]["matchLabels"]), &pod_labels)
        };
        // 8200: the application's pods in its namespace, and the servers.
        let api = &by_port[&8200];
        assert_eq!(api.len(), 2, "{name}: {api:?}");
        let app_peer = api.iter().find(|p| ns_of(p).is_some()).unwrap();
        assert_eq!(ns_of(app_peer).as_deref(), Some("atmr"));
        assert!(is_subset(
            &str_map(&app_peer["podSelector"]["matchLabels"]),
            &app_labels
        ));
        assert!(api.iter().any(is_server), "{name}: {api:?}");
        // 8201: the servers only.
        assert!(by_port[&8201].iter().all(is_server), "{name}");
        // 8202: Prometheus' namespace only.
        let metrics = &by_port[&8202];
        assert_eq!(metrics.len(), 1);
        assert_eq!(ns_of(&metrics[0]).as_deref(), Some("monitoring"));

        // The metrics port is a named container port and on the headless Service.
        let ports = sts["spec"]["template"]["spec"]["containers"][0]["ports"]
            .as_array()
            .unwrap();
        assert!(ports
            .iter()
            .any(|p| p["name"] == "metrics" && p["containerPort"] == 8202));
        let headless = yaml(
            &files,
            &format!("kubernetes/{name}/30-service-internal.yaml"),
        );
        assert!(headless["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["port"] == 8202));
        // No swap for any container: memory request = limit.
        for c in sts["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
        {
            assert_eq!(
                c["resources"]["requests"]["memory"], c["resources"]["limits"]["memory"],
                "{name} {}",
                c["name"]
            );
            assert!(c["securityContext"].get("privileged").is_none());
        }
    }
}

#[test]
fn compose_mounts_generated_configs_and_prometheus_scrapes_every_node() {
    let files = files();
    for compose in [
        "compose/docker-compose.production.yml",
        "compose/docker-compose.vault.production.yml",
    ] {
        let c = yaml(&files, compose);
        let services = c["services"].as_object().unwrap();
        let mut servers = 0;
        for (name, svc) in services {
            if name == "audit-sink" {
                continue;
            }
            servers += 1;
            assert_eq!(svc["restart"], "always", "{compose} {name}");
            let hcl_mount = svc["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .find(|v| v.ends_with("/server.hcl:ro"))
                .unwrap();
            let source = hcl_mount.split(':').next().unwrap();
            let generated = source.strip_prefix("../").unwrap();
            assert!(files.contains_key(generated), "{compose}: mounts {source}");
            assert!(
                files[generated].contains(&format!("node_id                = \"{name}\"")),
                "{compose}: {name} mounts {generated}, another node's config"
            );
        }
        assert_eq!(servers, 3, "{compose}");
    }

    let p = yaml(&files, "prometheus/prometheus.yml");
    let job = &p["scrape_configs"][0];
    assert_eq!(job["job_name"], "vault");
    assert_eq!(job["metrics_path"], "/v1/sys/metrics");
    assert_eq!(job["params"]["format"][0], "prometheus");
    assert_eq!(job["scheme"], "https");
    let targets = job["static_configs"][0]["targets"].as_array().unwrap();
    assert_eq!(
        targets,
        &["openbao-1:8202", "openbao-2:8202", "openbao-3:8202"]
            .map(|t| Value::String(t.into()))
            .to_vec()
    );
}
