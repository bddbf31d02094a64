//! The server image: which one to run, and building the local one when no registry is reachable.
//!
//! Order of preference for the OpenBao engine: the pinned official image if it is present
//! locally; else the local image built from the verified binary if it is present and current;
//! else a pull of the official image (it fails fast without a registry, which is only logged at
//! debug level); else a build of the local image from a `FROM scratch` context assembled in
//! memory ([`build_context`], pure). Vault has no local build: no Vault binary can be obtained
//! here, so the official image must be present or pullable.
//!
//! Whatever the image, containers are started with an explicit entrypoint (the binary), user
//! (100:1000) and `server -config=<file>` command, so the official images' entrypoint scripts
//! and default paths never matter.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use bollard::query_parameters::{BuildImageOptionsBuilder, CreateImageOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use vaultops_types::Engine;

use crate::docker::is_not_found;
use crate::error::TestbedError;

/// Repository of the official OpenBao images (tagged by version).
pub const OFFICIAL_OPENBAO_REPOSITORY: &str = "quay.io/openbao/openbao";
/// The pinned official Vault image.
pub const OFFICIAL_VAULT_IMAGE: &str = "hashicorp/vault:1.20.4";
/// Repository of the locally built OpenBao image.
pub const LOCAL_REPOSITORY: &str = "vaultops/openbao";
/// Where a static busybox is looked for on the host (Debian package `busybox-static`).
pub const HOST_BUSYBOX: &str = "/bin/busybox";

/// Image label: sha256 of the `bao` binary inside.
pub const LABEL_BINARY_SHA256: &str = "vaultops.binary.sha256";
/// Image label: hash of everything else in the build context (Dockerfile, passwd, busybox).
pub const LABEL_CONTEXT: &str = "vaultops.context";
/// Image label: `true` when the image has `/bin/busybox` (needed by the audit sink).
pub const LABEL_BUSYBOX: &str = "vaultops.busybox";

const DOCKERFILE: &str = include_str!("../../../testbed/image/Dockerfile");
const PASSWD: &str = include_str!("../../../testbed/image/passwd");
const GROUP: &str = include_str!("../../../testbed/image/group");
/// Applets linked to busybox in the image, for `docker exec … sh` debugging.
const BUSYBOX_LINKS: [&str; 5] = ["sh", "ls", "cat", "tail", "nc"];
/// Directories under `/vault` (owned 100:1000 in the image).
pub const VAULT_DIRS: [&str; 4] = ["config", "tls", "data", "audit"];

/// Where the image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageOrigin {
    /// The official image, already present locally.
    OfficialPresent,
    /// The official image, pulled just now.
    OfficialPulled,
    /// The local image, already built with the same binary and context.
    LocalCached,
    /// The local image, built just now.
    LocalBuilt,
    /// An image the caller named explicitly.
    Explicit,
}

/// The image nodes run, and what the runtime needs to know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerImage {
    /// Image reference (`repo:tag`).
    pub reference: String,
    pub origin: ImageOrigin,
    /// Path of the server binary inside the image (`/bin/bao`, `/bin/vault`).
    pub binary: &'static str,
    /// Whether `/bin/busybox` exists in the image (the official images are Alpine-based).
    pub has_busybox: bool,
}

/// The inputs of the local image: the binary and, optionally, a static busybox.
#[derive(Debug, Clone)]
pub struct ContextInputs {
    pub bao: PathBuf,
    pub busybox: Option<PathBuf>,
}

/// `vaultops/openbao:<version>-<first 12 hex of the binary's sha256>`.
pub fn local_tag(version: &str, bao_sha256: &str) -> String {
    let short: String = bao_sha256.chars().take(12).collect();
    format!("{LOCAL_REPOSITORY}:{version}-{short}")
}

/// `quay.io/openbao/openbao:<version>`: the official image of a pinned release.
pub fn official_openbao_image(version: &str) -> String {
    format!("{OFFICIAL_OPENBAO_REPOSITORY}:{version}")
}

/// The OpenBao release a testbed runs: `version` (`2.6.2`) when given, else the default
/// (2.7.2); a version vaultops-install does not pin is refused, naming the pinned ones.
pub fn openbao_release(
    version: Option<&str>,
) -> Result<&'static vaultops_install::PinnedRelease, TestbedError> {
    match version {
        None => Ok(&vaultops_install::DEFAULT_RELEASE),
        Some(v) => vaultops_install::pinned_release(v)
            .map_err(|source| TestbedError::UnpinnedVersion { source }),
    }
}

