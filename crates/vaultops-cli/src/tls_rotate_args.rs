//! Grammar of the rotation commands `vaultops tls served|bundle|reissue` (flattened into
//! `vaultops tls`; run by `tls_rotate_cmd`). Kept apart from `cli` so the rotation commands
//! are one block, and apart from `tls_rotate_cmd` so the grammar depends on no command code.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use vaultops_tls as tls;

/// Rotation commands, flattened into `vaultops tls`.
#[derive(Debug, Subcommand)]
pub enum TlsRotateCommand {
    /// Prove which certificate each --addr node serves: its serial, fingerprint, validity and
    /// SANs, compared with --expect (once for all nodes, or once per --addr in the same
    /// order). Exit 0: every node serves its expected certificate; 2: one does not (each
    /// named, with what it serves); 1: bad input. --ca-cert must trust what the nodes serve
    /// (during a CA rotation: the bundle).
    Served(ServedArgs),
    /// Write a trust bundle: every distinct CA certificate of the --ca files in one PEM
    /// (phase 1 of a CA rotation: clients trust old and new CA).
    Bundle {
        /// A CA certificate (or bundle) file; repeat, e.g. --ca old/ca.pem --ca new/ca.pem.
        #[arg(long = "ca", value_name = "FILE", required = true)]
        cas: Vec<PathBuf>,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Show the CA certificates the bundle would hold; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Re-issue a node certificate from ANOTHER CA (phase 2 of a CA rotation): same name,
    /// SANs and key type, new key; NAME.pem and NAME-key.pem are replaced in place.
    Reissue {
        /// Directory of the NEW CA (ca.pem, ca-key.pem).
        #[arg(long, value_name = "DIR")]
        ca_dir: PathBuf,
        /// The node's current certificate (NAME.pem).
        cert: PathBuf,
        #[arg(long, default_value_t = tls::DEFAULT_NODE_DAYS)]
        days: u32,
        /// Show the names the new certificate would carry and the files it would replace;
        /// write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `vaultops tls served` arguments.
#[derive(Debug, Args)]
pub struct ServedArgs {
    /// The certificate the node(s) must serve; once for every node or once per --addr.
    #[arg(long = "expect", value_name = "CERT.pem", required = true)]
    pub expect: Vec<PathBuf>,
    /// Poll until every node serves its expected certificate, for at most SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub wait: Option<u64>,
}
