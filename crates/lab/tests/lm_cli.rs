//! The character-level GPT through the CLI: bad text files and bad `--arch`
//! strings are clear errors (no panic), a killed run resumes to the
//! uninterrupted result bit for bit, the large size trains one step, and a
//! batch over the memory bound is refused before anything is allocated.
//! Tiny sizes throughout, on a 60,000-character excerpt of the shipped text.

mod common;

use common::{lab as run, metrics, BIN};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The first `n` characters of the shipped Shakespeare, as a file in `dir`.
fn excerpt(dir: &Path, n: usize) -> PathBuf {
    let gz = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/shakespeare/shakespeare.txt.gz"),
    )
    .unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .unwrap();
    let p = dir.join("excerpt.txt");
    std::fs::write(&p, &text[..n]).unwrap();
    p
}

fn fails_with(out: &Output, words: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected a failure: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for w in words {
        assert!(err.contains(w), "`{w}` not in: {err}");
    }
}

const TINY: [&str; 8] = [
    "--arch",
    "gpt-l2-h2-d16-t16",
    "--batch",
    "4",
    "--epoch-iters",
    "5",
    "--epochs",
    "2",
];

#[test]
fn bad_texts_and_architectures_are_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str, bytes: &[u8]| {
        let f = d.path().join(name);
        std::fs::write(&f, bytes).unwrap();
        f.to_str().unwrap().to_string()
    };
    let train = |data: &str, extra: &[&str]| {
        let mut a = vec!["train", "--data", data];
        a.extend_from_slice(&TINY);
        a.extend_from_slice(extra);
        run(&a)
    };
    fails_with(
        &train(&p("empty.txt", b""), &[]),
        &["empty.txt", "is empty"],
    );
    fails_with(
        &train(&p("nul.txt", b"abc\0def"), &[]),
        &["NUL byte at offset 3", "binary"],
    );
    fails_with(
        &train(&p("latin1.txt", b"caf\xe9 au lait"), &[]),
        &["not UTF-8", "offset 3"],
    );
    fails_with(
        &train(
            &p("short.txt", "to be or not to be ".repeat(10).as_bytes()),
            &[],
        ),
        &["validation block", "context 16", "shorter context"],
    );
    let csv = p("table.csv", b"a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n");
    fails_with(&train(&csv, &[]), &["not a text", "character-level GPT"]);
    let text = excerpt(d.path(), 60_000);
    let text = text.to_str().unwrap();
    fails_with(
        &run(&["train", "--data", text, "--arch", "{in}-32-{classes}"]),
        &["is a text", "--arch gpt"],
    );
    for (arch, words) in [
        ("gpt-x4", &["cannot read `x4`"][..]),
        ("gpt-h3-d128", &["not a multiple of the 3 heads"][..]),
        ("gpt-l4-l2", &["repeats"][..]),
        ("vit-t64", &["cannot read `t64`"][..]),
        ("gpt-l+4", &["cannot read `l+4`"][..]),
        ("gpt-t99999999999999999999", &["cannot read", "1048576"][..]),
    ] {
        fails_with(&run(&["train", "--data", text, "--arch", arch]), words);
    }
    // Settings a Transformer would record and not use, and bad loop settings.
    for (extra, words) in [
        (&["--norm", "ln"][..], &["norm", "pre-LN already"][..]),
        (
            &["--dropconnect", "0.2"][..],
            &["dropconnect", "does not apply"][..],
        ),
        (&["--act", "relu"][..], &["act", "GELU"][..]),
        (
            &["--epoch-iters", "0"][..],
            &["--epoch-iters 0", "at least 1"][..],
        ),
        (&["--clip-grad", "-1"][..], &["--clip-grad -1", "≥ 0"][..]),
    ] {
        let mut a = vec!["train", "--data", text, "--arch", "gpt-l1-h2-d8-t8"];
        a.extend_from_slice(extra);
        fails_with(&run(&a), words);
    }
    // The memory bound: refused before anything is allocated.
    fails_with(
        &run(&[
            "train",
            "--data",
            text,
            "--arch",
            "gpt-l6-h6-d384-t256",
            "--batch",
            "100000",
        ]),
        &["batch of 100000"],
    );
}

