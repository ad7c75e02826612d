//! Users' caches stay valid: the cache key of every configuration in
//! `fixtures/cache_keys.jsonl` is the key that version wrote.
//!
//! The fixture holds 573 configurations with the keys the runner gave them
//! before the key became a type of its own (commit 4fbd01f): every run of
//! `study --tiny`, `--quick`, `--paper`, `--tiny --family` and
//! `--quick --family` (from `--plan`), and small sweeps (`sweep --plan`)
//! that move each run setting off its default, once on the built-in data and
//! once on `data/sklearn-wine/wine_data.csv` (whose key holds the file's
//! content id). A change that alters any key fails here; a change that must
//! alter keys raises `runner::cache::VERSION` instead and regenerates the
//! fixture with those commands.

use lab::config::RunConfig;
use lab::runner::cache::key;

mod common;

#[test]
fn typed_keys_equal_the_keys_users_caches_hold() {
    let text = std::fs::read_to_string(common::repo("crates/lab/tests/fixtures/cache_keys.jsonl"))
        .expect("fixture");
    let mut n = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let want = v["key"].as_str().expect("key");
        let mut cfg = RunConfig::from_json(&v["config"].to_string()).expect("a run config");
        if let Some(p) = &cfg.data.path {
            // Relative to the repository root, as the fixture's commands ran.
            cfg.data.path = Some(common::repo(&p.to_string_lossy()));
        }
        assert_eq!(key(&cfg), want, "key of {}", v["config"]);
        n += 1;
    }
    assert_eq!(n, 573, "every configuration of the fixture is checked");
}
