//! `dropout-lab bench kernel`: dropout forward/backward (plain, AlphaDropout,
//! Gaussian dropout or Gaussian noise)
//! against a memcpy of the same buffer, measured in the same run.
//!
//! For `n` f32 elements both the kernel and the copy read `4n` bytes and write
//! `4n` bytes, so bandwidth = `8n / t` and
//!
//! ```text
//! ratio = t_memcpy / t_kernel        (1.0 = memcpy speed)
//! ```
//!
//! The memcpy is `copy_from_slice` (one thread, as Rust gives it); the kernels
//! run on a rayon pool of `threads` threads. The repetitions interleave copy,
//! forward and backward so all three see the same machine state; each number
//! is the median over the repetitions, after one untimed warm-up.

use std::hint::black_box;

use dropout::{
    AlphaDropout, ConcreteDropout, Dropout, GaussianDropout, GaussianNoise, MaskKey, Mode,
};
use serde::Serialize;

use super::{median, time_ms};

/// The member of the dropout family measured.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kernel {
    /// Inverted dropout.
    Plain(#[serde(skip)] Dropout),
    /// AlphaDropout (SELU nets).
    Alpha(#[serde(skip)] AlphaDropout),
    /// Gaussian dropout (multiplicative N(1, p/(1 − p)) noise).
    Gaussian(#[serde(skip)] GaussianDropout),
    /// Additive Gaussian noise (σ = √(p/(1 − p)); backward is a copy).
    Noise(#[serde(skip)] GaussianNoise),
    /// Concrete dropout at rate p (τ 0.1); backward also sums ∂L/∂p (x = dy there).
    Concrete(#[serde(skip)] ConcreteDropout, #[serde(skip)] f32),
}

impl Kernel {
    fn forward(&self, key: MaskKey, x: &[f32], y: &mut [f32]) {
        match self {
            Kernel::Plain(d) => d.forward(key, Mode::Train, x, y),
            Kernel::Alpha(d) => d.forward(key, Mode::Train, x, y),
            Kernel::Gaussian(d) => d.forward(key, Mode::Train, x, y),
            Kernel::Noise(d) => d.forward(key, Mode::Train, x, y),
            Kernel::Concrete(d, p) => d.forward_at(key, Mode::Train, 0, *p, x, y),
        }
        .expect("equal lengths");
    }

    fn backward(&self, key: MaskKey, dy: &[f32], dx: &mut [f32]) {
        match self {
            Kernel::Plain(d) => d.backward(key, Mode::Train, dy, dx),
            Kernel::Alpha(d) => d.backward(key, Mode::Train, dy, dx),
            Kernel::Gaussian(d) => d.backward(key, Mode::Train, dy, dx),
            Kernel::Noise(d) => d.backward(key, Mode::Train, dy, dx),
            Kernel::Concrete(d, p) => d.backward_at(key, Mode::Train, 0, *p, dy, dy, dx).map(drop),
        }
        .expect("equal lengths");
    }

    fn forward_inplace(&self, key: MaskKey, x: &mut [f32]) {
        match self {
            Kernel::Plain(d) => d.forward_inplace(key, Mode::Train, x),
            Kernel::Alpha(d) => d.forward_inplace(key, Mode::Train, x),
            Kernel::Gaussian(d) => d.forward_inplace(key, Mode::Train, x),
            Kernel::Noise(d) => d.forward_inplace(key, Mode::Train, x),
            Kernel::Concrete(d, p) => {
                let src = x.to_vec();
                d.forward_at(key, Mode::Train, 0, *p, &src, x)
                    .expect("equal lengths");
            }
        }
    }

    fn backend(&self) -> &'static str {
        match self {
            Kernel::Plain(d) => d.backend().name(),
            Kernel::Alpha(d) => d.rule().backend().name(),
            Kernel::Gaussian(d) => d.backend().name(),
            Kernel::Noise(d) => d.backend().name(),
            Kernel::Concrete(..) => "scalar",
        }
    }
}

/// One size's result.
#[derive(Clone, Debug, Serialize)]
pub struct KernelResult {
    /// f32 elements per buffer.
    pub elements: usize,
    /// Rayon threads used by the kernels.
    pub threads: usize,
    /// Drop probability.
    pub p: f32,
    /// The variant.
    pub variant: Kernel,
    /// Kernel backend.
    pub backend: &'static str,
    /// Timed repetitions.
    pub reps: usize,
    /// Median forward time (out of place).
    pub forward_ms: f64,
    /// Median backward time (out of place, mask recomputed).
    pub backward_ms: f64,
    /// Median in-place forward time.
    pub forward_inplace_ms: f64,
    /// Median `copy_from_slice` time of the same buffer.
    pub memcpy_ms: f64,
    /// Forward bandwidth, GB/s (8 bytes per element).
    pub forward_gbs: f64,
    /// Backward bandwidth, GB/s.
    pub backward_gbs: f64,
    /// memcpy bandwidth, GB/s.
    pub memcpy_gbs: f64,
    /// memcpy time / forward time.
    pub forward_ratio: f64,
    /// memcpy time / backward time.
    pub backward_ratio: f64,
}

/// Settings of a kernel benchmark.
#[derive(Clone, Debug)]
pub struct KernelBench {
    /// Kernel threads.
    pub threads: usize,
    /// Drop probability.
    pub p: f32,
    /// Repetitions per size (the largest sizes get at least 3).
    pub reps: usize,
}

impl KernelBench {
    /// Measure one size. `tick` is called after every repetition.
    pub fn run_size(
        &self,
        n: usize,
        d: &Kernel,
        pool: &rayon::ThreadPool,
        mut tick: impl FnMut(),
    ) -> KernelResult {
        let x: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 * 0.001 - 0.5).collect();
        // Touch every page of the outputs before timing.
        let mut y = vec![1.0f32; n];
        let mut z = vec![1.0f32; n];
        let key = MaskKey::new(0x5eed, 0, 0);
        let (mut fwd, mut bwd, mut inp, mut cpy) = (vec![], vec![], vec![], vec![]);
        for rep in 0..=self.reps {
            let key = MaskKey {
                step: rep as u32,
                ..key
            };
            let c = time_ms(|| y.copy_from_slice(black_box(&x)));
            let f = pool.install(|| time_ms(|| d.forward(key, black_box(&x), &mut y)));
            let b = pool.install(|| time_ms(|| d.backward(key, black_box(&x), &mut z)));
            let i = pool.install(|| time_ms(|| d.forward_inplace(key, black_box(&mut z))));
            black_box((&y, &z));
            if rep > 0 {
                cpy.push(c);
                fwd.push(f);
                bwd.push(b);
                inp.push(i);
            }
            tick();
        }
        let gbs = |ms: f64| 8.0 * n as f64 / (ms * 1e-3) / 1e9;
        let (fm, bm, im, cm) = (median(&fwd), median(&bwd), median(&inp), median(&cpy));
        KernelResult {
            elements: n,
            threads: self.threads,
            p: self.p,
            variant: *d,
            backend: d.backend(),
            reps: self.reps,
            forward_ms: fm,
            backward_ms: bm,
            forward_inplace_ms: im,
            memcpy_ms: cm,
            forward_gbs: gbs(fm),
            backward_gbs: gbs(bm),
            memcpy_gbs: gbs(cm),
            forward_ratio: cm / fm,
            backward_ratio: cm / bm,
        }
    }
}
