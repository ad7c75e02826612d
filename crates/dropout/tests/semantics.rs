//! The dropout contract seen from outside: backward uses exactly the forward's
//! mask, the fused kernels equal the unfused composition, and every misuse is
//! a typed error.

mod common;

use common::{assert_bits_eq, SplitMix};
use dropout::{
    Act, BiasActDropout, Dropout, DropoutError, MaskKey, Mode, PackedMask, ResidualDropout,
};

#[test]
fn backward_uses_the_forward_mask() {
    let n = 100_003;
    let mut rng = SplitMix(21);
    // x > 0 everywhere, so y = 0 exactly where the element was dropped.
    let x: Vec<f32> = rng.vec(n).into_iter().map(|v| v.abs() + 0.5).collect();
    let dy = rng.vec(n);
    for p in [0.1f32, 0.5, 0.9] {
        let d = Dropout::new(p).unwrap();
        let key = MaskKey::new(8, 2, 1);
        let mut y = vec![0.0; n];
        d.forward(key, Mode::Train, &x, &mut y).unwrap();
        let mut dx = vec![0.0; n];
        d.backward(key, Mode::Train, &dy, &mut dx).unwrap();
        for i in 0..n {
            if y[i] == 0.0 {
                assert_eq!(dx[i].to_bits(), 0, "p={p}: dropped {i} has gradient");
            } else {
                assert_eq!(y[i], x[i] * d.scale());
                assert_eq!(dx[i], dy[i] * d.scale(), "p={p}: kept {i}");
            }
        }
        // A different step gives a different mask for the backward pass.
        let mut other = vec![0.0; n];
        d.backward(MaskKey { step: 2, ..key }, Mode::Train, &dy, &mut other)
            .unwrap();
        assert_ne!(dx, other);
    }
}

#[test]
fn fused_equals_unfused_composition() {
    let (rows, cols) = (64, 300);
    let mut rng = SplitMix(22);
    let (x, bias, res, dy) = (
        rng.vec(rows * cols),
        rng.vec(cols),
        rng.vec(rows * cols),
        rng.vec(rows * cols),
    );
    let d = Dropout::new(0.4).unwrap();
    let key = MaskKey::new(5, 9, 3);
    for act in [Act::Identity, Act::Relu] {
        // Unfused: z = x + b; a = act(z); y = dropout(a).
        let z: Vec<f32> = (0..rows * cols).map(|e| x[e] + bias[e % cols]).collect();
        let a: Vec<f32> = z
            .iter()
            .map(|&v| if act == Act::Relu && v <= 0.0 { 0.0 } else { v })
            .collect();
        let mut want = vec![0.0; rows * cols];
        d.forward(key, Mode::Train, &a, &mut want).unwrap();
        let f = BiasActDropout {
            dropout: d,
            key,
            mode: Mode::Train,
            act,
            rows,
            cols,
        };
        let mut y = vec![0.0; rows * cols];
        f.forward(&x, &bias, &mut y).unwrap();
        assert_bits_eq(&y, &want, "fused forward vs composition");

        // Unfused backward: g = dropout'(dy); dz = g · act'(z); db = column sums.
        let mut g = vec![0.0; rows * cols];
        d.backward(key, Mode::Train, &dy, &mut g).unwrap();
        let dz: Vec<f32> = (0..rows * cols)
            .map(|e| {
                if act == Act::Relu && z[e] <= 0.0 {
                    0.0
                } else {
                    g[e]
                }
            })
            .collect();
        let mut db_want = vec![0.0f32; cols];
        for r in 0..rows {
            for c in 0..cols {
                db_want[c] += dz[r * cols + c];
            }
        }
        let (mut dx, mut db) = (vec![0.0; rows * cols], vec![0.0; cols]);
        f.backward(&y, &dy, &mut dx, &mut db).unwrap();
        assert_bits_eq(&dx, &dz, "fused backward vs composition");
        assert_bits_eq(&db, &db_want, "fused bias gradient vs column sums");
    }
    // residual + dropout(x + b)
    let zb: Vec<f32> = (0..rows * cols).map(|e| x[e] + bias[e % cols]).collect();
    let mut dz = vec![0.0; rows * cols];
    d.forward(key, Mode::Train, &zb, &mut dz).unwrap();
    let want: Vec<f32> = res.iter().zip(&dz).map(|(r, v)| r + v).collect();
    let r = ResidualDropout {
        dropout: d,
        key,
        mode: Mode::Train,
        rows,
        cols,
    };
    let mut y = vec![0.0; rows * cols];
    r.forward(&x, &bias, &res, &mut y).unwrap();
    assert_bits_eq(&y, &want, "residual vs composition");
    let (mut dx, mut db) = (vec![0.0; rows * cols], vec![0.0; cols]);
    r.backward(&dy, &mut dx, &mut db).unwrap();
    let mut g = vec![0.0; rows * cols];
    d.backward(key, Mode::Train, &dy, &mut g).unwrap();
    assert_bits_eq(&dx, &g, "residual backward");
}

