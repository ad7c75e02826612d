//! `dropout-lab`: the command line of the dropout lab.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use dropout::{Backend, Dropout};
use indicatif::{ProgressBar, ProgressStyle};
use lab::bench;
use lab::bench::kernel::{KernelBench, KernelResult};
use lab::checkpoint;
use lab::config::{DataConfig, ModelConfig, OptimConfig, RunConfig};
use lab::data::load;
use lab::mc::mc_evaluate;
use lab::study::{run_study, Budget, StudyOptions};
use lab::train::{build_model, evaluate, train as train_loop, EpochMetrics, LoopOptions};

/// Dropout regularization done right: exact, reproducible kernels and a lab
/// that measures what dropout does on real data.
#[derive(Parser)]
#[command(
    name = "dropout-lab",
    version,
    after_help = "Examples:
  dropout-lab study                                   # the main job: every claim about dropout -> report/index.html
  dropout-lab train                                   # MNIST (embedded), 784-1024-1024-10, dropout 0.2/0.5
  dropout-lab train --epochs 30 --out runs/mnist      # the Srivastava et al. setting, saved to runs/mnist
  dropout-lab train --data data/sklearn-wine/wine_data.csv --arch {in}-64-{classes} --epochs 50
  dropout-lab eval --run runs/mnist --mc 50           # MC dropout: accuracy, entropy, MI, ECE
  dropout-lab bench kernel                            # dropout kernels vs memcpy
  dropout-lab bench train                             # training throughput, p = 0.5 and p = 0"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model and save a run directory (config.json, metrics.jsonl, model.safetensors).
    Train(Box<TrainArgs>),
    /// Re-evaluate a saved run on its test set, optionally with MC dropout.
    #[command(
        after_help = "Examples:\n  dropout-lab eval --run runs/mnist\n  dropout-lab eval --run runs/mnist --mc 100 --json"
    )]
    Eval(EvalArgs),
    /// Measure every claim about dropout on MNIST and write an HTML report (the main job).
    #[command(
        after_help = "Examples:\n  dropout-lab study                      # all claims, 3 seeds, ~20 min on 2 cores -> report/index.html\n  dropout-lab study --quick              # ~3 min, smaller nets\n  dropout-lab study --claims C3,C9 --seeds 5\n  dropout-lab study --paper --paper-epochs 50   # Srivastava et al. 2014 Table 2 (an hour or more)\n\nInterrupted? Run the same command again: finished training runs are cached in <out>/report-cache."
    )]
    Study(StudyArgs),
    /// Measure speed.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Args)]
struct StudyArgs {
    /// Small budget: smaller nets, fewer samples, 2 seeds (≤ 3 minutes).
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// Smoke-test budget (seconds; numbers meaningless): checks the pipeline.
    #[arg(long, hide = true, conflicts_with_all = ["quick", "full"])]
    tiny: bool,
    /// Large budget: bigger grids (up to all 60k images), 5 seeds.
    #[arg(long)]
    full: bool,
    /// Only these claims (comma-separated ids, e.g. C3,C9).
    #[arg(long, value_delimiter = ',')]
    claims: Vec<String>,
    /// Seeds per setting (default: 2 quick, 3 default, 5 full).
    #[arg(long)]
    seeds: Option<usize>,
    /// Output directory for index.html, results.json and the cache.
    #[arg(long, default_value = "report")]
    out: PathBuf,
    /// Threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Reproduce Srivastava et al. 2014 Table 2 on full MNIST instead of the claims.
    #[arg(long)]
    paper: bool,
    /// Epochs per setting for --paper.
    #[arg(long, default_value_t = 50)]
    paper_epochs: usize,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Dropout forward/backward vs a memcpy of the same buffer (GB/s, ratio).
    #[command(
        after_help = "Examples:\n  dropout-lab bench kernel\n  dropout-lab bench kernel --json --sizes 1M,16M\n  dropout-lab bench kernel --backend portable --sizes 1M"
    )]
    Kernel(KernelArgs),
    /// Training throughput of an MLP on random data, with and without dropout.
    #[command(
        after_help = "Examples:\n  dropout-lab bench train\n  dropout-lab bench train --p 0.5,0 --threads 2 --json\n  python bench/torch_mlp.py   # the same setting in PyTorch"
    )]
    Train(TrainBenchArgs),
}

