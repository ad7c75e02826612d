//! The candle code of the docs is the quickstart example's code, so it
//! compiles and runs (`cargo run -p dropout-candle --example quickstart`)
//! and cannot go stale: every line of the first `rust,ignore` block after
//! the candle heading — in the README's quick start and in the book's
//! candle chapter (docs/src/candle.md) — appears, in order, in
//! `examples/quickstart.rs`.

#[test]
fn the_docs_candle_blocks_are_the_quickstart_example() {
    check(include_str!("../../../README.md"), "**7. candle**");
    check(
        include_str!("../../../docs/src/candle.md"),
        "# Use from candle",
    );
}

fn check(doc: &str, heading: &str) {
    let example = include_str!("../examples/quickstart.rs");
    let section = doc
        .split(heading)
        .nth(1)
        .unwrap_or_else(|| panic!("the doc has a {heading:?} heading"));
    let block = section
        .split("```rust,ignore\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a rust,ignore block in that section");
    let mut rest = example;
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let at = rest
            .find(line)
            .unwrap_or_else(|| panic!("README line not in quickstart.rs (in order): {line}"));
        rest = &rest[at + line.len()..];
    }
}
