//! What a claim is: a [`Claim`] measures ([`Claim::measure`] → typed,
//! serialisable evidence), judges ([`Claim::verdict`], a pure function of the
//! evidence, so every verdict its rule can return has a unit test built from
//! hand-made evidence) and renders ([`Claim::render`] → a report [`Section`]).
//! Its id, claim text and rule text are associated constants, written once;
//! the report prints the rule next to the verdict. Every claim is a
//! [`Job`] of the run service, so plans, shards and merges treat it like
//! any other job.
//!
//! ```text
//! Lab ──measure──▶ Evidence ──verdict──▶ Verdict
//!                     └──────render────▶ Section (method, key number, tables, figures)
//! ```

use serde::Serialize;

use super::lab::Lab;
use crate::error::Result;
use crate::runner::Job;

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
    /// A comparison that draws no verdict (`study --family`).
    #[serde(rename = "comparison")]
    Comparison,
}

impl Verdict {
    /// The text used in tables.
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::HoldsPartly => "holds partly",
            Verdict::DoesNotHold => "does not hold",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Comparison => "comparison (no verdict)",
        }
    }

    /// One verdict from the verdicts of the same rule on several data sets:
    /// the same everywhere → that; support somewhere → holds partly; else
    /// (does not hold and inconclusive mixed) → inconclusive.
    pub fn combine(vs: &[Verdict]) -> Self {
        match vs {
            [] => Verdict::Inconclusive,
            [first, rest @ ..] if rest.iter().all(|v| v == first) => *first,
            _ if vs
                .iter()
                .any(|v| matches!(v, Verdict::Holds | Verdict::HoldsPartly)) =>
            {
                Verdict::HoldsPartly
            }
            _ => Verdict::Inconclusive,
        }
    }

    /// The usual two-part rule: both parts → holds, one → holds partly, none → does not hold.
    pub fn of_parts(a: bool, b: bool) -> Self {
        match (a, b) {
            (true, true) => Verdict::Holds,
            (false, false) => Verdict::DoesNotHold,
            _ => Verdict::HoldsPartly,
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

impl Table {
    /// A table from a title, header cells and rows.
    pub fn new(title: impl Into<String>, header: &[&str], rows: Vec<Vec<String>>) -> Self {
        Self {
            title: title.into(),
            header: header.iter().map(|s| s.to_string()).collect(),
            rows,
        }
    }
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

/// What a claim shows in the report besides its verdict and rule.
#[derive(Clone, Debug, Default)]
pub struct Section {
    /// The result in plain words, first in the section ("On MNIST, dropout …").
    pub finding: String,
    /// What the budget or design cannot show (empty: nothing to add).
    pub limitations: String,
    /// How it was tested (settings, sizes, seeds).
    pub method: String,
    /// One line with the number that decided it.
    pub key_number: String,
    /// Tables of mean ± 95 % CI.
    pub tables: Vec<Table>,
    /// Figures.
    pub figures: Vec<Figure>,
}

/// A claim of the dropout lesson, measured.
pub trait Claim: Sync {
    /// `C1` … `C12`.
    const ID: &'static str;
    /// The claim, as the lesson makes it.
    const CLAIM: &'static str;
    /// The rule that turns evidence into a verdict, in words.
    const RULE: &'static str;
    /// An implementation check (the code does what dropout's definition
    /// says) rather than a claim about learning; reported apart.
    const CHECK: bool = false;
    /// Everything measured, typed; saved as the claim's `numbers` in results.json.
    type Evidence: Serialize;

    /// Train (or fetch from the cache) and measure.
    ///
    /// # Errors
    /// Any error of training or evaluation.
    fn measure(&self, lab: &Lab) -> Result<Self::Evidence>;

    /// The verdict [`Self::RULE`] gives on this evidence.
    fn verdict(e: &Self::Evidence) -> Verdict;

    /// The report section of this evidence.
    fn render(e: &Self::Evidence) -> Section;
}

/// A finished claim, as written to the report.
#[derive(Clone, Debug, Serialize)]
pub struct ClaimResult {
    /// `C1` … `C12`.
    pub id: &'static str,
    /// The claim.
    pub claim: &'static str,
    /// An implementation check rather than a claim about learning.
    pub check: bool,
    /// The result in plain words.
    pub finding: String,
    /// How it was tested.
    pub method: String,
    /// What the budget or design cannot show.
    pub limitations: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The rule that produced the verdict.
    pub rule: &'static str,
    /// One line with the number that decided it.
    pub key_number: String,
    /// Tables.
    pub tables: Vec<Table>,
    /// Figures.
    pub figures: Vec<Figure>,
    /// The evidence, machine-readable.
    pub numbers: serde_json::Value,
    /// Seconds this claim took (small when served from the cache).
    pub elapsed_s: f64,
}

/// A claim as a job of the run service, for the registry and the runner.
pub type ClaimJob = dyn Job<Lab, Output = ClaimResult>;

/// Every claim is a job: measure, judge and render.
impl<C: Claim> Job<Lab> for C {
    type Output = ClaimResult;

    fn id(&self) -> &str {
        C::ID
    }

    fn run(&self, lab: &Lab) -> Result<ClaimResult> {
        let t = std::time::Instant::now();
        let e = self.measure(lab)?;
        let s = C::render(&e);
        Ok(ClaimResult {
            id: C::ID,
            claim: C::CLAIM,
            check: C::CHECK,
            finding: s.finding,
            method: s.method,
            limitations: s.limitations,
            verdict: C::verdict(&e),
            rule: C::RULE,
            key_number: s.key_number,
            tables: s.tables,
            figures: s.figures,
            numbers: serde_json::to_value(&e).unwrap_or(serde_json::Value::Null),
            elapsed_s: t.elapsed().as_secs_f64(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Verdict::*;
    use super::*;

    #[test]
    fn combining_data_sets() {
        assert_eq!(Verdict::combine(&[Holds, Holds]), Holds);
        assert_eq!(Verdict::combine(&[DoesNotHold, DoesNotHold]), DoesNotHold);
        assert_eq!(Verdict::combine(&[Holds, DoesNotHold]), HoldsPartly);
        assert_eq!(Verdict::combine(&[Inconclusive, HoldsPartly]), HoldsPartly);
        assert_eq!(Verdict::combine(&[DoesNotHold, Inconclusive]), Inconclusive);
        assert_eq!(Verdict::combine(&[]), Inconclusive);
    }
}
