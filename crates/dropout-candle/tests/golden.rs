//! One mask, three front ends: the keep bits of the candle op, of the
//! `dropout` crate's kernel and of its scalar reference, for a handful of
//! keys, equal the committed fixture `python/tests/data/masks.json` — which
//! the Python package's tests compare their masks with too. So Rust, candle
//! and Python agree bit for bit on the same key.
//!
//! ```text
//! keep_words[w] bit b = 1  ⇔  element 64w + b kept  ⇔  Philox word of element 64w + b ≥ round(p · 2^32)
//! ```
//!
//! `DROPOUT_WRITE_GOLDEN=1 cargo test -p dropout-candle --test golden`
//! rewrites the fixture (only when the contract is meant to change).

use std::path::PathBuf;

use candle_core::{Device, Tensor};
use dropout::{reference, Dropout, MaskKey, Mode, PackedMask};
use serde_json::{json, Value};

/// (p, seed, stream, step, n): rates, key extremes and lengths around word edges.
const CASES: [(f32, u64, u32, u32, usize); 6] = [
    (0.5, 1234, 0, 17, 1000),
    (0.1, (1 << 40) + 5, 3, 0, 333),
    (0.9, 0, 7, u32::MAX, 257),
    (0.3, u64::MAX, u32::MAX, 1, 64),
    (0.25, 7, 1, 3, 1),
    (0.5, 0xDEAD_BEEF, 2, 99, 4099),
];

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../python/tests/data/masks.json")
}

fn hex(words: &[u64]) -> Vec<String> {
    words.iter().map(|w| format!("{w:016x}")).collect()
}

/// Keep bits read off an output whose inputs are all non-zero.
fn kept(y: &[f32]) -> Vec<bool> {
    y.iter().map(|&v| v != 0.0).collect()
}

#[test]
fn candle_rust_and_reference_masks_equal_the_shared_fixture() {
    let mut cases = Vec::new();
    for (p, seed, stream, step, n) in CASES {
        let key = MaskKey::new(seed, stream, step);
        let d = Dropout::new(p).unwrap();
        let x: Vec<f32> = (0..n).map(|i| 1.0 + i as f32).collect();

        let packed = d.mask(key, Mode::Train, n);
        let mut r = vec![0.0; n];
        reference::forward_at(&d, key, Mode::Train, 0, &x, &mut r).unwrap();
        let t = Tensor::from_vec(x.clone(), n, &Device::Cpu).unwrap();
        let c = dropout_candle::dropout(&t, p, key, true)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let scale = packed.scale();
        assert_eq!(
            PackedMask::pack(&kept(&r), scale),
            packed,
            "reference vs kernel, {key:?}"
        );
        assert_eq!(
            PackedMask::pack(&kept(&c), scale),
            packed,
            "candle vs kernel, {key:?}"
        );
        assert_eq!(
            c.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            r.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "candle values vs reference, {key:?}"
        );
        cases.push(json!({
            "p": p, "seed": seed, "stream": stream, "step": step, "n": n,
            "scale": scale, "kept": packed.kept(), "keep_words": hex(packed.words()),
        }));
    }
    let now = json!({ "cases": cases });
    if std::env::var_os("DROPOUT_WRITE_GOLDEN").is_some() {
        std::fs::write(
            fixture(),
            serde_json::to_string_pretty(&now).unwrap() + "\n",
        )
        .unwrap();
    }
    let text =
        std::fs::read_to_string(fixture()).expect("the fixture python/tests/data/masks.json");
    let want: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(now, want, "masks differ from python/tests/data/masks.json");
}
