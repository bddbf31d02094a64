//! Docker Compose files: the seed's `docker-compose.production.yml`, made a 3-node raft
//! cluster with TLS, the seed's resource limits and restart policy, and an audit sink.
//!
//! The server configs are bind-mounted from `deploy/<engine>/server-node<N>.hcl`, the files
//! `vaultops-config` rendered; TLS files come from `deploy/compose/tls/` (made with
//! `vaultops tls`, never generated or committed).

use crate::options::{DeployOptions, Profile};
use crate::servers::{host_name, API_PORT, COMPOSE_SINK_HOST, METRICS_PORT, SINK_PORT};
use crate::yaml::{flow_list, q};
use crate::HEADER_NOTE;

/// Host port node `index` (0-based) publishes its API on: 8211, 8212, … (three nodes on one
/// host cannot all publish 8200).
pub fn published_port(index: usize) -> usize {
    8211 + index
}

/// The commands that create `deploy/compose/tls/` for `profile`'s nodes.
pub fn compose_tls_commands(opts: &DeployOptions, profile: Profile) -> Vec<String> {
    let mut cmds = vec!["vaultops tls ca --out ./ca".to_owned()];
    for i in 0..opts.replicas {
        let host = host_name(profile, i);
        cmds.push(format!(
            "vaultops tls node --ca-dir ./ca --name {host} --dns {host} --dns localhost --ip 127.0.0.1 --out deploy/compose/tls"
        ));
    }
    cmds.push("cp ./ca/ca.pem deploy/compose/tls/ca.pem".to_owned());
    cmds.push(format!(
        "sudo chown {}:{} deploy/compose/tls/*-key.pem",
        Profile::UID,
        Profile::GID
    ));
    cmds
}

