//! A library crate's public surface: what `lib.rs` exposes, and which types appear in public
//! signatures.
//!
//! - [`public_modules`]: a `pub mod` in `lib.rs` exposes every public item of that module
//!   under a second path; a crate exports a curated set with `pub use` instead.
//! - [`reexports`]: a `pub use` of anything but the crate's own modules (another crate, or an
//!   item of another crate) makes that crate's surface part of this one: callers import the
//!   crate that defines the item.
//! - [`foreign_types`]: a public signature (a public function or method, a public field, an
//!   enum variant, a type alias) that names a type of a crate outside the workspace ties every
//!   caller to that crate's version and API. Workspace crates (`vaultops_*`), `std`, `core`
//!   and `alloc` are fine, and so are the [`VOCABULARY`] types, used on purpose as shared
//!   vocabulary (the redacting secret types, JSON values).
//!
//! Binaries (`main.rs`) have no surface and are skipped; so are `#[cfg(test)]` modules.
//! Whether a path's first segment names a crate is read from the crate itself: a lower-case
//! first segment that is not one of the crate's modules, nor `crate`/`self`/`super`, is an
//! external crate; a bare name brought in by a `use` resolves through that `use`.

use crate::source::CrateSource;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;
use syn::visit::Visit;

/// Types of external crates allowed in public signatures, as `crate::Item` (`crate::*` for
/// the whole crate).
/// The redacting secret types, JSON values, serde's traits as bounds, and a calendar time
/// (the standard library has none).
pub const VOCABULARY: &[&str] = &[
    "secrecy::*",
    "serde_json::Value",
    "serde_json::Map",
    "serde::Serialize",
    "serde::Deserialize",
    "serde::DeserializeOwned",
    "time::OffsetDateTime",
];

/// Something in a crate's public surface that breaks one of the rules above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurfaceFinding {
    /// The crate's directory name.
    pub krate: String,
    /// The file.
    pub file: PathBuf,
    /// The item (`pub mod x`, `pub use a::B`, `fn f`, `struct S field f`, …).
    pub item: String,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for SurfaceFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}: {}: {}",
            self.krate,
            self.file.display(),
            self.item,
            self.problem
        )
    }
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && {
            let text = quote::ToTokens::to_token_stream(&a.meta).to_string();
            text.contains("test")
        }
    })
}

/// Source text of a syntax node, spaced as a person writes it.
fn tokens(node: &dyn quote::ToTokens) -> String {
    node.to_token_stream()
        .to_string()
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace("{ ", "{")
        .replace(" }", "}")
        .replace(" ,", ",")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
}

fn is_pub(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

/// Every `pub mod` declared in the crate's `lib.rs`.
pub fn public_modules(krate: &CrateSource) -> Vec<SurfaceFinding> {
    let mut out = Vec::new();
    for file in krate
        .files
        .iter()
        .filter(|f| f.module.is_empty() && f.path.ends_with("lib.rs"))
    {
        for item in &file.ast.items {
            if let syn::Item::Mod(m) = item {
                if is_pub(&m.vis) {
                    out.push(SurfaceFinding {
                        krate: krate.name.clone(),
                        file: file.path.clone(),
                        item: format!("pub mod {}", m.ident),
                        problem: "a public module; make it private and `pub use` the items \
                                  callers need from lib.rs"
                            .into(),
                    });
                }
            }
        }
    }
    out
}

/// The crate's own module names (from its files and inline `mod` items), which a path may
/// start with without naming an external crate.
fn local_modules(krate: &CrateSource) -> BTreeSet<String> {
    struct Mods<'a>(&'a mut BTreeSet<String>);
    impl<'ast> Visit<'ast> for Mods<'_> {
        fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
            self.0.insert(m.ident.to_string());
            syn::visit::visit_item_mod(self, m);
        }
    }
    let mut names = BTreeSet::new();
    for file in &krate.files {
        names.extend(file.module.iter().cloned());
        Mods(&mut names).visit_file(&file.ast);
    }
    names
}

/// Whether a first path segment can name an external crate.
fn is_external(first: &str, local: &BTreeSet<String>) -> bool {
    let lower = first.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    lower
        && !matches!(first, "crate" | "self" | "super" | "std" | "core" | "alloc")
        && !first.starts_with("vaultops_")
        && !local.contains(first)
}

