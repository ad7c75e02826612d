//! A training step allocates nothing of its own once its buffers have seen
//! the batch size, counted with a global allocator wrapper. The one exception
//! is inside the GEMM crate (faer), which allocates its packing workspace on every
//! call; so: every non-GEMM layer, the loss and the optimizer allocate
//! exactly 0 in steady state, and a whole step no more than its matrix
//! products do when called on their own (each shape's worst case, measured here).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use engine::layer::Ctx;
use engine::layer::Layer;
use engine::layers::{
    Activation, ActivationLayer, BatchNorm, DropoutKind, DropoutLayer, Flatten, LayerNorm,
    MaxPool2d,
};
use engine::loss::softmax_cross_entropy;
use engine::matmul::{matmul, Trans};
use engine::optim::{OptimKind, Optimizer};
use engine::spec::{build, ModelSpec};
use engine::Tensor;

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The counter is global: tests in this file take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn allocs() -> usize {
    ALLOCS.load(Ordering::Relaxed)
}

/// Allocations of one call of `f` in steady state: the fewest over five
/// calls after a warm-up. The counter is process-wide, and rayon's idle
/// workers (crossbeam's epoch bookkeeping) allocate now and then on their
/// own; an allocation that is really in `f` shows up in every call.
fn steady(mut f: impl FnMut()) -> usize {
    f();
    (0..5)
        .map(|_| {
            let before = allocs();
            f();
            allocs() - before
        })
        .min()
        .unwrap_or(0)
}

