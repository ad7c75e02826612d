//! `dropout-lab study --family`: the members of the dropout family compared
//! where each is meant to be used — a comparison, not a claim, so no verdict.
//!
//! ```text
//! MLP (MNIST, Fashion-MNIST):  none | dropout | Gaussian dropout | AlphaDropout (SELU) | DropConnect | Concrete (learned p)
//! CNN (MNIST):                 none | element-wise | spatial | DropBlock (3 × 3)      conv dropout after each conv block
//! residual LayerNorm MLP:      none | dropout in the branch | DropPath (linear in depth)
//! RNN on image rows:           none | locked | naive                                  input and recurrent dropout
//! each arm: its rate chosen on validation accuracy (held-out training images) from its grid over the seeds,
//! then the test accuracy of that rate per seed; reported: mean ± 95% CI and the paired difference to "none"
//! Concrete dropout's learned p per layer for the MLP at growing training sets (epochs for a fixed sample budget)
//! ```
//! Within a setting every arm has the same data, architecture, optimizer and
//! epochs; settings differ (each uses the optimizer its model trains with).

use engine::layers::{Activation, DropoutKind, DropoutVariant, RnnDropout};
use engine::spec::Norm;
use serde::Serialize;

mod render;

use super::claim::{Claim, Section, Verdict};
use super::lab::Lab;
use super::runs::{image_run, test_accs, with_p};
use super::tune::{prefetch, tune, Tuned};
use super::Budget;
use crate::config::{OptimizerName, RunConfig};
use crate::error::{LabError, Result};

/// The family section.
pub struct Family;

/// One arm's result.
#[derive(Clone, Debug, Serialize)]
pub struct ArmResult {
    /// The arm.
    pub arm: String,
    /// The rate tuning (`None`: nothing to tune).
    pub tuned: Option<Tuned>,
    /// Test accuracy at the chosen rate, per seed.
    pub test_acc: Vec<f64>,
}

/// One setting (model and data) and its arms; arm 0 is "none".
#[derive(Clone, Debug, Serialize)]
pub struct Setting {
    /// What is compared, e.g. "MLP 784-256-256-10 on MNIST".
    pub name: String,
    /// Training images, validation images, epochs.
    pub sizes: (usize, usize, usize),
    /// The arms.
    pub arms: Vec<ArmResult>,
}

/// Everything measured.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// The settings.
    pub settings: Vec<Setting>,
    /// The MLP with Concrete dropout at growing training sets: (images,
    /// epochs, learned p per seed per layer).
    pub concrete_by_n: Vec<(usize, usize, Vec<Vec<f32>>)>,
}

/// Training-set sizes for the learned-rate curve of Concrete dropout.
fn concrete_sizes(b: Budget) -> Vec<usize> {
    match b {
        Budget::Tiny => vec![100, 200],
        Budget::Quick => vec![500, 2_000],
        Budget::Default => vec![500, 4_000, 16_000],
        Budget::Full => vec![1_000, 10_000, 60_000],
    }
}

/// An arm: its name, its rate grid (empty: no rate) and its run at rate p.
type Arm = (
    &'static str,
    Vec<f32>,
    Box<dyn Fn(RunConfig, f32) -> RunConfig>,
);

/// A setting to run: its name, its base run per seed, its arms.
type Plan = (String, Box<dyn Fn(u64) -> RunConfig>, Vec<Arm>);

fn arm(name: &'static str, grid: &[f32], f: impl Fn(RunConfig, f32) -> RunConfig + 'static) -> Arm {
    (name, grid.to_vec(), Box::new(f))
}

/// The sizes of the budget: (training images, validation images, epochs, rate grid).
fn sizes(b: Budget) -> (usize, usize, usize, Vec<f32>, Vec<f32>) {
    match b {
        Budget::Tiny => (200, 100, 1, vec![0.2], vec![0.1]),
        Budget::Quick => (1_000, 500, 8, vec![0.2, 0.5], vec![0.1, 0.2]),
        Budget::Default => (2_000, 1_000, 15, vec![0.2, 0.5], vec![0.1, 0.2]),
        Budget::Full => (
            10_000,
            5_000,
            30,
            vec![0.1, 0.3, 0.5],
            vec![0.05, 0.1, 0.2, 0.3],
        ),
    }
}

