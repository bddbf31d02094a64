# Node openbao-1: Docker Compose service (compose/docker-compose.production.yml) or a host of that name.
# OpenBao server configuration for node openbao-1, rendered by vaultops-config; edit the inputs, not this file.
ui                    = true
cluster_name          = "atmr"
log_level             = "info"
api_addr              = "https://openbao-1:8200"
cluster_addr          = "https://openbao-1:8201"
disable_standby_reads = true

storage "raft" {
  path                   = "/openbao/file"
  node_id                = "openbao-1"
  performance_multiplier = 1
  retry_join {
    leader_api_addr     = "https://openbao-2:8200"
    leader_ca_cert_file = "/openbao/tls/ca.pem"
  }
  retry_join {
    leader_api_addr     = "https://openbao-3:8200"
    leader_ca_cert_file = "/openbao/tls/ca.pem"
  }
}

listener "tcp" {
  address         = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_cert_file   = "/openbao/tls/node.pem"
  tls_key_file    = "/openbao/tls/node-key.pem"
  tls_min_version = "tls12"
}

# Prometheus only: /v1/sys/metrics without a token, and every other path answers 404
# here (metrics_only). The API listener above requires a token for metrics. Every tcp
# listener also opens a cluster port: this one's is on loopback, reachable from nowhere.
listener "tcp" {
  address         = "0.0.0.0:8202"
  cluster_address = "127.0.0.1:8203"
  tls_cert_file   = "/openbao/tls/node.pem"
  tls_key_file    = "/openbao/tls/node-key.pem"
  tls_min_version = "tls12"
  telemetry {
    metrics_only                   = true
    unauthenticated_metrics_access = true
  }
}

telemetry {
  disable_hostname          = true
  prometheus_retention_time = "24h"
}

audit "file" "file" {
  description = "JSON lines on the node's audit volume"
  options {
    file_path = "/openbao/logs/audit.log"
  }
}

audit "socket" "socket" {
  description = "JSON lines to the audit sink, shipped off the node"
  options {
    address       = "audit-sink:9090"
    socket_type   = "tcp"
    write_timeout = "2s"
  }
}