/// Hash of everything in the context except the binary: the image files and busybox's hash.
/// A change to any of them changes the label and forces a rebuild.
pub fn context_hash(busybox_sha256: Option<&str>) -> String {
    let mut h = Sha256::new();
    for part in [
        DOCKERFILE,
        PASSWD,
        GROUP,
        busybox_sha256.unwrap_or("no-busybox"),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The labels the local image is built with.
pub fn image_labels(bao_sha256: &str, busybox_sha256: Option<&str>) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_BINARY_SHA256.to_owned(), bao_sha256.to_owned()),
        (LABEL_CONTEXT.to_owned(), context_hash(busybox_sha256)),
        (
            LABEL_BUSYBOX.to_owned(),
            busybox_sha256.is_some().to_string(),
        ),
    ])
}

/// The build context as an uncompressed tar: see `testbed/image/README.md` for its layout.
/// Every entry has mtime 0 and fixed ownership, so the same inputs give the same bytes.
pub fn build_context(inputs: &ContextInputs) -> io::Result<Vec<u8>> {
    let bao = std::fs::File::open(&inputs.bao)?;
    let bao_len = bao.metadata()?.len();
    let busybox = match &inputs.busybox {
        Some(p) => Some(std::fs::read(p)?),
        None => None,
    };
    let mut tar = tar::Builder::new(Vec::with_capacity(bao_len as usize + (4 << 20)));
    add_file(&mut tar, "Dockerfile", 0o644, DOCKERFILE.as_bytes())?;
    for d in ["rootfs", "rootfs/bin", "rootfs/etc", "vault"] {
        add_dir(&mut tar, d, 0o755)?;
    }
    add_dir(&mut tar, "rootfs/tmp", 0o1777)?;
    for d in VAULT_DIRS {
        add_dir(&mut tar, &format!("vault/{d}"), 0o755)?;
    }
    add_reader(&mut tar, "rootfs/bin/bao", 0o755, bao_len, bao)?;
    if let Some(bb) = &busybox {
        add_file(&mut tar, "rootfs/bin/busybox", 0o755, bb)?;
        for link in BUSYBOX_LINKS {
            let mut h = header(tar::EntryType::Symlink, 0o777, 0);
            h.set_link_name("busybox")?;
            tar.append_data(&mut h, format!("rootfs/bin/{link}"), io::empty())?;
        }
    }
    add_file(&mut tar, "rootfs/etc/passwd", 0o644, PASSWD.as_bytes())?;
    add_file(&mut tar, "rootfs/etc/group", 0o644, GROUP.as_bytes())?;
    tar.into_inner()
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn add_dir(tar: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32) -> io::Result<()> {
    let mut h = header(tar::EntryType::Directory, mode, 0);
    tar.append_data(&mut h, format!("{path}/"), io::empty())
}

fn add_file(tar: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32, data: &[u8]) -> io::Result<()> {
    add_reader(tar, path, mode, data.len() as u64, data)
}

fn add_reader(
    tar: &mut tar::Builder<Vec<u8>>,
    path: &str,
    mode: u32,
    size: u64,
    data: impl Read,
) -> io::Result<()> {
    let mut h = header(tar::EntryType::Regular, mode, size);
    tar.append_data(&mut h, path, data)
}

/// The host's static busybox at [`HOST_BUSYBOX`] and its sha256. Its absence is an error
/// that says what to install: the testbed is never built without its audit sink.
pub fn host_busybox() -> Result<(PathBuf, String), TestbedError> {
    busybox_at(Path::new(HOST_BUSYBOX))
}

fn busybox_at(p: &Path) -> Result<(PathBuf, String), TestbedError> {
    if !p.is_file() {
        return Err(TestbedError::BusyboxMissing { path: p.to_owned() });
    }
    vaultops_install::sha256_file(p)
        .map(|h| (p.to_owned(), h))
        .map_err(|_| TestbedError::BusyboxMissing { path: p.to_owned() })
}

/// The server binary inside every image of `engine` (the containers' entrypoint).
pub(crate) fn binary_path(engine: Engine) -> &'static str {
    match engine {
        Engine::OpenBao => "/bin/bao",
        Engine::Vault => "/bin/vault",
    }
}

