//! Every fast kernel, on every backend this CPU has, equals the scalar
//! reference bit for bit: many lengths (0 … 1M+1), unaligned slices and
//! offsets, several keys and rates, non-finite inputs.

mod common;

use common::{assert_bits_eq, SplitMix, LENGTHS};
use dropout::{
    reference, Act, Backend, BiasActDropout, Dropout, MaskKey, Mode, PackedMask, ResidualDropout,
};

const KEYS: [MaskKey; 4] = [
    MaskKey::new(0, 0, 0),
    MaskKey::new(42, 1, 7),
    MaskKey::new(u64::MAX, u32::MAX, u32::MAX),
    MaskKey::new(0x0123_4567_89ab_cdef, 3, 1_000_000),
];

fn dropouts() -> Vec<Dropout> {
    let mut v = Vec::new();
    for b in Backend::available() {
        for p in [0.0f32, 0.1, 0.5, 0.9, 1.0] {
            v.push(Dropout::new(p).unwrap().with_backend(b).unwrap());
        }
    }
    v
}

/// (key, mode) pairs to try for a length: fewer for the huge one.
fn cases(n: usize) -> Vec<(MaskKey, Mode)> {
    let keys: &[MaskKey] = if n > 100_000 { &KEYS[1..2] } else { &KEYS };
    let mut v: Vec<_> = keys.iter().map(|&k| (k, Mode::Train)).collect();
    v.push((KEYS[1], Mode::Eval));
    v
}

#[test]
fn forward_and_backward_match_reference() {
    let mut rng = SplitMix(1);
    for n in LENGTHS {
        // One extra element so `&x[1..]` is a misaligned slice of length n.
        let xbuf = rng.vec(n + 1);
        for x in [&xbuf[..n], &xbuf[1..]] {
            for d in dropouts() {
                for (key, mode) in cases(n) {
                    let ctx = format!("n={n} p={} {:?} {key:?} {mode:?}", d.p(), d.backend());
                    let mut want = vec![0.0; n];
                    reference::forward_at(&d, key, mode, 0, x, &mut want).unwrap();
                    let mut got = vec![f32::NAN; n];
                    d.forward(key, mode, x, &mut got).unwrap();
                    assert_bits_eq(&got, &want, &format!("forward {ctx}"));
                    // NaN sentinels: any element forward_uninit fails to write shows.
                    let mut raw = vec![std::mem::MaybeUninit::new(f32::NAN); n];
                    let init = d.forward_uninit(key, mode, x, &mut raw).unwrap();
                    assert_bits_eq(init, &want, &format!("forward_uninit {ctx}"));
                    let mut inplace = x.to_vec();
                    d.forward_inplace(key, mode, &mut inplace);
                    assert_bits_eq(&inplace, &want, &format!("forward_inplace {ctx}"));
                    let mut shifted = vec![0.0; n];
                    reference::forward_at(&d, key, mode, 1001, x, &mut shifted).unwrap();
                    let mut at = x.to_vec();
                    d.forward_at_inplace(key, mode, 1001, &mut at);
                    assert_bits_eq(&at, &shifted, &format!("forward_at_inplace {ctx}"));
                    let mut dx = vec![f32::NAN; n];
                    d.backward(key, mode, x, &mut dx).unwrap();
                    assert_bits_eq(&dx, &want, &format!("backward {ctx}"));
                    let mut g = x.to_vec();
                    d.backward_inplace(key, mode, &mut g);
                    assert_bits_eq(&g, &want, &format!("backward_inplace {ctx}"));
                }
            }
        }
    }
}

#[test]
fn offsets_match_reference() {
    let mut rng = SplitMix(2);
    let x = rng.vec(5000);
    for d in dropouts() {
        for offset in [1u64, 3, 4, 61, 64, 65, 4095, (1 << 32) - 3, u64::MAX / 8] {
            let key = KEYS[3];
            let mut want = vec![0.0; x.len()];
            reference::forward_at(&d, key, Mode::Train, offset, &x, &mut want).unwrap();
            let mut got = vec![0.0; x.len()];
            d.forward_at(key, Mode::Train, offset, &x, &mut got)
                .unwrap();
            assert_bits_eq(
                &got,
                &want,
                &format!("offset {offset} p={} {:?}", d.p(), d.backend()),
            );
        }
    }
}