#[derive(Args)]
struct DataArgs {
    /// A CSV file, or a directory with the four MNIST-named IDX files (.gz or raw). Default: the embedded MNIST.
    #[arg(long)]
    data: Option<PathBuf>,
    /// CSV label column: `last`, a 0-based index, or a header name.
    #[arg(long, default_value = "last")]
    label_column: String,
    /// CSV only: fraction held out (stratified, seeded) as the test set.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Keep a stratified subset of this many training samples.
    #[arg(long)]
    train_size: Option<usize>,
    /// Validation samples taken (stratified) from the training file.
    #[arg(long, default_value_t = 0)]
    val_size: usize,
    /// Symmetric label noise on the training labels (fraction in [0, 1)).
    #[arg(long, default_value_t = 0.0)]
    label_noise: f64,
    /// Standardise features with training-set mean and sd: auto (CSV yes, images no), on, off.
    #[arg(long, default_value = "auto")]
    standardize: String,
}

#[derive(Args)]
#[command(after_help = "Examples:
  dropout-lab train
  dropout-lab train --dropout 0 --input-dropout 0 --epochs 30 --out runs/nodrop
  dropout-lab train --arch c32-p-c64-p-128-10 --conv-dropout 0.1 --spatial --epochs 5
  dropout-lab train --train-size 1000 --label-noise 0.2 --norm bn --optimizer adam --lr 1e-3
  dropout-lab train --data data/sklearn-breast-cancer/breast_cancer.csv --arch {in}-32-{classes}")]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Architecture: MLP `784-1024-1024-10` (`{in}`/`{classes}` are filled from the data) or CNN `c32-p-c64-p-128-10`.
    #[arg(long, default_value = "{in}-1024-1024-{classes}")]
    arch: String,
    /// Hidden activation: relu, tanh, sigmoid, selu.
    #[arg(long, default_value = "relu")]
    act: String,
    /// Dropout rate after each hidden dense layer.
    #[arg(long, default_value_t = 0.5)]
    dropout: f32,
    /// Dropout rate on the input.
    #[arg(long, default_value_t = 0.2)]
    input_dropout: f32,
    /// Dropout rate after each conv block.
    #[arg(long, default_value_t = 0.0)]
    conv_dropout: f32,
    /// Conv dropout drops whole channels (spatial dropout).
    #[arg(long)]
    spatial: bool,
    /// Normalisation in hidden blocks: none, bn, ln.
    #[arg(long, default_value = "none")]
    norm: String,
    /// Where hidden dropout sits: after-act (Dense→norm→act→dropout) or before-norm.
    #[arg(long, default_value = "after-act")]
    dropout_where: String,
    /// Hidden dropout only in the last hidden block.
    #[arg(long)]
    dropout_last_only: bool,
    /// Weight init: auto (he for relu, lecun for selu, xavier otherwise), he, xavier, lecun.
    #[arg(long, default_value = "auto")]
    init: String,
    /// Optimizer: sgd, adam, adamw.
    #[arg(long, default_value = "sgd")]
    optimizer: String,
    /// Learning rate.
    #[arg(long, default_value_t = 0.05)]
    lr: f32,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.9)]
    momentum: f32,
    /// Nesterov momentum.
    #[arg(long)]
    nesterov: bool,
    /// L2 weight decay (weights only).
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f32,
    /// Max-norm bound on each unit's incoming weights (0 = off; Srivastava et al. use 3-4).
    #[arg(long, default_value_t = 0.0)]
    max_norm: f32,
    /// LR schedule: constant, cosine, exp:GAMMA, step:EVERY:GAMMA.
    #[arg(long, default_value = "constant")]
    schedule: String,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Batch size.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Seed (data split, init, shuffling, dropout masks).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Run directory (default: runs/<time>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the final summary as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct EvalArgs {
    /// Run directory written by `dropout-lab train`.
    #[arg(long)]
    run: PathBuf,
    /// MC-dropout samples (0 = deterministic only).
    #[arg(long, default_value_t = 0)]
    mc: usize,
    /// Threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct TrainBenchArgs {
    /// MLP architecture.
    #[arg(long, default_value = "784-1024-1024-10")]
    arch: String,
    /// Hidden dropout rates to measure.
    #[arg(long, value_delimiter = ',', default_value = "0.5,0")]
    p: Vec<f32>,
    /// Batch size.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Steps per timed block.
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Timed blocks (median reported).
    #[arg(long, default_value_t = 7)]
    reps: usize,
    /// Threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// One JSON object per setting.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct KernelArgs {
    /// Buffer sizes in f32 elements (suffix K = 2^10, M = 2^20).
    #[arg(long, value_delimiter = ',', default_value = "1M,16M,64M", value_parser = parse_size)]
    sizes: Vec<usize>,
    /// Kernel threads (rayon pool size).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Drop probability.
    #[arg(long, default_value_t = 0.5)]
    p: f32,
    /// Timed repetitions per size (median reported).
    #[arg(long, default_value_t = 15)]
    reps: usize,
    /// Kernel backend: best, avx512, avx2 or portable.
    #[arg(long, default_value = "best")]
    backend: String,
    /// Print one JSON object per size instead of a table.
    #[arg(long)]
    json: bool,
}

/// `16M` → 16·2^20; plain numbers as they are.
fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (num, mul) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1usize << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            format!("`{s}` is not a size: use a positive number, optionally with K or M (e.g. 16M)")
        })
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Train(a) => train(*a),
        Command::Eval(a) => eval(a),
        Command::Study(a) => study(a),
        Command::Bench(BenchCommand::Kernel(a)) => bench_kernel(a),
        Command::Bench(BenchCommand::Train(a)) => bench_train(a),
    }
}

fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    if threads == 0 {
        bail!("--threads must be at least 1");
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("building the thread pool")
}

fn train(a: TrainArgs) -> Result<()> {
    let cfg = RunConfig {
        data: DataConfig {
            path: a.data.data.clone(),
            label_column: a.data.label_column.clone(),
            test_fraction: a.data.test_fraction,
            train_size: a.data.train_size,
            val_size: a.data.val_size,
            label_noise: a.data.label_noise,
            standardize: a.data.standardize.clone(),
        },
        model: ModelConfig {
            arch: a.arch.clone(),
            act: a.act.clone(),
            dropout: a.dropout,
            input_dropout: a.input_dropout,
            conv_dropout: a.conv_dropout,
            spatial: a.spatial,
            norm: a.norm.clone(),
            dropout_where: a.dropout_where.clone(),
            dropout_last_only: a.dropout_last_only,
            init: a.init.clone(),
        },
        optim: OptimConfig {
            optimizer: a.optimizer.clone(),
            lr: a.lr,
            momentum: a.momentum,
            nesterov: a.nesterov,
            weight_decay: a.weight_decay,
            max_norm: a.max_norm,
            schedule: a.schedule.clone(),
        },
        epochs: a.epochs,
        batch: a.batch,
        seed: a.seed,
        threads: a.threads,
    };
    if cfg.epochs == 0 || cfg.batch == 0 {
        bail!("--epochs and --batch must be at least 1");
    }
    // Check the cheap things before loading data.
    cfg.optimizer().map_err(anyhow::Error::msg)?;
    cfg.model_spec(1, 2).map_err(anyhow::Error::msg)?;
    let opts = cfg.data_options().map_err(anyhow::Error::msg)?;
    let pool = pool(cfg.threads)?;
    let splits = load(&opts).context("loading data")?;
    let (mut model, mut opt, schedule) = build_model(&cfg, &splits)?;
    let out = a.out.clone().unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        PathBuf::from(format!("runs/run-{t}"))
    });
    if !a.json {
        eprintln!(
            "data: {} — {} train, {} val, {} test, {} classes, sample shape {:?}",
            splits.source,
            splits.train.len(),
            splits.val.len(),
            splits.test.len(),
            splits.classes,
            splits.train.sample_shape
        );
        eprintln!(
            "model ({} parameters):\n{}",
            model.num_params(),
            model.describe()
        );
    }
    let json = a.json;
    let mut print_epoch = |m: &EpochMetrics| {
        if !json {
            let val = m
                .val
                .map_or(String::new(), |v| format!("  val {:.2}%", 100.0 * v.acc));
            eprintln!(
                "epoch {:>3}  lr {:.4}  loss {:.4}  train {:.2}%{val}  test {:.2}%  gap {:+.2}  ({:.1}s training so far)",
                m.epoch,
                m.lr,
                m.train_batch_loss,
                100.0 * m.train.acc,
                100.0 * m.test.acc,
                100.0 * m.gap,
                m.train_s
            );
        }
    };
    let summary = pool.install(|| {
        train_loop(
            &cfg,
            &splits,
            &mut model,
            &mut opt,
            schedule,
            LoopOptions {
                run_dir: Some(&out),
                progress: !json,
                eval_every: 1,
                on_epoch: &mut print_epoch,
            },
        )
    })?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        let l = &summary.last;
        println!("run           {}", out.display());
        println!("epochs        {}", l.epoch);
        println!(
            "train acc     {:.2}%  (loss {:.4})",
            100.0 * l.train.acc,
            l.train.loss
        );
        if let Some(v) = l.val {
            println!("val acc       {:.2}%  (loss {:.4})", 100.0 * v.acc, v.loss);
        }
        println!(
            "test acc      {:.2}%  (loss {:.4}, error {:.2}%)",
            100.0 * l.test.acc,
            l.test.loss,
            100.0 * (1.0 - l.test.acc)
        );
        println!(
            "gap           {:+.2} points (train − test accuracy)",
            100.0 * l.gap
        );
        println!("throughput    {:.0} samples/s", summary.samples_per_s);
        println!("wall time     {:.1} s", summary.wall_s);
    }
    Ok(())
}