/// Every `pub use` of something that is not one of the crate's own modules.
pub fn reexports(krate: &CrateSource) -> Vec<SurfaceFinding> {
    let local = local_modules(krate);
    let mut out = Vec::new();
    for file in &krate.files {
        for item in &file.ast.items {
            let syn::Item::Use(u) = item else { continue };
            if !is_pub(&u.vis) {
                continue;
            }
            let first = match &u.tree {
                syn::UseTree::Path(p) => p.ident.to_string(),
                syn::UseTree::Name(n) => n.ident.to_string(),
                syn::UseTree::Rename(r) => r.ident.to_string(),
                _ => continue,
            };
            let own =
                matches!(first.as_str(), "crate" | "self" | "super") || local.contains(&first);
            if !own {
                let text = tokens(&u.tree);
                out.push(SurfaceFinding {
                    krate: krate.name.clone(),
                    file: file.path.clone(),
                    item: format!("pub use {text}"),
                    problem: format!(
                        "re-exports from `{first}`; callers should import what they use from \
                         the crate that defines it"
                    ),
                });
            }
        }
    }
    out
}

/// The names a file brings in with `use`: `Error` → `reqwest::Error`.
fn imports(file: &syn::File) -> HashMap<String, Vec<String>> {
    fn walk(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut HashMap<String, Vec<String>>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                walk(&p.tree, prefix, out);
                prefix.pop();
            }
            syn::UseTree::Name(n) if n.ident == "self" => {
                if let Some(last) = prefix.last() {
                    out.insert(last.clone(), prefix.clone());
                }
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix.clone();
                full.push(n.ident.to_string());
                out.insert(n.ident.to_string(), full);
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                full.push(r.ident.to_string());
                out.insert(r.rename.to_string(), full);
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    walk(t, prefix, out);
                }
            }
            syn::UseTree::Glob(_) => {}
        }
    }
    let mut out = HashMap::new();
    for item in &file.items {
        if let syn::Item::Use(u) = item {
            walk(&u.tree, &mut Vec::new(), &mut out);
        }
    }
    out
}

/// Collects the external paths a type (or signature) names.
struct TypeWalker<'a> {
    local: &'a BTreeSet<String>,
    imports: &'a HashMap<String, Vec<String>>,
    found: Vec<String>,
}

impl TypeWalker<'_> {
    fn check(&mut self, path: &syn::Path) {
        if path.leading_colon.is_some() && path.segments.len() == 1 {
            return;
        }
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let Some(first) = segs.first() else { return };
        let full: Vec<String> = match self.imports.get(first) {
            Some(imported) => imported
                .iter()
                .chain(segs.iter().skip(1))
                .cloned()
                .collect(),
            None => segs.clone(),
        };
        let Some(head) = full.first() else { return };
        if !is_external(head, self.local) || full.len() < 2 {
            return;
        }
        let name = full.join("::");
        let whole = format!("{head}::*");
        let item = format!("{head}::{}", full[full.len() - 1]);
        if !VOCABULARY.contains(&whole.as_str()) && !VOCABULARY.contains(&item.as_str()) {
            self.found.push(name);
        }
    }
}

impl<'ast> Visit<'ast> for TypeWalker<'_> {
    fn visit_path(&mut self, p: &'ast syn::Path) {
        self.check(p);
        syn::visit::visit_path(self, p);
    }
    // A function body is not part of the signature.
    fn visit_block(&mut self, _: &'ast syn::Block) {}
}

/// What `lib.rs` exports: the names its `pub use` items bring in (the defining name, before
/// any `as`), and the modules it glob-exports (`pub use m::*`).
struct Exports {
    names: BTreeSet<String>,
    globs: BTreeSet<String>,
}

impl Exports {
    fn of(lib: &syn::File) -> Self {
        fn walk(tree: &syn::UseTree, first: Option<&str>, out: &mut Exports) {
            match tree {
                syn::UseTree::Path(p) => {
                    let head = p.ident.to_string();
                    let first = first.map_or(head.clone(), str::to_owned);
                    walk(&p.tree, Some(first.as_str()), out);
                }
                syn::UseTree::Name(n) => {
                    out.names.insert(n.ident.to_string());
                }
                syn::UseTree::Rename(r) => {
                    out.names.insert(r.ident.to_string());
                }
                syn::UseTree::Group(g) => g.items.iter().for_each(|t| walk(t, first, out)),
                syn::UseTree::Glob(_) => {
                    out.globs.extend(first.map(str::to_owned));
                }
            }
        }
        let mut out = Exports {
            names: BTreeSet::new(),
            globs: BTreeSet::new(),
        };
        for item in &lib.items {
            if let syn::Item::Use(u) = item {
                if is_pub(&u.vis) {
                    walk(&u.tree, None, &mut out);
                }
            }
        }
        out
    }

