//! The optimizers' vectorised update equals the module's formulas written
//! the slow, obvious way (one indexed loop per parameter, as in the docs of
//! `engine::optim`) bit for bit, for SGD, Nesterov, Adam and AdamW with weight
//! decay, over parameters larger than one parallel chunk, on 1 and 2 threads.

use engine::layer::{Ctx, ParamKind};
use engine::optim::{OptimKind, Optimizer};
use engine::rng::Rng;
use engine::spec::{build, ModelSpec};

/// (value, gradient, is weight) of every parameter.
fn snapshot(m: &mut engine::Sequential) -> Vec<(Vec<f32>, Vec<f32>, bool)> {
    let mut out = Vec::new();
    m.visit_params(&mut |_, p| {
        out.push((
            p.value.to_vec(),
            p.grad.to_vec(),
            p.kind == ParamKind::Weight,
        ))
    });
    out
}

/// The reference update of one parameter at step `t` (1-based).
#[allow(clippy::too_many_arguments)]
fn reference(
    kind: OptimKind,
    t: i32,
    lr: f32,
    lam: f32,
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    for i in 0..w.len() {
        match kind {
            OptimKind::Sgd {
                momentum,
                nesterov,
                dampened,
            } => {
                let g = g[i] + lam * w[i];
                let scale = if dampened { 1.0 - momentum } else { 1.0 };
                m[i] = momentum * m[i] + scale * g;
                let step = if nesterov { g + momentum * m[i] } else { m[i] };
                w[i] -= lr * step;
            }
            OptimKind::Adam { beta1, beta2, eps } | OptimKind::AdamW { beta1, beta2, eps } => {
                let decoupled = matches!(kind, OptimKind::AdamW { .. });
                let (c1, c2) = (1.0 - beta1.powi(t), 1.0 - beta2.powi(t));
                let g = if decoupled { g[i] } else { g[i] + lam * w[i] };
                m[i] = beta1 * m[i] + (1.0 - beta1) * g;
                v[i] = beta2 * v[i] + (1.0 - beta2) * g * g;
                let denom = v[i].sqrt() * (1.0 / c2.sqrt()) + eps;
                if decoupled {
                    w[i] -= lr * lam * w[i];
                }
                w[i] -= (lr / c1) * (m[i] / denom);
            }
        }
    }
}

fn run(kind: OptimKind, threads: usize) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut model = build(&ModelSpec::new("300-200-10"), &[300], 3).unwrap();
        let mut opt = Optimizer::new(kind, 1e-3, None);
        let mut rng = Rng::new(9);
        let x: Vec<f32> = (0..32 * 300).map(|_| rng.normal() as f32).collect();
        let y: Vec<u32> = (0..32).map(|_| rng.below(10) as u32).collect();
        let mut state: Vec<(Vec<f32>, Vec<f32>)> = Vec::new();
        for t in 1..=3 {
            model.input_mut(32).copy_from_slice(&x);
            model.forward_backward(&y, &Ctx::train(1, t as u32)).unwrap();
            let mut want = snapshot(&mut model);
            if state.is_empty() {
                state = want.iter().map(|(w, ..)| (vec![0.0; w.len()], vec![0.0; w.len()])).collect();
            }
            for ((w, g, is_w), (m, v)) in want.iter_mut().zip(state.iter_mut()) {
                let lam = if *is_w { 1e-3 } else { 0.0 };
                reference(kind, t, 0.01, lam, w, g, m, v);
            }
            opt.step(&mut model, 0.01);
            let got = snapshot(&mut model);
            for (k, (a, b)) in got.iter().zip(&want).enumerate() {
                let same = a.0.iter().zip(&b.0).all(|(x, y)| x.to_bits() == y.to_bits());
                assert!(same, "{kind:?}, {threads} thread(s), step {t}: parameter {k} differs from the reference");
            }
        }
    });
}

#[test]
fn every_optimizer_equals_its_reference_on_1_and_2_threads() {
    for kind in [
        OptimKind::Sgd {
            momentum: 0.9,
            nesterov: false,
            dampened: false,
        },
        OptimKind::Sgd {
            momentum: 0.9,
            nesterov: true,
            dampened: false,
        },
        OptimKind::Sgd {
            momentum: 0.9,
            nesterov: false,
            dampened: true,
        },
        OptimKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        },
        OptimKind::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        },
    ] {
        for threads in [1, 2] {
            run(kind, threads);
        }
    }
}
