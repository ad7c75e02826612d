//! `dropout-lab eval`: reload a run directory (its `config.json`, any format
//! this version reads, and its checkpoint), evaluate on its test set, and
//! optionally weigh its uncertainty: MC dropout, temperature scaling, an
//! ensemble, OOD detection (see [`lab::uq`]); text, `--json`, `--report` HTML,
//! `--per-sample` lines. Output paths are checked before any work and written
//! by [`lab::outfile`], never inside a run being evaluated; `--mc` reports its
//! forward passes (a bar, or a plain line every ~20 s in a log) unless `--quiet`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use engine::Sequential;
use lab::checkpoint;
use lab::config::RunConfig;
use lab::data::ood::{self, OodSource};
use lab::data::{load, Splits};
use lab::outfile::{self, Protected};
use lab::rundir;
use lab::train::{build_model, eval_batch, evaluate};
use lab::uq::report::{kl, summarize, Arm, Report};
use lab::uq::sample::{self, McSites, Sampling};
use lab::uq::{page, per_sample, temperature};

use super::choice::parser;
use super::eval_print::print_report;
use super::progress::Ticker;

#[derive(Args)]
#[command(after_help = "Examples:
  dropout-lab eval --run runs/mnist
  dropout-lab eval --run runs/mnist --mc 50 --ood fashion --report uq-mnist
  dropout-lab eval --run runs/mnist --mc 50 --mc-sites hidden --mc-consistent --json
  dropout-lab eval --run runs/e/member-1 --ensemble runs/e/member-2,runs/e/member-3 --ood fashion
  dropout-lab eval --run runs/mnist --mc 100 --per-sample preds.csv

Temperature scaling is fitted on the run's validation split (train with --val-size N to get it).")]
pub struct EvalArgs {
    /// Run directory written by `dropout-lab train`.
    #[arg(long)]
    run: PathBuf,
    /// MC-dropout samples T (at least 1); leave out for the deterministic net only.
    #[arg(long, value_name = "T", value_parser = parse_mc)]
    mc: Option<usize>,
    /// MC: one mask per sample shared by every input (consistent MC dropout, as BatchBALD needs).
    #[arg(long, requires = "mc")]
    mc_consistent: bool,
    /// MC: the dropout sites sampled — all (input dropout included) or hidden only.
    #[arg(long, value_parser = parser::<McSites>(), default_value = "all", requires = "mc")]
    mc_sites: McSites,
    /// Out-of-distribution samples: `mnist`, `fashion` (built in) or a CSV / IDX directory; their labels are ignored.
    #[arg(long, value_name = "DATA")]
    ood: Option<String>,
    /// Other runs whose deterministic nets, with --run's, form a deep ensemble (same data and test set).
    #[arg(long, value_name = "RUN,RUN,…", value_delimiter = ',')]
    ensemble: Vec<PathBuf>,
    /// Write one line per test sample and arm: CSV (`.csv`) or JSON lines (other extensions; `-` is standard output).
    #[arg(long, value_name = "FILE")]
    per_sample: Option<PathBuf>,
    /// Write an HTML page (reliability, risk–coverage, histograms) and report.json into folder DIR (outside the runs).
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// No progress bar or lines.
    #[arg(long)]
    quiet: bool,
}

pub(super) fn parse_mc(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("MC dropout needs at least 1 sample (e.g. --mc 50); leave --mc out to evaluate the deterministic net only".into()),
        Ok(t) if t > 100_000 => Err(format!("{t} samples would take very long; use at most 100000")),
        Ok(t) => Ok(t),
        Err(_) => Err(format!("`{s}` is not a whole number of samples (e.g. --mc 50)")),
    }
}

