//! DropBlock: the fast path (separable dilation, planes in parallel) equals
//! the window-by-window reference bit for bit, on 1 and 2 threads; dropped
//! units come in whole b × b blocks; the dropped share is near p; the
//! special cases and bad blocks.

mod common;

use common::{assert_bits_eq, SplitMix};
use dropout::{reference, DropBlock, DropoutError, MaskKey, Mode};

#[test]
fn fast_equals_reference_and_threads_do_not_matter() {
    let key = MaskKey::new(4, 1, 3);
    for (shape, b) in [
        ([2usize, 3, 7, 9], 3usize),
        ([1, 2, 5, 5], 5),
        ([3, 1, 6, 4], 1),
        ([2, 2, 28, 28], 7),
    ] {
        let n: usize = shape.iter().product();
        let x = SplitMix(9).vec(n);
        for p in [0.0f32, 0.1, 0.3, 0.9, 1.0] {
            let d = DropBlock::new(p, b).unwrap();
            let mut slow = vec![0.0; n];
            reference::dropblock_forward(&d, key, Mode::Train, &shape, &x, &mut slow).unwrap();
            for threads in [1, 2] {
                let fast = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| {
                        let mut y = vec![0.0; n];
                        d.forward(key, Mode::Train, &shape, &x, &mut y).unwrap();
                        y
                    });
                assert_bits_eq(
                    &fast,
                    &slow,
                    &format!("{shape:?} b {b} p {p} threads {threads}"),
                );
            }
            let mut g = vec![0.0; n];
            d.backward(key, Mode::Train, &shape, &x, &mut g).unwrap();
            assert_bits_eq(&g, &slow, "backward is the forward map");
        }
    }
}

#[test]
fn dropped_units_form_whole_blocks_at_about_the_rate() {
    let (shape, b, p) = ([8usize, 8, 28, 28], 5usize, 0.2f32);
    let d = DropBlock::new(p, b).unwrap();
    let mut m = Vec::new();
    let s = d
        .mask(MaskKey::new(1, 0, 0), Mode::Train, &shape, &mut m)
        .unwrap()
        .unwrap();
    let dropped = m.iter().filter(|&&v| v == 1).count() as f64 / m.len() as f64;
    // Blocks overlap, so the share is a little under p (the γ formula ignores overlap).
    assert!(dropped > 0.12 && dropped < 0.22, "dropped share {dropped}");
    assert!((f64::from(s) - 1.0 / (1.0 - dropped)).abs() < 1e-5);
    // Every dropped unit lies in a fully dropped b × b window.
    let (h, w) = (28, 28);
    for plane in m.chunks(h * w) {
        for y in 0..h {
            for x in 0..w {
                if plane[y * w + x] == 1 {
                    let inside = (y.saturating_sub(b - 1)..=y.min(h - b)).any(|i| {
                        (x.saturating_sub(b - 1)..=x.min(w - b))
                            .any(|j| (i..i + b).all(|r| (j..j + b).all(|c| plane[r * w + c] == 1)))
                    });
                    assert!(inside, "unit ({y}, {x}) dropped outside a whole block");
                }
            }
        }
    }
}

#[test]
fn special_cases_and_bad_blocks() {
    let shape = [1usize, 1, 4, 4];
    let x = SplitMix(2).vec(16);
    let mut y = vec![0.0; 16];
    let key = MaskKey::new(0, 0, 0);
    DropBlock::new(0.5, 2)
        .unwrap()
        .forward(key, Mode::Eval, &shape, &x, &mut y)
        .unwrap();
    assert_bits_eq(&y, &x, "eval");
    DropBlock::new(0.0, 2)
        .unwrap()
        .forward(key, Mode::Train, &shape, &x, &mut y)
        .unwrap();
    assert_bits_eq(&y, &x, "p = 0");
    DropBlock::new(1.0, 1)
        .unwrap()
        .forward(key, Mode::Train, &shape, &x, &mut y)
        .unwrap();
    assert!(
        y.iter().all(|&v| v == 0.0),
        "p = 1, b = 1 drops everything, no NaN"
    );
    assert!(matches!(
        DropBlock::new(0.1, 0),
        Err(DropoutError::ZeroBlock)
    ));
    let e = DropBlock::new(0.1, 5)
        .unwrap()
        .forward(key, Mode::Train, &shape, &x, &mut y)
        .unwrap_err();
    assert!(e.to_string().contains("does not fit a 4 × 4"), "{e}");
    let e = DropBlock::new(0.1, 2)
        .unwrap()
        .forward(key, Mode::Train, &[16], &x, &mut y)
        .unwrap_err();
    assert!(matches!(e, DropoutError::NotMaps { .. }));
    assert!(DropBlock::new(1.5, 2).is_err());
}
