//! `dropout-lab study --paper`: Srivastava et al. (JMLR 2014), Table 2, on
//! full MNIST — a 3 × 1024 ReLU net, input keep 0.8 (p = 0.2), hidden keep
//! 0.5, SGD with momentum, with and without the max-norm constraint, and the
//! same net without dropout. The paper reports 1.25 % test error for the
//! dropout net and 1.06 % with max-norm. Budget: `epochs` each (the paper
//! trained far longer), lr 0.05 (constant), momentum 0.9, batch 128,
//! max-norm c = 3.5. A reproduction, not a test: its verdict is always
//! "inconclusive".

use serde::Serialize;

use super::cache::RunOut;
use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::{image_run, with_p, Lab};
use super::plot::{lines, Axes, Series};
use crate::config::Builtin;
use crate::error::Result;

/// The reproduction, `epochs` epochs per setting (one seed: the paper reports single numbers).
pub struct Paper {
    /// Epochs per setting.
    pub epochs: usize,
}

const ARCH: &str = "784-1024-1024-1024-10";

/// Settings: name, hidden p, input p, max-norm, the paper's error %.
const ARMS: [(&str, f32, f32, f32, Option<f64>); 3] = [
    ("no dropout", 0.0, 0.0, 0.0, None),
    ("dropout (input 0.2, hidden 0.5)", 0.5, 0.2, 0.0, Some(1.25)),
    ("dropout + max-norm 3.5", 0.5, 0.2, 3.5, Some(1.06)),
];

/// What the reproduction measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// Epochs per setting.
    pub epochs: usize,
    /// One run per setting of `ARMS`, evaluated every epoch.
    pub runs: Vec<RunOut>,
}

impl Claim for Paper {
    const ID: &'static str = "paper";
    const CLAIM: &'static str = "Srivastava et al. 2014, Table 2: dropout NN (3 × 1024 ReLU) on MNIST reaches 1.25 % test error, 1.06 % with max-norm.";
    const RULE: &'static str = "a reproduction, not a test: our error is reported next to the paper's, with the epoch budget stated.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        lab.begin(Self::ID, ARMS.len());
        let mut runs = Vec::new();
        for &(name, p, pin, mn, _) in &ARMS {
            let mut cfg = with_p(
                image_run(Builtin::Mnist, ARCH, 60_000, self.epochs, lab.seeds[0]),
                p,
            );
            cfg.model.input_dropout = pin;
            cfg.optim.max_norm = mn;
            runs.push(lab.run(&cfg, 1)?);
            lab.tick(name);
        }
        Ok(Evidence {
            epochs: self.epochs,
            runs,
        })
    }

    fn verdict(_: &Evidence) -> Verdict {
        Verdict::Inconclusive
    }

    fn render(e: &Evidence) -> Section {
        let err = |acc: f64| 100.0 * (1.0 - acc);
        let rows: Vec<Vec<String>> = ARMS
            .iter()
            .zip(&e.runs)
            .map(|(&(name, .., paper), out)| {
                let best = out
                    .curve
                    .iter()
                    .map(|q| err(q.test_acc))
                    .fold(f64::INFINITY, f64::min);
                vec![
                    name.to_string(),
                    format!("{:.2}", err(out.last().test_acc)),
                    format!("{best:.2}"),
                    paper.map_or("—".into(), |v| format!("{v:.2}")),
                    format!("{:.0}", out.train_s),
                ]
            })
            .collect();
        let series: Vec<Series> = ARMS
            .iter()
            .zip(&e.runs)
            .map(|(a, out)| Series {
                name: a.0.into(),
                points: out
                    .curve
                    .iter()
                    .map(|q| (q.epoch as f64, err(q.test_acc), 0.0))
                    .collect(),
            })
            .collect();
        Section {
            finding: String::new(),
            limitations: String::new(),
            method: format!("{ARCH}, ReLU, input dropout 0.2, hidden 0.5, SGD momentum 0.9, lr 0.05 (constant), batch 128, {} epochs on all 60,000 training images, one seed; error on the 10,000 test images.", e.epochs),
            key_number: rows.iter().map(|r| format!("{}: {} % (paper {})", r[0], r[1], r[3])).collect::<Vec<_>>().join("; "),
            tables: vec![Table::new(format!("Test error % after {} epochs", e.epochs), &["setting", "final", "best epoch", "paper", "training s"], rows)],
            figures: vec![Figure { caption: "Test error per epoch".into(), svg: lines(&Axes { title: "MNIST test error", x: "epoch", y: "test error %", log_x: false, log_y: true }, &series) }],
        }
    }
}