/// A finished run's config, data and trained net.
pub(super) fn open_run(dir: &Path) -> Result<(RunConfig, Splits, Sequential)> {
    let cfg = rundir::read_config(dir)?;
    let model_path = dir.join(rundir::MODEL);
    if !model_path.exists() {
        let hint = if dir.join(rundir::CHECKPOINT).exists() {
            format!(
                "the run has not finished; continue it with `dropout-lab train --resume {}`",
                dir.display()
            )
        } else {
            "give the --out of a finished `dropout-lab train`".to_string()
        };
        bail!("{}: no model.safetensors; {hint}", dir.display());
    }
    let mut splits = load(&cfg.data, cfg.seed)
        .with_context(|| format!("loading the data of {}", dir.display()))?;
    let (mut model, _, _) = build_model(&cfg, &splits)?;
    // A language model is evaluated on windows of its text cut at its context.
    if let Some(w) = splits.windows(model.sample_shape().first().copied().unwrap_or(1))? {
        (splits.train, splits.val, splits.test) = (w.train, w.val, w.test);
    }
    let meta = checkpoint::load(&mut model, &model_path)?;
    check_same_run(&cfg, &meta, &splits.test.fingerprint(), &model_path)?;
    Ok((cfg, splits, model))
}

/// Whether MC sampling at `sites` draws any mask in this run's net (a site
/// of its typed model with a positive rate).
fn samples_anything(cfg: &RunConfig, splits: &Splits, sites: McSites) -> bool {
    let spec = cfg.model.spec(splits.train.dim(), splits.classes);
    spec.arch()
        .map_or(true, |arch| arch.samples(sites == McSites::All))
}

/// The weights of the run in `dir`: FNV-1a of its model file's tensor bytes
/// (not its header, which records settings such as the thread count).
fn weights_id(dir: &Path) -> Option<String> {
    let b = std::fs::read(dir.join(lab::rundir::MODEL)).ok()?;
    let n = usize::try_from(u64::from_le_bytes(b.get(..8)?.try_into().ok()?)).ok()?;
    Some(lab::fnv::hex(b.get(8usize.checked_add(n)?..)?))
}

/// Refuse a run named twice (`--run` again in `--ensemble`, or a member
/// twice, however the path is written, or a copy of one: the same weights):
/// its net would be counted twice.
fn distinct_runs(run: &Path, ensemble: &[PathBuf]) -> Result<()> {
    let same = |p: &Path| {
        (
            std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()),
            weights_id(p),
        )
    };
    let mut seen = vec![same(run)];
    for dir in ensemble {
        let k = same(dir);
        let dup = |s: &(PathBuf, Option<String>)| s.0 == k.0 || (s.1.is_some() && s.1 == k.1);
        if let Some(j) = seen.iter().position(dup) {
            let first = if j == 0 {
                format!("--run {}", run.display())
            } else {
                format!("--ensemble member {}", ensemble[j - 1].display())
            };
            bail!(
                "--ensemble {}: is the same run as {first} (the same folder, or a copy with the same weights); an ensemble needs distinct nets (each once) — drop the duplicate, or train more members with `dropout-lab train --ensemble K`",
                dir.display()
            );
        }
        seen.push(k);
    }
    Ok(())
}

/// Check `--per-sample` and `--report` before any work: not inside an input
/// (`protect`), and writable as the user named them.
fn check_outputs(a: &EvalArgs, protect: &[Protected]) -> Result<()> {
    if let Some(p) = &a.per_sample {
        outfile::check(p, protect).context("--per-sample")?;
    }
    if let Some(d) = &a.report {
        if std::fs::metadata(d).is_ok_and(|m| !m.is_dir()) {
            bail!(
                "--report {}: is a file; --report takes a folder, which gets {} — give a new or existing folder",
                d.display(),
                page::HOLDS
            );
        }
        outfile::check_folder(d, page::HOLDS, protect).context("--report")?;
    }
    Ok(())
}

