//! `dropout-lab study`: every claim of the dropout lesson, measured on real
//! MNIST and Fashion-MNIST over several seeds, with a verdict derived from the numbers by a
//! stated rule, in one HTML report.
//!
//! One file per claim (`c01_…` … `c14_…`), each a [`Claim`]: typed evidence,
//! a pure verdict function with unit tests, a rendered section. Adding a claim
//! is one new file and one line in [`registry`]. Every claim is a job of the
//! run service ([`crate::runner`]), which serves, caches, plans and shards
//! its runs; [`lab`] adds the study's budget and seeds to it; [`report`]
//! writes `index.html` (inline SVG, with [`crate::html`]) and `results.json`.

pub mod bn_probe;
pub mod c01_masks;
pub mod c02_expectation;
pub mod c03_overfitting;
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
pub mod claim;
pub mod family;
pub mod lab;
pub mod paper;
pub mod report;
pub mod runs;
pub mod tune;

use serde::Serialize;

pub use self::claim::{Claim, ClaimJob, ClaimResult, Figure, Section, Table, Verdict};
pub use self::lab::Lab;
use crate::error::Result;
use crate::runner::{plan::Plan, Progress, Runner};

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
pub fn registry() -> Vec<&'static ClaimJob> {
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
    /// Output directory (report, and the cache unless `cache` is given).
    pub out: std::path::PathBuf,
    /// The run cache (default `<out>/report-cache`); shards share one.
    pub cache: Option<std::path::PathBuf>,
    /// Run the Srivastava et al. reproduction with this many epochs instead.
    pub paper_epochs: Option<usize>,
    /// Run the dropout-family comparison instead of the claims.
    pub family: bool,
    /// Build the report from the cache alone (every run must be in it).
    pub merge: bool,
    /// The command line, for the footer.
    pub command: String,
}

impl StudyOptions {
    /// The run cache directory.
    pub fn cache_dir(&self) -> std::path::PathBuf {
        self.cache
            .clone()
            .unwrap_or_else(|| self.out.join("report-cache"))
    }

    /// The study's lab (data loaded, cache opened).
    ///
    /// # Errors
    /// Data that cannot be loaded, a cache that cannot be made.
    pub fn lab(&self, progress: Box<dyn Progress>) -> Result<Lab> {
        // Table 2 of the paper is on MNIST, whatever the study's data sets.
        let datasets = match self.paper_epochs {
            Some(_) => vec![crate::config::Builtin::Mnist],
            None => self.datasets.clone(),
        };
        let runner = Runner::new(&self.cache_dir(), datasets, progress)?;
        let runner = if self.merge {
            runner.cache_only()
        } else {
            runner
        };
        Ok(Lab::new(runner, self.budget, self.seeds))
    }

    /// Call `f` with the claims this study runs, in order.
    pub fn with_claims<R>(&self, f: impl FnOnce(&[&ClaimJob]) -> R) -> R {
        let paper;
        let wanted: Vec<&ClaimJob> = match self.paper_epochs {
            Some(epochs) => {
                paper = paper::Paper { epochs };
                vec![&paper]
            }
            None if self.family => vec![&family::Family],
            None => registry()
                .into_iter()
                .filter(|c| {
                    self.claims.is_empty()
                        || self.claims.iter().any(|w| w.eq_ignore_ascii_case(c.id()))
                })
                .collect(),
        };
        f(&wanted)
    }
}

/// The study's plan given what its cache holds now (see [`mod@crate::runner::plan`]).
///
/// # Errors
/// Data or cache errors, a claim's errors other than waiting for results.
pub fn plan_study(o: &StudyOptions) -> Result<Plan> {
    let lab = o.lab(Box::new(()))?;
    o.with_claims(|c| crate::runner::plan(&lab, c))
}

/// Run the study and write the report; returns the results. With
/// `o.merge`, every run must be in the cache already: the missing ones are
/// listed in the error ([`crate::error::LabError::Missing`]).
///
/// # Errors
/// Training errors, missing runs when merging, or a report that cannot be written.
pub fn run_study(
    o: &StudyOptions,
    progress: Box<dyn Progress>,
) -> Result<(Vec<ClaimResult>, crate::html::RunInfo)> {
    let started = std::time::Instant::now();
    let lab = o.lab(progress)?;
    if o.merge {
        o.with_claims(|c| crate::runner::require_complete(&lab, c))?;
    }
    let budget = match o.budget {
        Budget::Tiny => "tiny",
        Budget::Quick => "quick",
        Budget::Default => "default",
        Budget::Full => "full",
    };
    let mut info = crate::html::RunInfo::collect(o.command.clone(), budget, lab.seeds.clone());
    let results = o.with_claims(|wanted| {
        let mut results = Vec::new();
        for c in wanted {
            let r = c.run(&lab)?;
            let outcome = format!("{:<14} {}", r.verdict.text(), r.key_number);
            lab.finished(r.id, &outcome, r.elapsed_s);
            results.push(r);
        }
        Ok::<_, crate::error::LabError>(results)
    })?;
    info.elapsed_s = started.elapsed().as_secs_f64();
    info.runs_trained = lab.runs_trained();
    report::write(&o.out, &results, &info)?;
    Ok((results, info))
}
