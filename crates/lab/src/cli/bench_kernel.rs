//! `dropout-lab bench kernel`: one member of the dropout family (`--variant`,
//! any of the `dropout` crate's `VariantKind`s: plain, alpha, gaussian, noise,
//! concrete, block, path, head) forward/backward against a memcpy of the same
//! buffer, per size; a table of medians or one JSON object per size.

use anyhow::{Context, Result};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, ValueEnum};
use dropout::{Backend, Layout, Variant, VariantKind};
use lab::bench::kernel::{dims, KernelBench, KernelResult, ROW};

use super::progress::bar;

/// `--variant`: every kind of the family by its name, with its summary as help.
fn variant_parser() -> impl TypedValueParser<Value = VariantKind> {
    let names = VariantKind::ALL.map(|k| PossibleValue::new(k.name()).help(k.summary()));
    PossibleValuesParser::new(names).try_map(|s| s.parse::<VariantKind>())
}

/// Which kernel backend to measure.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum BackendArg {
    /// The fastest this CPU supports.
    Best,
    /// AVX-512.
    Avx512,
    /// AVX2.
    Avx2,
    /// Portable Rust.
    Portable,
}

#[derive(Args)]
#[command(
    after_help = "Examples:\n  dropout-lab bench kernel\n  dropout-lab bench kernel --json --sizes 1M,16M\n  dropout-lab bench kernel --backend portable --sizes 1M\n  dropout-lab bench kernel --variant alpha --sizes 16M\n  dropout-lab bench kernel --variant gaussian --p 0.3 --sizes 16M\n  dropout-lab bench kernel --variant block --p 0.1 --sizes 1M"
)]
pub struct KernelArgs {
    /// Buffer sizes in f32 elements (suffix K = 2^10, M = 2^20, G = 2^30; at most 128M).
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
    /// Kernel backend.
    #[arg(long, value_enum, default_value_t = BackendArg::Best)]
    backend: BackendArg,
    /// The member of the dropout family (DropPath is measured on rows of 1024, DropBlock on 32 × 32 maps).
    #[arg(long, default_value = "plain", value_parser = variant_parser())]
    variant: VariantKind,
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
    let n = num
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            format!(
                "`{s}` is not a size: use a positive number, optionally with K, M or G (e.g. 16M)"
            )
        })?;
    if n > MAX_SIZE {
        return Err(format!(
            "`{s}` = {n} elements needs {} MB per buffer (the benchmark holds three); at most 128M elements",
            n as u64 * 4 / 1_000_000
        ));
    }
    Ok(n)
}

/// Largest buffer measured: 128M f32 (512 MiB; three buffers are live).
const MAX_SIZE: usize = 1 << 27;

/// Measure the kernels.
pub fn run(a: KernelArgs) -> Result<()> {
    let backend = match a.backend {
        BackendArg::Best => Backend::best(),
        BackendArg::Avx512 => Backend::Avx512,
        BackendArg::Avx2 => Backend::Avx2,
        BackendArg::Portable => Backend::Portable,
    };
    if a.reps == 0 {
        anyhow::bail!("--reps must be at least 1");
    }
    let v = Variant::new(a.variant, a.p)
        .with_context(|| format!("--p {}", a.p))?
        .with_backend(backend)
        .context("--backend")?;
    if let Some(&n) = a.sizes.iter().find(|&&n| dims(&v, n).is_none()) {
        let unit = match v.layout() {
            Layout::Rows => "rows of 1024 features",
            _ => "32 × 32 maps",
        };
        anyhow::bail!(
            "--sizes {n}: {} is measured on {unit}, so every size must be a multiple of {ROW} (e.g. 1M)",
            a.variant.title()
        );
    }
    let pool = super::pool(a.threads)?;
    let bench = KernelBench {
        threads: a.threads,
        p: a.p,
        reps: a.reps,
    };
    let total = (a.sizes.len() * (a.reps + 1)) as u64;
    let b = bar(
        total,
        "{msg:>12} [{bar:30}] {pos}/{len} reps ({eta} left)",
        true,
    );
    let mut results: Vec<KernelResult> = Vec::new();
    for &n in &a.sizes {
        b.set_message(format!("{} elems", human(n)));
        let r = bench.run_size(n, &v, &pool, || b.inc(1));
        if a.json {
            b.suspend(|| println!("{}", serde_json::to_string(&r).expect("plain struct")));
        }
        results.push(r);
    }
    b.finish_and_clear();
    if !a.json {
        print_table(&v, &results);
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

fn print_table(v: &Variant, rs: &[KernelResult]) {
    if let Some(r) = rs.first() {
        println!(
            "{} kernel, p = {}, backend {}, {} thread(s); memcpy = copy_from_slice (1 thread); medians of {} reps",
            v.kind().title(),
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
