//! The house keeps its shape: the imports between source files form no
//! cycle and never point back up a floor (docs/design.md §2).
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

type Module = Vec<String>;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`, as paths relative to `src`.
fn files(src: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(src, &p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p.strip_prefix(src).unwrap().to_path_buf());
        }
    }
}

/// `a/b.rs` → `[a, b]`; `a/mod.rs` → `[a]`; the root file → `[]`.
fn module_of(rel: &Path, root: &str) -> Module {
    if rel == Path::new(root) {
        return Vec::new();
    }
    let mut m: Module = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if m.last().is_some_and(|l| l == "mod") {
        m.pop();
    }
    m
}

/// The source without comments, string and char literals, and `#[cfg(test)]` modules.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |k| k + 2);
        } else if rest.starts_with("r#\"") || rest.starts_with("r\"") {
            let hashes = rest[1..].bytes().take_while(|&c| c == b'#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let body = 2 + hashes;
            i += body
                + rest[body..]
                    .find(&close)
                    .map_or(rest.len() - body, |k| k + close.len());
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if b[i] == b'\''
            && (rest.len() > 2 && (rest.as_bytes()[2] == b'\'' || rest.as_bytes()[1] == b'\\'))
        {
            // a char literal ('x' or '\n'), not a lifetime
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if rest.starts_with("#[cfg(test)]") {
            // skip the attribute and the item it marks, up to its matching brace or ';'
            let mut j = i + "#[cfg(test)]".len();
            while j < b.len() && b[j] != b'{' && b[j] != b';' {
                j += 1;
            }
            if j < b.len() && b[j] == b'{' {
                let mut depth = 0;
                while j < b.len() {
                    match b[j] {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
            i = j + 1;
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Parses a path (with `{…}` groups) at `s[i..]`, pushing every expanded path.
fn parse_tree(s: &[u8], mut i: usize, prefix: &[String], out: &mut Vec<Module>) -> usize {
    let mut path = prefix.to_vec();
    loop {
        while i < s.len() && s[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < s.len() && s[i] == b'{' {
            i += 1;
            loop {
                while i < s.len() && (s[i].is_ascii_whitespace() || s[i] == b',') {
                    i += 1;
                }
                if i >= s.len() || s[i] == b'}' {
                    return i + 1;
                }
                i = parse_tree(s, i, &path, out);
            }
        }
        let start = i;
        while i < s.len() && is_ident(s[i]) {
            i += 1;
        }
        if start == i {
            out.push(path);
            return i;
        }
        let seg = String::from_utf8_lossy(&s[start..i]).into_owned();
        if seg != "self" || path.is_empty() {
            path.push(seg);
        }
        let mut j = i;
        while j < s.len() && s[j].is_ascii_whitespace() {
            j += 1;
        }
        if s[j..].starts_with(b"::") {
            i = j + 2;
        } else {
            out.push(path);
            return i;
        }
    }
}

/// Every path that starts with `crate`, `super` or `self` in `code`.
fn paths(code: &str) -> Vec<Module> {
    let s = code.as_bytes();
    let mut out = Vec::new();
    for kw in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(k) = code[from..].find(kw) {
            let at = from + k;
            from = at + kw.len();
            if at > 0 && (is_ident(s[at - 1]) || s[at - 1] == b':') {
                continue;
            }
            parse_tree(s, at, &[], &mut out);
        }
    }
    out
}

/// The deepest known module that `path`, seen from `here`, names.
fn resolve(here: &Module, path: &Module, known: &BTreeSet<Module>) -> Option<Module> {
    let mut abs: Module = Vec::new();
    let mut segs = path.iter().peekable();
    match segs.peek().map(|s| s.as_str()) {
        Some("crate") => {
            segs.next();
        }
        Some("super") => {
            abs = here.clone();
            while segs.peek().is_some_and(|s| *s == "super") {
                segs.next();
                abs.pop()?;
            }
        }
        Some("self") => {
            segs.next();
            abs = here.clone();
        }
        _ => return None,
    }
    abs.extend(segs.cloned());
    while !known.contains(&abs) {
        abs.pop()?;
    }
    Some(abs)
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
