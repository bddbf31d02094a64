//! The backup job's Prometheus metrics, in the node exporter's textfile-collector format:
//! `vaultops backup save --metrics-file F` writes them after a successful save, so the
//! shipped `VaultSnapshotTooOld` alert (`deploy/prometheus/alerts.yml`) has its input without a
//! hand-written script. The file is replaced atomically through [`vaultops_fs`] (temporary file
//! in the same directory, then a rename): the collector never reads half a file, and a failed
//! save leaves the previous file, and so the previous timestamp, in place.

use std::path::Path;

use crate::{BackupError, BackupInfo};

/// Unix time of the last successful snapshot; the name the shipped alert rules use.
pub const SNAPSHOT_METRIC: &str = "vaultops_snapshot_last_success_timestamp_seconds";
/// Size of the last successful backup file, in bytes.
pub const SNAPSHOT_SIZE_METRIC: &str = "vaultops_snapshot_last_size_bytes";

/// The textfile for a save that succeeded at `unix_time` (seconds).
pub fn render(info: &BackupInfo, unix_time: u64) -> String {
    format!(
        "# HELP {SNAPSHOT_METRIC} Unix time of the last successful raft snapshot.\n\
         # TYPE {SNAPSHOT_METRIC} gauge\n\
         {SNAPSHOT_METRIC} {unix_time}\n\
         # HELP {SNAPSHOT_SIZE_METRIC} Size in bytes of the last successful backup file.\n\
         # TYPE {SNAPSHOT_SIZE_METRIC} gauge\n\
         {SNAPSHOT_SIZE_METRIC} {}\n",
        info.bytes
    )
}

/// Writes [`render`] for now to `path` (mode 0644: the collector runs as another user; the file
/// holds no secret), atomically.
pub fn write(path: &Path, info: &BackupInfo) -> Result<(), BackupError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    // The collector reads only `*.prom`: the temporary name (`.NAME.XXXX.tmp`) does not match.
    vaultops_fs::write_atomic(
        path,
        render(info, now).as_bytes(),
        vaultops_fs::WriteOptions::new(0o644),
    )
    .map_err(|source| BackupError::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn info() -> BackupInfo {
        BackupInfo {
            path: PathBuf::from("/b/x.snap"),
            checksum_file: PathBuf::from("/b/x.snap.sha256"),
            bytes: 237_993,
            sha256: "ab".into(),
            snapshot_bytes: 237_608,
            snapshot_sha256: "cd".into(),
            encrypted: true,
            meta_file: PathBuf::from("/b/x.snap.meta.json"),
            cluster_id: None,
            cluster_name: None,
        }
    }

    #[test]
    fn textfile_format_and_atomic_replace() {
        let text = render(&info(), 1_795_958_000);
        assert!(
            text.contains(&format!("\n{SNAPSHOT_METRIC} 1795958000\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("# TYPE {SNAPSHOT_METRIC} gauge\n")),
            "{text}"
        );
        assert!(
            text.ends_with(&format!("{SNAPSHOT_SIZE_METRIC} 237993\n")),
            "{text}"
        );

        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("vaultops_snapshot.prom");
        std::fs::write(&f, "old").unwrap();
        write(&f, &info()).unwrap();
        let got = std::fs::read_to_string(&f).unwrap();
        assert!(got.contains(SNAPSHOT_METRIC), "{got}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644);
        }
        let names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");

        let e = write(&d.path().join("missing-dir/x.prom"), &info()).unwrap_err();
        assert!(e.to_string().contains("missing-dir"), "{e}");
    }
}
