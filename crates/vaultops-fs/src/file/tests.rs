//! Tests of the synchronous write path (and the steps it shares with the async one).

use super::*;
use crate::Owner;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::{Arc, Barrier};

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

/// Set to a directory, [`umask_child`] writes files there under the umask its parent set.
const UMASK_CHILD_DIR: &str = "VAULTOPS_FS_UMASK_CHILD_DIR";
const UMASK_MODES: [u32; 5] = [0o600, 0o644, 0o640, 0o755, 0o400];

/// The umask is per process: [`umask_is_neither_narrowing_nor_widening_the_mode`] runs this
/// test in a child process that a shell started with the umask under test. Run directly (no
/// directory given), it has nothing to do.
#[test]
fn umask_child() {
    let Some(dir) = std::env::var_os(UMASK_CHILD_DIR).map(PathBuf::from) else {
        return;
    };
    // Prove the umask is in effect: a plain create is narrowed by it.
    let plain = dir.join("plain");
    fs::File::create(&plain).unwrap();
    fs::write(dir.join("plain-mode"), format!("{:o}", mode(&plain))).unwrap();
    for m in UMASK_MODES {
        let path = dir.join(format!("{m:o}"));
        write_atomic(&path, b"x", WriteOptions::new(m)).unwrap();
        let mut streamed =
            AtomicFile::create(dir.join(format!("s{m:o}")), WriteOptions::new(m)).unwrap();
        streamed.write_all(b"x").unwrap();
        streamed.commit().unwrap();
    }
}

#[test]
fn umask_is_neither_narrowing_nor_widening_the_mode() {
    // 000 is permissive (a create that relies on the default would give 0666 or the temp
    // file's 0600), 077 and 277 are strict (they would narrow 0644 to 0600 or 0400).
    for (umask, plain_mode) in [("000", 0o666), ("077", 0o600), ("277", 0o400)] {
        let d = tempfile::tempdir().unwrap();
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask {umask} && exec \"$0\" --exact file::tests::umask_child --test-threads=1"
            ))
            .arg(&exe)
            .env(UMASK_CHILD_DIR, d.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "child under umask {umask}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let got = fs::read_to_string(d.path().join("plain-mode")).unwrap();
        assert_eq!(
            got,
            format!("{plain_mode:o}"),
            "umask {umask} was in effect"
        );
        for m in UMASK_MODES {
            assert_eq!(mode(&d.path().join(format!("{m:o}"))), m, "umask {umask}");
            assert_eq!(mode(&d.path().join(format!("s{m:o}"))), m, "umask {umask}");
        }
    }
}

#[test]
fn a_0644_file_is_replaced_by_a_0600_file_and_not_lent_its_mode() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("secret");
    fs::write(&p, "old").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    let before = fs::metadata(&p).unwrap().ino();
    write_atomic(&p, b"new", WriteOptions::private()).unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"new");
    assert_eq!(mode(&p), 0o600);
    assert_ne!(
        fs::metadata(&p).unwrap().ino(),
        before,
        "a new file, not the old one"
    );
    assert_eq!(names(d.path()), ["secret"]);
}

#[test]
fn someone_elses_file_is_replaced_by_ours_unless_its_owner_is_to_be_kept() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("secret");
    fs::write(&p, "old").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o666)).unwrap();
    let (uid, gid) = (4321, 4321);
    if std::os::unix::fs::chown(&p, Some(uid), Some(gid)).is_err() {
        // Not privileged: a file we cannot give away is the only kind we can make, so the
        // owner cases below cannot be set up; the mode half still holds.
        write_atomic(&p, b"new", WriteOptions::private()).unwrap();
        assert_eq!(mode(&p), 0o600);
        return;
    }
    let me = fs::metadata(d.path()).unwrap().uid();
    write_atomic(&p, b"new", WriteOptions::private()).unwrap();
    let m = fs::metadata(&p).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (me, 0o600));

    std::os::unix::fs::chown(&p, Some(uid), Some(gid)).unwrap();
    write_atomic(&p, b"newer", WriteOptions::private().keep_owner()).unwrap();
    let m = fs::metadata(&p).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (uid, gid, 0o600));
    assert_eq!(fs::read(&p).unwrap(), b"newer");
}

#[test]
fn keep_owner_on_a_new_file_is_the_writer() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("new");
    let opts = WriteOptions::new(0o640).keep_owner();
    assert_eq!(opts.owner, Owner::KeepExisting);
    write_atomic(&p, b"x", opts).unwrap();
    assert_eq!(
        fs::metadata(&p).unwrap().uid(),
        fs::metadata(d.path()).unwrap().uid()
    );
    assert_eq!(mode(&p), 0o640);
}

