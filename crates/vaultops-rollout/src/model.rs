//! The rollout file's data model: what the YAML may say, as Rust types.
//!
//! Every struct denies unknown keys, so a misspelt key is an error with its line instead of a
//! silently ignored setting. Values that have a syntax of their own (names, mount paths,
//! durations, CIDRs) are newtypes that check it while the file is read, so their errors point
//! at the offending line too. Checks that involve several entries (a role's mount must be
//! declared, `root` may not be redefined, …) live in the `validate` module.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use vaultops_types::Engine;
use vaultops_types::{format_secs, whole_secs};

/// The only file format version this crate reads.
pub const SUPPORTED_VERSION: u32 = 1;

/// A whole rollout file: the desired state of one cluster.
///
/// A section that is absent (`policies:` not written at all) leaves that kind of object
/// unmanaged: `--prune` never deletes objects of a kind the file does not mention.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// File format version; must be 1.
    pub version: u32,
    /// The server product. When absent it is detected from the server's version.
    #[serde(default)]
    pub engine: Option<Engine>,
    /// Explicit opt-ins that let `--prune` disable mounts and audit devices (never on by
    /// default: disabling a secrets engine deletes its data).
    #[serde(default)]
    pub allow_prune: AllowPrune,
    /// Secrets engines by mount path (without the trailing `/`).
    #[serde(default)]
    pub secrets_engines: Option<BTreeMap<MountPath, SecretsEngine>>,
    /// ACL policies by name.
    #[serde(default)]
    pub policies: Option<BTreeMap<Name, PolicySpec>>,
    /// Auth methods by mount path (without the trailing `/`).
    #[serde(default)]
    pub auth: Option<BTreeMap<MountPath, AuthMethod>>,
    /// AppRole roles by name; each names the AppRole mount it lives on.
    #[serde(default)]
    pub approle_roles: Option<BTreeMap<Name, AppRole>>,
    /// Audit devices by path (without the trailing `/`).
    #[serde(default)]
    pub audit: Option<BTreeMap<MountPath, AuditDeviceSpec>>,
    /// The policy test matrix checked by `--verify`.
    #[serde(default)]
    pub expectations: Vec<Expectation>,
}

/// Opt-ins for deleting mounts and audit devices with `--prune`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowPrune {
    /// `--prune` may disable secrets engines absent from the file (THEIR DATA IS DELETED).
    /// `sys/`, `identity/` and `cubbyhole/` are never touched.
    #[serde(default)]
    pub secrets_engines: bool,
    /// `--prune` may disable auth methods absent from the file (their tokens are revoked).
    /// `token/` is never touched.
    #[serde(default)]
    pub auth: bool,
    /// `--prune` may disable audit devices absent from the file (Vault only; OpenBao's are
    /// server-config managed).
    #[serde(default)]
    pub audit: bool,
}

/// A secrets engine to mount.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsEngine {
    /// The engine type.
    #[serde(rename = "type")]
    pub engine_type: SecretsEngineType,
    /// Free text shown in `secrets list`; empty when absent.
    #[serde(default)]
    pub description: String,
    /// Default lease TTL; the system default when absent.
    #[serde(default)]
    pub default_lease_ttl: Option<TtlSecs>,
    /// Maximum lease TTL; the system default when absent.
    #[serde(default)]
    pub max_lease_ttl: Option<TtlSecs>,
}

/// The secrets engine types a rollout can mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecretsEngineType {
    /// Key/value version 2 (type `kv`, option `version = "2"`).
    #[serde(rename = "kv-v2")]
    KvV2,
}

impl SecretsEngineType {
    /// As written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretsEngineType::KvV2 => "kv-v2",
        }
    }
}

/// An ACL policy: inline HCL or a file the caller loads
/// ([`Rollout::resolve_policy_files`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// The policy's HCL text (after a `file:` policy is resolved, its content).
    #[serde(default)]
    pub hcl: Option<String>,
    /// A file holding the HCL, relative to the rollout file.
    #[serde(default)]
    pub file: Option<String>,
}

/// An auth method to enable.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthMethod {
    /// The method type (`approle`, `userpass`, `cert`, `jwt`, `kubernetes`, …).
    #[serde(rename = "type")]
    pub method_type: AuthType,
    /// Free text shown in `auth list`; empty when absent.
    #[serde(default)]
    pub description: String,
    /// Default TTL of the method's tokens; the system default when absent.
    #[serde(default)]
    pub default_lease_ttl: Option<TtlSecs>,
    /// Maximum TTL of the method's tokens; the system default when absent.
    #[serde(default)]
    pub max_lease_ttl: Option<TtlSecs>,
}

