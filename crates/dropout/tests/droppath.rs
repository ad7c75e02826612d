//! DropPath: equal to the reference bit for bit (both scopes, train and eval,
//! forward and backward), the same on 1 and 2 threads; whole rows dropped at
//! rate p within 5 standard errors and E[y] = r + b; one coin per batch in
//! the batch scope; the linear depth rule; typed shape errors.

mod common;

use common::{assert_bits_eq, SplitMix};
use dropout::{depth_rate, reference, DropPath, DropoutError, MaskKey, Mode, PathScope};

#[test]
fn equals_the_reference() {
    let key = MaskKey::new(4, 9, 2);
    for scope in [PathScope::Sample, PathScope::Batch] {
        for (p, g) in [(0.0f32, 1), (0.2, 1), (0.5, 1), (1.0, 1), (0.5, 3)] {
            let d = DropPath::new(p, scope).unwrap().with_group(g);
            for (rows, cols) in [(0usize, 5usize), (1, 1), (7, 3), (100, 33), (64, 0)] {
                let r = SplitMix(1).vec(rows * cols);
                let b = SplitMix(2).vec(rows * cols);
                for mode in [Mode::Train, Mode::Eval] {
                    let what = format!("{scope:?} p {p} g {g} {rows}×{cols} {mode:?}");
                    let (mut fast, mut slow) = (vec![0.0; rows * cols], vec![0.0; rows * cols]);
                    d.forward(key, mode, rows, cols, &r, &b, &mut fast).unwrap();
                    reference::droppath_forward(&d, key, mode, rows, cols, &r, &b, &mut slow)
                        .unwrap();
                    assert_bits_eq(&fast, &slow, &what);
                    d.backward_branch(key, mode, rows, cols, &b, &mut fast)
                        .unwrap();
                    reference::droppath_backward_branch(&d, key, mode, rows, cols, &b, &mut slow)
                        .unwrap();
                    assert_bits_eq(&fast, &slow, &format!("backward {what}"));
                }
            }
        }
    }
}

#[test]
fn same_on_one_and_two_threads() {
    let (rows, cols) = (5000, 257);
    let r = SplitMix(3).vec(rows * cols);
    let b = SplitMix(4).vec(rows * cols);
    let d = DropPath::new(0.3, PathScope::Sample).unwrap();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut y = vec![0.0; rows * cols];
        pool.install(|| {
            d.forward(
                MaskKey::new(1, 2, 3),
                Mode::Train,
                rows,
                cols,
                &r,
                &b,
                &mut y,
            )
            .unwrap()
        });
        y
    };
    assert_bits_eq(&run(1), &run(2), "1 vs 2 threads");
}

#[test]
fn drops_whole_rows_at_rate_p_and_keeps_the_mean() {
    let (rows, cols) = (200_000usize, 2usize);
    for p in [0.1f32, 0.5] {
        let d = DropPath::new(p, PathScope::Sample).unwrap();
        let r = vec![1.0f32; rows * cols];
        let b = vec![2.0f32; rows * cols];
        let mut y = vec![0.0; rows * cols];
        d.forward(
            MaskKey::new(8, 0, 1),
            Mode::Train,
            rows,
            cols,
            &r,
            &b,
            &mut y,
        )
        .unwrap();
        let mut dropped = 0usize;
        for row in y.chunks(cols) {
            assert!(
                row.iter().all(|&v| v == row[0]),
                "a row is kept or dropped whole"
            );
            dropped += usize::from(row[0] == 1.0);
        }
        let rate = dropped as f64 / rows as f64;
        let se = (f64::from(p) * (1.0 - f64::from(p)) / rows as f64).sqrt();
        assert!(
            (rate - f64::from(p)).abs() < 5.0 * se,
            "p {p}: dropped {rate}"
        );
        let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / (rows * cols) as f64;
        // E[y] = 1 + 2 = 3; sd of a row's branch term = 2·s·√(p(1 − p)).
        let sd = 2.0 / (1.0 - f64::from(p)) * (f64::from(p) * (1.0 - f64::from(p))).sqrt();
        assert!(
            (mean - 3.0).abs() < 5.0 * sd / (rows as f64).sqrt(),
            "p {p}: mean {mean}"
        );
    }
}

#[test]
fn batch_scope_is_one_coin() {
    let d = DropPath::new(0.5, PathScope::Batch).unwrap();
    let (rows, cols) = (50, 4);
    let (r, b) = (vec![0.0f32; rows * cols], vec![1.0f32; rows * cols]);
    let mut seen = [false; 2];
    for step in 0..64 {
        let mut y = vec![0.0; rows * cols];
        d.forward(
            MaskKey::new(5, 1, step),
            Mode::Train,
            rows,
            cols,
            &r,
            &b,
            &mut y,
        )
        .unwrap();
        assert!(
            y.iter().all(|&v| v == y[0]),
            "step {step}: one decision for the batch"
        );
        seen[usize::from(y[0] > 0.0)] = true;
    }
    assert_eq!(seen, [true, true], "both outcomes over 64 steps");
}

#[test]
fn depth_rule_and_errors() {
    assert_eq!(depth_rate(0.2, 1, 4), 0.05);
    assert_eq!(depth_rate(0.2, 4, 4), 0.2);
    assert_eq!(depth_rate(0.3, 0, 0), 0.0);
    assert!(matches!(
        DropPath::new(1.5, PathScope::Sample).unwrap_err(),
        DropoutError::InvalidProbability { .. }
    ));
    let d = DropPath::new(0.5, PathScope::Sample).unwrap();
    let e = d
        .forward(
            MaskKey::default(),
            Mode::Train,
            2,
            3,
            &[0.0; 6],
            &[0.0; 5],
            &mut [0.0; 6],
        )
        .unwrap_err();
    assert!(matches!(e, DropoutError::ShapeMismatch { .. }), "{e}");
}
