//! Reading a rollout file from text: YAML → [`Rollout`], then [`crate::validate`], with every
//! error naming the file, the line and the key. Also the one step that needs the outside
//! world, loading `file:` policies, done through a caller-given reader so this crate stays
//! free of I/O.

use crate::model::Rollout;
use crate::validate::{validate, PathSeg};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::fmt;

/// Reading or checking a rollout file failed.
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    /// The YAML could not be read into the model: a syntax error, an unknown key, a value
    /// of the wrong kind or form.
    #[error("{source_name}: line {line}, column {column}: {message}\n{snippet}")]
    Syntax {
        /// The file name given to [`Rollout::from_yaml`].
        source_name: String,
        line: u64,
        column: u64,
        /// The offending key, for an unknown key.
        key: Option<String>,
        /// What is wrong, without the location.
        message: String,
        /// The offending lines with a marker, for display.
        snippet: String,
    },
    /// The YAML was well formed but breaks the rules that involve several entries.
    #[error("{source_name}: {} problem(s):\n{}", problems.len(), problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        source_name: String,
        problems: Vec<Problem>,
    },
    /// A `file:` policy could not be read.
    #[error("policy `{policy}`: cannot read its HCL file {path}; check the path (relative to the rollout file)")]
    PolicyFile {
        policy: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// One rule a well-formed file breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file: `approle_roles.atmr-api.mount`, `expectations[2]`.
    pub path: String,
    /// The line of that key, when it could be found.
    pub line: Option<u64>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl Rollout {
    /// Reads and validates a rollout file. `source_name` (usually the file's path) only
    /// appears in messages.
    pub fn from_yaml(text: &str, source_name: &str) -> Result<Rollout, RolloutError> {
        let rollout: Rollout =
            serde_saphyr::from_str(text).map_err(|e| syntax_error(&e, text, source_name))?;
        let problems = validate(&rollout);
        if problems.is_empty() {
            return Ok(rollout);
        }
        let index = KeyIndex::build(text);
        let mut problems: Vec<Problem> = problems
            .into_iter()
            .map(|(path, message)| Problem {
                line: index.line_of(&path),
                path: crate::validate::render_path(&path),
                message,
            })
            .collect();
        // In file order, so an operator can fix them top to bottom.
        problems.sort_by_key(|p| p.line.unwrap_or(u64::MAX));
        Err(RolloutError::Invalid {
            source_name: source_name.to_owned(),
            problems,
        })
    }

    /// Loads every `file:` policy through `read` (given the path as written; resolve it
    /// relative to the rollout file), storing the text in `hcl`. Inline policies are left
    /// as they are. Until this has run, a plan reports file policies as not loaded.
    pub fn resolve_policy_files(
        &mut self,
        mut read: impl FnMut(&str) -> std::io::Result<String>,
    ) -> Result<(), RolloutError> {
        for (name, spec) in self.policies.iter_mut().flatten() {
            if let (Some(path), None) = (&spec.file, &spec.hcl) {
                let text = read(path).map_err(|source| RolloutError::PolicyFile {
                    policy: name.to_string(),
                    path: path.clone(),
                    source,
                })?;
                spec.hcl = Some(text);
            }
        }
        Ok(())
    }
}

fn syntax_error(e: &serde_saphyr::Error, text: &str, source_name: &str) -> RolloutError {
    let loc = e.location();
    let (line, column) = loc.map(|l| (l.line(), l.column())).unwrap_or((0, 0));
    let message = plain_message(&e.without_snippet().to_string());
    // For an unknown key the span covers exactly the key: take it from the text rather
    // than from the message wording.
    let key = if message.starts_with("unknown field") {
        loc.and_then(|l| {
            let span = l.span();
            let start = usize::try_from(span.byte_offset()?).ok()?;
            let len = usize::try_from(span.byte_len()?).ok()?;
            text.get(start..start + len).map(str::to_owned)
        })
    } else {
        None
    };
    let message = match &key {
        Some(k) => format!(
            "unknown key `{k}` ({}); remove it or correct its spelling",
            message
                .split_once(", ")
                .map(|(_, rest)| rest)
                .unwrap_or("no keys are allowed here")
        ),
        None if is_kind_error(&message) => match key_on_line(text, line) {
            Some(k) => format!(
                "`{k}`: {message}: the value has the wrong kind; see docs/rollout.md for what `{k}` takes"
            ),
            None => format!(
                "{message}: the value has the wrong kind; see docs/rollout.md for what this key takes"
            ),
        },
        None => message,
    };
    let rendered = e.render_with_options(serde_saphyr::render_options! {
        source_name: Some(source_name),
    });
    // The first rendered line repeats the message; keep the source excerpt.
    let snippet = rendered
        .split_once('\n')
        .map(|(_, rest)| rest.to_owned())
        .unwrap_or_default();
    RolloutError::Syntax {
        source_name: source_name.to_owned(),
        line,
        column,
        key,
        message,
        snippet,
    }
}

/// A value of the wrong kind (a list where a mapping belongs, text where a number does).
fn is_kind_error(message: &str) -> bool {
    message.starts_with("invalid type") || message.starts_with("expected ")
}

/// The key written on (1-based) `line`, as in `  key: value` or `- key: value`.
fn key_on_line(text: &str, line: u64) -> Option<String> {
    let l = text
        .lines()
        .nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
    let (key, _) = l.split_once(':')?;
    let key = key
        .trim()
        .trim_start_matches("- ")
        .trim()
        .trim_matches(['"', '\'']);
    (!key.is_empty() && !key.contains(' ')).then(|| key.to_owned())
}

/// The YAML reader's message without the location it repeats (`error: line 6 column 5:`
/// in front or `at line 6, column 5` at the end) and without its developer hints.
fn plain_message(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or_default();
    let mut m = first.strip_prefix("error: ").unwrap_or(first);
    if let Some(rest) = m.strip_prefix("line ") {
        if let Some((_, after)) = rest.split_once(": ") {
            m = after;
        }
    }
    if let Some((head, tail)) = m.rsplit_once(" at line ") {
        if tail
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == ' ' || c.is_ascii_alphabetic())
        {
            m = head;
        }
    }
    if let Some(rest) = m.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest);
        return format!("duplicate key `{key}`: each key may appear only once in a mapping");
    }
    m.to_owned()
}

