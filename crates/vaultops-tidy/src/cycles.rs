//! Module cycles inside a crate.
//!
//! Two modules are siblings when they have the same parent (`crate::a` and `crate::b`, or
//! `crate::lint::rules` and `crate::lint::report`). Module `a` depends on sibling `b` when
//! code anywhere under `a` names something under `b`: through `crate::b::…`, `super::b::…`,
//! a `use` of either, or a name another module re-exports from `b` (`crate::Item` where the
//! root has `pub use b::Item`). A cycle is a set of siblings that all reach each other; a
//! parent and its own children may refer to each other freely. `#[cfg(test)]` items are left
//! out: a unit test module is a leaf that may use any sibling.

use crate::source::CrateSource;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use syn::visit::Visit;

type ModPath = Vec<String>;

/// A set of sibling modules that depend on each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// The crate's directory name.
    pub krate: String,
    /// The siblings' parent module (empty for the crate root).
    pub parent: Vec<String>,
    /// The modules of the cycle, sorted.
    pub members: Vec<String>,
    /// One example reference per edge inside the cycle: `a → b (src/a.rs: crate::b::X)`.
    pub edges: Vec<String>,
}

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parent = if self.parent.is_empty() {
            "crate".to_string()
        } else {
            format!("crate::{}", self.parent.join("::"))
        };
        writeln!(
            f,
            "{}: modules {{{}}} of {parent} depend on each other:",
            self.krate,
            self.members.join(", ")
        )?;
        for e in &self.edges {
            writeln!(f, "    {e}")?;
        }
        Ok(())
    }
}

/// The module cycles of a crate, in a stable order.
pub fn module_cycles(krate: &CrateSource) -> Vec<Cycle> {
    let mut modules: BTreeSet<ModPath> = BTreeSet::new();
    modules.insert(Vec::new());
    for file in &krate.files {
        modules.insert(file.module.clone());
        let mut finder = InlineModules {
            module: file.module.clone(),
            modules: &mut modules,
        };
        finder.visit_file(&file.ast);
    }

    let mut refs = Vec::new();
    let mut bindings = BTreeMap::new();
    for file in &krate.files {
        let mut c = Collector {
            module: file.module.clone(),
            file: &file.path,
            modules: &modules,
            refs: &mut refs,
            bindings: &mut bindings,
        };
        c.visit_file(&file.ast);
    }

    // parent → (from, to) → example
    let mut edges: BTreeMap<ModPath, BTreeMap<(String, String), String>> = BTreeMap::new();
    for r in &refs {
        let target = resolve(&r.target, &modules, &bindings);
        let common = r
            .from
            .iter()
            .zip(&target)
            .take_while(|(a, b)| a == b)
            .count();
        if common >= r.from.len() || common >= target.len() {
            continue;
        }
        if !modules.contains(&target[..=common]) {
            continue;
        }
        let parent = target[..common].to_vec();
        let key = (r.from[common].clone(), target[common].clone());
        edges
            .entry(parent)
            .or_default()
            .entry(key)
            .or_insert_with(|| {
                format!(
                    "{} → {} ({}: {})",
                    r.from[common],
                    target[common],
                    r.file.display(),
                    r.text
                )
            });
    }

    let mut cycles = Vec::new();
    for (parent, graph) in edges {
        for members in strongly_connected(&graph) {
            let edges = graph
                .iter()
                .filter(|((a, b), _)| members.contains(a) && members.contains(b))
                .map(|(_, example)| example.clone())
                .collect();
            cycles.push(Cycle {
                krate: krate.name.clone(),
                parent: parent.clone(),
                members: members.into_iter().collect(),
                edges,
            });
        }
    }
    cycles
}

