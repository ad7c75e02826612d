//! The subcommands, one file each: its clap args, its handler, and its text
//! and `--json` output. The library below knows no flag names; [`message`]
//! turns its config keys (`input_dropout`) into the flags a user typed
//! (`--input-dropout`).

/// `eprintln!` that never panics: a closed stderr (`2>&1 | head -1`)
/// silences the diagnostics of a long command, never ends its work.
macro_rules! note {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// `println!` for a line printed after the work is done and saved: a closed
/// stdout loses the line, never the run (nor its lock, released on return).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

mod bench_kernel;
mod bench_mc;
mod bench_train;
mod choice;
mod choices;
mod distribute;
mod eval;
mod eval_lm;
mod eval_print;
mod flags;
mod predict;
mod progress;
mod sample;
mod study;
mod study_eta;
mod sweep;
mod train;
mod train_print;
mod train_setup;

use anyhow::{bail, Context, Result};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use lab::config::ConfigError;
use lab::data::DataError;
use lab::LabError;

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
  dropout-lab tune --data my.csv --arch {in}-128-{classes}   # which dropout rate for my data?
  dropout-lab sweep --grid 'dropout=0:0.8:0.1,lr=0.01,0.05' --seeds 5 --epochs 10
  dropout-lab eval --run runs/mnist --mc 50 --ood fashion   # MC dropout: calibration, selective prediction, OOD
  dropout-lab predict --run runs/mnist --input digits.npy --mc 50   # predictions for new inputs
  dropout-lab train --arch gpt --dropout 0.2 --out runs/gpt    # a character-level GPT on Shakespeare
  dropout-lab sample --run runs/gpt --prompt 'ROMEO:'          # text from it
  dropout-lab bench kernel                            # dropout kernels vs memcpy
  dropout-lab bench train                             # training throughput, p = 0.5 and p = 0
  dropout-lab bench mc                                # MC-dropout inference, batched vs loop"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model and save a run directory (config.json, metrics.jsonl, model.safetensors).
    Train(Box<train::TrainArgs>),
    /// Re-evaluate a saved run: MC dropout, temperature scaling, ensembles, calibration, OOD detection.
    Eval(eval::EvalArgs),
    /// Predict new inputs (CSV, IDX or .npy) with a trained run; MC dropout's mean and uncertainty with --mc.
    Predict(predict::PredictArgs),
    /// Continue a text with a trained character-level GPT (a prompt, a temperature, a seed).
    Sample(sample::SampleArgs),
    /// Measure every claim about dropout on MNIST and Fashion-MNIST and write an HTML report (the main job).
    Study(study::StudyArgs),
    /// Train a grid of train settings over seeds (any train option, any data): CSV, JSON and an HTML page with curves and CIs.
    Sweep(Box<sweep::SweepArgs>),
    /// Which dropout rate for my data? Chooses p (optionally lr, weight decay) on validation data over seeds.
    Tune(Box<sweep::TuneArgs>),
    /// Measure speed.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Dropout forward/backward vs a memcpy of the same buffer (GB/s, ratio).
    Kernel(bench_kernel::KernelArgs),
    /// Training throughput of an MLP on random data, with and without dropout.
    Train(bench_train::TrainBenchArgs),
    /// MC-dropout inference throughput: T passes batched vs the plain loop.
    Mc(bench_mc::McBenchArgs),
}

/// The command line, parsed (clap's own exit on `--help`, `--version` and
/// malformed flags), with each run flag's help showing the library default.
pub fn parse() -> Cli {
    let mut cmd = flags::show_defaults(Cli::command());
    let m = cmd.get_matches_mut();
    Cli::from_arg_matches(&m).unwrap_or_else(|e| e.format(&mut cmd).exit())
}

