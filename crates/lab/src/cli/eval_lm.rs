//! `dropout-lab eval` of a language model: the loss per character (nats and
//! bits) and accuracy on the validation and test blocks, in non-overlapping
//! windows of the run's context; with `--mc T`, MC dropout on the test block
//! (loss of the predictive mean, predictive entropy and mutual information
//! per character: `lab::uq::lm`).

use std::path::Path;

use anyhow::Result;
use engine::Sequential;
use lab::config::RunConfig;
use lab::data::Splits;
use lab::train::{eval_batch, evaluate, Score};
use lab::uq::lm::{self, LmMc};
use serde::Serialize;

use super::progress::Ticker;

/// One block's scores.
#[derive(Serialize)]
struct Block {
    characters: usize,
    loss: f64,
    bits: f64,
    acc: f64,
}

impl Block {
    fn of(s: Score, characters: usize) -> Self {
        Self {
            characters,
            loss: s.loss,
            bits: s.loss / std::f64::consts::LN_2,
            acc: s.acc,
        }
    }
}

#[derive(Serialize)]
struct LmReport {
    run: String,
    val: Block,
    test: Block,
    #[serde(skip_serializing_if = "Option::is_none")]
    mc: Option<LmMc>,
}

/// Evaluate the language model of `run` and print the report.
pub(super) fn report(
    run: &Path,
    cfg: &RunConfig,
    splits: &Splits,
    model: &mut Sequential,
    mc: Option<usize>,
    json: bool,
    quiet: bool,
) -> Result<()> {
    let batch = eval_batch(model, cfg.batch);
    // In parts, so a long evaluation shows its progress (a bar, or a line every ~20 s in a log).
    let parts = (splits.val.len() + splits.test.len()).div_ceil(batch) as u64;
    let mut ticker = Ticker::new("evaluating", "batches", parts, !quiet);
    let mut score = |data: &lab::data::Dataset| -> Result<Block> {
        let (mut loss, mut correct) = (0.0, 0.0);
        for start in (0..data.len()).step_by(batch.max(1)) {
            let idx: Vec<usize> = (start..(start + batch).min(data.len())).collect();
            let part = data.subset(&idx);
            let s = evaluate(model, &part, batch)?;
            let n = part.y.len() as f64;
            loss += s.loss * n;
            correct += s.acc * n;
            ticker.inc();
        }
        let n = data.y.len().max(1) as f64;
        Ok(Block::of(
            Score {
                loss: loss / n,
                acc: correct / n,
            },
            data.y.len(),
        ))
    };
    let val = score(&splits.val)?;
    let test = score(&splits.test)?;
    ticker.finish();
    let mc = match mc {
        None => None,
        Some(t) => {
            let passes = (splits.test.len().div_ceil(batch) * t) as u64;
            let mut ticker = Ticker::new("MC dropout", "passes", passes, !quiet);
            let r = lm::mc(model, &splits.test, t, cfg.seed, batch, &mut || {
                ticker.inc()
            })?;
            ticker.finish();
            Some(r)
        }
    };
    let r = LmReport {
        run: run.display().to_string(),
        val,
        test,
        mc,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!("run           {}", r.run);
    for (name, b) in [("validation", &r.val), ("test", &r.test)] {
        println!(
            "{name:<13} {:.4} nats/char ({:.4} bits/char), next-character accuracy {:.2}%  ({} characters)",
            b.loss,
            b.bits,
            100.0 * b.acc,
            b.characters
        );
    }
    if let Some(m) = &r.mc {
        println!(
            "MC dropout    T = {} on test: {:.4} nats/char ({:.4} bits/char), accuracy {:.2}%, predictive entropy {:.4} nats/char, mutual information {:.4} nats/char",
            m.samples,
            m.loss,
            m.bits,
            100.0 * m.acc,
            m.entropy,
            m.mutual_information
        );
    }
    Ok(())
}