/// Evaluate a saved run.
pub fn run(mut a: EvalArgs) -> Result<()> {
    // `-` is standard output, as other tools read it.
    if a.per_sample.as_deref() == Some(Path::new("-")) {
        a.per_sample = Some(PathBuf::from("/dev/stdout"));
    }
    distinct_runs(&a.run, &a.ensemble)?;
    let ood_path = a.ood.as_deref().map(Path::new).filter(|p| p.exists());
    let protect: Vec<Protected> = std::iter::once(&a.run)
        .chain(&a.ensemble)
        .map(|path| Protected { path, what: "run" })
        .chain(ood_path.map(|path| Protected {
            path,
            what: "OOD data",
        }))
        .collect();
    check_outputs(&a, &protect)?;
    let pool = super::pool(a.threads)?;
    let (cfg, splits, mut model) = open_run(&a.run)?;
    if a.mc_consistent && cfg.model.transformer() {
        bail!("--mc-consistent is not available for a Transformer: its attention and blocks draw each input's masks on their own; leave it out (each input then gets independent masks)");
    }
    if splits.text.is_some() {
        let unsupported = [
            (a.ood.is_some(), "--ood"),
            (!a.ensemble.is_empty(), "--ensemble"),
            (a.per_sample.is_some(), "--per-sample"),
            (a.report.is_some(), "--report"),
            (a.mc_consistent, "--mc-consistent"),
            (a.mc_sites != McSites::All, "--mc-sites"),
        ];
        if let Some((_, flag)) = unsupported.iter().find(|(on, _)| *on) {
            bail!("{flag} is for classifiers; a language model's eval reports its loss per character and, with --mc, its MC-dropout loss, predictive entropy and mutual information");
        }
        return pool.install(|| {
            super::eval_lm::report(&a.run, &cfg, &splits, &mut model, a.mc, a.json, a.quiet)
        });
    }
    let ood_data = match &a.ood {
        None => None,
        Some(s) => {
            let src: OodSource = s
                .parse()
                .map_err(|e: String| anyhow::anyhow!("--ood {e}"))?;
            let o = ood::load(
                &src,
                &cfg.data,
                cfg.seed,
                model.sample_shape(),
                model.classes(),
            )
            .context("loading the --ood data")?;
            Some(o)
        }
    };
    let mut notes = Vec::new();
    if let Some(o) = &ood_data {
        if o.foreign_labels > 0 {
            notes.push(format!("{} OOD samples carry labels outside the model's classes; OOD labels are not used, only the samples.", o.foreign_labels));
        }
    }
    let mut members = Vec::new();
    for dir in &a.ensemble {
        let (_, s, m) = open_run(dir)?;
        if s.test.fingerprint() != splits.test.fingerprint() {
            bail!("{}: its test set is not --run's (a different data set, seed or split); an ensemble's members must share one test set", dir.display());
        }
        members.push((dir.display().to_string(), m));
    }
    let y = splits.test.y.clone();
    let out = pool.install(|| -> Result<_> {
        let batch = eval_batch(&model, 1);
        let score = evaluate(&mut model, &splits.test, batch)?;
        let mut arms = Vec::new();
        let t0 = Instant::now();
        let (det, _) = sample::deterministic(&mut model, &splits.test);
        let det_s = t0.elapsed().as_secs_f64() / y.len().max(1) as f64;
        let det_ood = ood_data.as_ref().map(|o| sample::deterministic(&mut model, &o.data).0);
        arms.push(Arm { name: "deterministic".into(), test: det.clone(), ood: det_ood, seconds_per_example: det_s });
        let mut temp = None;
        if splits.val.is_empty() {
            notes.push("No temperature-scaling row: the run has no validation split to fit T on (train with --val-size N).".into());
        } else {
            let t = temperature::fit(&sample::logits(&mut model, &splits.val), &splits.val.y, model.classes());
            let test = sample::scaled(&mut model, &splits.test, t);
            let ood = ood_data.as_ref().map(|o| sample::scaled(&mut model, &o.data, t));
            arms.push(Arm { name: format!("temperature scaled (T = {t:.2})"), test, ood, seconds_per_example: det_s });
            temp = Some(t);
        }
        let mut kl_mc = None;
        if let Some(t) = a.mc {
            if samples_anything(&cfg, &splits, a.mc_sites) {
                let s = Sampling { t, seed: cfg.seed ^ 0x3c, consistent: a.mc_consistent, sites: a.mc_sites, per_pass: cfg.model.dropconnect > 0.0 };
                let passes = sample::mc_passes(&model, y.len(), &s) + ood_data.as_ref().map_or(0, |o| sample::mc_passes(&model, o.data.len(), &s));
                let mut ticker = Ticker::new("MC dropout", "passes", passes as u64, !a.quiet);
                let t0 = Instant::now();
                let test = sample::mc_observed(&mut model, &splits.test, &s, &mut || ticker.inc());
                let per = t0.elapsed().as_secs_f64() / y.len().max(1) as f64;
                let ood = ood_data.as_ref().map(|o| sample::mc_observed(&mut model, &o.data, &s, &mut || ticker.inc()));
                ticker.finish();
                kl_mc = Some(kl(&test, &det));
                let mut name = format!("MC dropout (T = {t}");
                if a.mc_sites == McSites::Hidden { name.push_str(", hidden sites"); }
                if a.mc_consistent { name.push_str(", consistent masks"); }
                name.push(')');
                arms.push(Arm { name, test, ood, seconds_per_example: per });
            } else {
                notes.push(format!("No MC row: the run has no dropout{} to sample, so MC dropout would equal the deterministic net.", if a.mc_sites == McSites::Hidden { " at hidden sites" } else { "" }));
            }
        }
        if !members.is_empty() {
            let t0 = Instant::now();
            let mut test = vec![det.clone()];
            let mut ood = arms[0].ood.clone().into_iter().collect::<Vec<_>>();
            for (_, m) in &mut members {
                test.push(sample::deterministic(m, &splits.test).0);
                if let Some(o) = &ood_data {
                    ood.push(sample::deterministic(m, &o.data).0);
                }
            }
            let per = det_s + t0.elapsed().as_secs_f64() / y.len().max(1) as f64;
            let n = test.len();
            arms.push(Arm {
                name: format!("ensemble of {n} nets"),
                test: sample::ensemble(&test),
                ood: ood_data.as_ref().map(|_| sample::ensemble(&ood)),
                seconds_per_example: per,
            });
        }
        Ok((score, arms, temp, kl_mc))
    })?;
    let (score, arms, temp, kl_mc) = out;
    let report = Report {
        rows: summarize(&arms, &y),
        temperature: temp,
        kl_mc_to_det: kl_mc,
        ood_source: ood_data.as_ref().map(|o| o.source.clone()),
        notes,
    };
    if let Some(path) = &a.per_sample {
        per_sample::write(path, &arms, &y, &protect).context("--per-sample")?;
    }
    if let Some(dir) = &a.report {
        page::write(
            dir,
            &report,
            &arms,
            &y,
            &format!("dropout-lab eval — {}", a.run.display()),
            &protect,
        )
        .context("--report")?;
    }
    if a.json {
        println!(
            "{}",
            serde_json::json!({"run": a.run, "test": score, "uq": report})
        );
        return Ok(());
    }
    println!("run        {}", a.run.display());
    println!(
        "test       acc {:.2}%  loss {:.4}  ({} samples)",
        100.0 * score.acc,
        score.loss,
        y.len()
    );
    print_report(&report);
    if let Some(dir) = &a.report {
        println!("report     {}", dir.join("index.html").display());
    }
    if let Some(p) = &a.per_sample {
        println!("per-sample {}", p.display());
    }
    Ok(())
}

/// The checkpoint was written by this run: its embedded configuration is
/// `config.json`'s (threads aside), and the test split rebuilt from the
/// configuration is the one the run was scored on (so editing the seed or
/// the data file cannot move training rows into the test set unnoticed).
/// Checkpoints written before these were stored carry neither and pass.
fn check_same_run(
    cfg: &RunConfig,
    meta: &std::collections::HashMap<String, String>,
    fingerprint: &str,
    path: &Path,
) -> Result<()> {
    if let Some(text) = meta.get("config") {
        let same = RunConfig::from_json(text).is_ok_and(|c| cfg.same_run(&c));
        if !same {
            bail!(
                "{}: was trained under a different configuration than config.json beside it (was config.json edited?); restore config.json or train again",
                path.display()
            );
        }
    }
    match meta.get("test_fingerprint") {
        Some(f) if !f.is_empty() && f != fingerprint => bail!(
            "{}: the test set rebuilt from config.json is not the one this run was scored on (the data file changed?); evaluating it would mix training and test rows",
            path.display()
        ),
        _ => Ok(()),
    }
}
