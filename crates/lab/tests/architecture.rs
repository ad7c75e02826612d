//! The house keeps its shape: the imports between source files form no
//! cycle and never point back up a floor (docs/src/design.md §2).
//!
//! Every `crate::…`, `super::…` and `self::…` path in a crate's sources (use
//! trees expanded, comments, strings and `#[cfg(test)]` modules left out) is
//! resolved to the deepest source file it names, giving a graph of files.
//! A parent module may use its own children (it declares and composes them);
//! every other edge counts. Two rules:
//!
//! * **no cycle**: the graph without parent → child edges has no strongly
//!   connected component of two or more files;
//! * **no arrow back up**: each top-level module of a crate sits on a floor
//!   (the tables below); a file may use a module on its own floor or a lower
//!   one, never a higher one. A new top-level module must be given a floor.
//!
//! `ARCH_GRAPH=1 cargo test -p lab --test architecture -- --nocapture`
//! prints every crate's floors, edges and the largest files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[path = "architecture/source.rs"]
mod source;

/// A crate's sources: its `src` folder, which files belong to it, and its floors.
struct Crate {
    name: &'static str,
    src: &'static str,
    /// Files (relative to `src`) that are the crate's root.
    root: &'static str,
    /// Relative paths left out (another crate in the same folder).
    skip: &'static [&'static str],
    /// When not empty, only these relative paths belong to the crate.
    only: &'static [&'static str],
    /// Top-level module → floor (0 is the bottom).
    floors: &'static [(&'static str, u32)],
}

const CRATES: &[Crate] = &[
    Crate {
        name: "dropout",
        src: "crates/dropout/src",
        root: "lib.rs",
        skip: &[],
        only: &[],
        floors: &[],
    },
    Crate {
        name: "engine",
        src: "crates/engine/src",
        root: "lib.rs",
        skip: &[],
        only: &[],
        floors: &[],
    },
    Crate {
        name: "lab (library)",
        src: "crates/lab/src",
        root: "lib.rs",
        skip: &["main.rs", "cli"],
        only: &[],
        floors: &[
            ("fnv", 0),
            ("stats", 0),
            ("html", 0),
            ("config", 1),
            ("data", 2),
            ("error", 3),
            ("lock", 4),
            ("rundir", 4),
            ("outfile", 5),
            ("checkpoint", 5),
            ("resume", 6),
            ("train", 7),
            ("fuzz", 7),
            ("uq", 8),
            ("bench", 8),
            ("runner", 9),
            ("study", 10),
            ("sweep", 10),
        ],
    },
    Crate {
        name: "lab (binary)",
        src: "crates/lab/src",
        root: "main.rs",
        skip: &[],
        only: &["main.rs", "cli"],
        floors: &[],
    },
    Crate {
        name: "python bindings",
        src: "python/src",
        root: "lib.rs",
        skip: &[],
        only: &[],
        floors: &[],
    },
];

use source::{code_only, files, module_of, paths, resolve, Module};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Graph {
    edges: BTreeMap<Module, BTreeSet<Module>>,
    lines: BTreeMap<Module, usize>,
}

fn graph(c: &Crate) -> Graph {
    let src = workspace().join(c.src);
    let mut rels = Vec::new();
    files(&src, &src, &mut rels);
    rels.retain(|r| {
        !c.skip.iter().any(|s| r.starts_with(s))
            && (c.only.is_empty() || c.only.iter().any(|s| r.starts_with(s)))
            && (r == Path::new(c.root) || !["lib.rs", "main.rs"].iter().any(|x| r == Path::new(x)))
    });
    let mods: Vec<(Module, PathBuf)> = rels
        .iter()
        .map(|r| (module_of(r, c.root), r.clone()))
        .collect();
    let known: BTreeSet<Module> = mods.iter().map(|(m, _)| m.clone()).collect();
    let mut g = Graph {
        edges: BTreeMap::new(),
        lines: BTreeMap::new(),
    };
    for (m, rel) in &mods {
        let text = std::fs::read_to_string(src.join(rel)).unwrap();
        g.lines.insert(m.clone(), text.lines().count());
        let set = g.edges.entry(m.clone()).or_default();
        for p in paths(&code_only(&text)) {
            if let Some(t) = resolve(m, &p, &known) {
                // the root only re-exports; a parent composes its children
                if !t.is_empty() && t != *m && !t.starts_with(m) {
                    set.insert(t);
                }
            }
        }
    }
    g
}

fn name(m: &Module) -> String {
    if m.is_empty() {
        "(root)".into()
    } else {
        m.join("::")
    }
}