#[test]
fn eval_mode_fused_is_plain_activation() {
    let (rows, cols) = (3, 5);
    let x = SplitMix(23).vec(rows * cols);
    let bias = vec![0.25; cols];
    let f = BiasActDropout {
        dropout: Dropout::new(0.5).unwrap(),
        key: MaskKey::default(),
        mode: Mode::Eval,
        act: Act::Relu,
        rows,
        cols,
    };
    let mut y = vec![0.0; rows * cols];
    f.forward(&x, &bias, &mut y).unwrap();
    for e in 0..rows * cols {
        assert_eq!(y[e], (x[e] + 0.25).max(0.0));
    }
}

#[test]
fn typed_errors() {
    for p in [f32::NAN, -0.5, 1.5, f32::INFINITY] {
        assert!(
            matches!(
                Dropout::new(p),
                Err(DropoutError::InvalidProbability { .. })
            ),
            "p={p}"
        );
    }
    let d = Dropout::new(0.5).unwrap();
    let key = MaskKey::default();
    let mut y = vec![0.0; 3];
    assert_eq!(
        d.forward(key, Mode::Train, &[1.0; 4], &mut y),
        Err(DropoutError::LengthMismatch {
            what: "output",
            got: 3,
            expected: 4
        })
    );
    assert!(matches!(
        d.backward(key, Mode::Train, &[1.0; 2], &mut y),
        Err(DropoutError::LengthMismatch { .. })
    ));
    // Broadcast: bad noise shape, wrong rank, wrong buffer length.
    let mut out = vec![0.0; 6];
    assert!(matches!(
        d.forward_broadcast(key, Mode::Train, &[2, 3], &[2, 2], &[0.0; 6], &mut out),
        Err(DropoutError::BadNoiseShape { .. })
    ));
    assert!(matches!(
        d.forward_broadcast(key, Mode::Train, &[2, 3], &[2], &[0.0; 6], &mut out),
        Err(DropoutError::BadNoiseShape { .. })
    ));
    assert!(matches!(
        d.forward_broadcast(key, Mode::Train, &[2, 3], &[2, 1], &[0.0; 5], &mut out),
        Err(DropoutError::LengthMismatch { .. })
    ));
    // Fused: wrong shapes and bias lengths.
    let f = BiasActDropout {
        dropout: d,
        key,
        mode: Mode::Train,
        act: Act::Relu,
        rows: 2,
        cols: 3,
    };
    assert!(matches!(
        f.forward(&[0.0; 5], &[0.0; 3], &mut out),
        Err(DropoutError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        f.forward(&[0.0; 6], &[0.0; 2], &mut out),
        Err(DropoutError::LengthMismatch { .. })
    ));
    let mut db = vec![0.0; 3];
    assert!(matches!(
        f.backward(&[0.0; 6], &[0.0; 7], &mut out, &mut db),
        Err(DropoutError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        f.backward(&[0.0; 6], &[0.0; 6], &mut out, &mut [0.0; 4]),
        Err(DropoutError::LengthMismatch { .. })
    ));
    let big = BiasActDropout {
        rows: usize::MAX,
        cols: 2,
        ..f
    };
    assert!(matches!(
        big.forward_inplace(&mut out, &[0.0; 2]),
        Err(DropoutError::ShapeMismatch { .. })
    ));
    let r = ResidualDropout {
        dropout: d,
        key,
        mode: Mode::Train,
        rows: 2,
        cols: 3,
    };
    assert!(matches!(
        r.forward(&[0.0; 6], &[0.0; 3], &[0.0; 5], &mut out),
        Err(DropoutError::ShapeMismatch { .. })
    ));
    // Packed mask applied to the wrong length.
    let m = d.mask(key, Mode::Train, 10);
    assert_eq!(
        m.apply(&[0.0; 6], &mut out),
        Err(DropoutError::MaskLength {
            got: 10,
            expected: 6
        })
    );
    assert!(matches!(
        PackedMask::pack(&[true; 6], 2.0).apply(&[0.0; 6], &mut [0.0; 5]),
        Err(DropoutError::LengthMismatch { .. })
    ));
    // Errors print a message that says what to fix.
    let msg = Dropout::new(1.5).unwrap_err().to_string();
    assert!(msg.contains("1.5") && msg.contains("[0, 1]"), "{msg}");
}

#[test]
fn no_mask_is_stored_between_forward_and_backward() {
    // The API makes it structural: forward returns (), backward takes only the
    // key. Check the value side too: a backward in a fresh Dropout (same p)
    // reproduces the mask of a forward done elsewhere.
    let n = 4096;
    let x = vec![1.0f32; n];
    let key = MaskKey::new(31, 7, 12);
    let mut y = vec![0.0; n];
    Dropout::new(0.5)
        .unwrap()
        .forward(key, Mode::Train, &x, &mut y)
        .unwrap();
    let mut dx = vec![0.0; n];
    Dropout::new(0.5)
        .unwrap()
        .backward(key, Mode::Train, &x, &mut dx)
        .unwrap();
    assert_bits_eq(&y, &dx, "fresh backward");
    // And a Dropout is a few scalars: no room for a buffer (a Vec alone is 24 bytes,
    // with p beside it 32).
    assert!(
        std::mem::size_of::<Dropout>() <= 24,
        "Dropout must hold only p, t, s and the backend"
    );
}