    /// Whether an item named `ident` in `module` is reachable from outside the crate.
    fn reaches(&self, module: &[String], ident: &syn::Ident) -> bool {
        module.is_empty()
            || self.names.contains(&ident.to_string())
            || module.first().is_some_and(|m| self.globs.contains(m))
    }
}

/// Every public signature of a library crate that names a type of an external crate outside
/// [`VOCABULARY`]. Public means reachable: defined in `lib.rs` or exported by it (`pub use`),
/// and the methods of such types; a `pub` item of a private module that `lib.rs` does not
/// export is crate-internal.
pub fn foreign_types(krate: &CrateSource) -> Vec<SurfaceFinding> {
    let Some(lib) = krate
        .files
        .iter()
        .find(|f| f.module.is_empty() && f.path.ends_with("lib.rs"))
    else {
        return Vec::new();
    };
    let exports = Exports::of(&lib.ast);
    let local = local_modules(krate);
    let mut out = Vec::new();
    for file in &krate.files {
        let imports = imports(&file.ast);
        let reaches = |ident: &syn::Ident| exports.reaches(&file.module, ident);
        let mut report = |item: String, found: Vec<String>| {
            for name in found {
                out.push(SurfaceFinding {
                    krate: krate.name.clone(),
                    file: file.path.clone(),
                    item: item.clone(),
                    problem: format!(
                        "names `{name}`, a type of an external crate; wrap it in a type of \
                         this crate (or keep it private)"
                    ),
                });
            }
        };
        let walk = |f: &mut dyn FnMut(&mut TypeWalker<'_>)| {
            let mut w = TypeWalker {
                local: &local,
                imports: &imports,
                found: Vec::new(),
            };
            f(&mut w);
            w.found
        };
        visit_items(&file.ast.items, &mut |item| match item {
            syn::Item::Fn(f) if is_pub(&f.vis) && reaches(&f.sig.ident) => {
                let found = walk(&mut |w| w.visit_signature(&f.sig));
                report(format!("fn {}", f.sig.ident), found);
            }
            syn::Item::Struct(s) if is_pub(&s.vis) && reaches(&s.ident) => {
                for (i, field) in s.fields.iter().enumerate() {
                    if is_pub(&field.vis) {
                        let found = walk(&mut |w| w.visit_type(&field.ty));
                        let name = field
                            .ident
                            .as_ref()
                            .map_or_else(|| i.to_string(), ToString::to_string);
                        report(format!("struct {} field {name}", s.ident), found);
                    }
                }
            }
            syn::Item::Enum(e) if is_pub(&e.vis) && reaches(&e.ident) => {
                for v in &e.variants {
                    let found = walk(&mut |w| w.visit_fields(&v.fields));
                    report(format!("enum {} variant {}", e.ident, v.ident), found);
                }
            }
            syn::Item::Type(t) if is_pub(&t.vis) && reaches(&t.ident) => {
                let found = walk(&mut |w| w.visit_type(&t.ty));
                report(format!("type {}", t.ident), found);
            }
            syn::Item::Impl(i)
                if i.trait_.is_none() && self_ident(&i.self_ty).is_some_and(reaches) =>
            {
                let self_ty = tokens(&i.self_ty);
                for it in &i.items {
                    if let syn::ImplItem::Fn(m) = it {
                        if is_pub(&m.vis) {
                            let found = walk(&mut |w| w.visit_signature(&m.sig));
                            report(format!("fn {self_ty}::{}", m.sig.ident), found);
                        }
                    }
                }
            }
            syn::Item::Trait(t) if is_pub(&t.vis) && reaches(&t.ident) => {
                for it in &t.items {
                    if let syn::TraitItem::Fn(m) = it {
                        let found = walk(&mut |w| w.visit_signature(&m.sig));
                        report(format!("trait {} fn {}", t.ident, m.sig.ident), found);
                    }
                }
            }
            _ => {}
        });
    }
    out
}

/// The name of an impl's self type (`Foo` in `impl Foo<T>`).
fn self_ident(ty: &syn::Type) -> Option<&syn::Ident> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| &s.ident),
        _ => None,
    }
}

