//! `dropout-lab sample`: text from a trained character-level GPT.
//!
//! ```text
//! ids   = the prompt's characters (a character the training text never had is an error),
//!         cropped to its last T (the context)
//! step: logits z of the last position of the window (eval mode: no dropout),
//!       p = softmax(z / τ) over the real characters (the reserved symbol never drawn),
//!       next ~ p with Rng(seed).fork(step);  window ← window + next, cropped to T
//! ```
//! The model reads windows of exactly T ids; a shorter prompt is padded on
//! the right, which causal attention keeps from reaching the positions read.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use engine::layer::Ctx;
use engine::rng::Rng;
use lab::data::text;

use super::eval::open_run;

#[derive(Args)]
#[command(after_help = "Examples:
  dropout-lab sample --run runs/gpt
  dropout-lab sample --run runs/gpt --prompt 'ROMEO:' --chars 300 --temperature 0.8 --seed 7")]
pub struct SampleArgs {
    /// Run directory of a trained GPT (`dropout-lab train --arch gpt …`).
    #[arg(long)]
    run: PathBuf,
    /// The text to continue (cropped to the model's context); every character must occur in the training text.
    #[arg(long, default_value = "\n")]
    prompt: String,
    /// Characters to generate (at most 1,000,000; they are printed as they come).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(..=1_000_000))]
    chars: u64,
    /// Temperature τ > 0: below 1 sharper, above 1 flatter than the model.
    #[arg(long, default_value_t = 1.0)]
    temperature: f64,
    /// Seed of the draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

/// The run's saved `vocab.json` must be the vocabulary its data gives now
/// (the data's fingerprint was checked; this checks the file itself).
fn check_vocab(run: &std::path::Path, vocab: &[char]) -> Result<()> {
    let path = run.join(lab::rundir::VOCAB);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e} (every GPT run directory has one; train the run again)",
            path.display()
        )
    })?;
    let saved: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: not valid JSON ({e}); the file was damaged — train the run again",
            path.display()
        )
    })?;
    let chars: Vec<String> = vocab.iter().map(|c| c.to_string()).collect();
    if saved["chars"] != serde_json::json!(chars) || saved["unknown"] != vocab.len() - 1 {
        bail!(
            "{}: does not match the vocabulary of the run's data; the file was edited or the run mixed up — train it again",
            path.display()
        );
    }
    Ok(())
}

/// Print the prompt and its continuation.
pub fn run(a: SampleArgs) -> Result<()> {
    if !(a.temperature > 0.0 && a.temperature.is_finite()) {
        bail!(
            "--temperature {}: must be a number above 0 (1 samples the model as it is)",
            a.temperature
        );
    }
    let pool = super::pool(a.threads)?;
    let (_, splits, mut model) = open_run(&a.run)?;
    let Some(t) = &splits.text else {
        bail!(
            "{}: not a language model (sample continues text with a character-level GPT: train one with --arch gpt)",
            a.run.display()
        );
    };
    let vocab = &t.vocab;
    check_vocab(&a.run, vocab)?;
    let mut ids = match text::encode(vocab, &a.prompt) {
        Ok(ids) if !ids.is_empty() => ids,
        Ok(_) => bail!("--prompt is empty; give at least one character (the default is a newline)"),
        Err((c, i)) => bail!(
            "--prompt: the character {c:?} at position {i} never occurs in the training text, so the model has no id for it; leave it out"
        ),
    };
    let context = model.sample_shape()[0];
    let (real, width) = (vocab.len() - 1, model.classes());
    let rng = Rng::new(a.seed);
    let mut p = vec![0.0f64; real];
    let mut out = std::io::stdout(); // line-buffered: each line shows as it is drawn
    write!(out, "{}", a.prompt)?;
    pool.install(|| -> Result<()> {
        for step in 0..a.chars {
            let window = &ids[ids.len().saturating_sub(context)..];
            let input = model.input_mut(1);
            input.fill(0.0);
            for (o, &v) in input.iter_mut().zip(window) {
                *o = v as f32;
            }
            let z = &model.forward(&Ctx::eval()).data;
            let last = &z[(window.len() - 1) * width..][..real];
            let m = last.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0;
            for (o, &v) in p.iter_mut().zip(last) {
                *o = (f64::from(v - m) / a.temperature).exp();
                sum += *o;
            }
            let mut u = rng.fork(step).uniform() * sum;
            let mut next = real - 1;
            for (j, &w) in p.iter().enumerate() {
                if u < w {
                    next = j;
                    break;
                }
                u -= w;
            }
            ids.push(next as u32);
            if ids.len() >= 2 * context {
                ids.drain(..ids.len() - context); // only the last window is read
            }
            write!(out, "{}", vocab[next])?;
        }
        Ok(())
    })?;
    writeln!(out)?;
    Ok(())
}
