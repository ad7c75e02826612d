//! Bad or unlucky inputs, as a new user types them: every case exits with
//! code 1 (or clap's 2 for malformed flags), prints an error that says what
//! was wrong (the expected fragment), never panics, and never aborts on an
//! allocation — each runs with its address space limited to 4 GiB
//! (`ulimit -v`), so an input that makes the program reserve more fails the
//! test instead of passing by luck on a large machine.

mod common;
use common::{repo_arg, BIN};

use std::path::Path;
use std::process::Command;

/// Run `dropout-lab args` under a 4 GiB address-space limit; (code, stderr).
fn run(args: &[String], cwd: &Path) -> (Option<i32>, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 4194304 && exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run dropout-lab");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

/// An IDX file of unsigned bytes.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

/// An MNIST-layout directory with `n` train and test images of `h × w`
/// pixels and the given labels.
fn mnist_dir(root: &Path, name: &str, h: u32, w: u32, train_labels: &[u8]) -> String {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let n = train_labels.len() as u32;
    let px = vec![7u8; (n * h * w) as usize];
    write(&dir, "train-images-idx3-ubyte", &idx(&[n, h, w], &px));
    write(&dir, "train-labels-idx1-ubyte", &idx(&[n], train_labels));
    write(&dir, "t10k-images-idx3-ubyte", &idx(&[n, h, w], &px));
    let test: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
    write(&dir, "t10k-labels-idx1-ubyte", &idx(&[n], &test));
    dir.to_string_lossy().into_owned()
}

/// `train` on `data` (default: the embedded MNIST, its own arch), with
/// `--epochs 1` and, for files, `--arch {in}-4-{classes}` unless `extra`
/// gives them.
fn train(data: Option<&str>, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec!["train".into()];
    if !extra.contains(&"--epochs") {
        v.extend(["--epochs", "1"].map(String::from));
    }
    if let Some(path) = data {
        v.extend(["--data", path].map(String::from));
        if !extra.contains(&"--arch") {
            v.extend(["--arch", "{in}-4-{classes}"].map(String::from));
        }
    }
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

#[test]
fn bad_inputs_are_clear_errors_within_bounded_memory() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let wine = repo_arg("data/sklearn-wine/wine_data.csv");
    let csv = |name: &str, text: &str| write(r, name, text.as_bytes());
    let good_rows = "1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,10,0\n11,12,1\n";
    // A finished run, for the run-directory cases.
    let done = r.join("done").to_string_lossy().into_owned();
    let (code, err) = run(
        &[
            "train",
            "--data",
            &wine,
            "--arch",
            "{in}-4-{classes}",
            "--epochs",
            "1",
            "--out",
            &done,
        ]
        .map(String::from),
        r,
    );
    assert_eq!(code, Some(0), "{err}");
    let a_file = csv("plain.txt", "x");
    let fine = |extra: &[&str]| train(Some(&wine), extra);
    let with_data = |path: &str, extra: &[&str]| train(Some(path), extra);
    let mnist = |extra: &[&str]| train(None, extra);
    let zero_px = mnist_dir(r, "zero", 0, 28, &[0, 1, 0, 1]);
    let stray = mnist_dir(r, "stray", 2, 2, &[0, 1, 255, 1, 0, 1]);
    let truncated = r.join("truncated");
    std::fs::create_dir_all(&truncated).unwrap();
    for (i, name) in [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ]
    .iter()
    .enumerate()
    {
        let bytes = if i == 0 {
            idx(&[1 << 30, 28, 28], &[1, 2, 3])
        } else {
            idx(&[2], &[0, 1])
        };
        write(&truncated, name, &bytes);
    }
    let truncated = truncated.to_string_lossy().into_owned();
    let bad_magic = mnist_dir(r, "magic", 2, 2, &[0, 1]);
    write(
        Path::new(&bad_magic),
        "train-labels-idx1-ubyte",
        b"\x01\x02\x08\x01\0\0\0\x02\0\x01",
    );
    let empty_dir = r.join("empty-dir");
    std::fs::create_dir_all(&empty_dir).unwrap();
    let empty_dir = empty_dir.to_string_lossy().into_owned();

    let cases: Vec<(Vec<String>, &str)> = vec![
        // Optimisation settings.
        (fine(&["--lr", "0"]), "--lr"),
        (fine(&["--lr", "nan"]), "--lr"),
        (fine(&["--lr", "-1"]), "--lr"),
        (fine(&["--lr", "inf"]), "--lr"),
        (fine(&["--momentum", "5"]), "--momentum 5"),
        (fine(&["--momentum", "1"]), "--momentum 1"),
        (fine(&["--momentum", "-0.1"]), "--momentum"),
        (fine(&["--schedule", "exp:-1"]), "exp:-1"),
        (fine(&["--schedule", "step:-3:0.5"]), "step:-3:0.5"),
        (fine(&["--schedule", "step:3:0"]), "step:3:0"),
        (fine(&["--schedule", "step:3:2"]), "step:3:2"),
        (fine(&["--schedule", "bogus"]), "bogus"),
        (fine(&["--weight-decay", "-1"]), "--weight-decay"),
        (fine(&["--max-norm", "-1"]), "--max-norm"),
        (fine(&["--max-norm", "nan"]), "--max-norm"),
        (fine(&["--optimizer", "rmsprop"]), "rmsprop"),
        // Dropout and model settings.
        (fine(&["--dropout", "1.5"]), "--dropout 1.5"),
        (fine(&["--dropout", "-0.1"]), "--dropout"),
        (fine(&["--input-dropout", "nan"]), "--input-dropout"),
        (fine(&["--conv-dropout", "2"]), "--conv-dropout"),
        (fine(&["--epochs", "0"]), "--epochs"),
        (fine(&["--epochs", "99999999999", "--batch", "1"]), "2^32"),
        (fine(&["--batch", "0"]), "--batch"),
        (fine(&["--threads", "0"]), "--threads"),
        (fine(&["--norm", "group"]), "group"),
        // Data settings.
        (mnist(&["--test-fraction", "7"]), "--test-fraction"),
        (fine(&["--test-fraction", "0"]), "--test-fraction"),
        (fine(&["--test-fraction", "1"]), "--test-fraction"),
        (fine(&["--label-noise", "1"]), "--label-noise"),
        (fine(&["--label-noise", "-0.5"]), "--label-noise"),
        (fine(&["--train-size", "0"]), "--train-size"),
        (fine(&["--train-size", "100000"]), "--train-size"),
        (fine(&["--val-size", "100000"]), "--val-size"),
        (fine(&["--label-column", "99"]), "--label-column"),
        (fine(&["--label-column", "nosuch"]), "no header"),
        // Architectures, including absurd sizes (checked before allocating).
        (mnist(&["--arch", "784-99999999999999999-10"]), "parameters"),
        (mnist(&["--arch", "784-1000000000-10"]), "parameters"),
        (mnist(&["--arch", "c100000-10"]), "parameters"),
        (mnist(&["--arch", "c512-c512-10"]), "MB of buffers"),
        (mnist(&["--batch", "100000000"]), "MB of buffers"),
        (mnist(&["--arch", "784-abc-10"]), "cannot read `abc`"),
        (mnist(&["--arch", "784-0-10"]), "cannot read `0`"),
        (mnist(&["--arch", "100-10"]), "784 features"),
        (mnist(&["--arch", "784-10-5"]), "10 classes"),
        (mnist(&["--arch", "784"]), "at least an input size"),
        (mnist(&["--arch", "c16-p"]), "number of classes"),
        (mnist(&["--arch", "c16-64-p-10"]), "before the dense"),
        (mnist(&["--arch", "c16-10", "--norm", "ln"]), "LayerNorm"),
        (with_data(&wine, &["--arch", "c8-{classes}"]), "images"),
        // CSV files.
        (with_data(&csv("empty.csv", ""), &[]), "empty"),
        (
            with_data(&csv("header.csv", "a,b,c\n"), &[]),
            "no data rows",
        ),
        (
            with_data(
                &csv("big-label.csv", &format!("{good_rows}1,2,1000000\n")),
                &[],
            ),
            "no training sample",
        ),
        (
            with_data(
                &csv("u32-label.csv", &format!("{good_rows}1,2,4294967295\n")),
                &[],
            ),
            "no training sample",
        ),
        (
            with_data(&csv("e9-label.csv", &format!("{good_rows}1,2,1e9\n")), &[]),
            "no training sample",
        ),
        (
            with_data(
                &csv("huge-label.csv", &format!("{good_rows}1,2,1e12\n")),
                &[],
            ),
            "not a class index",
        ),
        (
            with_data(&csv("neg-label.csv", &format!("{good_rows}1,2,-1\n")), &[]),
            "not a class index",
        ),
        (
            with_data(
                &csv("frac-label.csv", &format!("{good_rows}1,2,0.5\n")),
                &[],
            ),
            "not a class index",
        ),
        (
            with_data(&csv("f32.csv", &format!("{good_rows}1,1e39,0\n")), &[]),
            "f32 range",
        ),
        (
            with_data(&csv("nan.csv", &format!("{good_rows}1,NaN,0\n")), &[]),
            "not a finite number",
        ),
        (
            with_data(&csv("inf.csv", &format!("{good_rows}inf,2,0\n")), &[]),
            "not a finite number",
        ),
        (
            with_data(&csv("ragged.csv", &format!("{good_rows}1,0\n")), &[]),
            "2 fields, expected 3",
        ),
        (
            with_data(&csv("word.csv", &format!("{good_rows}1,two,0\n")), &[]),
            "`two` is not a number",
        ),
        (
            with_data(&csv("typo.csv", &format!("1,2..5,0\n{good_rows}")), &[]),
            "--header yes or --header no",
        ),
        (
            with_data(
                &csv("dup.csv", &format!("y,b,y\n{good_rows}")),
                &["--label-column", "y"],
            ),
            "names 2 columns",
        ),
        (
            with_data(&csv("nohead.csv", good_rows), &["--label-column", "y"]),
            "no header",
        ),
        (
            with_data(
                &csv("width.csv", &format!("a,b\n{good_rows}")),
                &["--header", "yes"],
            ),
            "2 names",
        ),
        (
            with_data(&csv("one-class.csv", "1,2,0\n3,4,0\n5,6,0\n"), &[]),
            "too little data",
        ),
        (
            with_data(&csv("one-row.csv", "1,2,0\n"), &[]),
            "too little data",
        ),
        (
            with_data(&csv("one-col.csv", "0\n1\n"), &[]),
            "at least one feature",
        ),
        (
            with_data(&csv("binary.csv", "\u{0}\u{1}\u{2}\u{ff}"), &[]),
            "no data rows",
        ),
        (
            with_data(&write(r, "bad.gz", &[0x1f, 0x8b, 8, 0, 1, 2, 3]), &[]),
            "corrupt gzip",
        ),
        (
            with_data(&r.join("missing.csv").to_string_lossy(), &[]),
            "missing.csv",
        ),
        // IDX directories.
        (with_data(&empty_dir, &[]), "four MNIST-named IDX files"),
        (
            with_data(&zero_px, &["--standardize", "on", "--arch", "c4-10"]),
            "0×28 pixels",
        ),
        (
            with_data(&stray, &["--arch", "4-8-256"]),
            "no training sample",
        ),
        (with_data(&truncated, &[]), "truncated or lying header"),
        (with_data(&bad_magic, &[]), "not an IDX file"),
        // Run directories.
        (fine(&["--out", &done]), "--force"),
        (fine(&["--out", &a_file, "--force"]), "not a directory"),
        (
            ["train", "--resume", &r.join("nope").to_string_lossy()]
                .map(String::from)
                .to_vec(),
            "not a run directory",
        ),
        (
            ["train", "--resume", &done, "--lr", "0.1"]
                .map(String::from)
                .to_vec(),
            "drop the other run flags",
        ),
        (["train", "--force"].map(String::from).to_vec(), "--out"),
        (
            ["train", "--resume", &done, "--out", &done]
                .map(String::from)
                .to_vec(),
            "cannot be used with",
        ),
        // eval.
        (
            ["eval", "--run", &r.join("nope").to_string_lossy()]
                .map(String::from)
                .to_vec(),
            "not a run directory",
        ),
        (
            ["eval", "--run", &empty_dir].map(String::from).to_vec(),
            "not a run directory",
        ),
        (
            ["eval", "--run", &done, "--threads", "0"]
                .map(String::from)
                .to_vec(),
            "threads",
        ),
        // Benchmarks.
        (
            ["bench", "kernel", "--sizes", "4G"]
                .map(String::from)
                .to_vec(),
            "at most 128M",
        ),
        (
            ["bench", "kernel", "--sizes", "0"]
                .map(String::from)
                .to_vec(),
            "not a size",
        ),
        (
            ["bench", "kernel", "--sizes", "99999999999999999999"]
                .map(String::from)
                .to_vec(),
            "not a size",
        ),
        (
            ["bench", "train", "--batch", "0"]
                .map(String::from)
                .to_vec(),
            "--batch",
        ),
        (
            ["bench", "train", "--batch", "100000000"]
                .map(String::from)
                .to_vec(),
            "MB of buffers",
        ),
        (
            ["bench", "train", "--p", "2"].map(String::from).to_vec(),
            "--p 2",
        ),
        (
            ["bench", "train", "--arch", "784-99999999999-10"]
                .map(String::from)
                .to_vec(),
            "parameters",
        ),
    ];
    let mut failures = Vec::new();
    for (args, needle) in &cases {
        let (code, err) = run(args, r);
        let ok = matches!(code, Some(1) | Some(2))
            && err.contains(needle)
            && !err.contains("panicked")
            && !err.contains("memory allocation");
        if !ok {
            failures.push(format!(
                "{args:?}\n  exit {code:?}, expected `{needle}` in:\n  {err}"
            ));
        }
    }
    assert!(cases.len() >= 90, "{} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