/// An AppRole role. Every setting left out takes the server's default, and an apply puts it
/// back to that default if someone changed it on the server: the file is the whole truth.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppRole {
    /// The AppRole mount the role lives on; must be declared under `auth` with type
    /// `approle`.
    #[serde(default = "default_approle_mount")]
    pub mount: MountPath,
    /// Policies of the tokens a login hands out.
    #[serde(default)]
    pub token_policies: Vec<Name>,
    /// Initial TTL of those tokens (0 / absent: the mount's default).
    #[serde(default)]
    pub token_ttl: Option<TtlSecs>,
    /// Maximum lifetime through renewals (0 / absent: the mount's maximum).
    #[serde(default)]
    pub token_max_ttl: Option<TtlSecs>,
    /// Hard lifetime limit (0 / absent: none).
    #[serde(default)]
    pub token_explicit_max_ttl: Option<TtlSecs>,
    /// Makes the tokens periodic (0 / absent: not periodic).
    #[serde(default)]
    pub token_period: Option<TtlSecs>,
    /// Service or batch tokens (absent: `default`, i.e. the mount's choice).
    #[serde(default)]
    pub token_type: Option<RoleTokenType>,
    /// Uses per token (0 / absent: unlimited).
    #[serde(default)]
    pub token_num_uses: Option<u64>,
    /// CIDRs the tokens may be used from.
    #[serde(default)]
    pub token_bound_cidrs: Vec<Cidr>,
    /// Leave the `default` policy out of the tokens (absent: false).
    #[serde(default)]
    pub token_no_default_policy: Option<bool>,
    /// Lifetime of a secret-id (0 / absent: forever).
    #[serde(default)]
    pub secret_id_ttl: Option<TtlSecs>,
    /// Logins per secret-id (0 / absent: unlimited).
    #[serde(default)]
    pub secret_id_num_uses: Option<u64>,
    /// CIDRs a login may come from.
    #[serde(default)]
    pub secret_id_bound_cidrs: Vec<Cidr>,
    /// Whether a login needs a secret-id (absent: true).
    #[serde(default)]
    pub bind_secret_id: Option<bool>,
    /// Keep secret-ids local to the cluster (absent: false). The server only accepts it
    /// when the role is created.
    #[serde(default)]
    pub local_secret_ids: Option<bool>,
}

fn default_approle_mount() -> MountPath {
    MountPath("approle".to_owned())
}

/// The `token_type` of a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoleTokenType {
    Service,
    Batch,
    Default,
    DefaultService,
    DefaultBatch,
}

impl RoleTokenType {
    /// As the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleTokenType::Service => "service",
            RoleTokenType::Batch => "batch",
            RoleTokenType::Default => "default",
            RoleTokenType::DefaultService => "default-service",
            RoleTokenType::DefaultBatch => "default-batch",
        }
    }
}

/// An audit device. On OpenBao it is only checked (it must be declared in every node's
/// server configuration); on Vault it is enabled through the API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditDeviceSpec {
    /// The device type.
    #[serde(rename = "type")]
    pub device_type: AuditType,
    /// Free text; when given it must match the server's.
    #[serde(default)]
    pub description: String,
    /// Device options (`file_path` for `file`, `address` for `socket`, …). The server's
    /// device must have at least these, with these values.
    #[serde(default, deserialize_with = "scalar_map")]
    pub options: BTreeMap<String, String>,
}

/// The audit device types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditType {
    File,
    Socket,
    Syslog,
}

impl AuditType {
    /// As the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditType::File => "file",
            AuditType::Socket => "socket",
            AuditType::Syslog => "syslog",
        }
    }
}

/// One line of the policy test matrix: a token holding exactly `policies` has at least
/// `capabilities` on `path`, or (`denied: true`) has no capability there at all.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The test token's policies. `default` is only attached when listed here.
    pub policies: Vec<Name>,
    /// An API path, without the leading `/v1/` (e.g. `secret/data/atmr/db`).
    pub path: String,
    /// Capabilities the token must have on `path` (it may have more).
    #[serde(default)]
    pub capabilities: Option<Vec<Capability>>,
    /// `true`: the token must be denied everything on `path`.
    #[serde(default)]
    pub denied: Option<bool>,
}

