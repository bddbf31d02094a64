//! Whole-crate re-exports (`pub use other_crate as x;`). A crate that re-exports another
//! makes that crate's entire surface part of its own: callers import the crate they use.

use crate::source::CrateSource;
use std::fmt;
use std::path::PathBuf;
use syn::visit::Visit;

/// A `pub use` of a whole crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateReexport {
    /// The crate's directory name.
    pub krate: String,
    /// The file.
    pub file: PathBuf,
    /// The re-exported crate.
    pub reexported: String,
}

impl fmt::Display for CrateReexport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}: re-exports the whole crate `{}`; callers should depend on it directly",
            self.krate,
            self.file.display(),
            self.reexported
        )
    }
}

/// Every `pub use some_crate;` / `pub use some_crate as x;` of the crate.
pub fn crate_reexports(krate: &CrateSource) -> Vec<CrateReexport> {
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
    out: &'a mut Vec<CrateReexport>,
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if !matches!(u.vis, syn::Visibility::Public(_)) {
            return;
        }
        let ident = match &u.tree {
            syn::UseTree::Name(n) => &n.ident,
            syn::UseTree::Rename(r) => &r.ident,
            _ => return,
        };
        let name = ident.to_string();
        if !matches!(name.as_str(), "crate" | "self" | "super") {
            self.out.push(CrateReexport {
                krate: self.krate.to_string(),
                file: self.file.clone(),
                reexported: name,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::load_crate;

    #[test]
    fn whole_crate_reexports_are_found_and_item_reexports_pass() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("demo/src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(
            src.join("lib.rs"),
            "pub use vaultops_backup as backup; pub use serde; mod m; pub use m::Item; \
             pub use other::Type; use private_crate as p;",
        )
        .unwrap();
        std::fs::write(src.join("m.rs"), "pub struct Item;").unwrap();
        let k = load_crate(&dir.path().join("demo")).unwrap();
        let found: Vec<String> = crate_reexports(&k)
            .into_iter()
            .map(|r| r.reexported)
            .collect();
        assert_eq!(found, ["vaultops_backup", "serde"]);
    }
}