// ---------------------------------------------------------------------------------------------
// Key locations for validation messages
// ---------------------------------------------------------------------------------------------

/// Every key and sequence item of a YAML document with its line, so validation problems
/// (found on the typed model, which keeps no positions) can name their line.
#[derive(Debug, Default)]
struct KeyIndex {
    entries: Vec<(Vec<PathSeg>, u64)>,
}

impl KeyIndex {
    fn build(text: &str) -> KeyIndex {
        let mut index = KeyIndex::default();
        if let Ok(tree) = serde_saphyr::from_str::<Tree>(text) {
            index.walk(&tree, &mut Vec::new());
        }
        index
    }

    fn walk(&mut self, tree: &Tree, path: &mut Vec<PathSeg>) {
        match tree {
            Tree::Map(entries) => {
                for (key, line, value) in entries {
                    path.push(PathSeg::Key(key.clone()));
                    self.entries.push((path.clone(), *line));
                    self.walk(value, path);
                    path.pop();
                }
            }
            Tree::Seq(items) => {
                for (i, (line, value)) in items.iter().enumerate() {
                    path.push(PathSeg::Index(i));
                    self.entries.push((path.clone(), *line));
                    self.walk(value, path);
                    path.pop();
                }
            }
            Tree::Leaf => {}
        }
    }

    /// The line of `path`, or of its nearest ancestor that exists in the file (a problem
    /// about a missing key points at the entry that lacks it).
    fn line_of(&self, path: &[PathSeg]) -> Option<u64> {
        (1..=path.len()).rev().find_map(|n| {
            self.entries
                .iter()
                .find(|(p, _)| p.as_slice() == &path[..n])
                .map(|(_, l)| *l)
        })
    }
}

/// A YAML document reduced to its shape and key lines.
enum Tree {
    Map(Vec<(String, u64, Tree)>),
    Seq(Vec<(u64, Tree)>),
    Leaf,
}

/// A mapping key read as its text (`yes:` stays `yes`, not `true`).
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_owned()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText(String::new()))
            }
        }
        d.deserialize_string(V)
    }
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Tree;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML node")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Tree, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = m.next_key::<Spanned<KeyText>>()? {
                    let value = m.next_value::<Tree>()?;
                    entries.push((k.value.0, k.referenced.line(), value));
                }
                Ok(Tree::Map(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Tree, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = s.next_element::<Spanned<Tree>>()? {
                    items.push((item.referenced.line(), item.value));
                }
                Ok(Tree::Seq(items))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_none<E: de::Error>(self) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
        }
        d.deserialize_any(V)
    }
}
