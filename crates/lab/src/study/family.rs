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

use super::claim::{Claim, Figure, Section, Table, Verdict};
use super::lab::{image_run, test_accs, with_p, Lab};
use super::plot::{lines, Axes, Series};
use super::stats::{paired, Est};
use super::tune::{tune, Tuned};
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
        let (mut rows, mut figures, mut best) = (Vec::new(), Vec::new(), Vec::new());
        for st in &e.settings {
            let none = &st.arms[0].test_acc;
            for a in &st.arms {
                rows.push(vec![
                    st.name.clone(),
                    a.arm.clone(),
                    a.tuned.as_ref().map_or("—".into(), Tuned::describe),
                    if a.test_acc.is_empty() {
                        "diverged".into()
                    } else {
                        Est::of(&a.test_acc).fmt(100.0, 2)
                    },
                    if std::ptr::eq(a, &st.arms[0]) || a.test_acc.is_empty() || none.is_empty() {
                        "—".into()
                    } else {
                        paired(&a.test_acc, none).fmt(100.0, 2)
                    },
                ]);
            }
            if let Some(top) = st
                .arms
                .iter()
                .filter(|a| !a.test_acc.is_empty())
                .max_by(|a, b| {
                    Est::of(&a.test_acc)
                        .mean
                        .total_cmp(&Est::of(&b.test_acc).mean)
                })
            {
                best.push(format!(
                    "{}: {} ({:.2} %)",
                    st.name,
                    top.arm,
                    100.0 * Est::of(&top.test_acc).mean
                ));
            }
            let series: Vec<Series> = st
                .arms
                .iter()
                .filter_map(|a| {
                    let t = a.tuned.as_ref()?;
                    Some(Series {
                        name: a.arm.clone(),
                        points: t
                            .grid
                            .iter()
                            .zip(&t.val_acc)
                            .filter(|(_, v)| !v.is_empty())
                            .map(|(&p, v)| {
                                let est = Est::of(v);
                                (f64::from(p), 100.0 * est.mean, 100.0 * est.ci)
                            })
                            .collect(),
                    })
                })
                .filter(|s| !s.points.is_empty())
                .collect();
            if !series.is_empty() {
                figures.push(Figure {
                    caption: format!(
                        "{}: validation accuracy (mean ± 95% CI over seeds) against the rate",
                        st.name
                    ),
                    svg: lines(
                        &Axes {
                            title: &st.name,
                            x: "rate",
                            y: "validation accuracy %",
                            log_x: false,
                            log_y: false,
                        },
                        &series,
                    ),
                });
            }
        }
        let mut p_rows = Vec::new();
        let layers = e
            .concrete_by_n
            .iter()
            .flat_map(|c| c.2.iter().map(Vec::len))
            .max()
            .unwrap_or(0);
        let mut p_series: Vec<Series> = (0..layers)
            .map(|l| Series {
                name: format!("layer {}", l + 1),
                points: Vec::new(),
            })
            .collect();
        for (size, ep, ps) in &e.concrete_by_n {
            let mut row = vec![size.to_string(), ep.to_string()];
            for (l, series) in p_series.iter_mut().enumerate() {
                let v: Vec<f64> = ps
                    .iter()
                    .filter_map(|p| p.get(l))
                    .map(|&p| f64::from(p))
                    .collect();
                let est = Est::of(&v);
                row.push(est.fmt(1.0, 3));
                series.points.push((*size as f64, est.mean, est.ci));
            }
            p_rows.push(row);
        }
        if !e.concrete_by_n.is_empty() {
            figures.push(Figure {
                caption: "Concrete dropout: the rate each dense layer's input learned (mean ± 95% CI over seeds) against the training-set size".into(),
                svg: lines(&Axes { title: "learned p", x: "training images", y: "p", log_x: true, log_y: false }, &p_series),
            });
        }
        let mut p_header = vec!["training images".to_string(), "epochs".to_string()];
        p_header.extend((0..layers).map(|l| format!("p layer {}", l + 1)));
        let p_header: Vec<&str> = p_header.iter().map(String::as_str).collect();
        let p_table = Table::new(
            "Concrete dropout: learned p per layer (mean ± 95% CI over seeds), initial 0.1",
            &p_header,
            p_rows,
        );
        let (n, val, epochs) = e.settings.first().map_or((0, 0, 0), |s| s.sizes);
        let seeds = e
            .settings
            .first()
            .and_then(|s| s.arms.first())
            .map_or(0, |a| a.test_acc.len());
        Section {
            finding: format!("Highest mean test accuracy per setting — {}. Differences to no dropout with their CIs are in the table; no verdict is drawn.", best.join("; ")),
            limitations: "Small models and data on 2 cores (one size, one epoch budget per setting); two or three rates per arm; the Concrete arm learns its own rates with the setting's optimizer, so it has no grid. The RNN is an Elman RNN over 28 rows, far from a tuned LSTM.".into(),
            method: format!("{n} training images and {val} validation images of each data set, {epochs} epochs; {seeds} seeds. MLP and CNN: SGD (momentum 0.9, lr 0.05, batch 128); the residual MLP: pre-LayerNorm blocks x + drop_path(fc2(dropout(relu(fc1(LN(x)))))), Adam lr 0.001; the RNN: tanh, 64 units, Adam lr 0.002. Each arm's rate is chosen on mean validation accuracy over the seeds; the test accuracy of that rate is reported per seed."),
            key_number: best.join("; "),
            tables: vec![
                Table::new("Test accuracy % (mean ± 95% CI); rates tried (validation acc %, * = chosen); paired difference to no dropout", &["setting", "arm", "rates (val acc)", "test acc", "− none"], rows),
                p_table,
            ],
            figures,
        }
    }
}