fn study(a: StudyArgs) -> Result<()> {
    let budget = if a.tiny {
        Budget::Tiny
    } else if a.quick {
        Budget::Quick
    } else if a.full {
        Budget::Full
    } else {
        Budget::Default
    };
    let seeds = a.seeds.unwrap_or(match budget {
        Budget::Tiny | Budget::Quick => 2,
        Budget::Default => 3,
        Budget::Full => 5,
    });
    if !(1..=30).contains(&seeds) {
        bail!("--seeds {seeds}: use 1 to 30 (confidence intervals need at least 2)");
    }
    let known: Vec<&str> = lab::study::all_claims().iter().map(|c| c.0).collect();
    if let Some(bad) = a
        .claims
        .iter()
        .find(|c| !known.iter().any(|k| k.eq_ignore_ascii_case(c)))
    {
        bail!(
            "--claims: unknown claim `{bad}` (known: {})",
            known.join(", ")
        );
    }
    let pool = pool(a.threads)?;
    let opts = StudyOptions {
        budget,
        claims: a.claims.clone(),
        seeds,
        out: a.out.clone(),
        progress: !a.quiet,
        paper_epochs: a.paper.then_some(a.paper_epochs),
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let (results, info) = pool.install(|| run_study(&opts))?;
    println!("{}", lab::study::report::summary(&results));
    println!(
        "report: {}  ({:.0} s, {} runs trained now)",
        a.out.join("index.html").display(),
        info.elapsed_s,
        info.runs_trained
    );
    Ok(())
}

fn eval(a: EvalArgs) -> Result<()> {
    let cfg_path = a.run.join("config.json");
    let text = std::fs::read_to_string(&cfg_path).with_context(|| format!("{}: not a run directory (no readable config.json); give the --out of a `dropout-lab train`", a.run.display()))?;
    let cfg: RunConfig = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid run config", cfg_path.display()))?;
    let pool = pool(a.threads)?;
    let splits =
        load(&cfg.data_options().map_err(anyhow::Error::msg)?).context("loading the run's data")?;
    let (mut model, _, _) = build_model(&cfg, &splits)?;
    checkpoint::load(&mut model, &a.run.join("model.safetensors"))?;
    pool.install(|| -> Result<()> {
        let score = evaluate(&mut model, &splits.test, 1000)?;
        let mc = if a.mc > 0 {
            Some(mc_evaluate(
                &mut model,
                &splits.test,
                a.mc,
                cfg.seed ^ 0x3c,
            )?)
        } else {
            None
        };
        if a.json {
            println!(
                "{}",
                serde_json::json!({"run": a.run, "test": score, "mc": mc})
            );
            return Ok(());
        }
        println!("run        {}", a.run.display());
        println!(
            "test       acc {:.2}%  loss {:.4}  ({} samples)",
            100.0 * score.acc,
            score.loss,
            splits.test.len()
        );
        if let Some(r) = mc {
            println!(
                "{:<22} {:>8} {:>8} {:>8} {:>9}",
                "", "acc %", "NLL", "ECE", "entropy"
            );
            for (name, c) in [
                ("deterministic", r.deterministic),
                (format!("MC dropout (T={})", r.samples).as_str(), r.mc),
            ] {
                println!(
                    "{:<22} {:>8.2} {:>8.4} {:>8.4} {:>9.4}",
                    name,
                    100.0 * c.acc,
                    c.nll,
                    c.ece,
                    c.entropy
                );
            }
            println!(
                "mutual information     {:.4} nats (mean over test samples)",
                r.mutual_information
            );
            println!("KL(MC ‖ deterministic) {:.4} nats", r.kl_mc_to_det);
        }
        Ok(())
    })
}

fn bench_train(a: TrainBenchArgs) -> Result<()> {
    let pool = pool(a.threads)?;
    if a.batch == 0 || a.steps == 0 || a.reps == 0 {
        bail!("--batch, --steps and --reps must be at least 1");
    }
    for &p in &a.p {
        Dropout::new(p).with_context(|| format!("--p {p}"))?;
    }
    let bar = ProgressBar::new((a.p.len() * a.reps) as u64).with_style(
        ProgressStyle::with_template("{msg:>8} [{bar:30}] {pos}/{len} ({eta} left)")
            .expect("static")
            .progress_chars("=> "),
    );
    bar.set_message("steps");
    let results = pool.install(|| {
        bench::train::run(&a.arch, &a.p, a.batch, a.steps, a.reps, a.threads, || {
            bar.inc(1)
        })
    })?;
    if a.json {
        bar.suspend(|| {
            for r in &results {
                println!("{}", serde_json::to_string(r).expect("plain struct"));
            }
        });
    }
    bar.finish_and_clear();
    if !a.json {
        println!("training throughput, {} batch {}, SGD momentum 0.9, {} thread(s); medians of {} × {} steps", a.arch, a.batch, a.threads, a.reps, a.steps);
        println!("{:>6} {:>12} {:>10}", "p", "samples/s", "step ms");
        for r in &results {
            println!("{:>6} {:>12.0} {:>10.2}", r.p, r.samples_per_s, r.step_ms);
        }
        if let (Some(d), Some(z)) = (
            results.iter().find(|r| r.p > 0.0),
            results.iter().find(|r| r.p == 0.0),
        ) {
            println!(
                "dropout overhead (p = {} vs 0): {:+.1} % step time",
                d.p,
                100.0 * (d.step_ms / z.step_ms - 1.0)
            );
        }
    }
    Ok(())
}

fn bench_kernel(a: KernelArgs) -> Result<()> {
    let backend = match a.backend.as_str() {
        "best" => Backend::best(),
        "avx512" => Backend::Avx512,
        "avx2" => Backend::Avx2,
        "portable" => Backend::Portable,
        other => bail!("--backend {other}: expected best, avx512, avx2 or portable"),
    };
    if a.reps == 0 {
        bail!("--reps must be at least 1");
    }
    let d = Dropout::new(a.p)
        .with_context(|| format!("--p {}", a.p))?
        .with_backend(backend)
        .context("--backend")?;
    let pool = pool(a.threads)?;
    let bench = KernelBench {
        threads: a.threads,
        p: a.p,
        reps: a.reps,
    };
    let total = (a.sizes.len() * (a.reps + 1)) as u64;
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} reps ({eta} left)")
            .expect("static template")
            .progress_chars("=> "),
    );
    let mut results: Vec<KernelResult> = Vec::new();
    for &n in &a.sizes {
        bar.set_message(format!("{} elems", human(n)));
        let r = bench.run_size(n, &d, &pool, || bar.inc(1));
        if a.json {
            bar.suspend(|| println!("{}", serde_json::to_string(&r).expect("plain struct")));
        }
        results.push(r);
    }
    bar.finish_and_clear();
    if !a.json {
        print_table(&results);
    }
    Ok(())
}

