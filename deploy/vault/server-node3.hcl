# Node vault-3: Docker Compose service (compose/docker-compose.vault.production.yml) or a host of that name.
# Vault server configuration for node vault-3, rendered by vaultops-config; edit the inputs, not this file.
ui            = true
cluster_name  = "atmr"
log_level     = "info"
api_addr      = "https://vault-3:8200"
cluster_addr  = "https://vault-3:8201"
disable_mlock = true

storage "raft" {
  path                   = "/vault/file"
  node_id                = "vault-3"
  performance_multiplier = 1
  retry_join {
    leader_api_addr     = "https://vault-1:8200"
    leader_ca_cert_file = "/vault/tls/ca.pem"
  }
  retry_join {
    leader_api_addr     = "https://vault-2:8200"
    leader_ca_cert_file = "/vault/tls/ca.pem"
  }
}

listener "tcp" {
  address         = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_cert_file   = "/vault/tls/node.pem"
  tls_key_file    = "/vault/tls/node-key.pem"
  tls_min_version = "tls12"
}

# Prometheus only: /v1/sys/metrics without a token (every other path still needs a
# token here). The API listener above requires a token for metrics. Every tcp
# listener also opens a cluster port: this one's is on loopback, reachable from nowhere.
listener "tcp" {
  address         = "0.0.0.0:8202"
  cluster_address = "127.0.0.1:8203"
  tls_cert_file   = "/vault/tls/node.pem"
  tls_key_file    = "/vault/tls/node-key.pem"
  tls_min_version = "tls12"
  telemetry {
    unauthenticated_metrics_access = true
  }
}

telemetry {
  disable_hostname          = true
  prometheus_retention_time = "24h"
}