/// Calls `f` on every item, descending into inline modules that are not `#[cfg(test)]`.
fn visit_items(items: &[syn::Item], f: &mut dyn FnMut(&syn::Item)) {
    for item in items {
        if let syn::Item::Mod(m) = item {
            if is_cfg_test(&m.attrs) {
                continue;
            }
            if let Some((_, inner)) = &m.content {
                visit_items(inner, f);
            }
            continue;
        }
        f(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::load_crate;

    fn demo(files: &[(&str, &str)]) -> CrateSource {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("demo/src");
        std::fs::create_dir_all(&src).unwrap();
        for (name, text) in files {
            std::fs::write(src.join(name), text).unwrap();
        }
        load_crate(&dir.path().join("demo")).unwrap()
    }

    #[test]
    fn public_modules_in_lib_rs_are_found() {
        let k = demo(&[
            ("lib.rs", "pub mod open; mod closed; pub use closed::Item;"),
            ("open.rs", "pub mod inner {}"),
            ("closed.rs", "pub struct Item;"),
        ]);
        let found: Vec<String> = public_modules(&k).into_iter().map(|f| f.item).collect();
        assert_eq!(found, ["pub mod open"]);
    }

    #[test]
    fn reexports_of_other_crates_are_found_and_own_modules_pass() {
        let k = demo(&[
            (
                "lib.rs",
                "mod m; pub use m::Item; pub use self::m::Other; pub use crate::m::Third; \
                 pub use vaultops_types::Engine; pub use secrecy::{ExposeSecret, SecretString}; \
                 pub use vaultops_backup as backup; use private::Thing;",
            ),
            (
                "m.rs",
                "pub struct Item; pub struct Other; pub struct Third;",
            ),
        ]);
        let found: Vec<String> = reexports(&k).into_iter().map(|f| f.item).collect();
        assert_eq!(
            found,
            [
                "pub use vaultops_types::Engine",
                "pub use secrecy::{ExposeSecret, SecretString}",
                "pub use vaultops_backup as backup",
            ]
        );
    }

    #[test]
    fn foreign_types_in_public_signatures_are_found() {
        let k = demo(&[
            (
                "lib.rs",
                "mod m; pub use m::*; mod hidden; pub use hidden::Exported;\n\
                 use reqwest::Error as HttpError;\n\
                 pub enum Kind { Http { source: HttpError }, Json(serde_json::Error), \
                   Fine { value: serde_json::Value, secret: secrecy::SecretString }, \
                   Local(m::Item), Std(std::io::Error), Ws(vaultops_fs::AtomicWriteError) }\n\
                 pub struct Wrapper(rcgen::Error);\n\
                 pub struct Open { pub cert: rcgen::Certificate, hidden: zip::ZipError }\n\
                 pub fn parse(r: &[age::x25519::Recipient]) -> Option<Vec<url::Url>> { \
                   let _x: bollard::Docker; None }\n\
                 fn private(_: tokio::net::TcpStream) {}\n\
                 pub struct S;\n\
                 impl S { pub fn docker(&self) -> bollard::Docker { todo!() } \
                   fn inner(&self) -> hyper::Body { todo!() } }\n\
                 impl From<reqwest::Error> for S { fn from(_: reqwest::Error) -> S { S } }\n\
                 #[cfg(test)] mod tests { pub fn helper() -> tempfile::TempDir { todo!() } }",
            ),
            ("m.rs", "pub struct Item;"),
            (
                "hidden.rs",
                "pub fn internal() -> bollard::Docker { todo!() } \
                 pub struct Exported; impl Exported { pub fn f(&self) -> zip::ZipError { todo!() } }",
            ),
        ]);
        let found: Vec<String> = foreign_types(&k)
            .into_iter()
            .map(|f| format!("{} {}", f.item, f.problem.split('`').nth(1).unwrap()))
            .collect();
        assert_eq!(
            found,
            [
                "fn Exported::f zip::ZipError",
                "enum Kind variant Http reqwest::Error",
                "enum Kind variant Json serde_json::Error",
                "struct Open field cert rcgen::Certificate",
                "fn parse age::x25519::Recipient",
                "fn parse url::Url",
                "fn S::docker bollard::Docker",
            ]
        );
    }

    #[test]
    fn binaries_have_no_surface() {
        let k = demo(&[(
            "main.rs",
            "pub fn f() -> reqwest::Client { todo!() } fn main() {}",
        )]);
        assert!(foreign_types(&k).is_empty());
    }
}
