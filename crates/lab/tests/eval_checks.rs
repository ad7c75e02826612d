//! `eval` checks what it loads: a weight stored transposed (same element
//! count), non-finite weights, a config.json edited after training (the seed
//! decides the CSV split) and a checkpoint from another architecture are
//! errors with exit code 1; a run trained with a relative `--data` path
//! evaluates from any directory; a run named twice in an ensemble (however
//! its path is written) is refused.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lab_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(common::BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run dropout-lab")
}

/// A finished run on the wine CSV, trained from the repository root with a
/// relative data path.
fn trained(root: &Path) -> PathBuf {
    trained_as(root, "run", &[])
}

/// A 3-epoch wine run in `root/name`, with `extra` flags.
fn trained_as(root: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let run = root.join(name);
    let mut args = vec![
        "train",
        "--data",
        "data/sklearn-wine/wine_data.csv",
        "--arch",
        "{in}-8-{classes}",
        "--epochs",
        "3",
        "--out",
        run.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = lab_in(&common::root(), &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run
}

fn eval(run: &Path) -> Output {
    // From a directory where the relative data path does not exist.
    lab_in(
        run.parent().unwrap(),
        &["eval", "--run", run.to_str().unwrap(), "--json"],
    )
}

fn fails_with(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected `{needle}`; stdout {} stderr {err}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Rewrite `model.safetensors`, changing tensor `name` with `f(shape, values)`.
fn rewrite(run: &Path, name: &str, f: impl Fn(&mut Vec<usize>, &mut Vec<f32>)) {
    let path = run.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let mut meta: HashMap<String, String> = header.metadata().clone().unwrap();
    // Written without a checksum (as older files are), so that the checks
    // after it — shapes, finite values, the config — are what is tested.
    meta.remove("checksum");
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (n, t) in st.tensors() {
        let mut shape = t.shape().to_vec();
        let mut v: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        if n == name {
            f(&mut shape, &mut v);
        }
        tensors.push((n, shape, v.iter().flat_map(|x| x.to_le_bytes()).collect()));
    }
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(n, s, d)| {
            let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), d)
                .unwrap();
            (n.clone(), view)
        })
        .collect();
    std::fs::write(&path, safetensors::serialize(views, &Some(meta)).unwrap()).unwrap();
}

#[test]
fn eval_works_from_another_directory_and_rejects_tampered_runs() {
    let root = tempfile::tempdir().unwrap();
    let run = trained(root.path());
    let good = eval(&run);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let backup = std::fs::read(run.join("model.safetensors")).unwrap();
    let config = std::fs::read_to_string(run.join("config.json")).unwrap();

    // Layer 1 (after the input dropout) has an 8 × 13 weight; stored as 13 × 8 it has the same size.
    rewrite(&run, "1.weight", |s, _| s.reverse());
    fails_with(&eval(&run), "the model needs F32 [8, 13]");
    std::fs::write(run.join("model.safetensors"), &backup).unwrap();

    rewrite(&run, "1.bias", |_, v| v[3] = f32::NAN);
    fails_with(&eval(&run), "holds NaN at index 3");
    std::fs::write(run.join("model.safetensors"), &backup).unwrap();

    std::fs::write(
        run.join("config.json"),
        config.replace("\"seed\": 0", "\"seed\": 7"),
    )
    .unwrap();
    assert!(config.contains("\"seed\": 0"));
    fails_with(&eval(&run), "different configuration");
    std::fs::write(
        run.join("config.json"),
        config.replace("{in}-8-{classes}", "{in}-9-{classes}"),
    )
    .unwrap();
    fails_with(&eval(&run), "the model needs F32 [9, 13]");
    std::fs::write(run.join("config.json"), &config).unwrap();

    std::fs::remove_file(run.join("model.safetensors")).unwrap();
    fails_with(&eval(&run), "no model.safetensors");
    std::fs::write(run.join("model.safetensors"), &backup).unwrap();
    assert!(eval(&run).status.success());
}

#[test]
fn an_ensemble_names_each_run_once() {
    let root = tempfile::tempdir().unwrap();
    let run = trained(root.path());
    // A copy of the run is the same net in another folder.
    let copy = root.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    for f in ["config.json", "metrics.jsonl", "model.safetensors"] {
        std::fs::copy(run.join(f), copy.join(f)).unwrap();
    }
    // Another net on the same split (another seed, the same data seed).
    trained_as(root.path(), "other", &["--seed", "1", "--data-seed", "0"]);
    // Formerly "ensemble of 3 nets", built from one net.
    for (ens, dup, first) in [
        ("run,run", "--ensemble run:", "--run run"),
        ("./run/", "--ensemble ./run/:", "--run run"),
        ("copy", "--ensemble copy:", "--run run"),
        (
            "other,sub/../other",
            "--ensemble sub/../other:",
            "--ensemble member other",
        ),
    ] {
        std::fs::create_dir_all(root.path().join("sub")).unwrap();
        let out = lab_in(root.path(), &["eval", "--run", "run", "--ensemble", ens]);
        fails_with(&out, dup);
        fails_with(&out, &format!("is the same run as {first}"));
        fails_with(&out, "an ensemble needs distinct nets");
    }
    // Distinct nets still form an ensemble.
    let out = lab_in(
        root.path(),
        &["eval", "--run", "run", "--ensemble", "other", "--json"],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ensemble of 2 nets"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
