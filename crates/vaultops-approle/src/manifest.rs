//! Pure rendering and reading of the Kubernetes Secret manifest that carries the
//! application's credentials (the rollout guide's `vault-credentials` Secret). No I/O.
//!
//! The manifest is `apiVersion: v1`, `kind: Secret`, `type: Opaque`, with the keys
//! [`ROLE_ID_KEY`] and [`SECRET_ID_KEY`] under `data`, base64-encoded: `data` (rather than
//! the guide's `stringData`) is what `kubectl get secret -o yaml` prints, so a manifest
//! written here and one exported from a cluster read back the same way. Reading accepts
//! both `data` and `stringData` (`stringData` wins for a key in both, as in Kubernetes) and
//! ignores every other field (`resourceVersion`, `managedFields`, …). Writing into an
//! existing manifest ([`update`]) changes only the two keys, the name, the namespace and
//! the managed-by label: other keys, labels, annotations and fields are someone else's.

use crate::pair::CredentialPair;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vaultops_api::SecretId;
use zeroize::{Zeroize, Zeroizing};

/// Key of the role-id in the Secret.
pub const ROLE_ID_KEY: &str = "vault-role-id";
/// Key of the secret-id in the Secret.
pub const SECRET_ID_KEY: &str = "vault-secret-id";
/// Label set on the Secret so that `kubectl get secret -l app.kubernetes.io/managed-by=vaultops`
/// finds what this tool manages.
pub const MANAGED_BY_LABEL: (&str, &str) = ("app.kubernetes.io/managed-by", "vaultops");

/// Where the Secret lives in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretTarget {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

/// What a manifest holds, as far as this tool cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedManifest {
    /// `metadata.namespace`, when present.
    pub namespace: Option<String>,
    /// `metadata.name`, when present.
    pub name: Option<String>,
    /// The pair, when both keys are present.
    pub pair: Option<CredentialPair>,
    /// Which of the two keys are missing (empty when `pair` is `Some`).
    pub missing: Vec<&'static str>,
}

/// Why a manifest could not be rendered or read. Never contains a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// A namespace or name Kubernetes would refuse.
    #[error("{what} {value:?} is not a valid Kubernetes name: use lower-case letters, digits and '-' ('.' too for a Secret name), at most {max} characters, starting and ending with a letter or digit")]
    InvalidName {
        /// `"namespace"` or `"Secret name"`.
        what: &'static str,
        /// The rejected value.
        value: String,
        /// The length limit.
        max: usize,
    },
    /// Not YAML, or not shaped like a Secret. Only the position is reported: the text
    /// around it may hold a credential.
    #[error("not a Kubernetes Secret manifest this tool can read (YAML error at line {line}, column {column})")]
    Yaml {
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
    },
    /// A YAML document that is not a v1 Secret.
    #[error("the manifest is {found}, not a v1 Secret; point the sink at the vault-credentials Secret manifest")]
    NotASecret {
        /// `apiVersion/kind` as found.
        found: String,
    },
    /// A `data` value that is not base64 or not UTF-8.
    #[error("data.{key} is not base64-encoded UTF-8 text; fix or re-create the Secret")]
    BadData {
        /// The key.
        key: String,
    },
    /// A field of an existing manifest that must be a mapping is something else.
    #[error(
        "the manifest's {field} is not a mapping; fix the manifest or move it away, and retry"
    )]
    Shape {
        /// `"the document"`, `"metadata"`, `"metadata.labels"`, `"data"` or `"stringData"`.
        field: &'static str,
    },
    /// Serialization failed (should not happen for these plain types).
    #[error("cannot render the Secret manifest: {reason}")]
    Render {
        /// The serializer's message.
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
struct SecretDoc {
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    metadata: Metadata,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    secret_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    data: BTreeMap<String, String>,
    #[serde(
        rename = "stringData",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    string_data: BTreeMap<String, String>,
}

impl Drop for SecretDoc {
    fn drop(&mut self) {
        for v in self.data.values_mut().chain(self.string_data.values_mut()) {
            v.zeroize();
        }
    }
}

#[derive(Serialize, Deserialize, Default)]
struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
}

