//! Error messages that repeat their cause. With thiserror, a field marked `#[source]` or
//! `#[from]` (or named `source`) is the error's cause, which every reporter prints after the
//! message; a message that also interpolates it (`"…: {source}"`, `"{0}"`) prints the cause
//! twice. The convention: the cause is reached through `source()` only.

use crate::source::CrateSource;
use std::fmt;
use std::path::PathBuf;
use syn::visit::Visit;

/// A message that interpolates its own cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CauseInMessage {
    /// The crate's directory name.
    pub krate: String,
    /// The file.
    pub file: PathBuf,
    /// `Enum::Variant` or `Struct`.
    pub item: String,
    /// The cause field (`source`, `0`).
    pub field: String,
}

impl fmt::Display for CauseInMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}: {} interpolates its cause `{}` in its #[error] message; \
             keep the cause in #[source] only",
            self.krate,
            self.file.display(),
            self.item,
            self.field
        )
    }
}

/// Every `#[error]` message of the crate that interpolates its cause.
pub fn cause_in_message(krate: &CrateSource) -> Vec<CauseInMessage> {
    let mut out = Vec::new();
    for file in &krate.files {
        let mut v = Finder {
            krate: &krate.name,
            file: &file.path,
            out: &mut out,
        };
        v.visit_file(&file.ast);
    }
    out
}

struct Finder<'a> {
    krate: &'a str,
    file: &'a PathBuf,
    out: &'a mut Vec<CauseInMessage>,
}

impl Finder<'_> {
    fn check(&mut self, item: String, attrs: &[syn::Attribute], fields: &syn::Fields) {
        let Some((message, args)) = error_message(attrs) else {
            return;
        };
        for (i, field) in fields.iter().enumerate() {
            let name = field
                .ident
                .as_ref()
                .map(|i| i.to_string())
                .unwrap_or_else(|| i.to_string());
            let is_cause = name == "source"
                || field
                    .attrs
                    .iter()
                    .any(|a| a.path().is_ident("source") || a.path().is_ident("from"));
            if !is_cause {
                continue;
            }
            let inline =
                message.contains(&format!("{{{name}}}")) || message.contains(&format!("{{{name}:"));
            let positional = args.contains(&format!(". {name}"));
            if inline || positional {
                self.out.push(CauseInMessage {
                    krate: self.krate.to_string(),
                    file: self.file.clone(),
                    item: item.clone(),
                    field: name,
                });
            }
        }
    }
}

/// The format string of an `#[error("…", args…)]` attribute and its arguments as text;
/// `None` without one or for `#[error(transparent)]`.
fn error_message(attrs: &[syn::Attribute]) -> Option<(String, String)> {
    let attr = attrs.iter().find(|a| a.path().is_ident("error"))?;
    let syn::Meta::List(list) = &attr.meta else {
        return None;
    };
    let mut tokens = list.tokens.clone().into_iter();
    let first = tokens.next()?;
    let lit: syn::LitStr = syn::parse2(first.into()).ok()?;
    let args: proc_macro2::TokenStream = tokens.collect();
    Some((lit.value(), args.to_string()))
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_item_enum(&mut self, e: &'ast syn::ItemEnum) {
        for v in &e.variants {
            self.check(format!("{}::{}", e.ident, v.ident), &v.attrs, &v.fields);
        }
        syn::visit::visit_item_enum(self, e);
    }

    fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
        self.check(s.ident.to_string(), &s.attrs, &s.fields);
        syn::visit::visit_item_struct(self, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::load_crate;

    #[test]
    fn causes_in_messages_are_found_and_clean_messages_pass() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("demo/src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(
            src.join("lib.rs"),
            r#"
            #[derive(Debug, thiserror::Error)]
            pub enum E {
                #[error("reading {path}: {source}")]
                Named { path: String, source: std::io::Error },
                #[error("parsing: {0}")]
                Tuple(#[from] std::num::ParseIntError),
                #[error("bad value: {}", .cause)]
                Positional { #[source] cause: std::fmt::Error },
                #[error("debug {source:?}")]
                Debugged { source: std::fmt::Error },
                #[error("reading {path}")]
                Clean { path: String, #[source] source: std::io::Error },
                #[error("status {0}: {1}")]
                NoCause(u16, String),
                #[error(transparent)]
                Transparent(#[from] std::fmt::Error),
            }
            #[derive(Debug, thiserror::Error)]
            #[error("wrapped: {inner}")]
            pub struct S { #[source] inner: std::io::Error }
            "#,
        )
        .unwrap();
        let k = load_crate(&dir.path().join("demo")).unwrap();
        let found: Vec<(String, String)> = cause_in_message(&k)
            .into_iter()
            .map(|c| (c.item, c.field))
            .collect();
        let expected: Vec<(String, String)> = [
            ("E::Named", "source"),
            ("E::Tuple", "0"),
            ("E::Positional", "cause"),
            ("E::Debugged", "source"),
            ("S", "inner"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(found, expected);
    }
}
