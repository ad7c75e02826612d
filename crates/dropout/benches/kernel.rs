//! `cargo bench -p dropout`: the kernels against a memcpy of the same buffer,
//! all as bytes-moved throughput (8 bytes per element: 4 read, 4 written), so
//! criterion's GiB/s columns compare directly. Uses rayon's global pool
//! (set `RAYON_NUM_THREADS` to pin the thread count).
//!
//! Also: mask generation alone (Philox + compare, 1 bit written per element)
//! per backend, and the fused bias + ReLU + dropout pass on one MLP layer's
//! activations (128 × 1024).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dropout::{Act, Backend, BiasActDropout, Dropout, MaskKey, Mode};

fn plain(c: &mut Criterion) {
    let d = Dropout::new(0.5).unwrap();
    let key = MaskKey::new(1, 0, 0);
    let mut g = c.benchmark_group("dropout_p0.5");
    g.sample_size(20);
    for n in [1usize << 20, 16 << 20] {
        let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let mut y = vec![1.0f32; n];
        g.throughput(Throughput::Bytes(8 * n as u64));
        let label = format!("{}M", n >> 20);
        g.bench_function(BenchmarkId::new("memcpy", &label), |b| {
            b.iter(|| y.copy_from_slice(black_box(&x)))
        });
        g.bench_function(BenchmarkId::new("forward", &label), |b| {
            b.iter(|| d.forward(key, Mode::Train, black_box(&x), &mut y).unwrap())
        });
        g.bench_function(BenchmarkId::new("backward", &label), |b| {
            b.iter(|| d.backward(key, Mode::Train, black_box(&x), &mut y).unwrap())
        });
        g.bench_function(BenchmarkId::new("forward_inplace", &label), |b| {
            b.iter(|| d.forward_inplace(key, Mode::Train, black_box(&mut y)))
        });
    }
    g.finish();
}

fn generator(c: &mut Criterion) {
    let n = 1usize << 22;
    let mut g = c.benchmark_group("mask_generation_4M");
    g.sample_size(20);
    g.throughput(Throughput::Elements(n as u64));
    for backend in Backend::available() {
        let d = Dropout::new(0.5).unwrap().with_backend(backend).unwrap();
        g.bench_function(backend.name(), |b| {
            b.iter(|| d.mask(MaskKey::new(2, 0, 0), Mode::Train, black_box(n)))
        });
    }
    g.finish();
}

fn fused(c: &mut Criterion) {
    let (rows, cols) = (128usize, 1024usize);
    let x: Vec<f32> = (0..rows * cols).map(|i| (i % 7) as f32 - 3.0).collect();
    let bias = vec![0.1f32; cols];
    let mut y = vec![0.0f32; rows * cols];
    let mut dx = vec![0.0f32; rows * cols];
    let mut db = vec![0.0f32; cols];
    let f = BiasActDropout {
        dropout: Dropout::new(0.5).unwrap(),
        key: MaskKey::new(3, 1, 0),
        mode: Mode::Train,
        act: Act::Relu,
        rows,
        cols,
    };
    let mut g = c.benchmark_group("fused_bias_relu_dropout_128x1024");
    g.throughput(Throughput::Elements((rows * cols) as u64));
    g.bench_function("forward", |b| {
        b.iter(|| f.forward(black_box(&x), &bias, &mut y).unwrap())
    });
    f.forward(&x, &bias, &mut y).unwrap();
    g.bench_function("backward", |b| {
        b.iter(|| f.backward(black_box(&y), &x, &mut dx, &mut db).unwrap())
    });
    g.finish();
}

criterion_group!(benches, plain, generator, fused);
criterion_main!(benches);