/// Checks a namespace (DNS-1123 label, 63 characters) or Secret name (DNS-1123
/// subdomain, 253 characters).
pub fn validate_name(what: &'static str, value: &str) -> Result<(), ManifestError> {
    let (max, dots) = if what == "namespace" {
        (63, false)
    } else {
        (253, true)
    };
    let ok_char =
        |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (dots && c == '.');
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok = !value.is_empty()
        && value.len() <= max
        && value.chars().all(ok_char)
        && edge(value.chars().next())
        && edge(value.chars().last());
    if ok {
        Ok(())
    } else {
        Err(ManifestError::InvalidName {
            what,
            value: value.to_owned(),
            max,
        })
    }
}

/// Renders the Secret manifest (YAML) for `pair`.
pub fn render(
    target: &SecretTarget,
    pair: &CredentialPair,
) -> Result<Zeroizing<String>, ManifestError> {
    validate_name("namespace", &target.namespace)?;
    validate_name("Secret name", &target.name)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let doc = SecretDoc {
        api_version: "v1".into(),
        kind: "Secret".into(),
        metadata: Metadata {
            name: Some(target.name.clone()),
            namespace: Some(target.namespace.clone()),
            labels: BTreeMap::from([(MANAGED_BY_LABEL.0.into(), MANAGED_BY_LABEL.1.into())]),
        },
        secret_type: Some("Opaque".into()),
        data: BTreeMap::from([
            (ROLE_ID_KEY.into(), b64.encode(&pair.role_id)),
            (SECRET_ID_KEY.into(), b64.encode(pair.secret_id.expose())),
        ]),
        string_data: BTreeMap::new(),
    };
    serde_saphyr::to_string(&doc)
        .map(Zeroizing::new)
        .map_err(|e| ManifestError::Render {
            reason: e.to_string(),
        })
}

/// A YAML document as a tree whose strings are zeroized when it is dropped (other keys of
/// a Secret are secrets too).
struct ScrubbedTree(serde_json::Value);

impl Drop for ScrubbedTree {
    fn drop(&mut self) {
        fn scrub(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::String(s) => s.zeroize(),
                serde_json::Value::Array(a) => a.iter_mut().for_each(scrub),
                serde_json::Value::Object(o) => o.values_mut().for_each(scrub),
                _ => {}
            }
        }
        scrub(&mut self.0);
    }
}

/// The mapping at `key` of `obj`, created when absent or null.
fn mapping<'a>(
    obj: &'a mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    field: &'static str,
) -> Result<&'a mut serde_json::Map<String, serde_json::Value>, ManifestError> {
    let v = obj
        .entry(key)
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    if v.is_null() {
        *v = serde_json::Value::Object(Default::default());
    }
    v.as_object_mut().ok_or(ManifestError::Shape { field })
}

/// Writes `pair`, `target`'s name and namespace and the managed-by label into the
/// existing manifest `existing`, keeping everything else it holds (other keys under `data`
/// and `stringData`, labels, annotations, any other field); a copy of the two keys under
/// `stringData` is removed, since it would win over `data`. Without an existing manifest,
/// the same as [`render`].
pub fn update(
    existing: Option<&str>,
    target: &SecretTarget,
    pair: &CredentialPair,
) -> Result<Zeroizing<String>, ManifestError> {
    let Some(text) = existing else {
        return render(target, pair);
    };
    validate_name("namespace", &target.namespace)?;
    validate_name("Secret name", &target.name)?;
    // The same checks as reading: a v1 Secret whose keys (if any) decode.
    parse(text)?;
    let mut tree = ScrubbedTree(serde_saphyr::from_str(text).map_err(yaml_error)?);
    let doc = tree.0.as_object_mut().ok_or(ManifestError::Shape {
        field: "the document",
    })?;
    let metadata = mapping(doc, "metadata", "metadata")?;
    metadata.insert("name".into(), target.name.clone().into());
    metadata.insert("namespace".into(), target.namespace.clone().into());
    mapping(metadata, "labels", "metadata.labels")?
        .insert(MANAGED_BY_LABEL.0.into(), MANAGED_BY_LABEL.1.into());
    let b64 = base64::engine::general_purpose::STANDARD;
    let data = mapping(doc, "data", "data")?;
    data.insert(ROLE_ID_KEY.into(), b64.encode(&pair.role_id).into());
    data.insert(
        SECRET_ID_KEY.into(),
        b64.encode(pair.secret_id.expose()).into(),
    );
    if doc.contains_key("stringData") {
        let string_data = mapping(doc, "stringData", "stringData")?;
        for key in [ROLE_ID_KEY, SECRET_ID_KEY] {
            if let Some(serde_json::Value::String(mut old)) = string_data.remove(key) {
                old.zeroize();
            }
        }
        if string_data.is_empty() {
            doc.remove("stringData");
        }
    }
    serde_saphyr::to_string(&tree.0)
        .map(Zeroizing::new)
        .map_err(|e| ManifestError::Render {
            reason: e.to_string(),
        })
}