fn human(n: usize) -> String {
    if n.is_multiple_of(1 << 20) {
        format!("{}M", n >> 20)
    } else if n.is_multiple_of(1 << 10) {
        format!("{}K", n >> 10)
    } else {
        n.to_string()
    }
}

fn print_table(rs: &[KernelResult]) {
    if let Some(r) = rs.first() {
        println!(
            "dropout kernel, p = {}, backend {}, {} thread(s); memcpy = copy_from_slice (1 thread); medians of {} reps",
            r.p, r.backend, r.threads, r.reps
        );
    }
    println!(
        "{:>9} {:>10} {:>9} {:>10} {:>9} {:>10} {:>9} {:>8} {:>8}",
        "elements", "memcpy ms", "GB/s", "fwd ms", "GB/s", "bwd ms", "GB/s", "fwd/cpy", "bwd/cpy"
    );
    for r in rs {
        println!(
            "{:>9} {:>10.3} {:>9.2} {:>10.3} {:>9.2} {:>10.3} {:>9.2} {:>8.2} {:>8.2}",
            human(r.elements),
            r.memcpy_ms,
            r.memcpy_gbs,
            r.forward_ms,
            r.forward_gbs,
            r.backward_ms,
            r.backward_gbs,
            r.forward_ratio,
            r.backward_ratio
        );
    }
    println!("ratio = memcpy time / kernel time (1.00 = memcpy speed; 8 bytes moved per element)");
}
