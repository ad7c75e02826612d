//! The README's "Use from candle" code is the quickstart example's code, so
//! it compiles and runs (`cargo run -p dropout-candle --example quickstart`)
//! and cannot go stale: every line of the README block appears, in order,
//! in `examples/quickstart.rs`.

#[test]
fn readme_candle_block_is_the_quickstart_example() {
    let readme = include_str!("../../../README.md");
    let example = include_str!("../examples/quickstart.rs");
    let section = readme
        .split("## Use from candle")
        .nth(1)
        .expect("README has a \"Use from candle\" section");
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