/// The Compose file for `profile`.
pub(crate) fn compose_file(opts: &DeployOptions, profile: Profile) -> String {
    let p = profile;
    let env = p.env_prefix;
    let mut out = format!(
        "{HEADER_NOTE}\
         # {n} {engine} nodes with raft storage and TLS. On one Docker host this survives a\n\
         # node crash, not a host failure: for that, run one service per host with the same\n\
         # config files (docs/deploy.md).\n\
         #\n\
         # Before `up`, create the TLS files (the key must be readable by uid {uid}):\n{tls}\
         # Then: docker compose -f deploy/{file} up -d\n\
         # (docker-compose 1.x: add --compatibility, or it ignores deploy.resources).\n\
         #\n\
         # restart: always, as in the seed: an auto-unseal node exits when its unsealer is\n\
         # unreachable at start (measured: exit 1 after ~15 s) and must come back by itself.\n\
         # {mlock}\n\
         # So the server's memory (unseal key material, tokens) must not reach a disk: core\n\
         # dumps are off (ulimits core 0, soft and hard) and the container gets no swap\n\
         # (memswap_limit = the memory limit). Turn swap off on the host too (docs/deploy.md,\n\
         # \"Host hardening\"): host processes and other containers can still swap.\n\
         #\n\
         # Metrics: Prometheus scrapes port {METRICS_PORT} on the Compose network (no token;\n\
         # {metrics_only}); it is not published on the host. Port {API_PORT}\n\
         # requires a token for metrics. Images: {pin}\n\
         services:\n",
        n = opts.replicas,
        engine = p.engine,
        uid = Profile::UID,
        tls = compose_tls_commands(opts, p)
            .iter()
            .map(|c| format!("#   {c}\n"))
            .collect::<String>(),
        file = compose_path(p),
        metrics_only = match p.engine {
            vaultops_types::Engine::OpenBao => "OpenBao serves nothing else there",
            vaultops_types::Engine::Vault => "other paths there still need a token",
        },
        pin = if p.image(opts).contains('@') {
            "pinned by digest."
        } else {
            "pinned by tag, which the registry can move;\n# append @sha256:… (DeployOptions) to pin the bytes."
        },
        mlock = match p.engine {
            vaultops_types::Engine::OpenBao =>
                "No cap_add IPC_LOCK (the seed's): OpenBao has no mlock, so the capability buys nothing.",
            vaultops_types::Engine::Vault =>
                "No cap_add IPC_LOCK (the seed's): the configs set disable_mlock, as HashiCorp recommends with raft.",
        },
    );
    let hardening = "    read_only: true\n    tmpfs: [\"/tmp\"]\n    cap_drop: [\"ALL\"]\n    security_opt: [\"no-new-privileges:true\"]\n    ulimits:\n      core:\n        soft: 0\n        hard: 0\n";
    for i in 0..opts.replicas {
        let host = host_name(p, i);
        let volumes = [
            format!(
                "../{}/server-node{}.hcl:{}/server.hcl:ro",
                p.name,
                i + 1,
                p.config_dir()
            ),
            format!("./tls/ca.pem:{}:ro", p.ca_file()),
            format!("./tls/{host}.pem:{}:ro", p.cert_file()),
            format!("./tls/{host}-key.pem:{}:ro", p.key_file()),
            format!("{host}-data:{}", p.data_dir()),
            format!("{host}-audit:{}", p.audit_dir()),
        ];
        out.push_str(&format!(
            "  {host}:\n\
             \x20   image: {image}\n\
             \x20   hostname: {host}\n\
             \x20   user: \"{uid}:{gid}\"\n\
             \x20   # The binary itself, not the image's entrypoint script (which would add its own\n\
             \x20   # -config directory and try setcap).\n\
             \x20   entrypoint: [{binary}]\n\
             \x20   command: [\"server\", \"-config={config_dir}/server.hcl\"]\n\
             \x20   restart: always\n\
             \x20   environment:\n\
             \x20     {env}_ADDR: \"https://127.0.0.1:{API_PORT}\"\n\
             \x20     {env}_CACERT: {ca}\n\
             \x20   ports:\n      - \"{port}:{API_PORT}\"\n\
             \x20   volumes:\n{volumes}\
             {hardening}\
             \x20   # `status` exits 0 when unsealed, 2 when sealed: a sealed node shows unhealthy.\n\
             \x20   healthcheck:\n      test: [\"CMD\", {binary}, \"status\"]\n      interval: 10s\n      timeout: 5s\n      retries: 3\n      start_period: 30s\n\
             \x20   depends_on: [\"{COMPOSE_SINK_HOST}\"]\n\
             \x20   networks: [{net}]\n\
             \x20   # The seed's limits and reservations; memory + swap = memory: no swap.\n\
             \x20   memswap_limit: 1G\n\
             \x20   deploy:\n      resources:\n        limits:\n          cpus: \"1.0\"\n          memory: 1G\n        reservations:\n          cpus: \"0.5\"\n          memory: 512M\n",
            image = q(p.image(opts)),
            uid = Profile::UID,
            gid = Profile::GID,
            binary = q(p.binary),
            config_dir = p.config_dir(),
            ca = q(&p.ca_file()),
            port = published_port(i),
            volumes = volumes
                .iter()
                .map(|v| format!("      - {}\n", q(v)))
                .collect::<String>(),
            net = q(p.name),
        ));
    }
    out.push_str(&format!(
        "  # Receives the socket audit device's stream and copies it to this container's log\n\
         \x20 # (ship it with Docker's logging driver), or replace it by your log shipper's TCP\n\
         \x20 # input (Fluent Bit, Vector, Logstash) under the same name. It must be up when the\n\
         \x20 # cluster is initialised: the server refuses a socket device it cannot reach.\n\
         \x20 {COMPOSE_SINK_HOST}:\n\
         \x20   image: {image}\n\
         \x20   user: \"{uid}:{gid}\"\n\
         \x20   command: {command}\n\
         \x20   restart: always\n\
         {hardening}\
         \x20   networks: [{net}]\n\
         volumes:\n",
        image = q(&opts.audit_sink_image),
        uid = Profile::UID,
        gid = Profile::GID,
        command = flow_list(&[
            "nc",
            "-ll",
            "-p",
            &SINK_PORT.to_string(),
            "-e",
            "/bin/sh",
            "-c",
            "exec cat >&2"
        ]),
        net = q(p.name),
    ));
    for i in 0..opts.replicas {
        let host = host_name(p, i);
        out.push_str(&format!("  {host}-data: {{}}\n  {host}-audit: {{}}\n"));
    }
    out.push_str(&format!("networks:\n  {}: {{}}\n", p.name));
    out
}

/// Path of `profile`'s Compose file under `deploy/`.
pub fn compose_path(profile: Profile) -> String {
    match profile.engine {
        vaultops_types::Engine::OpenBao => "compose/docker-compose.production.yml".to_owned(),
        vaultops_types::Engine::Vault => "compose/docker-compose.vault.production.yml".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_limits_and_restart_policy_on_every_node() {
        let opts = DeployOptions::default();
        let file = compose_file(&opts, Profile::OPENBAO);
        assert_eq!(
            file.matches("    restart: always\n").count(),
            opts.replicas + 1
        );
        assert_eq!(file.matches("cpus: \"1.0\"").count(), opts.replicas);
        assert_eq!(file.matches("memory: 512M").count(), opts.replicas);
        assert!(!file.contains("cap_add:"), "{file}");
        assert!(!file.contains(":latest"), "{file}");
        assert!(file.contains("\"../openbao/server-node3.hcl:/openbao/config/server.hcl:ro\""));
        assert!(file.contains("\"8213:8200\""), "{file}");
        // Core dumps off and no swap on every server, core dumps off on the sink; the
        // metrics port is not published.
        assert_eq!(
            file.matches("    ulimits:\n      core:\n        soft: 0\n        hard: 0\n")
                .count(),
            opts.replicas + 1,
            "{file}"
        );
        assert_eq!(
            file.matches("    memswap_limit: 1G\n").count(),
            opts.replicas
        );
        assert!(!file.contains(":8202\""), "{file}");
    }
}