#[test]
fn a_symlink_target_is_refused_and_its_pointee_left_alone() {
    let d = tempfile::tempdir().unwrap();
    let pointee = d.path().join("pointee");
    fs::write(&pointee, "precious").unwrap();
    fs::set_permissions(&pointee, fs::Permissions::from_mode(0o644)).unwrap();
    let link = d.path().join("backup.snap");
    std::os::unix::fs::symlink(&pointee, &link).unwrap();
    for opts in [
        WriteOptions::private(),
        WriteOptions::private().refuse_existing(),
    ] {
        let err = write_atomic(&link, b"secret", opts).unwrap_err();
        assert!(matches!(err, AtomicWriteError::Symlink { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&link.display().to_string()), "{msg}");
        assert!(msg.contains("symbolic link"), "{msg}");
    }
    assert_eq!(fs::read(&pointee).unwrap(), b"precious");
    assert_eq!(mode(&pointee), 0o644);
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(names(d.path()), ["backup.snap", "pointee"]);
}

#[test]
fn a_symlink_that_appears_during_a_write_is_refused_at_commit() {
    let d = tempfile::tempdir().unwrap();
    let pointee = d.path().join("pointee");
    fs::write(&pointee, "precious").unwrap();
    let link = d.path().join("out");
    let mut f = AtomicFile::create(&link, WriteOptions::private()).unwrap();
    f.write_all(b"secret").unwrap();
    std::os::unix::fs::symlink(&pointee, &link).unwrap();
    let err = f.commit().unwrap_err();
    assert!(matches!(err, AtomicWriteError::Symlink { .. }), "{err:?}");
    assert_eq!(fs::read(&pointee).unwrap(), b"precious");
    assert_eq!(names(d.path()), ["out", "pointee"]);
}

#[test]
fn no_clobber_refuses_an_existing_file_and_keeps_its_content() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("ca-key.pem");
    fs::write(&p, "old").unwrap();
    let err = write_atomic(&p, b"new", WriteOptions::private().refuse_existing()).unwrap_err();
    assert!(matches!(err, AtomicWriteError::Exists { .. }), "{err:?}");
    assert_eq!(err.path(), p);
    let msg = err.to_string();
    assert!(msg.contains(&p.display().to_string()), "{msg}");
    assert!(msg.contains("already exists"), "{msg}");
    assert!(msg.contains("move it away"), "{msg}");
    assert_eq!(fs::read(&p).unwrap(), b"old");
    assert_eq!(names(d.path()), ["ca-key.pem"]);

    // A file that appears between the start and the commit is refused too.
    let q = d.path().join("init.json");
    let mut f = AtomicFile::create(&q, WriteOptions::private().refuse_existing()).unwrap();
    assert_eq!(f.target(), q);
    f.write_all(b"mine").unwrap();
    fs::write(&q, "theirs").unwrap();
    let err = f.commit().unwrap_err();
    assert!(matches!(err, AtomicWriteError::Exists { .. }), "{err:?}");
    assert_eq!(fs::read(&q).unwrap(), b"theirs");
    assert_eq!(names(d.path()), ["ca-key.pem", "init.json"]);
}

#[test]
fn an_abandoned_write_leaves_no_temporary_file_and_the_old_content() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("state.json");
    fs::write(&p, "old").unwrap();
    let mut f = AtomicFile::create(&p, WriteOptions::private()).unwrap();
    f.write_all(b"half of the n").unwrap();
    let temp = f.temp_path().to_owned();
    assert_eq!(
        temp.parent(),
        Some(d.path()),
        "the temp file is next to the target"
    );
    assert!(temp.exists());
    assert_eq!(mode(&temp), 0o600, "private before the first byte");
    drop(f);
    assert!(!temp.exists());
    assert_eq!(fs::read(&p).unwrap(), b"old");
    assert_eq!(names(d.path()), ["state.json"]);
}

#[test]
fn a_failed_commit_leaves_no_temporary_file() {
    let d = tempfile::tempdir().unwrap();
    // A directory cannot be replaced by a file: the rename fails.
    let p = d.path().join("taken");
    fs::create_dir(&p).unwrap();
    fs::write(p.join("inside"), "kept").unwrap();
    let err = write_atomic(&p, b"x", WriteOptions::private()).unwrap_err();
    assert!(matches!(err, AtomicWriteError::Persist { .. }), "{err:?}");
    assert_eq!(names(d.path()), ["taken"]);
    assert_eq!(fs::read(p.join("inside")).unwrap(), b"kept");
}

#[test]
fn concurrent_no_clobber_writers_exactly_one_wins() {
    let d = tempfile::tempdir().unwrap();
    let p = Arc::new(d.path().join("bundle.json"));
    const WRITERS: usize = 8;
    let barrier = Arc::new(Barrier::new(WRITERS));
    let handles: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (p, barrier) = (Arc::clone(&p), Arc::clone(&barrier));
            std::thread::spawn(move || {
                // Every writer has passed the early existence check before any commits.
                let mut f =
                    AtomicFile::create(&*p, WriteOptions::private().refuse_existing()).unwrap();
                f.write_all(format!("writer {i}").as_bytes()).unwrap();
                barrier.wait();
                f.commit().map(|()| i)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners: Vec<usize> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for r in &results {
        if let Err(e) = r {
            assert!(matches!(e, AtomicWriteError::Exists { .. }), "{e:?}");
        }
    }
    assert_eq!(
        fs::read_to_string(&*p).unwrap(),
        format!("writer {}", winners[0])
    );
    assert_eq!(names(d.path()), ["bundle.json"]);
}

#[test]
fn a_missing_directory_is_named_and_the_cause_is_only_the_source() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("missing/file");
    let err = write_atomic(&p, b"x", WriteOptions::new(0o644)).unwrap_err();
    assert!(
        matches!(err, AtomicWriteError::CreateTemp { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(msg.contains(&p.display().to_string()), "{msg}");
    assert!(!msg.contains(&cause), "{msg} repeats its cause {cause}");
}

/// Moved from `vaultops-api` (raft.rs), whose snapshot download had its own temp names.
#[test]
fn temp_names_are_hidden_and_unique() {
    let d = tempfile::tempdir().unwrap();
    let target = d.path().join("raft.snap");
    let a = AtomicFile::create(&target, WriteOptions::private()).unwrap();
    let b = AtomicFile::create(&target, WriteOptions::private()).unwrap();
    assert_ne!(a.temp_path(), b.temp_path());
    let name = a.temp_path().file_name().unwrap().to_string_lossy();
    assert!(
        name.starts_with(".raft.snap.") && name.ends_with(".tmp"),
        "{name}"
    );
}
