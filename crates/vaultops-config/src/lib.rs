//! Server configuration rendering (HCL) for OpenBao and Vault nodes; pure, no I/O.
