//! `dropout-lab`: the command line of the dropout lab.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use dropout::{Backend, Dropout};
use indicatif::{ProgressBar, ProgressStyle};
use lab::bench::kernel::{KernelBench, KernelResult};

/// Dropout regularization done right: exact, reproducible kernels and a lab
/// that measures what dropout does on real data.
#[derive(Parser)]
#[command(
    name = "dropout-lab",
    version,
    after_help = "Examples:\n  dropout-lab bench kernel                 # 1M/16M/64M f32, p = 0.5, 2 threads\n  dropout-lab bench kernel --json          # one JSON object per size\n  dropout-lab bench kernel --sizes 16M --threads 1 --p 0.1"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure speed.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Dropout forward/backward vs a memcpy of the same buffer (GB/s, ratio).
    #[command(
        after_help = "Examples:\n  dropout-lab bench kernel\n  dropout-lab bench kernel --json --sizes 1M,16M\n  dropout-lab bench kernel --backend portable --sizes 1M"
    )]
    Kernel(KernelArgs),
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
        Command::Bench(BenchCommand::Kernel(a)) => bench_kernel(a),
    }
}

fn bench_kernel(a: KernelArgs) -> Result<()> {
    let backend = match a.backend.as_str() {
        "best" => Backend::best(),
        "avx512" => Backend::Avx512,
        "avx2" => Backend::Avx2,
        "portable" => Backend::Portable,
        other => bail!("--backend {other}: expected best, avx512, avx2 or portable"),
    };
    if a.threads == 0 {
        bail!("--threads must be at least 1");
    }
    if a.reps == 0 {
        bail!("--reps must be at least 1");
    }
    let d = Dropout::new(a.p)
        .with_context(|| format!("--p {}", a.p))?
        .with_backend(backend)
        .context("--backend")?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads)
        .build()
        .context("building the thread pool")?;
    let bench = KernelBench {
        sizes: a.sizes.clone(),
        threads: a.threads,
        p: a.p,
        backend,
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