#[test]
fn the_large_gpt_trains_one_step() {
    let d = tempfile::tempdir().unwrap();
    let text = excerpt(d.path(), 60_000);
    let out = d.path().join("baby");
    let o = run(&[
        "train",
        "--data",
        text.to_str().unwrap(),
        "--arch",
        "gpt-l6-h6-d384-t256",
        "--batch",
        "2",
        "--epochs",
        "1",
        "--epoch-iters",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("model.safetensors").exists() && out.join("vocab.json").exists());
}

#[test]
fn a_killed_gpt_run_resumes_bit_for_bit() {
    let d = tempfile::tempdir().unwrap();
    let text = excerpt(d.path(), 60_000);
    let text = text.to_str().unwrap();
    let args = |out: &Path| -> Vec<String> {
        [
            "train",
            "--data",
            text,
            "--arch",
            "gpt-l2-h2-d32-t32",
            "--batch",
            "8",
            "--epoch-iters",
            "30",
            "--epochs",
            "6",
            "--dropout",
            "0.1",
            "--drop-head",
            "0.1",
            "--checkpoint-every",
            "1",
            "--json",
            "--out",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([out.to_str().unwrap().to_string()])
        .collect()
    };
    let reference = d.path().join("reference");
    let o = Command::new(BIN).args(args(&reference)).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let killed = d.path().join("killed");
    let mut child = Command::new(BIN)
        .args(args(&killed))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once it has written a checkpoint (and before it finishes).
    let t0 = Instant::now();
    while !killed.join("checkpoint.safetensors").exists() && t0.elapsed() < Duration::from_secs(120)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    let finished = child.try_wait().unwrap().is_some();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!finished, "the run finished before it could be killed");
    assert!(!killed.join("model.safetensors").exists());
    let o = run(&["train", "--resume", killed.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(killed.join("model.safetensors")).unwrap(),
        std::fs::read(reference.join("model.safetensors")).unwrap(),
        "the resumed model differs"
    );
    assert_eq!(metrics(&killed), metrics(&reference));
}

#[test]
fn eval_and_sample_a_trained_gpt() {
    let d = tempfile::tempdir().unwrap();
    let text = excerpt(d.path(), 60_000);
    let out = d.path().join("gpt");
    let o = out.to_str().unwrap();
    let mut a = vec![
        "train",
        "--data",
        text.to_str().unwrap(),
        "--dropout",
        "0.1",
        "--out",
        o,
    ];
    a.extend_from_slice(&TINY);
    let t = run(&a);
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    let e = run(&["eval", "--run", o, "--mc", "2", "--json", "--quiet"]);
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    let v: serde_json::Value = serde_json::from_slice(&e.stdout).unwrap();
    let (loss, bits) = (
        v["test"]["loss"].as_f64().unwrap(),
        v["test"]["bits"].as_f64().unwrap(),
    );
    assert!((bits - loss / std::f64::consts::LN_2).abs() < 1e-9);
    // 60,000 characters: a test block of 3,000, in windows of 16 (the last 7 left out).
    assert_eq!(v["test"]["characters"], 2992);
    let mi = v["mc"]["mutual_information"].as_f64().unwrap();
    assert!(mi > 0.0 && mi < v["mc"]["entropy"].as_f64().unwrap(), "{v}");
    fails_with(
        &run(&["eval", "--run", o, "--ood", "fashion"]),
        &["--ood is for classifiers"],
    );
    fails_with(
        &run(&["predict", "--run", o, "--input", text.to_str().unwrap()]),
        &["is a language model", "dropout-lab sample"],
    );
    let s = |args: &[&str]| {
        let mut full = vec!["sample", "--run", o, "--chars", "40"];
        full.extend_from_slice(args);
        run(&full)
    };
    let a1 = s(&["--prompt", "KING", "--seed", "5"]);
    assert!(
        a1.status.success(),
        "{}",
        String::from_utf8_lossy(&a1.stderr)
    );
    let text1 = String::from_utf8(a1.stdout.clone()).unwrap();
    assert!(
        text1.starts_with("KING") && text1.trim_end().chars().count() >= 40,
        "{text1}"
    );
    assert_eq!(
        s(&["--prompt", "KING", "--seed", "5"]).stdout,
        a1.stdout,
        "seeded"
    );
    fails_with(
        &s(&["--prompt", "KING\u{263A}"]),
        &["position 4", "never occurs"],
    );
    fails_with(&s(&["--temperature", "0"]), &["--temperature 0"]);
}

#[test]
fn a_vit_trains_and_refuses_consistent_mc_masks() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("vit");
    let o = out.to_str().unwrap();
    let t = run(&[
        "train",
        "--arch",
        "vit-p7-l1-h2-d16",
        "--train-size",
        "200",
        "--val-size",
        "100",
        "--epochs",
        "1",
        "--batch",
        "50",
        "--dropout",
        "0.1",
        "--out",
        o,
    ]);
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    let e = run(&["eval", "--run", o, "--mc", "2", "--quiet"]);
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    fails_with(
        &run(&["eval", "--run", o, "--mc", "2", "--mc-consistent"]),
        &["--mc-consistent is not available for a Transformer"],
    );
}