/// Picks (and if needed pulls or builds) the image for `engine`; see the module docs for the
/// order. `explicit` names an image to use instead (it must be present or pullable). For
/// OpenBao, `release` is the version the image carries (official tag, local tag and binary).
pub(crate) async fn ensure_image(
    docker: &Docker,
    engine: Engine,
    explicit: Option<&str>,
    release: &'static vaultops_install::PinnedRelease,
) -> Result<ServerImage, TestbedError> {
    let binary = binary_path(engine);
    if let Some(reference) = explicit {
        if !image_present(docker, reference).await? {
            pull(docker, reference)
                .await
                .map_err(|reason| TestbedError::ImageUnavailable {
                    image: reference.to_owned(),
                    reason,
                })?;
        }
        let has_busybox = image_labels_of(docker, reference)
            .await?
            .get(LABEL_BUSYBOX)
            .is_none_or(|v| v == "true");
        if !has_busybox {
            return Err(TestbedError::ImageWithoutBusybox {
                image: reference.to_owned(),
            });
        }
        return Ok(ServerImage {
            reference: reference.to_owned(),
            origin: ImageOrigin::Explicit,
            binary,
            has_busybox,
        });
    }
    let official_openbao = official_openbao_image(release.version);
    let official = match engine {
        Engine::OpenBao => official_openbao.as_str(),
        Engine::Vault => OFFICIAL_VAULT_IMAGE,
    };
    let official_image = |origin| ServerImage {
        reference: official.to_owned(),
        origin,
        binary,
        has_busybox: true,
    };
    if image_present(docker, official).await? {
        return Ok(official_image(ImageOrigin::OfficialPresent));
    }
    if engine == Engine::Vault {
        return match pull(docker, official).await {
            Ok(()) => Ok(official_image(ImageOrigin::OfficialPulled)),
            Err(reason) => Err(TestbedError::VaultImageUnavailable {
                image: official.to_owned(),
                reason,
            }),
        };
    }

    // The local image: its tag and labels follow from the binary's checksum and the context.
    let busybox = Some(
        tokio::task::spawn_blocking(host_busybox)
            .await
            .map_err(|e| TestbedError::blocking("looking for the host's busybox", e))??,
    );
    let busybox_sha = busybox.as_ref().map(|(_, h)| h.as_str());
    let bao_sha256 = binary_checksum(release).await?;
    let tag = local_tag(release.version, &bao_sha256);
    let want = image_labels(&bao_sha256, busybox_sha);
    let local_image = |origin| ServerImage {
        reference: tag.clone(),
        origin,
        binary,
        has_busybox: busybox.is_some(),
    };
    if image_present(docker, &tag).await? {
        let have = image_labels_of(docker, &tag).await?;
        if have.get(LABEL_BINARY_SHA256) == want.get(LABEL_BINARY_SHA256)
            && have.get(LABEL_CONTEXT) == want.get(LABEL_CONTEXT)
        {
            return Ok(local_image(ImageOrigin::LocalCached));
        }
        tracing::info!(image = %tag, "local image is stale (context changed); rebuilding");
    } else {
        match pull(docker, official).await {
            Ok(()) => return Ok(official_image(ImageOrigin::OfficialPulled)),
            Err(reason) => {
                tracing::debug!(image = official, %reason, "pull failed; building the local image")
            }
        }
    }

    let install = vaultops_install::InstallOptions {
        version: Some(release.version.to_owned()),
        ..Default::default()
    };
    let bao = tokio::task::spawn_blocking(move || vaultops_install::ensure_bao(&install))
        .await
        .map_err(|e| TestbedError::blocking("installing bao", e))?
        .map_err(|source| TestbedError::InstallBao { source })?;
    let inputs = ContextInputs {
        bao,
        busybox: busybox.as_ref().map(|(p, _)| p.clone()),
    };
    let context = tokio::task::spawn_blocking(move || build_context(&inputs))
        .await
        .map_err(|e| TestbedError::blocking("assembling the build context", e))?
        .map_err(|e| TestbedError::ImageBuild {
            image: tag.clone(),
            reason: format!("assembling the build context: {e}"),
            output: String::new(),
        })?;
    build(docker, &tag, &want, context).await?;
    Ok(local_image(ImageOrigin::LocalBuilt))
}

/// The checksum of the binary the local image is built from: the pinned one of `release`,
/// unless `release` is the default and `VAULTOPS_BAO_BIN` names another binary (hashed here, off
/// the async runtime), the same rule as [`vaultops_install::ensure_bao`].
async fn binary_checksum(
    release: &'static vaultops_install::PinnedRelease,
) -> Result<String, TestbedError> {
    let path = std::env::var_os(vaultops_install::BAO_BIN_ENV)
        .filter(|_| release.version == vaultops_install::OPENBAO_VERSION);
    let Some(path) = path else {
        return Ok(release.binary_sha256.to_owned());
    };
    let path = PathBuf::from(path);
    let p = path.clone();
    tokio::task::spawn_blocking(move || vaultops_install::sha256_file(&p))
        .await
        .map_err(|e| TestbedError::blocking("hashing the bao binary", e))?
        .map_err(|e| TestbedError::ImageBuild {
            image: LOCAL_REPOSITORY.to_owned(),
            reason: format!(
                "cannot hash {} (from {}): {e}",
                path.display(),
                vaultops_install::BAO_BIN_ENV
            ),
            output: String::new(),
        })
}

