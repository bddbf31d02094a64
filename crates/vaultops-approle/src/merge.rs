//! Pure: how the entries of a dotenv file merge into a KV v2 secret's data. No I/O.
//!
//! The file's keys are merged INTO the secret: a key of the file that the secret lacks is
//! added, one whose value differs is changed, one with the same value is left alone; keys
//! of the secret that are not in the file are kept (a migration never deletes: the secret
//! may already hold values written by the application or by hand). Values are compared as
//! strings; a non-string JSON value in the secret counts as different.

use crate::dotenv::EnvEntry;
use serde_json::{Map, Value};
use std::fmt;
use zeroize::Zeroize;

/// A KV secret's key/value data, zeroized on drop; `Debug` shows the keys only.
#[derive(Clone, Default, PartialEq)]
pub struct SecretMap(pub Map<String, Value>);

impl fmt::Debug for SecretMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Drop for SecretMap {
    fn drop(&mut self) {
        for v in self.0.values_mut() {
            zeroize_value(v);
        }
    }
}

fn zeroize_value(v: &mut Value) {
    match v {
        Value::String(s) => s.zeroize(),
        Value::Array(a) => a.iter_mut().for_each(zeroize_value),
        Value::Object(o) => o.values_mut().for_each(zeroize_value),
        _ => {}
    }
}

/// The result of merging: which keys change, and the data to write.
#[derive(Debug, Clone, PartialEq)]
pub struct MergePlan {
    /// Keys of the file the secret lacks, in file order.
    pub added: Vec<String>,
    /// Keys whose value differs, in file order.
    pub changed: Vec<String>,
    /// Keys of the file with the same value, in file order.
    pub unchanged: Vec<String>,
    /// Keys of the secret not in the file (kept as they are), sorted.
    pub kept: Vec<String>,
    /// The secret's data after the merge.
    pub merged: SecretMap,
}

impl MergePlan {
    /// True when writing would change the secret.
    pub fn has_changes(&self) -> bool {
        !self.added.is_empty() || !self.changed.is_empty()
    }
}

/// Merges `entries` into `current` (the secret's data; empty when it does not exist).
pub fn plan_merge(current: &SecretMap, entries: &[EnvEntry]) -> MergePlan {
    let mut merged = current.clone();
    let (mut added, mut changed, mut unchanged) = (Vec::new(), Vec::new(), Vec::new());
    for e in entries {
        match current.0.get(&e.key) {
            None => added.push(e.key.clone()),
            Some(Value::String(s)) if s == e.expose_value() => unchanged.push(e.key.clone()),
            Some(_) => changed.push(e.key.clone()),
        }
        merged
            .0
            .insert(e.key.clone(), Value::String(e.expose_value().to_owned()));
    }
    let mut kept: Vec<String> = current
        .0
        .keys()
        .filter(|k| !entries.iter().any(|e| &e.key == *k))
        .cloned()
        .collect();
    kept.sort();
    MergePlan {
        added,
        changed,
        unchanged,
        kept,
        merged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dotenv::parse;

    #[test]
    fn merges_without_deleting_and_names_keys_only() {
        let current = SecretMap(
            serde_json::json!({"KEEP": "x", "SAME": "1", "DIFF": "old", "NUM": 5})
                .as_object()
                .unwrap()
                .clone(),
        );
        let entries = parse("SAME=1\nDIFF=new\nNUM=5\nNEW=n\n").unwrap();
        let p = plan_merge(&current, &entries);
        assert_eq!(p.added, ["NEW"]);
        assert_eq!(p.changed, ["DIFF", "NUM"]);
        assert_eq!(p.unchanged, ["SAME"]);
        assert_eq!(p.kept, ["KEEP"]);
        assert!(p.has_changes());
        assert_eq!(
            Value::Object(p.merged.0.clone()),
            serde_json::json!({"KEEP": "x", "SAME": "1", "DIFF": "new", "NUM": "5", "NEW": "n"})
        );
        let dbg = format!("{p:?}");
        assert!(!dbg.contains("old") && !dbg.contains("\"new\""), "{dbg}");

        let again = plan_merge(&p.merged, &entries);
        assert!(!again.has_changes());
        assert_eq!(again.unchanged.len(), 4);
    }
}