/// The components with more than one node of a small directed graph.
fn strongly_connected(graph: &BTreeMap<(String, String), String>) -> Vec<BTreeSet<String>> {
    let nodes: BTreeSet<&String> = graph.keys().flat_map(|(a, b)| [a, b]).collect();
    let reach = |start: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.clone()];
        while let Some(n) = stack.pop() {
            for (a, b) in graph.keys() {
                if *a == n && seen.insert(b.clone()) {
                    stack.push(b.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in &nodes {
        if done.contains(*n) || !reachable[n].contains(*n) {
            continue;
        }
        let comp: BTreeSet<String> = reachable[n]
            .iter()
            .filter(|m| reachable.get(m).is_some_and(|r| r.contains(*n)))
            .cloned()
            .collect();
        done.extend(comp.iter().cloned());
        if comp.len() > 1 {
            out.push(comp);
        }
    }
    out
}

/// Follows `use` bindings (re-exports included) until the path names a module or an item
/// defined where it points.
fn resolve(
    path: &[String],
    modules: &BTreeSet<ModPath>,
    bindings: &BTreeMap<(ModPath, String), ModPath>,
) -> ModPath {
    let mut path = path.to_vec();
    'outer: for _ in 0..8 {
        for i in 0..path.len() {
            let module = path[..i].to_vec();
            if !modules.contains(&module) {
                break;
            }
            if modules.contains(&path[..=i]) {
                continue;
            }
            if let Some(target) = bindings.get(&(module, path[i].clone())) {
                let mut next = target.clone();
                next.extend_from_slice(&path[i + 1..]);
                if next == path {
                    break 'outer;
                }
                path = next;
                continue 'outer;
            }
            break;
        }
        break;
    }
    path
}

struct Reference {
    from: ModPath,
    target: ModPath,
    file: PathBuf,
    text: String,
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| match &a.meta {
        syn::Meta::List(list) => list.path.is_ident("cfg") && list.tokens.to_string() == "test",
        _ => false,
    })
}

/// Registers `mod x { … }` blocks as modules.
struct InlineModules<'a> {
    module: ModPath,
    modules: &'a mut BTreeSet<ModPath>,
}

impl<'ast> Visit<'ast> for InlineModules<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if m.content.is_some() {
            self.module.push(m.ident.to_string());
            self.modules.insert(self.module.clone());
            syn::visit::visit_item_mod(self, m);
            self.module.pop();
        }
    }
}

/// Collects the references and `use` bindings of one file.
struct Collector<'a> {
    module: ModPath,
    file: &'a Path,
    modules: &'a BTreeSet<ModPath>,
    refs: &'a mut Vec<Reference>,
    bindings: &'a mut BTreeMap<(ModPath, String), ModPath>,
}

impl Collector<'_> {
    /// The absolute path of `segments` as written in the current module, if it points into
    /// this crate.
    fn absolute(&self, segments: &[String]) -> Option<ModPath> {
        let first = segments.first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" | "super" => self.module.clone(),
            _ => {
                let mut child = self.module.clone();
                child.push(first.clone());
                if !self.modules.contains(&child) {
                    return None;
                }
                let mut out = self.module.clone();
                out.extend_from_slice(segments);
                return Some(out);
            }
        };
        let mut rest = segments;
        if first == "crate" || first == "self" {
            rest = &segments[1..];
        }
        while rest.first().is_some_and(|s| s == "super") {
            base.pop();
            rest = &rest[1..];
        }
        base.extend_from_slice(rest);
        Some(base)
    }

    fn record(&mut self, target: ModPath, text: String) {
        self.refs.push(Reference {
            from: self.module.clone(),
            target,
            file: self.file.to_path_buf(),
            text,
        });
    }
}