#[test]
fn slices_of_a_tensor_see_the_tensor_mask() {
    let d = Dropout::new(0.3).unwrap();
    let key = KEYS[1];
    let x = SplitMix(3).vec(10_000);
    let mut whole = vec![0.0; x.len()];
    d.forward(key, Mode::Train, &x, &mut whole).unwrap();
    let mut parts = vec![0.0; x.len()];
    for (a, b) in [(0usize, 17usize), (17, 4000), (4000, 4001), (4001, 10_000)] {
        d.forward_at(key, Mode::Train, a as u64, &x[a..b], &mut parts[a..b])
            .unwrap();
    }
    assert_bits_eq(&parts, &whole, "pieces vs whole");
}

#[test]
fn non_finite_inputs() {
    let n = 4099;
    let x: Vec<f32> = (0..n)
        .map(|i| [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1.0][i % 4])
        .collect();
    for d in dropouts() {
        let key = KEYS[2];
        let mut y = vec![0.0; n];
        d.forward(key, Mode::Train, &x, &mut y).unwrap();
        let mask = reference::mask(&d, key, Mode::Train, n);
        for i in 0..n {
            if !mask[i] {
                assert_eq!(
                    y[i].to_bits(),
                    0,
                    "dropped element {i} must be +0 (p={})",
                    d.p()
                );
            } else if x[i].is_nan() {
                assert!(y[i].is_nan());
            } else {
                assert_eq!(y[i], x[i] * d.scale().max(1.0));
            }
        }
    }
    // p = 1: zeros and zero gradient, never NaN.
    let one = Dropout::new(1.0).unwrap();
    let mut y = x.clone();
    one.forward_inplace(KEYS[0], Mode::Train, &mut y);
    assert!(y.iter().all(|&v| v.to_bits() == 0));
    let mut dx = vec![f32::NAN; n];
    one.backward(KEYS[0], Mode::Train, &x, &mut dx).unwrap();
    assert!(dx.iter().all(|&v| v.to_bits() == 0));
}

#[test]
fn eval_and_p0_are_bit_identity() {
    // Includes a signalling NaN and -0: a copy, not a multiply.
    let x = vec![
        f32::from_bits(0x7f80_0001),
        -0.0,
        1.5,
        f32::MIN_POSITIVE / 2.0,
    ];
    for d in [Dropout::new(0.0).unwrap(), Dropout::new(0.7).unwrap()] {
        let mode = if d.p() == 0.0 {
            Mode::Train
        } else {
            Mode::Eval
        };
        let mut y = vec![0.0; 4];
        d.forward(KEYS[1], mode, &x, &mut y).unwrap();
        assert_bits_eq(&y, &x, "identity");
    }
}

#[test]
fn packed_mask_matches_reference_and_kernels() {
    let mut rng = SplitMix(4);
    for n in LENGTHS {
        if n > 100_000 {
            continue;
        }
        let x = rng.vec(n);
        for d in dropouts() {
            for (key, mode) in cases(n) {
                let mask = d.mask(key, mode, n);
                let want = reference::mask(&d, key, mode, n);
                assert_eq!(mask.unpack(), want, "n={n} p={} {key:?} {mode:?}", d.p());
                assert_eq!(mask.kept(), want.iter().filter(|&&k| k).count());
                assert_eq!(PackedMask::pack(&want, mask.scale()), mask);
                assert!(mask.bytes() <= n.div_ceil(64) * 8);
                // Backward from the packed mask == backward with recomputation.
                let mut a = vec![0.0; n];
                let mut b = vec![0.0; n];
                mask.apply(&x, &mut a).unwrap();
                if mode == Mode::Train {
                    d.backward(key, mode, &x, &mut b).unwrap();
                } else {
                    b.copy_from_slice(&x);
                }
                assert_bits_eq(&a, &b, &format!("packed apply n={n} p={}", d.p()));
                let mut c = x.clone();
                mask.apply_inplace(&mut c).unwrap();
                assert_bits_eq(&c, &a, "packed apply_inplace");
            }
        }
    }
}

