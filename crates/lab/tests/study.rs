//! `dropout-lab study` end to end on the smoke-test budget: every claim is in
//! the report with a derived verdict, every figure is an SVG with data, no
//! NaN anywhere, and a second run resumes entirely from the cache; damaged
//! cache entries are retrained with a warning, and two studies sharing one
//! cache train every run once between them.

use std::path::Path;
use std::process::{Command, Stdio};

fn command(out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dropout-lab"));
    c.args(["study", "--tiny", "--quiet", "--out", out.to_str().unwrap()]);
    c
}

/// "N runs trained now" from a study's output.
fn trained_now(stdout: &str) -> usize {
    let at = stdout
        .find(" runs trained now")
        .unwrap_or_else(|| panic!("no run count line in: {stdout}"));
    let start = stdout[..at]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    stdout[start..at].parse().expect("a count")
}

fn study(out: &Path) -> (String, serde_json::Value, String) {
    let o = command(out).output().expect("run dropout-lab");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join("index.html")).expect("index.html");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("results.json")).expect("results.json"),
    )
    .expect("valid JSON");
    (html, json, String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn tiny_study_report_has_every_claim_and_resumes_from_cache() {
    let out = std::env::temp_dir().join(format!("dropout-lab-study-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let (html, json, stdout) = study(&out);
    let claims = json["claims"].as_array().expect("claims array");
    let ids = lab::study::claim_ids();
    assert_eq!(
        claims.len(),
        ids.len(),
        "every registered claim is reported"
    );
    let verdicts = ["holds", "holds partly", "does not hold", "inconclusive"];
    for (c, &id) in claims.iter().zip(&ids) {
        assert_eq!(c["id"], id);
        assert!(
            verdicts.contains(&c["verdict"].as_str().unwrap_or("")),
            "{id}: verdict {}",
            c["verdict"]
        );
        for f in ["claim", "rule", "method", "key_number", "finding"] {
            assert!(
                c[f].as_str().is_some_and(|s| !s.is_empty()),
                "{id}: {f} missing"
            );
        }
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "{id} has no section"
        );
        assert!(
            stdout.contains(id),
            "{id} missing from the terminal summary"
        );
    }
    assert!(json["elapsed_s"].as_f64().is_some_and(|s| s > 0.0));
    // Figures: inline SVGs that draw something.
    let svgs: Vec<&str> = html.split("<svg").skip(1).collect();
    assert!(svgs.len() >= ids.len(), "only {} figures", svgs.len());
    for s in &svgs {
        let body = &s[..s.find("</svg>").expect("closed svg")];
        assert!(
            body.contains("<polyline") || body.contains("<circle") || body.contains("<rect"),
            "an empty figure"
        );
    }
    assert!(
        !html.contains("NaN") && !html.contains("inf "),
        "NaN in the report"
    );
    let text = serde_json::to_string(&json).unwrap();
    assert!(!text.contains("NaN"));
    assert!(
        !html.contains("http://")
            || html
                .matches("http://")
                .all(|_| html.contains("xmlns=\"http://www.w3.org/2000/svg\"")),
        "network reference"
    );
    // Resume: the same command again trains nothing and finds the same numbers.
    let (_, json2, stdout2) = study(&out);
    assert_eq!(trained_now(&stdout2), 0, "{stdout2}");
    for (a, b) in claims.iter().zip(json2["claims"].as_array().unwrap()) {
        assert_eq!(a["numbers"], b["numbers"], "{} changed on resume", a["id"]);
    }
    // A damaged cache: an emptied curve, a truncated entry, a corrupt model.
    // Each is retrained with a warning (never trusted, never fatal), and the
    // numbers come out the same.
    let runs = out.join("report-cache/runs");
    let mut jsons: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    jsons.sort();
    let model = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .expect("a cached model");
    let text = std::fs::read_to_string(&jsons[0]).unwrap();
    let emptied = text.replacen("\"curve\":[", "\"curve\":[],\"x\":[", 1);
    assert_ne!(emptied, text);
    std::fs::write(&jsons[0], emptied).unwrap();
    let text = std::fs::read_to_string(&jsons[1]).unwrap();
    std::fs::write(&jsons[1], &text[..text.len() / 2]).unwrap();
    let mut bytes = std::fs::read(&model).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&model, bytes).unwrap();
    let o = command(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(stderr.matches("training it again").count(), 3, "{stderr}");
    assert_eq!(trained_now(&String::from_utf8_lossy(&o.stdout)), 3);
    let json3: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    for (a, b) in claims.iter().zip(json3["claims"].as_array().unwrap()) {
        assert_eq!(
            a["numbers"], b["numbers"],
            "{} changed after retraining",
            a["id"]
        );
    }
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn two_studies_on_one_cache_train_each_run_once() {
    let out = std::env::temp_dir().join(format!("dropout-lab-study2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let spawn = || {
        command(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success());
    let (na, nb) = (
        trained_now(&String::from_utf8_lossy(&a.stdout)),
        trained_now(&String::from_utf8_lossy(&b.stdout)),
    );
    // One study alone trains this many runs (some twice: for a finer curve,
    // or again with the model kept).
    let alone = out.with_extension("alone");
    let _ = std::fs::remove_dir_all(&alone);
    let o = command(&alone).output().unwrap();
    let single = trained_now(&String::from_utf8_lossy(&o.stdout));
    std::fs::remove_dir_all(&alone).ok();
    assert_eq!(
        na + nb,
        single,
        "{na} + {nb} runs trained by two studies, {single} by one"
    );
    std::fs::remove_dir_all(&out).ok();
}

/// A study lab on MNIST with its cache in `dir`.
fn mnist_lab(dir: &Path, seeds: usize) -> lab::study::Lab {
    use lab::config::Builtin;
    use lab::runner::Runner;
    use lab::study::{Budget, Lab};
    let runner = Runner::new(dir, vec![Builtin::Mnist], Box::new(())).unwrap();
    Lab::new(runner, Budget::Tiny, seeds)
}

#[test]
fn a_run_trained_again_for_its_weights_keeps_its_finer_curve() {
    use lab::config::Builtin;
    use lab::study::runs::image_run;
    let dir = tempfile::tempdir().unwrap();
    let lab = mnist_lab(dir.path(), 1);
    let cfg = image_run(Builtin::Mnist, "784-8-10", 100, 3, 0);
    // A curve of every epoch, without weights.
    assert_eq!(lab.run(&cfg, 1).unwrap().curve.len(), 3);
    // The weights are wanted: trained again (nothing stored them) …
    let (out, _, _) = lab.trained(&cfg).unwrap();
    assert_eq!(out.curve.len(), 1, "the caller gets what it asked for");
    assert_eq!(lab.runs_trained(), 2);
    // … and the stored entry still holds every epoch: both requests are served now.
    assert_eq!(lab.run(&cfg, 1).unwrap().curve.len(), 3);
    lab.trained(&cfg).unwrap();
    assert_eq!(lab.runs_trained(), 2, "nothing trained a third time");
}

#[test]
fn a_tuning_sweep_passes_over_a_learning_rate_that_diverges() {
    use lab::config::Builtin;
    use lab::study::runs::image_run;
    use lab::study::tune::tune;
    let dir = tempfile::tempdir().unwrap();
    let lab = mnist_lab(dir.path(), 2);
    let make = |lr: f32, s: u64| {
        let mut c = image_run(Builtin::Mnist, "784-8-10", 100, 2, s);
        c.data.val_size = 100;
        c.optim.lr = lr;
        c
    };
    let t = tune(&lab, "lr", &[0.05, 1e30], 0, make).unwrap();
    assert_eq!((t.chosen, t.diverged.clone()), (0.05, vec![false, true]));
    // Every value diverging is an error that says so.
    let e = tune(&lab, "lr", &[1e30], 0, make).unwrap_err();
    assert!(e.to_string().contains("learning rate"), "{e}");
    // A resumable run that diverges leaves no run directory to resume.
    let cfg = make(1e30, 1);
    assert!(lab.run_resumable(&cfg, 1, 1).is_err());
    assert!(
        !lab.run_dir(&cfg).exists(),
        "the diverged run's directory is left behind"
    );
}

#[test]
fn a_long_study_run_stopped_midway_continues_to_the_same_result() {
    use lab::config::Builtin;
    use lab::study::runs::image_run;
    use lab::train::{fit, EpochMetrics, LoopOptions, TrainObserver};

    /// Stops the process's training (by panicking) at the end of epoch 4.
    struct Stop;
    impl TrainObserver for Stop {
        fn epoch_end(&mut self, m: &EpochMetrics) {
            assert!(m.epoch < 4, "stopped");
        }
    }

    let cfg = image_run(Builtin::Mnist, "784-8-10", 200, 6, 3);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let stopped = mnist_lab(a.path(), 1);
    let dir = stopped.run_dir(&cfg);
    std::fs::create_dir_all(&dir).unwrap();
    let splits = stopped.splits(&cfg).unwrap();
    let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let lo = LoopOptions {
            run_dir: Some(&dir),
            eval_every: 1,
            observer: &mut Stop,
            checkpoint_every: 2,
            resume: false,
        };
        fit(&cfg, &splits, lo).map(|_| ())
    }));
    assert!(killed.is_err(), "the first attempt stops at epoch 4");
    assert!(dir.join("checkpoint.safetensors").exists());
    let resumed = stopped.run_resumable(&cfg, 1, 2).unwrap();
    assert!(
        !dir.exists(),
        "the run directory goes once the entry is written"
    );
    let whole = mnist_lab(b.path(), 1).run_resumable(&cfg, 1, 2).unwrap();
    assert_eq!(
        resumed.curve.len(),
        6,
        "every epoch, the ones before the stop included"
    );
    assert_eq!(
        resumed.curve, whole.curve,
        "the same weights at every epoch"
    );
    // Served from the cache now.
    assert_eq!(
        stopped.run_resumable(&cfg, 1, 2).unwrap().curve,
        whole.curve
    );
    assert_eq!(stopped.runs_trained(), 1);
}

#[test]
fn the_paper_protocol_runs_end_to_end_on_the_smoke_budget() {
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_dropout-lab"))
        .args([
            "study",
            "--tiny",
            "--paper",
            "--paper-epochs",
            "4",
            "--quiet",
            "--out",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("results.json")).unwrap())
            .unwrap();
    let arms = json["claims"][0]["numbers"]["arms"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(arms.len(), 4, "Table 2's three rows and the baseline");
    for a in &arms {
        // The final runs take as many updates as validation chose (500 → 600 steps an epoch).
        assert!(a["final_epochs"].as_u64().unwrap() >= 1);
        assert_eq!(
            a["test_error"].as_array().unwrap().len(),
            2,
            "one final run per seed"
        );
    }
    // Nothing is left in a run directory once its entry is written.
    let runs = out.path().join("report-cache/runs");
    assert!(std::fs::read_dir(runs).unwrap().all(|e| !e
        .unwrap()
        .path()
        .to_string_lossy()
        .ends_with(".run")));
}

#[test]
fn the_family_comparison_runs_end_to_end_on_the_smoke_budget() {
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_dropout-lab"))
        .args(["study", "--tiny", "--family", "--quiet", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("results.json")).unwrap())
            .unwrap();
    let claim = &json["claims"][0];
    assert_eq!(claim["verdict"], "comparison");
    let settings = claim["numbers"]["settings"].as_array().unwrap();
    // MLP on both data sets, CNN, residual MLP, RNN.
    assert_eq!(settings.len(), 5);
    let arms: Vec<usize> = settings
        .iter()
        .map(|s| s["arms"].as_array().unwrap().len())
        .collect();
    assert_eq!(arms, [6, 6, 4, 3, 3]);
    for s in settings {
        for a in s["arms"].as_array().unwrap() {
            assert_eq!(
                a["test_acc"].as_array().unwrap().len(),
                2,
                "one run per seed"
            );
        }
    }
    // Concrete dropout's learned rates at two training-set sizes, one per dense layer and seed.
    let by_n = claim["numbers"]["concrete_by_n"].as_array().unwrap();
    assert_eq!(by_n.len(), 2);
    for n in by_n {
        let per_seed = n[2].as_array().unwrap();
        assert_eq!(per_seed.len(), 2);
        for ps in per_seed {
            let ps = ps.as_array().unwrap();
            assert_eq!(ps.len(), 2, "784-16-10 has two dense layers");
            assert!(ps.iter().all(|p| (0.0..1.0).contains(&p.as_f64().unwrap())));
        }
    }
    let page = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(page.contains("DropBlock 3 × 3") && page.contains("locked (per sequence)"));
    assert!(page.contains("learned p per layer"));
    // --family with --paper is refused.
    let both = Command::new(env!("CARGO_BIN_EXE_dropout-lab"))
        .args(["study", "--family", "--paper"])
        .output()
        .unwrap();
    assert!(!both.status.success());
}
