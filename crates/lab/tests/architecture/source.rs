//! Reading a crate's sources for the architecture test: its files, each
//! file's module path, and the `crate::…`/`super::…`/`self::…` paths in its
//! code (use trees expanded; comments, literals and `#[cfg(test)]` modules
//! left out), resolved to the deepest known module.
//!
//! ```text
//! a/b.rs → [a, b]    a/mod.rs → [a]    root → []
//! super::x seen from [a, b] → [a, x];  crate::a::b::f → [a, b] if a/b.rs exists
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A module path inside a crate (`["runner", "cache"]`).
pub type Module = Vec<String>;

/// Every `.rs` file under `dir`, as paths relative to `src`.
pub fn files(src: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
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
pub fn module_of(rel: &Path, root: &str) -> Module {
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
pub fn code_only(text: &str) -> String {
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
pub fn paths(code: &str) -> Vec<Module> {
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
pub fn resolve(here: &Module, path: &Module, known: &BTreeSet<Module>) -> Option<Module> {
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