/// Strongly connected components of two or more files (Tarjan).
fn cycles(g: &Graph) -> Vec<Vec<Module>> {
    struct St<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on: BTreeSet<&'a Module>,
        out: Vec<Vec<Module>>,
    }
    fn visit<'a>(st: &mut St<'a>, v: &'a Module) {
        let n = st.index.len();
        st.index.insert(v, n);
        st.low.insert(v, n);
        st.stack.push(v);
        st.on.insert(v);
        for w in st.g.edges.get(v).into_iter().flatten() {
            if !st.index.contains_key(w) {
                visit(st, w);
                let lw = st.low[w];
                let lv = st.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if st.on.contains(w) {
                let iw = st.index[w];
                let lv = st.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if st.low[v] == st.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = st.stack.pop() {
                st.on.remove(w);
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                st.out.push(comp);
            }
        }
    }
    let mut st = St {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.edges.keys() {
        if !st.index.contains_key(v) {
            visit(&mut st, v);
        }
    }
    st.out
}

/// Edges whose target sits on a higher floor than their source.
fn arrows_up(c: &Crate, g: &Graph) -> Vec<String> {
    if c.floors.is_empty() {
        return Vec::new();
    }
    let floor = |m: &Module| {
        c.floors
            .iter()
            .find(|(n, _)| m.first().is_some_and(|f| f == n))
            .map(|&(_, f)| f)
    };
    let mut out = Vec::new();
    for (m, ts) in &g.edges {
        for t in ts {
            if let (Some(a), Some(b)) = (floor(m), floor(t)) {
                if b > a {
                    out.push(format!(
                        "{} (floor {a}) -> {} (floor {b})",
                        name(m),
                        name(t)
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn imports_form_no_cycle_and_never_point_up_a_floor() {
    let show = std::env::var_os("ARCH_GRAPH").is_some();
    let mut problems = Vec::new();
    for c in CRATES {
        let g = graph(c);
        if !c.floors.is_empty() {
            for m in g.edges.keys().filter(|m| !m.is_empty()) {
                if !c.floors.iter().any(|(n, _)| *n == m[0]) {
                    problems.push(format!(
                        "{}: module `{}` has no floor: add it to CRATES in tests/architecture.rs",
                        c.name, m[0]
                    ));
                }
            }
        }
        for comp in cycles(&g) {
            let names: Vec<_> = comp.iter().map(name).collect();
            problems.push(format!(
                "{}: import cycle between {}",
                c.name,
                names.join(", ")
            ));
        }
        for a in arrows_up(c, &g) {
            problems.push(format!("{}: arrow back up: {a}", c.name));
        }
        if show {
            println!(
                "== {} ({} files, {} lines)",
                c.name,
                g.edges.len(),
                g.lines.values().sum::<usize>()
            );
            for (m, ts) in &g.edges {
                let ts: Vec<_> = ts.iter().map(name).collect();
                println!("  {} -> {}", name(m), ts.join(", "));
            }
            let mut big: Vec<_> = g.lines.iter().collect();
            big.sort_by_key(|(_, &n)| std::cmp::Reverse(n));
            for (m, n) in big.iter().take(5) {
                println!("  largest: {} {n} lines", name(m));
            }
        }
    }
    if show {
        for p in &problems {
            println!("PROBLEM {p}");
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_sees_a_cycle_and_an_arrow_up() {
    // Two files that use each other, one through a use tree and one inline.
    let a = code_only("use crate::b::{self, Thing as T};\n// crate::c::x in a comment\nfn f() {}");
    let b = code_only("fn g() { super::a::f(); let s = \"crate::c\"; }");
    let known: BTreeSet<Module> = [vec![], vec!["a".into()], vec!["b".into()], vec!["c".into()]]
        .into_iter()
        .collect();
    let mut g = Graph {
        edges: BTreeMap::new(),
        lines: BTreeMap::new(),
    };
    for (m, code) in [("a", &a), ("b", &b)] {
        let here = vec![m.to_string()];
        let ts = paths(code)
            .iter()
            .filter_map(|p| resolve(&here, p, &known))
            .filter(|t| *t != here)
            .collect();
        g.edges.insert(here, ts);
    }
    assert_eq!(
        g.edges[&vec!["a".to_string()]],
        [vec!["b".to_string()]].into_iter().collect()
    );
    assert_eq!(cycles(&g).len(), 1, "{:?}", g.edges);
    let c = Crate {
        name: "t",
        src: "",
        root: "lib.rs",
        skip: &[],
        only: &[],
        floors: &[("a", 0), ("b", 1)],
    };
    assert_eq!(
        arrows_up(&c, &g),
        vec!["a (floor 0) -> b (floor 1)".to_string()]
    );
}