#[test]
fn broadcast_matches_reference() {
    let mut rng = SplitMix(5);
    let shapes: [(&[usize], &[usize]); 9] = [
        (&[4, 8, 5, 5], &[4, 8, 1, 1]), // spatial dropout
        (&[7, 3, 33], &[1, 3, 33]),     // locked dropout over time
        (&[6, 70], &[6, 70]),           // plain
        (&[6, 70], &[1, 1]),            // one bit for everything
        (&[3, 1, 130], &[1, 1, 130]),   // size-1 dims
        (&[2, 3, 4, 5], &[2, 1, 4, 1]), // alternating
        (&[0, 5], &[0, 5]),             // empty
        (&[65, 2, 3], &[65, 2, 1]),
        (&[32, 64, 24, 24], &[32, 64, 1, 1]),
    ];
    for (shape, noise) in shapes {
        let n: usize = shape.iter().product();
        let x = rng.vec(n);
        for d in dropouts() {
            for (key, mode) in cases(16) {
                let ctx = format!("{shape:?}/{noise:?} p={} {key:?} {mode:?}", d.p());
                let mut want = vec![0.0; n];
                reference::forward_broadcast(&d, key, mode, shape, noise, &x, &mut want).unwrap();
                let mut got = vec![f32::NAN; n];
                d.forward_broadcast(key, mode, shape, noise, &x, &mut got)
                    .unwrap();
                assert_bits_eq(&got, &want, &ctx);
                let mut ip = x.clone();
                d.forward_broadcast_inplace(key, mode, shape, noise, &mut ip)
                    .unwrap();
                assert_bits_eq(&ip, &want, &ctx);
                let mut dx = vec![0.0; n];
                d.backward_broadcast(key, mode, shape, noise, &x, &mut dx)
                    .unwrap();
                assert_bits_eq(&dx, &want, &ctx);
            }
        }
    }
}

#[test]
fn fused_kernels_match_reference() {
    let mut rng = SplitMix(6);
    for (rows, cols) in [
        (0, 5),
        (1, 1),
        (3, 17),
        (128, 1024),
        (5, 1000),
        (100, 10),
        (2000, 300),
        (70, 1),
    ] {
        let x = rng.vec(rows * cols);
        let bias = rng.vec(cols);
        let res = rng.vec(rows * cols);
        let dy = rng.vec(rows * cols);
        for d in dropouts() {
            for (key, mode) in cases(16) {
                for act in [Act::Identity, Act::Relu] {
                    let f = BiasActDropout {
                        dropout: d,
                        key,
                        mode,
                        act,
                        rows,
                        cols,
                    };
                    let ctx = format!(
                        "{rows}x{cols} p={} {:?} {act:?} {key:?} {mode:?}",
                        d.p(),
                        d.backend()
                    );
                    let mut want = vec![0.0; rows * cols];
                    reference::bias_act_forward(&f, &x, &bias, &mut want).unwrap();
                    let mut got = vec![f32::NAN; rows * cols];
                    f.forward(&x, &bias, &mut got).unwrap();
                    assert_bits_eq(&got, &want, &format!("fused fwd {ctx}"));
                    let mut ip = x.clone();
                    f.forward_inplace(&mut ip, &bias).unwrap();
                    assert_bits_eq(&ip, &want, &format!("fused fwd inplace {ctx}"));

                    let (mut dx_w, mut db_w) = (vec![0.0; rows * cols], vec![0.0; cols]);
                    reference::bias_act_backward(&f, &want, &dy, &mut dx_w, &mut db_w).unwrap();
                    let (mut dx, mut db) = (vec![f32::NAN; rows * cols], vec![f32::NAN; cols]);
                    f.backward(&want, &dy, &mut dx, &mut db).unwrap();
                    assert_bits_eq(&dx, &dx_w, &format!("fused bwd dx {ctx}"));
                    assert_bits_eq(&db, &db_w, &format!("fused bwd db {ctx}"));
                    let mut g = dy.clone();
                    let mut db2 = vec![7.0; cols];
                    f.backward_inplace(&want, &mut g, &mut db2).unwrap();
                    assert_bits_eq(&g, &dx_w, &format!("fused bwd inplace {ctx}"));
                    assert_bits_eq(&db2, &db_w, &format!("fused bwd inplace db {ctx}"));
                }
                let r = ResidualDropout {
                    dropout: d,
                    key,
                    mode,
                    rows,
                    cols,
                };
                let mut want = vec![0.0; rows * cols];
                reference::residual_forward(&r, &x, &bias, &res, &mut want).unwrap();
                let mut got = vec![f32::NAN; rows * cols];
                r.forward(&x, &bias, &res, &mut got).unwrap();
                assert_bits_eq(&got, &want, &format!("residual {rows}x{cols} p={}", d.p()));
            }
        }
    }
}
