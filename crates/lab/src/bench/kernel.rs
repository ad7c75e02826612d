//! `dropout-lab bench kernel`: one member of the dropout family (any
//! [`Variant`]: plain, alpha, gaussian, noise, concrete, block, path, head) forward
//! and backward against a memcpy of the same buffer, measured in the same run.
//!
//! For `n` f32 elements both the kernel and the copy read `4n` bytes and write
//! `4n` bytes, so bandwidth = `8n / t` and
//!
//! ```text
//! ratio = t_memcpy / t_kernel        (1.0 = memcpy speed)
//! data  = (n) element-wise · (n/1024, 1024) rows for DropPath · (n/1024, 1, 32, 32) maps for DropBlock
//!         · (n/1024, 4, 256) heads for DropHead
//! ```
//!
//! The memcpy is `copy_from_slice` (one thread, as Rust gives it); the kernels
//! run on a rayon pool of `threads` threads. The repetitions interleave copy,
//! forward and backward so all three see the same machine state; each number
//! is the median over the repetitions, after one untimed warm-up. Backward is
//! the variant's uniform backward (`dx` alone: Concrete dropout's `∂L/∂p`
//! sum is not in it); the in-place forward goes through a copy for the
//! members without an in-place kernel (Concrete, DropBlock, DropPath).

use std::hint::black_box;

use dropout::{Layout, MaskKey, Mode, Pass, Shape, Variant};
use serde::Serialize;

use super::{median, time_ms};

/// Elements per row (DropPath) and per map (DropBlock's 32 × 32 maps).
pub const ROW: usize = 1024;

/// The data shape `v` is measured on at `n` elements (module docs); `None`
/// when `n` is not a whole number of rows or maps.
pub fn dims(v: &Variant, n: usize) -> Option<Vec<usize>> {
    match v.layout() {
        Layout::Elements => Some(vec![n]),
        _ if !n.is_multiple_of(ROW) => None,
        Layout::Rows => Some(vec![n / ROW, ROW]),
        Layout::Maps => Some(vec![n / ROW, 1, 32, 32]),
        // Heads of 256 elements (a context of 64 × 4 features per head), 4 per sample.
        Layout::Heads => Some(vec![n / ROW, 4, 256]),
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
    /// The variant's name (`plain`, `alpha`, …).
    pub variant: &'static str,
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
    ///
    /// # Panics
    /// If `n` is not a size [`dims`] accepts for `v` (the CLI checks it first).
    pub fn run_size(
        &self,
        n: usize,
        v: &Variant,
        pool: &rayon::ThreadPool,
        mut tick: impl FnMut(),
    ) -> KernelResult {
        let dims = dims(v, n).expect("a whole number of rows or maps");
        let shape = Shape::new(&dims);
        let x: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 * 0.001 - 0.5).collect();
        // Touch every page of the outputs before timing.
        let mut y = vec![1.0f32; n];
        let mut z = vec![1.0f32; n];
        let key = MaskKey::new(0x5eed, 0, 0);
        let (mut fwd, mut bwd, mut inp, mut cpy) = (vec![], vec![], vec![], vec![]);
        let m = Mode::Train;
        for rep in 0..=self.reps {
            let key = MaskKey {
                step: rep as u32,
                ..key
            };
            let c = time_ms(|| y.copy_from_slice(black_box(&x)));
            let run = |f: &mut (dyn FnMut() -> Result<(), dropout::DropoutError> + Send)| {
                pool.install(|| time_ms(|| f().expect("buffers of the shape")))
            };
            let f = run(&mut || v.forward(key, m, shape, black_box(&x), &mut y));
            let b = run(&mut || v.backward(key, m, shape, black_box(&x), &mut z));
            let i = run(&mut || v.apply_inplace(Pass::Forward, key, m, shape, black_box(&mut z)));
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
            variant: v.kind().name(),
            backend: v.backend().map_or("scalar", |b| b.name()),
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

#[cfg(test)]
mod tests {
    use dropout::VariantKind;

    use super::*;

    #[test]
    fn every_variant_is_measured_on_its_shape() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let bench = KernelBench {
            threads: 1,
            p: 0.3,
            reps: 1,
        };
        for kind in VariantKind::ALL {
            let v = Variant::new(kind, 0.3).unwrap();
            assert_eq!(dims(&v, 1000).is_some(), kind.layout() == Layout::Elements);
            let r = bench.run_size(2 * ROW, &v, &pool, || {});
            assert_eq!((r.variant, r.elements), (kind.name(), 2 * ROW));
            assert!(r.forward_ms > 0.0 && r.backward_ms > 0.0, "{kind}");
        }
    }
}