async fn image_present(docker: &Docker, reference: &str) -> Result<bool, TestbedError> {
    match docker.inspect_image(reference).await {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(TestbedError::docker("inspecting image", reference, e)),
    }
}

async fn image_labels_of(
    docker: &Docker,
    reference: &str,
) -> Result<HashMap<String, String>, TestbedError> {
    let img = docker
        .inspect_image(reference)
        .await
        .map_err(|e| TestbedError::docker("inspecting image", reference, e))?;
    Ok(img.config.and_then(|c| c.labels).unwrap_or_default())
}

/// Pulls `reference`, reading the progress stream to its end; the error text on failure.
async fn pull(docker: &Docker, reference: &str) -> Result<(), String> {
    let opts = CreateImageOptionsBuilder::new()
        .from_image(reference)
        .build();
    let mut stream = docker.create_image(Some(opts), None, None);
    let mut result = Ok(());
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(e) = info.error_detail.and_then(|d| d.message) {
                    result = Err(e);
                }
            }
            Err(e) => result = Err(e.to_string()),
        }
    }
    result
}

/// Builds `tag` from the in-memory `context`, reading the build output to its end; a failed
/// step becomes [`TestbedError::ImageBuild`] with the output's last lines.
async fn build(
    docker: &Docker,
    tag: &str,
    labels: &HashMap<String, String>,
    context: Vec<u8>,
) -> Result<(), TestbedError> {
    let opts = BuildImageOptionsBuilder::new()
        .dockerfile("Dockerfile")
        .t(tag)
        .rm(true)
        .forcerm(true)
        .labels(labels)
        .build();
    let mut stream = docker.build_image(opts, None, Some(bollard::body_full(context.into())));
    let mut output: Vec<String> = Vec::new();
    let mut failure = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(s) = info.stream {
                    output.extend(s.lines().map(str::to_owned));
                }
                if let Some(msg) = info.error_detail.and_then(|d| d.message) {
                    failure = Some(msg);
                }
            }
            Err(e) => failure = Some(e.to_string()),
        }
    }
    if let Some(reason) = failure {
        let tail = output.len().saturating_sub(20);
        return Err(TestbedError::ImageBuild {
            image: tag.to_owned(),
            reason,
            output: output[tail..].join("\n"),
        });
    }
    if !image_present(docker, tag).await? {
        return Err(TestbedError::ImageBuild {
            image: tag.to_owned(),
            reason: "the build finished without error but the image does not exist".into(),
            output: output.join("\n"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn entries(tar_bytes: &[u8]) -> BTreeMap<String, (tar::EntryType, u32, Vec<u8>, String)> {
        let mut a = tar::Archive::new(tar_bytes);
        a.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let path = e.path().unwrap().to_string_lossy().into_owned();
                let kind = e.header().entry_type();
                let mode = e.header().mode().unwrap();
                let link = e
                    .link_name()
                    .unwrap()
                    .map(|l| l.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (path, (kind, mode, data, link))
            })
            .collect()
    }

    fn fake(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn context_holds_binary_accounts_dirs_and_dockerfile() {
        let tmp = tempfile::tempdir().unwrap();
        let inputs = ContextInputs {
            bao: fake(tmp.path(), "bao", b"fake bao"),
            busybox: None,
        };
        let e = entries(&build_context(&inputs).unwrap());
        let (kind, mode, data, _) = &e["rootfs/bin/bao"];
        assert_eq!(
            (*kind, *mode, data.as_slice()),
            (tar::EntryType::Regular, 0o755, &b"fake bao"[..])
        );
        let passwd = String::from_utf8(e["rootfs/etc/passwd"].2.clone()).unwrap();
        assert!(passwd.contains("openbao:x:100:1000:"), "{passwd}");
        let group = String::from_utf8(e["rootfs/etc/group"].2.clone()).unwrap();
        assert!(group.contains("openbao:x:1000:"), "{group}");
        for d in VAULT_DIRS {
            assert_eq!(
                e[&format!("vault/{d}/")].0,
                tar::EntryType::Directory,
                "{d}"
            );
        }
        assert_eq!(e["rootfs/tmp/"].1, 0o1777);
        assert!(!e.contains_key("rootfs/bin/busybox"));
        assert!(!e.contains_key("rootfs/bin/sh"));
        let df = String::from_utf8(e["Dockerfile"].2.clone()).unwrap();
        for line in [
            "FROM scratch",
            "COPY --chown=100:1000 vault/ /vault/",
            "USER 100:1000",
            r#"ENTRYPOINT ["/bin/bao"]"#,
        ] {
            assert!(df.lines().any(|l| l == line), "missing {line:?} in\n{df}");
        }
    }

    #[test]
    fn context_with_busybox_links_applets_and_is_deterministic() {
        let tmp = tempfile::tempdir().unwrap();
        let inputs = ContextInputs {
            bao: fake(tmp.path(), "bao", b"fake bao"),
            busybox: Some(fake(tmp.path(), "busybox", b"fake busybox")),
        };
        let bytes = build_context(&inputs).unwrap();
        assert_eq!(bytes, build_context(&inputs).unwrap());
        let e = entries(&bytes);
        assert_eq!(e["rootfs/bin/busybox"].2, b"fake busybox");
        for l in BUSYBOX_LINKS {
            let (kind, _, _, target) = &e[&format!("rootfs/bin/{l}")];
            assert_eq!(
                (*kind, target.as_str()),
                (tar::EntryType::Symlink, "busybox")
            );
        }
    }

    #[test]
    fn tag_and_labels_follow_the_checksums() {
        let sha = vaultops_install::BINARY_SHA256;
        assert_eq!(
            local_tag(vaultops_install::OPENBAO_VERSION, sha),
            "vaultops/openbao:2.7.2-9c5f36287c67"
        );
        let with = image_labels(sha, Some("11"));
        let without = image_labels(sha, None);
        assert_eq!(with[LABEL_BINARY_SHA256], sha);
        assert_eq!(with[LABEL_BUSYBOX], "true");
        assert_eq!(without[LABEL_BUSYBOX], "false");
        assert_ne!(with[LABEL_CONTEXT], without[LABEL_CONTEXT]);
        assert_ne!(context_hash(Some("11")), context_hash(Some("12")));
    }

    #[test]
    fn the_version_chooses_the_binary_the_tag_and_the_official_image() {
        // Default: 2.7.2, the tree's pin.
        let default = openbao_release(None).unwrap();
        assert_eq!(default.version, "2.7.2");
        assert_eq!(
            official_openbao_image(default.version),
            "quay.io/openbao/openbao:2.7.2"
        );
        // 2.6.2: its own pinned binary, so its own tag and labels, and the official 2.6.2 image.
        let older = openbao_release(Some("2.6.2")).unwrap();
        assert_eq!(
            older.binary_sha256,
            "8d18052337908a74f0d7dfacc8da7a1bff5f8a4ab6a2ad136fbf5ffeae243b00"
        );
        assert_eq!(
            local_tag(older.version, older.binary_sha256),
            "vaultops/openbao:2.6.2-8d1805233790"
        );
        assert_eq!(
            official_openbao_image(older.version),
            "quay.io/openbao/openbao:2.6.2"
        );
        assert_ne!(
            image_labels(older.binary_sha256, None)[LABEL_BINARY_SHA256],
            image_labels(default.binary_sha256, None)[LABEL_BINARY_SHA256],
            "a 2.7.2 image is never taken for a 2.6.2 one"
        );
        // A version with no pin is refused, naming the pinned ones.
        let err = openbao_release(Some("2.5.0")).unwrap_err();
        assert!(
            matches!(err, TestbedError::UnpinnedVersion { .. }),
            "{err:?}"
        );
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(
            cause.contains("2.6.1, 2.6.2, 2.7.0, 2.7.1, 2.7.2"),
            "{cause}"
        );
    }

    #[tokio::test]
    async fn the_checksum_is_the_release_s_and_the_override_only_replaces_the_default() {
        let older = openbao_release(Some("2.6.2")).unwrap();
        // VAULTOPS_BAO_BIN is a process-wide setting: this test only reads it. Whatever it is,
        // the 2.6.2 checksum is the pinned one.
        assert_eq!(binary_checksum(older).await.unwrap(), older.binary_sha256);
    }

    #[test]
    fn a_missing_busybox_is_an_error_naming_the_package() {
        let tmp = tempfile::tempdir().unwrap();
        let e = busybox_at(&tmp.path().join("busybox")).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, TestbedError::BusyboxMissing { .. })
                && msg.contains("apt-get install busybox-static"),
            "{msg}"
        );
        // Positive control: a present file is accepted, with its checksum.
        let present = fake(tmp.path(), "busybox", b"fake busybox");
        let (path, sha) = busybox_at(&present).unwrap();
        assert_eq!(path, present);
        assert_eq!(sha.len(), 64);
    }
}
