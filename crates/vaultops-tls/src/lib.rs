//! TLS material for a Vault/OpenBao cluster: CA and node certificates (rcgen), inspection and verification (x509-parser).
