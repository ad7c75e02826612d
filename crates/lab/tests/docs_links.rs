//! Every relative link in README.md and the book (`docs/src/*.md`) points
//! at a file that exists, and every `#anchor` at a heading that exists.
//!
//! ```text
//! link    = [text](target) outside code blocks and inline code; http(s)://, mailto: skipped
//! target  = path[#anchor], the path relative to the linking file (empty: the file itself)
//! anchor  = mdBook's heading id: lowercase; letters, digits, '-' and '_' kept;
//!           whitespace → '-'; every other character dropped
//! ```
//! The book's table of contents (`docs/src/SUMMARY.md`) must list every
//! chapter, so no page is left unreachable.

mod common;

use std::path::{Path, PathBuf};

/// The links of a Markdown text, outside fenced blocks and inline code.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
            continue;
        }
        if fence {
            continue;
        }
        // Drop inline code spans.
        let plain: String = line
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, s)| s)
            .collect::<Vec<_>>()
            .join(" ");
        let mut rest = plain.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].trim().to_string());
            rest = &after[end..];
        }
    }
    out
}

/// mdBook's id of a heading's text.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c)
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// The heading ids of a Markdown text.
fn anchors(text: &str) -> Vec<String> {
    let mut fence = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
        } else if !fence && line.starts_with('#') {
            out.push(slug(line.trim_start_matches('#')));
        }
    }
    out
}

/// The broken links of `file`, as messages.
fn broken(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let dir = file.parent().unwrap();
    let mut bad = Vec::new();
    for link in links(&text) {
        if link.starts_with("http://")
            || link.starts_with("https://")
            || link.starts_with("mailto:")
        {
            continue;
        }
        let (path, anchor) = link.split_once('#').unwrap_or((&link, ""));
        let target = if path.is_empty() {
            file.to_path_buf()
        } else {
            dir.join(path)
        };
        if !target.exists() {
            bad.push(format!("{}: {link}: no such file", file.display()));
            continue;
        }
        if !anchor.is_empty() {
            let there = std::fs::read_to_string(&target).unwrap_or_default();
            if !anchors(&there).iter().any(|a| a == anchor) {
                bad.push(format!(
                    "{}: {link}: no heading with that id",
                    file.display()
                ));
            }
        }
    }
    bad
}

fn book_pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(common::repo("docs/src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    pages
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let mut files = vec![common::repo("README.md"), common::repo("python/README.md")];
    files.extend(book_pages());
    let bad: Vec<String> = files.iter().flat_map(|f| broken(f)).collect();
    assert!(bad.is_empty(), "broken links:\n{}", bad.join("\n"));
}

#[test]
fn the_summary_lists_every_chapter() {
    let summary = std::fs::read_to_string(common::repo("docs/src/SUMMARY.md")).unwrap();
    let listed = links(&summary);
    for page in book_pages() {
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name == "SUMMARY.md" || listed.contains(&name),
            "{name} is not in SUMMARY.md"
        );
    }
}

#[test]
fn the_checker_finds_a_broken_file_and_a_broken_anchor() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.md"), "# Real heading, here\n").unwrap();
    let a = dir.path().join("a.md");
    std::fs::write(
        &a,
        "[ok](b.md#real-heading-here) [gone](c.md) [bad](b.md#nope) `[code](x.md)`\n```\n[fenced](y.md)\n```\n",
    )
    .unwrap();
    let bad = broken(&a);
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(
        bad[0].contains("c.md") && bad[1].contains("#nope"),
        "{bad:?}"
    );
    assert_eq!(slug("Use from Python/PyTorch"), "use-from-pythonpytorch");
}