/// What an [`Expectation`] asks for, once validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// At least these capabilities.
    Capabilities(Vec<Capability>),
    /// Nothing but `deny`.
    Denied,
}

impl Expectation {
    /// What is expected. A file that passed validation has exactly one of `capabilities`
    /// and `denied: true`; anything else reads as [`Expected::Denied`] only when `denied`
    /// is true, else as the (possibly empty) capability list.
    pub fn expected(&self) -> Expected {
        match (&self.capabilities, self.denied) {
            (_, Some(true)) => Expected::Denied,
            (Some(c), _) => Expected::Capabilities(c.clone()),
            (None, _) => Expected::Capabilities(Vec::new()),
        }
    }
}

/// An ACL capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    Create,
    Read,
    Update,
    Patch,
    Delete,
    List,
    Sudo,
    Deny,
}

impl Capability {
    /// As the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Create => "create",
            Capability::Read => "read",
            Capability::Update => "update",
            Capability::Patch => "patch",
            Capability::Delete => "delete",
            Capability::List => "list",
            Capability::Sudo => "sudo",
            Capability::Deny => "deny",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Checked scalar types
// ---------------------------------------------------------------------------------------------

/// Defines a string newtype whose `Deserialize` runs `check`, so a bad value is reported at
/// its line by the YAML reader.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks `value` and wraps it.
            pub fn new(value: impl Into<String>) -> Result<Self, String> {
                let value = value.into();
                $check(&value)?;
                Ok(Self(value))
            }

            /// The value as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::new(s).map_err(de::Error::custom)
            }
        }
    };
}

checked_string!(
    /// A policy or role name: lowercase letters, digits, `-`, `_` and `.`, starting with a
    /// letter or digit. Uppercase is refused because the server stores these names
    /// lowercased, which would make every later plan show a change.
    Name,
    check_name
);

checked_string!(
    /// A mount or audit device path without leading or trailing `/` (`secret`,
    /// `team-a/kv`): segments of letters, digits, `-`, `_` and `.`.
    MountPath,
    check_mount_path
);

checked_string!(
    /// An auth method type (`approle`, `userpass`, …): lowercase letters, digits and `-`;
    /// never `token` (always mounted, cannot be enabled).
    AuthType,
    check_auth_type
);

checked_string!(
    /// An IPv4 or IPv6 address or CIDR block (`10.0.0.0/8`, `127.0.0.1`).
    Cidr,
    check_cidr
);

fn check_name(s: &str) -> Result<(), String> {
    let lower = s.to_ascii_lowercase();
    if s.is_empty() {
        return Err("a name may not be empty".into());
    }
    if s != lower && check_name(&lower).is_ok() {
        return Err(format!(
            "name `{s}` has uppercase letters; the server stores names lowercased, so write `{lower}`"
        ));
    }
    let first_ok = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if !first_ok || !rest_ok {
        return Err(format!(
            "name `{s}` is not valid; use lowercase letters, digits, `-`, `_` and `.`, starting with a letter or digit"
        ));
    }
    Ok(())
}

fn check_mount_path(s: &str) -> Result<(), String> {
    if s.starts_with('/') || s.ends_with('/') {
        return Err(format!(
            "mount path `{s}`: write it without leading or trailing `/` (e.g. `{}`)",
            s.trim_matches('/')
        ));
    }
    let seg_ok = |seg: &str| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if s.is_empty() || !s.split('/').all(seg_ok) {
        return Err(format!(
            "mount path `{s}` is not valid; use segments of letters, digits, `-`, `_` and `.` separated by `/` (e.g. `secret`, `team-a/kv`)"
        ));
    }
    Ok(())
}

fn check_auth_type(s: &str) -> Result<(), String> {
    if s == "token" {
        return Err(
            "auth type `token` cannot be enabled: the token method is always mounted at `token/`"
                .into(),
        );
    }
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(format!(
            "auth type `{s}` is not valid; write the method's type in lowercase (e.g. `approle`, `userpass`)"
        ));
    }
    Ok(())
}

fn check_cidr(s: &str) -> Result<(), String> {
    let bad = || {
        format!("`{s}` is not an IP address or CIDR block; write e.g. `10.0.0.0/8` or `127.0.0.1`")
    };
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
    if let Some(p) = prefix {
        let p: u8 = p.parse().map_err(|_| bad())?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        if p > max {
            return Err(format!(
                "`{s}`: prefix length {p} is longer than {max} bits"
            ));
        }
    }
    Ok(())
}