/// Run the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(a) => train::run(*a),
        Command::Eval(a) => eval::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Sample(a) => sample::run(a),
        Command::Study(a) => study::run(a),
        Command::Sweep(a) => sweep::run_sweep(*a),
        Command::Tune(a) => sweep::run_tune(*a),
        Command::Bench(BenchCommand::Kernel(a)) => bench_kernel::run(a),
        Command::Bench(BenchCommand::Train(a)) => bench_train::run(a),
        Command::Bench(BenchCommand::Mc(a)) => bench_mc::run(a),
    }
}

/// A rayon pool of `threads` threads.
fn pool(threads: usize) -> Result<rayon::ThreadPool> {
    if threads == 0 {
        bail!("--threads must be at least 1");
    }
    let max = lab::config::max_threads();
    if threads > max {
        bail!(
            "--threads {threads}: at most {max} (4 × the {} cores here, at least 64); more threads than cores only slow training — give at most {max}",
            lab::config::cores()
        );
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("building the thread pool")
}

/// The flag of a config key: `input_dropout` → `--input-dropout`; the data path is `--data`.
fn flag(field: &str) -> String {
    match field {
        "path" => "--data".into(),
        f => format!("--{}", f.replace('_', "-")),
    }
}

/// A library error that names a config key, in flag form.
fn in_flag_form(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let config = |c: &ConfigError| match c {
        ConfigError::Invalid {
            field,
            value,
            reason,
        } => Some(format!("{} {value}: {reason}", flag(field))),
        _ => None,
    };
    let data = |d: &DataError| match d {
        DataError::Option {
            field,
            value,
            reason,
        } => Some(format!("{} {value}: {reason}", flag(field))),
        _ => None,
    };
    if let Some(l) = e.downcast_ref::<LabError>() {
        return match l {
            LabError::Config(c) => config(c),
            LabError::Data(d) => data(d),
            LabError::Engine(engine::EngineError::Arch { .. }) => Some(format!("--arch: {l}")),
            _ => None,
        };
    }
    e.downcast_ref::<ConfigError>()
        .and_then(config)
        .or_else(|| e.downcast_ref::<DataError>().and_then(data))
}

/// The one-line message of an error chain, with config keys written as flags.
pub fn message(e: &anyhow::Error) -> String {
    // Each cause once: an error that names its cause in its own text (`path:
    // os error`) is followed in the chain by that cause, which is dropped.
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let t = cause.to_string();
        if !parts.last().is_some_and(|p| p.ends_with(&t)) {
            parts.push(t);
        }
    }
    let mut text = parts.join(": ");
    // What to do about the OS errors a user can fix.
    let io_kind = e
        .chain()
        .find_map(|c| c.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    let hint = match io_kind {
        Some(std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied) => {
            Some("choose a writable place (e.g. another --out or --cache)")
        }
        Some(std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded) => Some(
            "free some space or choose another disk; a killed or failed run continues with train --resume",
        ),
        _ => None,
    };
    if let Some(h) = hint.filter(|h| !text.contains(h)) {
        if !text.contains("; choose") {
            text = format!("{text}; {h}");
        }
    }
    for cause in e.chain() {
        if let Some(f) = in_flag_form(cause) {
            text = text.replace(&cause.to_string(), &f);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keys_become_flags() {
        let e = anyhow::Error::new(LabError::Config(ConfigError::Invalid {
            field: "input_dropout",
            value: "NaN".into(),
            reason: "a dropout probability must be in [0, 1]",
        }))
        .context("checking the run");
        assert_eq!(
            message(&e),
            "checking the run: --input-dropout NaN: a dropout probability must be in [0, 1]"
        );
        assert_eq!(flag("path"), "--data");
    }

    #[test]
    fn an_os_error_is_said_once() {
        let io = std::io::Error::from_raw_os_error(30);
        let e = anyhow::Error::new(LabError::Io {
            path: "out/p.csv".into(),
            source: io,
        });
        let m = message(&e);
        assert_eq!(m.matches("os error 30").count(), 1, "{m}");
        assert!(m.starts_with("out/p.csv: "), "{m}");
        assert!(
            m.ends_with("choose a writable place (e.g. another --out or --cache)"),
            "{m}"
        );
    }
}
