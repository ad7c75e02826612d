//! The data layer on the real files: the embedded MNIST, the sklearn CSVs,
//! and the preparation steps (stratified subsets, label noise, splits,
//! standardisation), plus corrupt inputs.

mod common;
use common::repo;

use std::path::PathBuf;

use lab::config::{Builtin, DataConfig, Standardize};
use lab::data::csv::LabelColumn;
use lab::data::load;

#[test]
fn embedded_mnist_matches_its_readme() {
    let s = load(&DataConfig::default(), 0).unwrap();
    assert_eq!(
        (s.train.len(), s.test.len(), s.classes),
        (60_000, 10_000, 10)
    );
    assert_eq!(s.train.sample_shape, vec![1, 28, 28]);
    // Class counts from data/mnist/README.md.
    assert_eq!(
        s.train.class_counts(10),
        vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        s.test.class_counts(10),
        vec![980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert!(s.train.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
    // The same files read from the directory give the same data.
    let d = load(
        &DataConfig {
            path: Some(repo("data/mnist")),
            ..Default::default()
        },
        0,
    )
    .unwrap();
    assert_eq!(d.test.y, s.test.y);
    assert_eq!(d.test.x, s.test.x);
}

#[test]
fn fashion_mnist_matches_its_readme() {
    let s = load(
        &DataConfig {
            path: Some(repo("data/fashion-mnist")),
            ..Default::default()
        },
        0,
    )
    .unwrap();
    assert_eq!(
        (s.train.len(), s.test.len(), s.classes),
        (60_000, 10_000, 10)
    );
    assert_eq!(s.train.sample_shape, vec![1, 28, 28]);
    // 6,000 training and 1,000 test images per class (data/fashion-mnist/README.md).
    assert_eq!(s.train.class_counts(10), vec![6000; 10]);
    assert_eq!(s.test.class_counts(10), vec![1000; 10]);
    // Decompressed sizes from the README: 47,040,016 bytes = 16 + 60,000 × 784.
    assert_eq!(s.train.x.len(), 60_000 * 784);
    // The copy compiled into the binary is the same data, and not MNIST.
    let built_in = load(
        &DataConfig {
            dataset: Builtin::Fashion,
            ..Default::default()
        },
        0,
    )
    .unwrap();
    assert_eq!(
        (built_in.train.x == s.train.x, built_in.test.y == s.test.y),
        (true, true)
    );
    let mnist = load(&DataConfig::default(), 0).unwrap();
    assert_ne!(mnist.train.y, built_in.train.y);
    // Both a built-in data set and a path: refused, naming both.
    let both = DataConfig {
        dataset: Builtin::Fashion,
        path: Some(repo("data/mnist")),
        ..Default::default()
    };
    let e = load(&both, 0).unwrap_err().to_string();
    assert!(e.contains("dataset") && e.contains("--data"), "{e}");
}

#[test]
fn subsets_noise_and_validation() {
    let o = DataConfig {
        train_size: Some(1000),
        val_size: 500,
        label_noise: 0.4,
        ..Default::default()
    };
    let clean = load(
        &DataConfig {
            label_noise: 0.0,
            ..o.clone()
        },
        3,
    )
    .unwrap();
    let noisy = load(&o, 3).unwrap();
    assert_eq!((noisy.train.len(), noisy.val.len()), (1000, 500));
    // Stratified: each class within 1 of its share of 60k.
    let full = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
    for (c, &n) in clean.train.class_counts(10).iter().enumerate() {
        let want = 1000.0 * full[c] as f64 / 59_500.0;
        assert!(
            (n as f64 - want).abs() <= 2.0,
            "class {c}: {n} vs {want:.1}"
        );
    }
    // Same samples, labels flipped at rate ≈ 0.4 (binomial 99.9 %: ±3.29·sqrt(1000·0.24) ≈ 51).
    assert_eq!(clean.train.x, noisy.train.x);
    let flipped = clean
        .train
        .y
        .iter()
        .zip(&noisy.train.y)
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        (flipped as i64 - 400).abs() <= 51,
        "{flipped} labels flipped"
    );
    // Validation and test stay clean; validation is not in the training set.
    assert_eq!(clean.val.y, noisy.val.y);
    assert_eq!(clean.test.y, noisy.test.y);
    let d = 784;
    for v in noisy.val.x.chunks(d).take(20) {
        assert!(
            !noisy.train.x.chunks(d).any(|t| t == v),
            "a validation image is also in the training set"
        );
    }
}

#[test]
fn sklearn_csvs_load_and_standardize() {
    for (file, n, features, classes) in [
        ("data/sklearn-wine/wine_data.csv", 178, 13, 3),
        ("data/sklearn-breast-cancer/breast_cancer.csv", 569, 30, 2),
        ("data/sklearn-digits/digits.csv.gz", 1797, 64, 10),
    ] {
        let s = load(
            &DataConfig {
                path: Some(repo(file)),
                test_fraction: 0.25,
                ..Default::default()
            },
            0,
        )
        .unwrap();
        assert_eq!(s.train.len() + s.test.len(), n, "{file}");
        assert_eq!((s.train.dim(), s.classes), (features, classes), "{file}");
        // Standardised with training statistics: mean 0, sd 1 (or constant 0) per feature.
        for j in 0..features {
            let col: Vec<f64> = s
                .train
                .x
                .chunks(features)
                .map(|r| f64::from(r[j]))
                .collect();
            let mean = col.iter().sum::<f64>() / col.len() as f64;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / col.len() as f64;
            assert!(
                mean.abs() < 1e-4 && (var < 1e-9 || (var - 1.0).abs() < 1e-3),
                "{file} feature {j}: mean {mean} var {var}"
            );
        }
    }
    let raw = load(
        &DataConfig {
            path: Some(repo("data/sklearn-wine/wine_data.csv")),
            standardize: Standardize::Off,
            ..Default::default()
        },
        0,
    )
    .unwrap();
    assert!(
        raw.train.x.iter().any(|&v| v > 100.0),
        "off keeps raw values"
    );
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dropout-lab-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn corrupt_idx_directories_are_errors() {
    let mnist = repo("data/mnist");
    let files = [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ];
    let write_dir = |name: &str, labels: &[u8]| {
        let d = scratch(name);
        for f in &files[..3] {
            std::fs::copy(mnist.join(format!("{f}.gz")), d.join(format!("{f}.gz"))).unwrap();
        }
        std::fs::write(d.join(files[3]), labels).unwrap();
        d
    };
    let mut lying = vec![0, 0, 8, 1];
    lying.extend_from_slice(&(1u32 << 31).to_be_bytes());
    lying.extend(vec![0u8; 1000]);
    let mut short = vec![0, 0, 8, 1];
    short.extend_from_slice(&10_000u32.to_be_bytes());
    short.extend(vec![1u8; 9_000]);
    let mut count = vec![0, 0, 8, 1];
    count.extend_from_slice(&5u32.to_be_bytes());
    count.extend([1u8; 5]);
    for (name, bytes, needle) in [
        ("lying", lying, "lying"),
        ("short", short, "truncated"),
        ("empty", vec![], "empty"),
        ("count", count, "10000 images but 5 labels"),
        ("magic", vec![7u8; 100], "magic"),
    ] {
        let d = write_dir(name, &bytes);
        let e = load(
            &DataConfig {
                path: Some(d.clone()),
                ..Default::default()
            },
            0,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(needle), "{name}: {e}");
        std::fs::remove_dir_all(d).ok();
    }
    let e = load(
        &DataConfig {
            path: Some(scratch("missing")),
            ..Default::default()
        },
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("four MNIST-named IDX files"), "{e}");
    let e = load(
        &DataConfig {
            path: Some(PathBuf::from("/no/such/path")),
            ..Default::default()
        },
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no such file"), "{e}");
}

#[test]
fn bad_options_are_errors() {
    let wine = Some(repo("data/sklearn-wine/wine_data.csv"));
    for (o, needle) in [
        (
            DataConfig {
                label_noise: 1.0,
                ..Default::default()
            },
            "label_noise",
        ),
        (
            DataConfig {
                train_size: Some(70_000),
                ..Default::default()
            },
            "train_size",
        ),
        (
            DataConfig {
                val_size: 60_000,
                ..Default::default()
            },
            "val_size",
        ),
        (
            DataConfig {
                path: wine.clone(),
                test_fraction: 1.5,
                ..Default::default()
            },
            "test_fraction",
        ),
        (
            DataConfig {
                path: wine.clone(),
                label_column: LabelColumn::Index(99),
                ..Default::default()
            },
            "label_column",
        ),
        (
            DataConfig {
                path: wine,
                label_column: LabelColumn::Name("colour".into()),
                ..Default::default()
            },
            "no header",
        ),
    ] {
        let e = load(&o, 0).unwrap_err().to_string();
        assert!(e.contains(needle), "{needle}: {e}");
    }
}

/// The shipped Shakespeare text is the one its README describes: both
/// SHA-256 sums of `data/shakespeare/SHA256SUMS`, its length and its alphabet.
#[test]
fn shakespeare_text_matches_its_checksums() {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/shakespeare");
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let want = |name: &str| {
        sums.lines()
            .find_map(|l| l.strip_suffix(name).map(|h| h.trim().to_string()))
            .unwrap_or_else(|| panic!("{name} in SHA256SUMS"))
    };
    let hex = |b: &[u8]| format!("{:x}", Sha256::digest(b));
    let gz = std::fs::read(dir.join("shakespeare.txt.gz")).unwrap();
    assert_eq!(hex(&gz), want("  shakespeare.txt.gz"));
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut text)
        .unwrap();
    assert_eq!(hex(&text), want("  shakespeare.txt"));
    assert_eq!(text.len(), 5_057_198);
    assert!(text.iter().all(|&b| b.is_ascii() && b != 0 && b != b'\r'));
    let mut alphabet = text.clone();
    alphabet.sort_unstable();
    alphabet.dedup();
    assert_eq!(alphabet.len(), 84);
}
