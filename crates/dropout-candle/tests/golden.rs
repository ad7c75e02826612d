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
//! Attention-probability dropout (`attention`: the keep bits of every
//! element `b·T² + i·T + j` of `(N, H, T, T)` scores, bidirectional) and
//! DropHead (`drophead`: one bit per `(n, h)`, index `n·H + h`) are in the
//! fixture too, from the candle op, the crate's kernel and its reference.
//!
//! `DROPOUT_WRITE_GOLDEN=1 cargo test -p dropout-candle --test golden`
//! rewrites the fixture (only when the contract is meant to change).

use std::path::PathBuf;

use candle_core::{Device, Tensor};
use dropout::{
    reference, AttentionDropout, DropHead, Dropout, MaskKey, Mode, PackedMask, Shape, Variant,
    VariantKind,
};
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
    let now = json!({
        "cases": cases,
        "attention": attention_cases(),
        "drophead": drophead_cases(),
    });
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

/// (p, seed, stream, step, N, H, T).
const ATTENTION: [(f32, u64, u32, u32, usize, usize, usize); 3] = [
    (0.1, 1234, 5, 17, 2, 3, 8),
    (0.5, u64::MAX, 0, 0, 1, 2, 5),
    (0.3, 42, 7, 1000, 3, 1, 13),
];

fn attention_cases() -> Vec<Value> {
    let mut out = Vec::new();
    for (p, seed, stream, step, n, h, t) in ATTENTION {
        let key = MaskKey::new(seed, stream, step);
        let d = AttentionDropout::new(p).unwrap();
        let len = n * h * t * t;
        // Equal scores: every probability is 1/T, so a kept element is exactly s/T.
        let s = Tensor::zeros((n, h, t, t), candle_core::DType::F32, &Device::Cpu).unwrap();
        let c = dropout_candle::softmax_dropout(&s, p, key, false, true)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let mut kernel = Vec::new();
        let mut reference = Vec::new();
        for b in 0..n * h {
            let mut sb = vec![0.0f32; t * t];
            let mut ab = vec![0.0f32; t * t];
            d.forward(key, Mode::Train, b as u64, t, false, &mut sb, &mut ab)
                .unwrap();
            kernel.extend(ab);
            let zeros = vec![0.0f32; t * t];
            reference.extend(
                reference::attention_dropout_forward(
                    &d,
                    key,
                    Mode::Train,
                    b as u64,
                    t,
                    false,
                    &zeros,
                )
                .1,
            );
        }
        assert_eq!(kept(&c), kept(&kernel), "candle vs kernel, {key:?}");
        assert_eq!(
            kept(&reference),
            kept(&kernel),
            "reference vs kernel, {key:?}"
        );
        let packed = PackedMask::pack(&kept(&kernel), d.rule().scale());
        // The attention mask is plain dropout's mask over the (N, H, T, T) grid.
        assert_eq!(packed, Dropout::new(p).unwrap().mask(key, Mode::Train, len));
        out.push(json!({
            "p": p, "seed": seed, "stream": stream, "step": step, "n": n, "heads": h, "t": t,
            "kept": packed.kept(), "keep_words": hex(packed.words()),
        }));
    }
    out
}

fn drophead_cases() -> Vec<Value> {
    let mut out = Vec::new();
    for (p, seed, stream, step, n, h, rest) in [
        (0.25, 7u64, 1u32, 2u32, 4usize, 6usize, 5usize),
        (0.5, 0xDEAD_BEEF, 9, 77, 16, 4, 3),
    ] {
        let key = MaskKey::new(seed, stream, step);
        let v = Variant::new(VariantKind::Head, p).unwrap();
        let x = vec![1.0f32; n * h * rest];
        let mut y = vec![0.0; x.len()];
        v.forward(key, Mode::Train, Shape::new(&[n, h, rest]), &x, &mut y)
            .unwrap();
        let c = dropout_candle::apply(
            &Tensor::from_vec(x.clone(), (n, h, rest), &Device::Cpu).unwrap(),
            dropout_candle::DropoutOp::variant(v, key),
            true,
        )
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
        assert_eq!(c, y, "candle vs kernel, {key:?}");
        let heads: Vec<bool> = y.chunks(rest).map(|c| c[0] != 0.0).collect();
        let d = DropHead::new(p).unwrap();
        for (i, &k) in heads.iter().enumerate() {
            assert_eq!(d.head_scale(key, Mode::Train, i / h, h, i % h) != 0.0, k);
        }
        let packed = PackedMask::pack(&heads, d.rule().scale());
        out.push(json!({
            "p": p, "seed": seed, "stream": stream, "step": step, "n": n, "heads": h,
            "kept": packed.kept(), "keep_words": hex(packed.words()),
        }));
    }
    out
}
