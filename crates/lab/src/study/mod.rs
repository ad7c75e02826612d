//! `dropout-lab study`: every claim of the dropout lesson, measured on real
//! MNIST over several seeds, with a verdict derived from the numbers by a rule
//! written in the claim's file and printed in the report.
//!
//! One file per claim (`c01_…` … `c12_…`), each returning a [`ClaimResult`];
//! [`runs`] trains and caches the models they share; [`report`] writes
//! `index.html` (inline SVG) and `results.json`.

pub mod c01_masks;
pub mod c02_expectation;
pub mod c03_overfitting;
pub mod c04_ensemble;
pub mod c05_coadaptation;
pub mod c06_boundaries;
pub mod c07_convergence;
pub mod c08_small_models;
pub mod c09_rate;
pub mod c10_batchnorm;
pub mod c11_conv;
pub mod c12_weight_decay;
pub mod paper;
pub mod plot;
pub mod report;
pub mod runs;
pub mod stats;

use anyhow::Result;
use serde::Serialize;

use self::runs::Lab;

/// How much compute a study spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Budget {
    /// Seconds: a smoke test of the whole pipeline (numbers meaningless).
    Tiny,
    /// Minutes: smaller nets, fewer samples and seeds.
    Quick,
    /// The default (≤ 20 min on 2 cores).
    Default,
    /// Larger grids (up to all 60k training images), 5 seeds.
    Full,
}

/// A claim's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// The data support the claim by its rule.
    #[serde(rename = "holds")]
    Holds,
    /// Part of the claim is supported.
    #[serde(rename = "holds partly")]
    HoldsPartly,
    /// The data contradict the claim, or do not support it.
    #[serde(rename = "does not hold")]
    DoesNotHold,
    /// Too little evidence either way.
    #[serde(rename = "inconclusive")]
    Inconclusive,
}

impl Verdict {
    /// The text used in tables.
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::HoldsPartly => "holds partly",
            Verdict::DoesNotHold => "does not hold",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// A table of a claim's section.
#[derive(Clone, Debug, Serialize)]
pub struct Table {
    /// Title above the table.
    pub title: String,
    /// Column headers.
    pub header: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

/// A figure: an inline SVG and its caption.
#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    /// Caption.
    pub caption: String,
    /// The SVG document (not written to results.json).
    #[serde(skip)]
    pub svg: String,
}

/// What a claim's experiment found.
#[derive(Clone, Debug, Serialize)]
pub struct ClaimResult {
    /// `C1` … `C12`.
    pub id: String,
    /// The claim, as the lesson makes it.
    pub claim: String,
    /// How it was tested.
    pub method: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The rule that produced the verdict.
    pub rule: String,
    /// One line with the number that decided it.
    pub key_number: String,
    /// Tables of mean ± 95 % CI.
    pub tables: Vec<Table>,
    /// Figures.
    pub figures: Vec<Figure>,
    /// Every number, machine-readable.
    pub numbers: serde_json::Value,
    /// Seconds this claim took (0 when served from the cache).
    pub elapsed_s: f64,
}

/// A claim's id and its runner.
pub type ClaimFn = fn(&Lab) -> Result<ClaimResult>;

/// All claims in order.
pub fn all_claims() -> Vec<(&'static str, ClaimFn)> {
    vec![
        ("C1", c01_masks::run as ClaimFn),
        ("C2", c02_expectation::run),
        ("C3", c03_overfitting::run),
        ("C4", c04_ensemble::run),
        ("C5", c05_coadaptation::run),
        ("C6", c06_boundaries::run),
        ("C7", c07_convergence::run),
        ("C8", c08_small_models::run),
        ("C9", c09_rate::run),
        ("C10", c10_batchnorm::run),
        ("C11", c11_conv::run),
        ("C12", c12_weight_decay::run),
    ]
}

/// Train `make(seed)` for every seed of the study (cached), ticking the bar.
pub fn per_seed(
    lab: &Lab,
    what: &str,
    make: impl Fn(u64) -> runs::RunSpec,
) -> Result<Vec<runs::RunOut>> {
    lab.seeds
        .iter()
        .map(|&s| {
            let out = lab.run(&make(s));
            lab.tick(what);
            out
        })
        .collect()
}

/// Final test accuracies of runs.
pub fn test_accs(outs: &[runs::RunOut]) -> Vec<f64> {
    outs.iter().map(|o| o.last().test_acc).collect()
}

/// Final generalisation gaps of runs.
pub fn gaps(outs: &[runs::RunOut]) -> Vec<f64> {
    outs.iter().map(|o| o.gap()).collect()
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
    /// Output directory (report + cache).
    pub out: std::path::PathBuf,
    /// Show progress bars.
    pub progress: bool,
    /// Run the Srivastava et al. reproduction with this many epochs instead.
    pub paper_epochs: Option<usize>,
    /// The command line, for the footer.
    pub command: String,
}

/// Run the study and write the report; returns the results.
pub fn run_study(o: &StudyOptions) -> Result<(Vec<ClaimResult>, report::RunInfo)> {
    let started = std::time::Instant::now();
    let lab = Lab::new(&o.out.join("report-cache"), o.budget, o.seeds, o.progress)?;
    let budget = match o.budget {
        Budget::Tiny => "tiny",
        Budget::Quick => "quick",
        Budget::Default => "default",
        Budget::Full => "full",
    };
    let mut info = report::RunInfo::collect(o.command.clone(), budget, lab.seeds.clone());
    let mut results = Vec::new();
    if let Some(epochs) = o.paper_epochs {
        results.push(paper::run(&lab, epochs)?);
    } else {
        let wanted: Vec<(&str, ClaimFn)> = all_claims()
            .into_iter()
            .filter(|(id, _)| {
                o.claims.is_empty() || o.claims.iter().any(|c| c.eq_ignore_ascii_case(id))
            })
            .collect();
        let overall = lab
            .bars()
            .add(indicatif::ProgressBar::new(wanted.len() as u64));
        overall.set_style(
            indicatif::ProgressStyle::with_template(
                "study [{bar:30}] {pos}/{len} claims ({elapsed})  {msg}",
            )
            .expect("static")
            .progress_chars("=> "),
        );
        for (id, f) in wanted {
            overall.set_message(id.to_string());
            let t = std::time::Instant::now();
            let mut r = f(&lab)?;
            r.elapsed_s = t.elapsed().as_secs_f64();
            overall.inc(1);
            overall.println(format!(
                "{:<4} {:<14} {}  ({:.0} s)",
                r.id,
                r.verdict.text(),
                r.key_number,
                r.elapsed_s
            ));
            results.push(r);
        }
        overall.finish_and_clear();
    }
    info.elapsed_s = started.elapsed().as_secs_f64();
    info.runs_trained = *lab.trained.lock().expect("counter");
    report::write(&o.out, &results, &info)?;
    Ok((results, info))
}
