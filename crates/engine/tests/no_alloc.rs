//! A training step allocates nothing of its own once its buffers have seen
//! the batch size, counted with a global allocator wrapper. The one exception
//! is inside the `gemm` crate, which allocates its packing workspace (2–4
//! small buffers) on every call; so: every non-GEMM layer, the loss and the
//! optimizer allocate exactly 0 in steady state, and a whole step at most
//! 4 per matrix product.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use engine::layer::Ctx;
use engine::layer::Layer;
use engine::layers::{
    Activation, ActivationLayer, BatchNorm, DropoutLayer, Flatten, LayerNorm, MaxPool2d,
};
use engine::loss::softmax_cross_entropy;
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
            (Box::new(DropoutLayer::new(0.5, 0, false).unwrap()), &flat),
            (Box::new(DropoutLayer::new(0.5, 1, true).unwrap()), &img),
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
            run(layer);
            let before = allocs();
            run(layer);
            run(layer);
            assert_eq!(
                allocs() - before,
                0,
                "{} allocates in steady state",
                layer.describe()
            );
        }
        let logits = Tensor::from_vec(vec![0.5; 128 * 10], &[128, 10]);
        let labels: Vec<u32> = (0..128).map(|i| i % 10).collect();
        let mut dz = Tensor::default();
        softmax_cross_entropy(&logits, &labels, Some(&mut dz)).unwrap();
        let before = allocs();
        softmax_cross_entropy(&logits, &labels, Some(&mut dz)).unwrap();
        assert_eq!(allocs() - before, 0, "the loss allocates");
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
        let before = allocs();
        opt.step(&mut model, 0.01);
        assert_eq!(
            allocs() - before,
            0,
            "the optimizer allocates after its first step"
        );
        let before = allocs();
        for s in 1..6 {
            fb(&mut model, s);
        }
        let during = allocs() - before;
        // 3 dense layers: 3 forward products, 3 weight gradients, 2 input gradients.
        let gemm_calls = 5 * 8;
        assert!(
            during <= 4 * gemm_calls,
            "{during} allocations in 5 steps, more than gemm's 4 per call"
        );
    });
}
