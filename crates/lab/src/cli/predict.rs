//! `dropout-lab predict`: a trained run's predictions for new inputs
//! ([`lab::data::input`]: CSV, IDX or `.npy`), one CSV line per input.
//!
//! ```text
//! row, predicted, confidence, p_0 … p_{K−1}            p = softmax of the deterministic net
//! with --mc T:  p = (1/T) Σ_t softmax(f_t(x))            (MC dropout, masks keyed by the run's seed)
//!               ‖ entropy H[p], mutual_information H[p] − (1/T) Σ_t H[p_t]   (nats)
//! ```
//! The inputs are prepared as the run's training data was (pixels / 255,
//! and the run's training μ, σ when it standardised).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use lab::data::split::{apply, standardizer};
use lab::data::{input, Dataset};
use lab::outfile::{self, Protected};
use lab::uq::sample::{self, McSites, Sampling};
use lab::uq::Predictions;

use super::eval::{open_run, parse_mc};

#[derive(Args)]
#[command(after_help = "Examples:
  dropout-lab predict --run runs/first --input data/mnist/t10k-images-idx3-ubyte.gz --out preds.csv
  dropout-lab predict --run runs/wine --input new_wines.csv              # CSV to standard output
  dropout-lab predict --run runs/first --input digits.npy --mc 50 --out preds.csv

A CSV holds one sample per line: the run's features, or the features and the label column (dropped).
An .npy array is (n, …) in C order: uint8 is scaled by 1/255 like IDX pixels, float32/float64 is taken as is.")]
pub struct PredictArgs {
    /// Run directory written by `dropout-lab train`.
    #[arg(long)]
    run: PathBuf,
    /// The inputs: a CSV (`.csv`), a NumPy array (`.npy`) or an IDX image file (other names; `.gz` allowed).
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// MC-dropout samples T: the mean of T stochastic passes, with its entropy and mutual information.
    #[arg(long, value_name = "T", value_parser = parse_mc)]
    mc: Option<usize>,
    /// Write the CSV to FILE (default: standard output).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

/// Predict and write the CSV.
pub fn run(a: PredictArgs) -> Result<()> {
    let protect = [Protected {
        path: &a.run,
        what: "run",
    }];
    if let Some(out) = &a.out {
        outfile::check(out, &protect)?;
    }
    let pool = super::pool(a.threads)?;
    let (cfg, splits, mut model) = open_run(&a.run)?;
    if splits.text.is_some() {
        anyhow::bail!(
            "{} is a language model: `dropout-lab sample --run {}` continues a text with it, and `eval` scores it",
            a.run.display(),
            a.run.display()
        );
    }
    let d = splits.train.dim();
    let mut inputs = input::read(&a.input, d, &cfg.data.label_column)
        .with_context(|| format!("reading the inputs for {}", a.run.display()))?;
    if let Some(m) = standardizer(&cfg.data, cfg.seed)? {
        apply(&mut inputs.x, &m);
    }
    let data = Dataset {
        x: inputs.x,
        y: vec![0; inputs.n],
        sample_shape: splits.train.sample_shape.clone(),
    };
    let p = pool.install(|| match a.mc {
        Some(t) => sample::mc(
            &mut model,
            &data,
            &Sampling {
                t,
                seed: cfg.seed ^ 0x3c,
                consistent: false,
                sites: McSites::All,
                per_pass: cfg.model.dropconnect > 0.0,
            },
        ),
        None => sample::deterministic(&mut model, &data).0,
    });
    let text = csv(&p, a.mc.is_some());
    match &a.out {
        Some(out) => outfile::write(out, text.as_bytes(), &protect)?,
        None => {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
    }
    Ok(())
}

/// The CSV text of `p`, with the MC columns when `mc`.
fn csv(p: &Predictions, mc: bool) -> String {
    let k = p.row(0).len();
    let mut s = String::from("row,predicted,confidence");
    for c in 0..k {
        s.push_str(&format!(",p_{c}"));
    }
    s.push_str(if mc {
        ",entropy,mutual_information\n"
    } else {
        "\n"
    });
    for i in 0..p.len() {
        let (c, conf) = p.top(i);
        s.push_str(&format!("{i},{c},{conf:.6}"));
        for v in p.row(i) {
            s.push_str(&format!(",{v:.6}"));
        }
        if mc {
            s.push_str(&format!(
                ",{:.6},{:.6}",
                p.entropy(i),
                p.mutual_information(i)
            ));
        }
        s.push('\n');
    }
    s
}
