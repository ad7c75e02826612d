//! Train a candle MLP on the embedded MNIST twice — once with this crate's
//! dropout, once with `candle_nn::ops::dropout` — and compare accuracy.
//!
//! ```text
//! net      x(784) ─drop(p_in)─ W1 ─ReLU─drop(p)─ W2 ─ReLU─drop(p)─ W3 ─▶ logits(10)
//! loss     cross-entropy, AdamW (no weight decay), minibatches of `batch`
//! data     MNIST training file: first 50,000 train, last 10,000 validation; test set 10,000
//! ```
//!
//! Both arms start from the same weights (drawn from a seeded generator, not
//! candle's unseeded one), see the same minibatches in the same order and
//! train for the same number of epochs; only the dropout op differs. This
//! crate's masks come from the key `(seed, stream = site, step)`, advanced
//! once per step by [`DropoutLayer`]; candle's come from its thread RNG (not
//! reproducible). Validation accuracy is printed every epoch; test accuracy
//! once, at the end.
//!
//! `cargo run --release -p dropout-candle --example mnist_mlp -- --help`

use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use clap::Parser;
use dropout_candle::DropoutLayer;
use engine::rng::Rng;
use lab::config::Builtin;
use lab::data::{idx, Dataset};

/// Train a candle MLP on MNIST with dropout-candle's dropout and with
/// candle-nn's, from the same initial weights and batch order.
///
/// Examples:
///   cargo run --release -p dropout-candle --example mnist_mlp
///   cargo run --release -p dropout-candle --example mnist_mlp -- --epochs 3 --seeds 1 --hidden 256
#[derive(Parser, Debug)]
#[command(verbatim_doc_comment)]
struct Args {
    /// Epochs per run.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Seeds 0..N; each trains both arms.
    #[arg(long, default_value_t = 2)]
    seeds: u64,
    /// Units in each of the two hidden layers.
    #[arg(long, default_value_t = 512)]
    hidden: usize,
    /// Dropout rate of the hidden layers.
    #[arg(long, default_value_t = 0.5)]
    p: f32,
    /// Dropout rate of the input.
    #[arg(long, default_value_t = 0.2)]
    p_in: f32,
    /// Minibatch size.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// AdamW learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Arm {
    /// `dropout_candle::DropoutLayer`.
    Ours,
    /// `candle_nn::ops::dropout`.
    CandleNn,
}

struct Mlp {
    /// `(W: in × out, b: out)` per layer.
    layers: Vec<(Var, Var)>,
    /// One site per dropout: the input, then each hidden layer.
    sites: Vec<(f32, DropoutLayer)>,
    arm: Arm,
}

impl Mlp {
    fn new(a: &Args, arm: Arm, seed: u64) -> candle_core::Result<Self> {
        let mut rng = Rng::new(seed).fork(0x1417);
        let dims = [784, a.hidden, a.hidden, 10];
        let mut layers = Vec::new();
        for w in dims.windows(2) {
            let (fan_in, fan_out) = (w[0], w[1]);
            let bound = (1.0 / fan_in as f64).sqrt();
            let v: Vec<f32> = (0..fan_in * fan_out)
                .map(|_| ((2.0 * rng.uniform() - 1.0) * bound) as f32)
                .collect();
            let wt = Var::from_tensor(&Tensor::from_vec(v, (fan_in, fan_out), &Device::Cpu)?)?;
            let b = Var::zeros(fan_out, DType::F32, &Device::Cpu)?;
            layers.push((wt, b));
        }
        let sites = [a.p_in, a.p, a.p]
            .iter()
            .enumerate()
            .map(|(i, &p)| Ok((p, DropoutLayer::new(p, seed, i as u32)?)))
            .collect::<candle_core::Result<_>>()?;
        Ok(Self { layers, sites, arm })
    }

    fn drop(&self, site: usize, x: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        let (p, layer) = &self.sites[site];
        match (self.arm, train) {
            (_, false) => Ok(x.clone()),
            (Arm::Ours, true) => layer.forward_t(x, true),
            (Arm::CandleNn, true) => candle_nn::ops::dropout(x, *p),
        }
    }

    fn forward(&self, x: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        let mut h = self.drop(0, x, train)?;
        for (i, (w, b)) in self.layers.iter().enumerate() {
            h = h.matmul(w.as_tensor())?.broadcast_add(b.as_tensor())?;
            if i + 1 < self.layers.len() {
                h = self.drop(i + 1, &h.relu()?, train)?;
            }
        }
        Ok(h)
    }