fn yaml_error(e: serde_saphyr::Error) -> ManifestError {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    ManifestError::Yaml { line, column }
}

/// Reads a Secret manifest: its namespace, name and (when both keys are there) the pair.
pub fn parse(text: &str) -> Result<ParsedManifest, ManifestError> {
    let doc: SecretDoc = serde_saphyr::from_str(text).map_err(yaml_error)?;
    if doc.api_version != "v1" || doc.kind != "Secret" {
        return Err(ManifestError::NotASecret {
            found: format!("{}/{}", doc.api_version, doc.kind),
        });
    }
    let get = |key: &'static str| -> Result<Option<Zeroizing<String>>, ManifestError> {
        if let Some(v) = doc.string_data.get(key) {
            return Ok(Some(Zeroizing::new(v.clone())));
        }
        let Some(v) = doc.data.get(key) else {
            return Ok(None);
        };
        let bad = || ManifestError::BadData { key: key.into() };
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .map_err(|_| bad())?,
        );
        let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
        Ok(Some(Zeroizing::new(text.to_owned())))
    };
    let role_id = get(ROLE_ID_KEY)?;
    let secret_id = get(SECRET_ID_KEY)?;
    let mut missing = Vec::new();
    if role_id.is_none() {
        missing.push(ROLE_ID_KEY);
    }
    if secret_id.is_none() {
        missing.push(SECRET_ID_KEY);
    }
    let pair = match (role_id, secret_id) {
        (Some(r), Some(s)) => Some(CredentialPair {
            role_id: r.as_str().to_owned(),
            secret_id: SecretId::new(s.as_str()),
        }),
        _ => None,
    };
    Ok(ParsedManifest {
        namespace: doc.metadata.namespace.clone(),
        name: doc.metadata.name.clone(),
        pair,
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> CredentialPair {
        CredentialPair {
            role_id: "5c1b-role".into(),
            secret_id: SecretId::new("9f2e-secret"),
        }
    }

    fn target() -> SecretTarget {
        SecretTarget {
            namespace: "atmr".into(),
            name: "vault-credentials".into(),
        }
    }

    #[test]
    fn renders_the_guide_secret_with_base64_data() {
        let text = render(&target(), &pair()).unwrap();
        assert_eq!(
            *text,
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: vault-credentials\n  namespace: atmr\n  labels:\n    app.kubernetes.io/managed-by: vaultops\ntype: Opaque\ndata:\n  vault-role-id: NWMxYi1yb2xl\n  vault-secret-id: OWYyZS1zZWNyZXQ=\n"
        );
        let back = parse(&text).unwrap();
        assert_eq!(back.pair, Some(pair()));
        assert_eq!(back.namespace.as_deref(), Some("atmr"));
        assert_eq!(back.name.as_deref(), Some("vault-credentials"));
    }

    #[test]
    fn reads_string_data_and_a_kubectl_export() {
        // The guide's own manifest.
        let guide = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: vault-credentials\n  namespace: atmr\ntype: Opaque\nstringData:\n  vault-role-id: \"5c1b-role\"\n  vault-secret-id: \"9f2e-secret\"\n";
        assert_eq!(parse(guide).unwrap().pair, Some(pair()));
        // What `kubectl get secret -o yaml` prints, with server-side fields.
        let exported = "apiVersion: v1\ndata:\n  vault-role-id: NWMxYi1yb2xl\n  vault-secret-id: OWYyZS1zZWNyZXQ=\nkind: Secret\nmetadata:\n  creationTimestamp: \"2026-11-29T10:00:00Z\"\n  name: vault-credentials\n  namespace: atmr\n  resourceVersion: \"4711\"\n  uid: 0b7c\n  managedFields:\n  - manager: kubectl\n    operation: Update\n    fieldsV1:\n      f:data: {}\ntype: Opaque\n";
        let p = parse(exported).unwrap();
        assert_eq!(p.pair, Some(pair()));
        assert!(p.missing.is_empty());
    }

    #[test]
    fn missing_keys_and_bad_documents_are_named() {
        let partial = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ndata:\n  vault-role-id: NWMxYi1yb2xl\n";
        let p = parse(partial).unwrap();
        assert_eq!(p.pair, None);
        assert_eq!(p.missing, vec![SECRET_ID_KEY]);
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n";
        assert_eq!(
            parse(cm).unwrap_err(),
            ManifestError::NotASecret {
                found: "v1/ConfigMap".into()
            }
        );
        let bad = "apiVersion: v1\nkind: Secret\ndata:\n  vault-secret-id: '%%%SECRETVALUE'\n";
        let e = parse(bad).unwrap_err();
        assert_eq!(
            e,
            ManifestError::BadData {
                key: SECRET_ID_KEY.into()
            }
        );
        let e = parse("data: [SECRETVALUE\n").unwrap_err();
        assert!(matches!(e, ManifestError::Yaml { .. }), "{e:?}");
        assert!(!e.to_string().contains("SECRETVALUE"));
    }

    #[test]
    fn update_keeps_what_others_added() {
        let theirs = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: vault-credentials\n  namespace: atmr\n  labels:\n    team: payments\n  annotations:\n    reloader.stakater.com/match: \"true\"\ntype: Opaque\ndata:\n  vault-role-id: b2xk\n  sentry-dsn: aHR0cHM6Ly9zZW50cnk=\nstringData:\n  vault-secret-id: old-secret\n  extra: kept\n";
        let text = update(Some(theirs), &target(), &pair()).unwrap();
        let back = parse(&text).unwrap();
        assert_eq!(back.pair, Some(pair()), "{}", *text);
        for kept in [
            "team: payments",
            "reloader.stakater.com/match",
            "sentry-dsn: aHR0cHM6Ly9zZW50cnk=",
            "extra: kept",
            "app.kubernetes.io/managed-by: vaultops",
        ] {
            assert!(text.contains(kept), "{kept} lost:\n{}", *text);
        }
        assert!(!text.contains("old-secret"), "{}", *text);
        // Positive control: a fresh render has none of their fields.
        let fresh = update(None, &target(), &pair()).unwrap();
        assert!(!fresh.contains("team: payments") && !fresh.contains("sentry-dsn"));
        // A manifest whose data is not a mapping is refused, not rewritten.
        let odd = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ndata: [1, 2]\n";
        assert!(parse(odd).is_err() || update(Some(odd), &target(), &pair()).is_err());
    }

    #[test]
    fn names_are_checked() {
        validate_name("namespace", "atmr-prod").unwrap();
        validate_name("Secret name", "vault.credentials-1").unwrap();
        for bad in ["", "Atmr", "-x", "x-", "a_b", &"a".repeat(64)] {
            assert!(validate_name("namespace", bad).is_err(), "{bad}");
        }
        assert!(validate_name("namespace", "a.b").is_err());
        let e = render(
            &SecretTarget {
                namespace: "ATMR".into(),
                name: "x".into(),
            },
            &pair(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("\"ATMR\""), "{e}");
    }
}