/// Run every arm of a setting over the seeds.
fn setting(
    lab: &Lab,
    name: String,
    base: &dyn Fn(u64) -> RunConfig,
    arms: Vec<Arm>,
    sizes: (usize, usize, usize),
) -> Result<Setting> {
    for (_, grid, make) in &arms {
        prefetch(lab, grid, 0, |p, s| make(base(s), p))?;
    }
    let mut out = Vec::new();
    for (arm_name, grid, make) in arms {
        let what = format!("{name}: {arm_name}");
        let (tuned, p) = if grid.is_empty() {
            (None, 0.0)
        } else {
            let t = tune(lab, &what, &grid, 0, |p, s| make(base(s), p))?;
            let p = t.chosen;
            (Some(t), p)
        };
        // A run that diverges at the chosen rate leaves the arm without a result (reported as such).
        let test_acc = match lab.per_seed(&what, 0, |s| make(base(s), p)) {
            Ok(runs) => test_accs(&runs),
            Err(e @ LabError::Diverged { .. }) => {
                lab.warn(&format!("{what}: {e}; the arm has no result"));
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        out.push(ArmResult {
            arm: arm_name.into(),
            tuned,
            test_acc,
        });
    }
    Ok(Setting {
        name,
        sizes,
        arms: out,
    })
}

/// The units of progress of a list of arms.
fn units(arms: &[Arm], seeds: usize) -> usize {
    arms.iter().map(|a| a.1.len()).sum::<usize>() * seeds + arms.len() * seeds
}

fn mlp_arms(dense: &[f32]) -> Vec<Arm> {
    vec![
        arm("none", &[], |c, _| c),
        arm("dropout", dense, with_p),
        arm("Gaussian dropout", dense, |c, p| {
            let mut c = with_p(c, p);
            c.model.dropout_variant = DropoutVariant::Gaussian;
            c
        }),
        arm("AlphaDropout (SELU)", dense, |c, p| {
            let mut c = with_p(c, p);
            c.model.act = Activation::Selu;
            c.model.dropout_variant = DropoutVariant::Alpha;
            c
        }),
        arm("DropConnect", dense, |mut c, p| {
            c.model.dropconnect = p;
            c
        }),
        arm("Concrete (learned p)", &[], |mut c, _| {
            c.model.concrete_dropout = true;
            c.optim.weight_decay = 0.0;
            c
        }),
    ]
}

fn cnn_arms(conv: &[f32]) -> Vec<Arm> {
    let kind = |k: DropoutKind| {
        move |mut c: RunConfig, p: f32| {
            c.model.conv_dropout = p;
            c.model.conv_dropout_kind = k;
            c
        }
    };
    vec![
        arm("none", &[], |c, _| c),
        arm("element-wise", conv, kind(DropoutKind::Element)),
        arm("spatial", conv, kind(DropoutKind::Spatial)),
        arm("DropBlock 3 × 3", conv, kind(DropoutKind::Block)),
    ]
}

impl Claim for Family {
    const ID: &'static str = "F";
    const CLAIM: &'static str =
        "The dropout family, each member where it is meant to be used (a comparison, not a claim).";
    const RULE: &'static str = "No verdict: per setting, each arm's rate is chosen on validation accuracy and its test accuracy reported with a 95% CI and the paired difference to no dropout.";
    type Evidence = Evidence;

    fn measure(&self, lab: &Lab) -> Result<Evidence> {
        let (n, val, epochs, dense, conv) = sizes(lab.budget);
        let tiny = lab.budget == Budget::Tiny;
        let (mlp, cnn, res, rnn) = if tiny {
            (
                "784-16-10",
                "c2-p-c2-p-16-10",
                "784-16-r16-r16-10",
                "rnn8-10",
            )
        } else {
            (
                "784-256-256-10",
                "c8-p-c16-p-128-10",
                "784-128-r256-r256-r256-10",
                "rnn64-10",
            )
        };
        let s = lab.seeds.len();
        let mut plan: Vec<Plan> = Vec::new();
        for &ds in &lab.datasets {
            let base = move |seed| {
                let mut c = image_run(ds, mlp, n, epochs, seed);
                c.data.val_size = val;
                c
            };
            plan.push((
                format!("MLP {mlp} on {}", ds.name()),
                Box::new(base),
                mlp_arms(&dense),
            ));
        }
        let ds = lab.datasets[0];
        let cnn_base = move |seed| {
            let mut c = image_run(ds, cnn, n, epochs, seed);
            c.data.val_size = val;
            c
        };
        plan.push((
            format!("CNN {cnn} on {}", ds.name()),
            Box::new(cnn_base),
            cnn_arms(&conv),
        ));
        let res_base = move |seed| {
            let mut c = image_run(ds, res, n, epochs, seed);
            c.data.val_size = val;
            c.model.norm = Norm::Layer;
            // Pre-LN residual blocks diverged with SGD at 0.05 and 0.02 here; Adam, as Transformers train.
            c.optim.optimizer = OptimizerName::Adam;
            c.optim.lr = 1e-3;
            c
        };
        let res_arms = vec![
            arm("none", &[], |c, _| c),
            arm("dropout in the branch", &conv, with_p),
            arm("DropPath (p · l/L)", &dense, |mut c, p| {
                c.model.drop_path = p;
                c
            }),
        ];
        plan.push((
            format!("residual LayerNorm MLP {res} on {}", ds.name()),
            Box::new(res_base),
            res_arms,
        ));
        let rnn_base = move |seed| {
            let mut c = image_run(ds, rnn, n, epochs, seed);
            c.data.val_size = val;
            c.optim.optimizer = OptimizerName::Adam;
            c.optim.lr = 2e-3;
            c
        };
        let rnn_kind = |k: RnnDropout| {
            move |mut c: RunConfig, p: f32| {
                c.model.rnn_dropout = p;
                c.model.rnn_dropout_kind = k;
                c
            }
        };
        let rnn_arms = vec![
            arm("none", &[], |c, _| c),
            arm("locked (per sequence)", &conv, rnn_kind(RnnDropout::Locked)),
            arm("naive (per step)", &conv, rnn_kind(RnnDropout::Naive)),
        ];
        plan.push((
            format!("RNN {rnn} over the rows, {} (Adam 2e-3)", ds.name()),
            Box::new(rnn_base),
            rnn_arms,
        ));
        let sizes_n = concrete_sizes(lab.budget);
        lab.begin(
            Self::ID,
            plan.iter().map(|p| units(&p.2, s)).sum::<usize>() + sizes_n.len() * s,
        );
        let mut settings = Vec::new();
        for (name, base, arms) in plan {
            settings.push(setting(lab, name, &*base, arms, (n, val, epochs))?);
        }
        let mut concrete_by_n = Vec::new();
        for &size in &sizes_n {
            let ep = lab.epochs_for(size);
            let what = format!("Concrete p at {size} images");
            let runs = lab.per_seed(&what, 0, |seed| {
                let mut c = image_run(ds, mlp, size, ep, seed);
                c.model.concrete_dropout = true;
                c.optim.weight_decay = 0.0;
                c
            });
            let ps = match runs {
                Ok(runs) => runs.into_iter().map(|r| r.learned_p).collect(),
                Err(e @ LabError::Diverged { .. }) => {
                    lab.warn(&format!("{what}: {e}; no rates at this size"));
                    Vec::new()
                }
                Err(e) => return Err(e),
            };
            concrete_by_n.push((size, ep, ps));
        }
        Ok(Evidence {
            settings,
            concrete_by_n,
        })
    }

    fn verdict(_: &Evidence) -> Verdict {
        Verdict::Comparison
    }

    fn render(e: &Evidence) -> Section {
        render::render(e)
    }
}