/// A TTL as the rollout file writes it: whole seconds, written as a number of seconds
/// (`3600`) or with units `d`, `h`, `m`, `s` (`24h`, `1h30m`, `90s`). Two TTLs are equal when
/// they are the same number of seconds (`24h` == `86400`).
///
/// Deliberately not the API client's `vaultops_api::Ttl`: that one is a wire type that must
/// carry whatever the server or a caller sends (any duration text, passed through unchanged),
/// while a rollout file is a contract checked when it is read, so a value that is not whole
/// seconds (`1.5h`, `300ms`) is refused at its line. Both read text with the one parser,
/// [`vaultops_types::whole_secs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TtlSecs(u64);

impl TtlSecs {
    /// A TTL of `secs` seconds.
    pub fn from_secs(secs: u64) -> Self {
        TtlSecs(secs)
    }

    /// The TTL in seconds.
    pub fn secs(self) -> u64 {
        self.0
    }

    /// Parses `3600`, `24h`, `1h30m`, `7d`, `90s`.
    pub fn parse(text: &str) -> Result<Self, String> {
        whole_secs(text).map(TtlSecs).ok_or_else(|| {
            format!(
                "`{text}` is not a duration; write whole seconds (`3600`) or units d/h/m/s (`24h`, `90m`, `1h30m`)"
            )
        })
    }
}

impl fmt::Display for TtlSecs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_secs(self.0))
    }
}

impl Serialize for TtlSecs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for TtlSecs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TtlSecs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration: whole seconds (3600) or d/h/m/s units (24h, 1h30m)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<TtlSecs, E> {
                Ok(TtlSecs(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<TtlSecs, E> {
                u64::try_from(v)
                    .map(TtlSecs)
                    .map_err(|_| E::custom(format!("a duration cannot be negative ({v})")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<TtlSecs, E> {
                Err(E::custom(format!(
                    "`{v}` is not a whole number of seconds; write e.g. `90s` or `1h30m`"
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TtlSecs, E> {
                TtlSecs::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads a map whose values may be written as any scalar (`log_raw: false`,
/// `write_timeout: 2s`, `port: 9090`): the server takes audit options as strings.
fn scalar_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    struct Scalar(String);
    impl<'de> Deserialize<'de> for Scalar {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Scalar;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string, number or boolean")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_owned()))
                }
                fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
            }
            d.deserialize_any(V)
        }
    }
    let m = BTreeMap::<String, Scalar>::deserialize(d)?;
    Ok(m.into_iter().map(|(k, v)| (k, v.0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_parses_units_and_compares_by_seconds() {
        assert_eq!(TtlSecs::parse("24h").unwrap(), TtlSecs::from_secs(86_400));
        assert_eq!(TtlSecs::parse("1h30m").unwrap().secs(), 5_400);
        assert_eq!(TtlSecs::parse("7d").unwrap().secs(), 604_800);
        assert_eq!(TtlSecs::parse("0").unwrap().secs(), 0);
        for bad in ["", "1.5h", "1h30", "300ms", "h", "-1", "1w"] {
            let e = TtlSecs::parse(bad).unwrap_err();
            assert!(e.contains("is not a duration"), "{bad}: {e}");
        }
        assert_eq!(format_secs(86_400), "24h");
        assert_eq!(format_secs(172_800), "48h");
        assert_eq!(format_secs(5_400), "1h30m");
        assert_eq!(format_secs(90), "1m30s");
        assert_eq!(format_secs(0), "0");
    }

    #[test]
    fn names_paths_and_cidrs_are_checked() {
        assert!(Name::new("atmr-api_rotate.v2").is_ok());
        let e = Name::new("ATMR").unwrap_err();
        assert!(e.contains("write `atmr`"), "{e}");
        assert!(Name::new("a/b").is_err());
        assert!(Name::new("-x").is_err());
        assert!(MountPath::new("team-a/kv").is_ok());
        assert!(MountPath::new("secret/").unwrap_err().contains("`secret`"));
        assert!(MountPath::new("a//b").is_err());
        assert!(MountPath::new("a/../b").is_err());
        assert!(AuthType::new("token")
            .unwrap_err()
            .contains("always mounted"));
        assert!(Cidr::new("10.0.0.0/8").is_ok());
        assert!(Cidr::new("::1/128").is_ok());
        assert!(Cidr::new("127.0.0.1").is_ok());
        assert!(Cidr::new("10.0.0.0/33").unwrap_err().contains("33"));
        assert!(Cidr::new("10.0.0/8").is_err());
    }
}