/// `(binding name, path)` for every leaf of a use tree; the name is `None` for a glob.
fn flatten_use(
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    out: &mut Vec<(Option<String>, ModPath)>,
) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                out.push((prefix.last().cloned(), prefix.clone()));
            } else {
                let mut path = prefix.clone();
                path.push(name.clone());
                out.push((Some(name), path));
            }
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            let name = r.ident.to_string();
            if name != "self" {
                path.push(name);
            }
            out.push((Some(r.rename.to_string()), path));
        }
        syn::UseTree::Glob(_) => out.push((None, prefix.clone())),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(t, prefix, out);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if is_cfg_test(&m.attrs) || m.content.is_none() {
            return;
        }
        self.module.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.module.pop();
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_cfg_test(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if !is_cfg_test(&i.attrs) {
            syn::visit::visit_item_impl(self, i);
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if is_cfg_test(&u.attrs) {
            return;
        }
        let mut leaves = Vec::new();
        flatten_use(&u.tree, &mut Vec::new(), &mut leaves);
        for (name, path) in leaves {
            let Some(abs) = self.absolute(&path) else {
                continue;
            };
            if let Some(name) = name {
                self.bindings
                    .insert((self.module.clone(), name), abs.clone());
            }
            let text = format!("use {}", path.join("::"));
            self.record(abs, text);
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if matches!(
            segments.first().map(String::as_str),
            Some("crate" | "super" | "self")
        ) {
            if let Some(abs) = self.absolute(&segments) {
                let text = segments.join("::");
                self.record(abs, text);
            }
        }
        syn::visit::visit_path(self, p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::load_crate;

    fn forge(files: &[(&str, &str)]) -> (tempfile::TempDir, CrateSource) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("demo");
        for (path, text) in files {
            let p = root.join("src").join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let krate = load_crate(&root).unwrap();
        (dir, krate)
    }

    #[test]
    fn a_cycle_through_crate_paths_is_found() {
        let (_d, k) = forge(&[
            ("lib.rs", "mod a; mod b; mod c;"),
            ("a.rs", "use crate::b::B; pub struct A;"),
            ("b.rs", "pub struct B(pub crate::a::A);"),
            ("c.rs", "use crate::a::A;"),
        ]);
        let cycles = module_cycles(&k);
        assert_eq!(cycles.len(), 1, "{cycles:?}");
        assert_eq!(cycles[0].members, ["a", "b"]);
        assert!(cycles[0].parent.is_empty());
        assert_eq!(cycles[0].edges.len(), 2);
        assert!(cycles[0]
            .to_string()
            .contains("a → b (src/a.rs: use crate::b::B)"));
    }

    #[test]
    fn a_cycle_through_a_root_reexport_and_super_is_found() {
        let (_d, k) = forge(&[
            ("lib.rs", "mod error; mod model; pub use error::Error;"),
            ("error.rs", "pub enum Error { Bad(super::model::Field) }"),
            (
                "model.rs",
                "pub struct Field; fn f() -> Result<(), crate::Error> { Ok(()) }",
            ),
        ]);
        let cycles = module_cycles(&k);
        assert_eq!(cycles.len(), 1, "{cycles:?}");
        assert_eq!(cycles[0].members, ["error", "model"]);
    }

    #[test]
    fn a_three_module_cycle_in_a_nested_module_is_found() {
        let (_d, k) = forge(&[
            ("lib.rs", "mod lint;"),
            ("lint/mod.rs", "mod x; mod y; mod z; use self::x::X;"),
            ("lint/x.rs", "use super::y::Y; pub struct X;"),
            ("lint/y.rs", "use super::z::Z; pub struct Y;"),
            ("lint/z.rs", "use crate::lint::X; pub struct Z;"),
        ]);
        let cycles = module_cycles(&k);
        assert_eq!(cycles.len(), 1, "{cycles:?}");
        assert_eq!(cycles[0].parent, ["lint"]);
        assert_eq!(cycles[0].members, ["x", "y", "z"]);
    }

    #[test]
    fn layers_parents_children_and_test_modules_are_not_cycles() {
        let (_d, k) = forge(&[
            ("lib.rs", "mod a; mod b; pub use a::A; fn f(_: a::A) {}"),
            (
                "a.rs",
                "mod inner { pub fn g() -> crate::a::A { super::A } } pub struct A; \
                 use self::inner::g; use super::*;",
            ),
            (
                "b.rs",
                "use crate::A; #[cfg(test)] mod tests { use crate::b::*; } \
                 #[cfg(test)] use crate::a::A as Other;",
            ),
        ]);
        // b depends on a; a only on its own child and on the root: no cycle.
        assert!(module_cycles(&k).is_empty());

        // A test module of `a` that uses `b` does not make a cycle either.
        let (_d, k) = forge(&[
            ("lib.rs", "mod a; mod b;"),
            (
                "a.rs",
                "pub struct A; #[cfg(test)] mod tests { use crate::b::B; }",
            ),
            ("b.rs", "pub struct B(crate::a::A);"),
        ]);
        assert!(module_cycles(&k).is_empty());
    }
}
