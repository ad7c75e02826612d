//! `dropout-lab predict`: new inputs in each format give the predictions
//! `eval` scores (the same net, the same preparation), and bad inputs are
//! clear errors.

mod common;
use common::{lab, repo_arg};
use npyz::WriterBuilder as _;

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The `predicted` column of a predict CSV.
fn predicted(csv: &str) -> Vec<u32> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn predictions_on_the_test_images_score_what_eval_scores() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("r");
    let r = run.to_str().unwrap();
    ok(&lab(&[
        "train",
        "--train-size",
        "600",
        "--val-size",
        "100",
        "--arch",
        "784-32-10",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        r,
    ]));
    let eval: serde_json::Value =
        serde_json::from_str(&ok(&lab(&["eval", "--run", r, "--json"]))).unwrap();
    let images = repo_arg("data/mnist/t10k-images-idx3-ubyte.gz");
    let out = dir.path().join("p.csv");
    ok(&lab(&[
        "predict",
        "--run",
        r,
        "--input",
        &images,
        "--out",
        out.to_str().unwrap(),
    ]));
    let csv = std::fs::read_to_string(&out).unwrap();
    let labels =
        lab::data::idx::read(&common::repo("data/mnist/t10k-labels-idx1-ubyte.gz"), 1).unwrap();
    let p = predicted(&csv);
    assert_eq!(p.len(), 10_000);
    let right = p
        .iter()
        .zip(&labels.data)
        .filter(|(a, b)| **a == u32::from(**b))
        .count();
    assert_eq!(right as f64 / 1e4, eval["test"]["acc"].as_f64().unwrap());
    // The same images as a uint8 .npy array give the same predictions.
    let img =
        lab::data::idx::read(&common::repo("data/mnist/t10k-images-idx3-ubyte.gz"), 3).unwrap();
    let npy = dir.path().join("x.npy");
    let mut bytes = Vec::new();
    {
        let mut w = npyz::WriteOptions::<u8>::new()
            .default_dtype()
            .shape(&[50, 28, 28])
            .writer(&mut bytes)
            .begin_nd()
            .unwrap();
        w.extend(img.data[..50 * 784].iter().copied()).unwrap();
        w.finish().unwrap();
    }
    std::fs::write(&npy, bytes).unwrap();
    let from_npy = ok(&lab(&[
        "predict",
        "--run",
        r,
        "--input",
        npy.to_str().unwrap(),
    ]));
    assert_eq!(predicted(&from_npy), p[..50]);
    assert_eq!(from_npy.lines().nth(3), csv.lines().nth(3));
    // MC: mean probabilities with entropy and mutual information.
    let mc = ok(&lab(&[
        "predict",
        "--run",
        r,
        "--input",
        npy.to_str().unwrap(),
        "--mc",
        "8",
    ]));
    assert!(mc.starts_with("row,predicted,confidence,p_0"));
    assert!(mc
        .lines()
        .next()
        .unwrap()
        .ends_with("entropy,mutual_information"));
    // A CSV given to an image model is refused with the sizes.
    let bad = lab(&[
        "predict",
        "--run",
        r,
        "--input",
        &repo_arg("data/sklearn-wine/wine_data.csv"),
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("784 features"));
}

#[test]
fn a_csv_run_predicts_rows_with_or_without_their_label() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("r");
    let r = run.to_str().unwrap();
    let wine = repo_arg("data/sklearn-wine/wine_data.csv");
    ok(&lab(&[
        "train",
        "--data",
        &wine,
        "--arch",
        "{in}-16-{classes}",
        "--epochs",
        "5",
        "--quiet",
        "--out",
        r,
    ]));
    let with_label = ok(&lab(&["predict", "--run", r, "--input", &wine]));
    assert_eq!(with_label.lines().count(), 179);
    let text = std::fs::read_to_string(&wine).unwrap();
    let features: String = text
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n")
        .collect();
    let f = dir.path().join("features.csv");
    std::fs::write(&f, features).unwrap();
    let without = ok(&lab(&[
        "predict",
        "--run",
        r,
        "--input",
        f.to_str().unwrap(),
    ]));
    assert_eq!(without, with_label);
}