    fn vars(&self) -> Vec<Var> {
        self.layers
            .iter()
            .flat_map(|(w, b)| [w.clone(), b.clone()])
            .collect()
    }
}

fn tensors(d: &Dataset, idx: &[usize]) -> candle_core::Result<(Tensor, Tensor)> {
    let s = d.subset(idx);
    let x = Tensor::from_vec(s.x, (idx.len(), d.dim()), &Device::Cpu)?;
    let y = Tensor::from_vec(s.y, idx.len(), &Device::Cpu)?;
    Ok((x, y))
}

fn accuracy(net: &Mlp, d: &Dataset) -> candle_core::Result<f64> {
    let mut correct = 0u64;
    let all: Vec<usize> = (0..d.len()).collect();
    for chunk in all.chunks(2000) {
        let (x, y) = tensors(d, chunk)?;
        let pred = net.forward(&x, false)?.argmax(D::Minus1)?;
        correct += pred
            .eq(&y)?
            .to_dtype(DType::U32)?
            .sum_all()?
            .to_scalar::<u32>()? as u64;
    }
    Ok(correct as f64 / d.len() as f64)
}

/// Train one arm; returns (final validation accuracy, test accuracy, seconds per epoch).
fn run(
    a: &Args,
    arm: Arm,
    seed: u64,
    data: &(Dataset, Dataset, Dataset),
) -> candle_core::Result<(f64, f64, f64)> {
    let (train, val, test) = data;
    let net = Mlp::new(a, arm, seed)?;
    let params = ParamsAdamW {
        lr: a.lr,
        weight_decay: 0.0,
        ..Default::default()
    };
    let mut opt = AdamW::new(net.vars(), params)?;
    let mut order_rng = Rng::new(seed).fork(0x5eed);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let start = Instant::now();
    let mut val_acc = 0.0;
    for epoch in 1..=a.epochs {
        order_rng.shuffle(&mut order);
        for batch in order.chunks(a.batch) {
            let (x, y) = tensors(train, batch)?;
            let loss = candle_nn::loss::cross_entropy(&net.forward(&x, true)?, &y)?;
            opt.backward_step(&loss)?;
        }
        val_acc = accuracy(&net, val)?;
        println!(
            "  seed {seed} {arm:?}: epoch {epoch:>3}  validation accuracy {:.2} %",
            100.0 * val_acc
        );
    }
    let per_epoch = start.elapsed().as_secs_f64() / a.epochs.max(1) as f64;
    Ok((val_acc, accuracy(&net, test)?, per_epoch))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    anyhow::ensure!(a.batch > 0, "--batch must be at least 1");
    anyhow::ensure!(
        (0.0..1.0).contains(&a.p) && (0.0..1.0).contains(&a.p_in),
        "--p and --p-in must be in [0, 1) (candle-nn's dropout rejects 1)"
    );
    let (file, test, source) = idx::load_dir(Err(Builtin::Mnist))?;
    let train = file.subset(&(0..50_000).collect::<Vec<_>>());
    let val = file.subset(&(50_000..file.len()).collect::<Vec<_>>());
    println!(
        "{source}: {} train, {} validation, {} test; 784-{h}-{h}-10, dropout {} (input) / {} (hidden), AdamW lr {}, batch {}, {} epochs, seeds 0..{}",
        train.len(), val.len(), test.len(), a.p_in, a.p, a.lr, a.batch, a.epochs, a.seeds, h = a.hidden
    );
    let data = (train, val, test);
    let mut rows = Vec::new();
    for seed in 0..a.seeds {
        for arm in [Arm::Ours, Arm::CandleNn] {
            rows.push((arm, run(&a, arm, seed, &data)?));
        }
    }
    println!("\narm             val acc %  test acc %  s/epoch   (mean over {} seeds; per seed test acc)", a.seeds);
    for arm in [Arm::Ours, Arm::CandleNn] {
        let r: Vec<_> = rows
            .iter()
            .filter(|(x, _)| *x == arm)
            .map(|(_, r)| *r)
            .collect();
        let pick = |f: fn(&(f64, f64, f64)) -> f64| r.iter().map(f).collect::<Vec<_>>();
        let tests = pick(|r| 100.0 * r.1);
        println!(
            "{:<15} {:>9.2}  {:>10.2}  {:>7.2}   {:?}",
            match arm {
                Arm::Ours => "dropout-candle",
                Arm::CandleNn => "candle-nn",
            },
            100.0 * mean(&pick(|r| r.0)),
            mean(&tests),
            mean(&pick(|r| r.2)),
            tests.iter().map(|t| format!("{t:.2}")).collect::<Vec<_>>()
        );
    }
    Ok(())
}
