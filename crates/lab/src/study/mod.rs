//! `dropout-lab study`: every claim of the dropout lesson, measured on real
//! MNIST and Fashion-MNIST over several seeds, with a verdict derived from the numbers by a
//! stated rule, in one HTML report.
//!
//! One file per claim (`c01_…` … `c14_…`), each a [`Claim`]: typed evidence,
//! a pure verdict function with unit tests, a rendered section. Adding a claim
//! is one new file and one line in [`registry`]. [`lab`] holds the data, the
//! budget and the run cache ([`cache`]); [`report`] writes `index.html`
//! (inline SVG) and `results.json`.

pub mod bn_probe;
pub mod c01_masks;
pub mod c02_expectation;
pub mod c03_overfitting;
pub mod c03_render;
pub mod c04_ensemble;
pub mod c05_coadaptation;
pub mod c06_boundaries;
pub mod c06_probe;
pub mod c07_convergence;
pub mod c08_small_models;
pub mod c09_rate;
pub mod c10_batchnorm;
pub mod c11_conv;
pub mod c12_weight_decay;
pub mod c13_normalised;
pub mod c14_uncertainty;
pub mod cache;
pub mod claim;
pub mod entry;
pub mod family;
mod family_render;
pub mod lab;
pub mod long_run;
pub mod paper;
pub mod plot;
pub mod report;
pub mod runs;
pub mod stats;
pub mod tune;

use serde::Serialize;

pub use self::claim::{Claim, ClaimResult, DynClaim, Figure, Section, Table, Verdict};
pub use self::lab::{Lab, StudyProgress};
use crate::error::Result;

/// How much compute a study spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Budget {
    /// Seconds: a smoke test of the whole pipeline (numbers meaningless).
    Tiny,
    /// Minutes: smaller nets, fewer samples and seeds, most tuning sweeps off (≤ 5 min on 2 cores).
    Quick,
    /// The default (39 min on 2 cores for C1–C13, measured; C14 alone 6.5 min).
    Default,
    /// Larger grids (up to all 60k training images), 10 seeds, every tuning sweep.
    Full,
}

/// Every claim, in order: adding one is a new file and a line here.
pub fn registry() -> Vec<&'static dyn DynClaim> {
    vec![
        &c01_masks::Masks,
        &c02_expectation::Expectation,
        &c03_overfitting::Overfitting,
        &c04_ensemble::Ensemble,
        &c05_coadaptation::Coadaptation,
        &c06_boundaries::Boundaries,
        &c07_convergence::Convergence,
        &c08_small_models::SmallModels,
        &c09_rate::Rate,
        &c10_batchnorm::BatchNormClash,
        &c11_conv::Conv,
        &c12_weight_decay::WeightDecay,
        &c13_normalised::Normalised,
        &c14_uncertainty::Uncertainty,
    ]
}

/// The ids of every claim, in order.
pub fn claim_ids() -> Vec<&'static str> {
    registry().iter().map(|c| c.id()).collect()
}

/// What to run.
#[derive(Clone, Debug)]
pub struct StudyOptions {
    /// Budget.
    pub budget: Budget,
    /// Claim ids to run (empty = all).
    pub claims: Vec<String>,
    /// Seeds.
    pub seeds: usize,
    /// Data sets (the first is the primary; claims C3, C9, C11 and C13 run on all).
    pub datasets: Vec<crate::config::Builtin>,
    /// Output directory (report + cache).
    pub out: std::path::PathBuf,
    /// Run the Srivastava et al. reproduction with this many epochs instead.
    pub paper_epochs: Option<usize>,
    /// Run the dropout-family comparison instead of the claims.
    pub family: bool,
    /// The command line, for the footer.
    pub command: String,
}

/// Run the study and write the report; returns the results.
///
/// # Errors
/// Training errors, or a report that cannot be written.
pub fn run_study(
    o: &StudyOptions,
    progress: Box<dyn StudyProgress>,
) -> Result<(Vec<ClaimResult>, report::RunInfo)> {
    let started = std::time::Instant::now();
    // Table 2 of the paper is on MNIST, whatever the study's data sets.
    let datasets = match o.paper_epochs {
        Some(_) => vec![crate::config::Builtin::Mnist],
        None => o.datasets.clone(),
    };
    let lab = Lab::new(
        &o.out.join("report-cache"),
        o.budget,
        o.seeds,
        datasets,
        progress,
    )?;
    let budget = match o.budget {
        Budget::Tiny => "tiny",
        Budget::Quick => "quick",
        Budget::Default => "default",
        Budget::Full => "full",
    };
    let mut info = report::RunInfo::collect(o.command.clone(), budget, lab.seeds.clone());
    let paper;
    let wanted: Vec<&dyn DynClaim> = match o.paper_epochs {
        Some(epochs) => {
            paper = paper::Paper { epochs };
            vec![&paper]
        }
        None if o.family => vec![&family::Family],
        None => registry()
            .into_iter()
            .filter(|c| {
                o.claims.is_empty() || o.claims.iter().any(|w| w.eq_ignore_ascii_case(c.id()))
            })
            .collect(),
    };
    let mut results = Vec::new();
    for c in wanted {
        let r = c.run(&lab)?;
        lab.finished(&r);
        results.push(r);
    }
    info.elapsed_s = started.elapsed().as_secs_f64();
    info.runs_trained = lab.runs_trained();
    report::write(&o.out, &results, &info)?;
    Ok((results, info))
}
