//! `cargo bench -p dropout-candle`: this crate's dropout against
//! `candle_nn::ops::dropout` on the same 16M-element f32 tensor, side by
//! side in one run. Each round times both ops once, alternating which goes
//! first; the medians over rounds and their ratio are printed.
//!
//! ```text
//! forward          y = dropout(x)                       (ours: Philox kernel; candle-nn: rand, ge, mul)
//! forward+backward y = dropout(x); grads of Σ y         (ours: the op again on dy; candle-nn: dy · stored mask)
//! ```
//!
//! Threads: rayon's pool (set `RAYON_NUM_THREADS`, e.g. 2); candle-nn's
//! dropout runs where candle's CPU ops run. Options after `--`:
//! `--len N` (elements, default 16Mi), `--rounds R` (default 15).

use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use dropout_candle::{dropout, MaskKey};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time(f: impl FnOnce() -> candle_core::Result<()>) -> candle_core::Result<f64> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed().as_secs_f64())
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> candle_core::Result<()> {
    let n = arg("--len", 16 << 20);
    let rounds = arg("--rounds", 15).max(1);
    let p = 0.5f32;
    let x = Tensor::arange(0u32, n as u32, &Device::Cpu)?.to_dtype(DType::F32)?;
    let v = Var::from_tensor(&x)?;
    println!(
        "{n} f32, p = {p}, {rounds} rounds, rayon threads {}, candle threads {}",
        rayon::current_num_threads(),
        candle_core::utils::get_num_threads()
    );
    type Case<'a> = (&'a str, Box<dyn Fn(u32) -> candle_core::Result<()> + 'a>);
    let ours_f = |s: u32| dropout(&x, p, MaskKey::new(1, 0, s), true).map(drop);
    let theirs_f = |_: u32| candle_nn::ops::dropout(&x, p).map(drop);
    let ours_fb = |s: u32| {
        let y = dropout(v.as_tensor(), p, MaskKey::new(1, 0, s), true)?;
        y.sum_all()?.backward().map(drop)
    };
    let theirs_fb = |_: u32| {
        let y = candle_nn::ops::dropout(v.as_tensor(), p)?;
        y.sum_all()?.backward().map(drop)
    };
    let cases: [(Case, Case); 2] = [
        (
            ("forward", Box::new(ours_f)),
            ("forward", Box::new(theirs_f)),
        ),
        (
            ("forward+backward", Box::new(ours_fb)),
            ("forward+backward", Box::new(theirs_fb)),
        ),
    ];
    println!(
        "{:<18} {:>16} {:>16} {:>8}",
        "case", "dropout-candle", "candle-nn", "ratio"
    );
    for ((name, ours), (_, theirs)) in &cases {
        ours(0)?;
        theirs(0)?;
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for r in 0..rounds as u32 {
            if r % 2 == 0 {
                a.push(time(|| ours(r))?);
                b.push(time(|| theirs(r))?);
            } else {
                b.push(time(|| theirs(r))?);
                a.push(time(|| ours(r))?);
            }
        }
        let (ma, mb) = (median(a), median(b));
        println!(
            "{name:<18} {:>13.2} ms {:>13.2} ms {:>7.1}×",
            1e3 * ma,
            1e3 * mb,
            mb / ma
        );
    }
    Ok(())
}