/// The most allocations one `matmul` of this shape made in three calls.
fn gemm_allocs(m: usize, k: usize, n: usize, t: Trans) -> usize {
    let (a, b, mut c) = (
        vec![0.5f32; m * k],
        vec![0.5f32; k * n],
        vec![0.0f32; m * n],
    );
    (0..3)
        .map(|_| {
            let before = allocs();
            matmul(m, k, n, &a, &b, &mut c, t, false);
            allocs() - before
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn layers_loss_and_optimizer_do_not_allocate_in_steady_state() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(|| {
        let ctx = Ctx::train(1, 0);
        let img = Tensor::from_vec(
            (0..64 * 4 * 8 * 8).map(|i| (i % 7) as f32 - 3.0).collect(),
            &[64, 4, 8, 8],
        );
        let flat = Tensor::from_vec(
            (0..64 * 300).map(|i| (i % 11) as f32 - 5.0).collect(),
            &[64, 300],
        );
        let mut layers: Vec<(Box<dyn Layer>, &Tensor)> = vec![
            (
                Box::new(DropoutLayer::new(0.5, 0, DropoutKind::Element).unwrap()),
                &flat,
            ),
            (
                Box::new(DropoutLayer::new(0.5, 1, DropoutKind::Spatial).unwrap()),
                &img,
            ),
            (Box::new(ActivationLayer::new(Activation::Selu)), &flat),
            (Box::new(BatchNorm::new(300)), &flat),
            (Box::new(BatchNorm::new(4)), &img),
            (Box::new(LayerNorm::new(300)), &flat),
            (Box::new(MaxPool2d::new(2).unwrap()), &img),
            (Box::new(Flatten::default()), &img),
        ];
        for (layer, x) in layers.iter_mut() {
            layer.forward(x, &ctx);
            let out_shape = layer.output().shape.clone();
            let mut dy = Tensor::zeros(&out_shape);
            let mut run = |layer: &mut Box<dyn Layer>| {
                layer.forward(x, &ctx);
                dy.resize(&out_shape);
                layer.backward(x, &mut dy, &ctx, true);
            };
            let n = steady(|| run(layer));
            assert_eq!(n, 0, "{} allocates in steady state", layer.describe());
        }
        let logits = Tensor::from_vec(vec![0.5; 128 * 10], &[128, 10]);
        let labels: Vec<u32> = (0..128).map(|i| i % 10).collect();
        let mut dz = Tensor::default();
        softmax_cross_entropy(&logits, &labels, Some(&mut dz)).unwrap();
        let n = steady(|| {
            softmax_cross_entropy(&logits, &labels, Some(&mut dz)).unwrap();
        });
        assert_eq!(n, 0, "the loss allocates");
    });
}

#[test]
fn training_step_allocates_only_inside_gemm() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(|| {
        let mut spec = ModelSpec::new("784-256-256-10");
        spec.dropout = 0.5;
        spec.input_dropout = 0.2;
        let mut model = build(&spec, &[784], 1).unwrap();
        let mut opt = Optimizer::new(
            OptimKind::Sgd {
                momentum: 0.9,
                nesterov: true,
                dampened: false,
            },
            1e-4,
            Some(3.0),
        );
        let x: Vec<f32> = (0..128 * 784).map(|i| (i % 255) as f32 / 255.0).collect();
        let y: Vec<u32> = (0..128).map(|i| (i % 10) as u32).collect();
        let fb = |m: &mut engine::Sequential, s: u32| {
            m.input_mut(128).copy_from_slice(&x);
            m.forward_backward(&y, &Ctx::train(1, s)).unwrap();
        };
        fb(&mut model, 0);
        opt.step(&mut model, 0.01);
        let n = steady(|| opt.step(&mut model, 0.01));
        assert_eq!(n, 0, "the optimizer allocates after its first step");
        // Fewest over three blocks of 5 steps (see `steady`).
        let during = (0..3u32)
            .map(|blk| {
                let before = allocs();
                for s in 1..6 {
                    fb(&mut model, blk * 10 + s);
                }
                allocs() - before
            })
            .min()
            .unwrap_or(0);
        // The step's products: 3 forward, 3 weight gradients, 2 input gradients.
        let shapes = [
            (128, 784, 256, false, true),
            (128, 256, 256, false, true),
            (128, 256, 10, false, true),
            (10, 128, 256, true, false),
            (128, 10, 256, false, false),
            (256, 128, 256, true, false),
            (128, 256, 256, false, false),
            (256, 128, 784, true, false),
        ];
        let gemm_bound: usize = shapes
            .iter()
            .map(|&(m, k, n, ta, tb)| 5 * gemm_allocs(m, k, n, Trans { a: ta, b: tb }))
            .sum();
        assert!(
            during <= gemm_bound,
            "{during} allocations in 5 steps, more than their GEMMs alone ({gemm_bound})"
        );
    });
}

#[test]
fn evaluation_and_mc_inference_allocate_only_inside_gemm() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(|| {
        let mut spec = ModelSpec::new("784-256-256-10");
        spec.dropout = 0.5;
        spec.norm = engine::spec::Norm::Batch;
        let mut model = build(&spec, &[784], 1).unwrap();
        let x: Vec<f32> = (0..500 * 784).map(|i| (i % 255) as f32 / 255.0).collect();
        let y: Vec<u32> = (0..500).map(|i| (i % 10) as u32).collect();
        // An evaluation pass as the trainer runs it: a full batch of 300 and
        // a last, smaller batch of 200; then T = 3 MC-dropout samples.
        let pass = |m: &mut engine::Sequential| {
            for (start, n) in [(0, 300), (300, 200)] {
                m.input_mut(n)
                    .copy_from_slice(&x[start * 784..(start + n) * 784]);
                m.evaluate(&y[start..start + n], &Ctx::eval()).unwrap();
                for t in 0..3 {
                    m.forward(&Ctx::mc_sample(7, t));
                }
            }
        };
        let during = steady(|| pass(&mut model));
        // The pass's products: 3 forward GEMMs per forward, 4 forwards per batch.
        let mut gemm_bound = 0;
        for n in [300, 200] {
            for (k, o) in [(784, 256), (256, 256), (256, 10)] {
                gemm_bound += 4 * gemm_allocs(n, k, o, Trans { a: false, b: true });
            }
        }
        assert!(
            during <= gemm_bound,
            "{during} allocations in an evaluation pass, more than its GEMMs alone ({gemm_bound})"
        );
    });
}
