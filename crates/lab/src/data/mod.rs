//! Data: loading (IDX, CSV, the embedded MNIST) and preparation (splits,
//! stratified subsets, label noise, standardisation).
//!
//! Preparation, in order, all seeded:
//! 1. the training file is shuffled; `--val-size` samples are taken from it,
//!    stratified, as the validation set;
//! 2. `--train-size N` keeps a stratified subset of N of the rest (class
//!    proportions kept by largest remainders);
//! 3. `--label-noise F` replaces each training label, with probability F, by
//!    a uniformly drawn *other* class (symmetric noise); val and test stay clean;
//! 4. features are scaled: IDX pixels to [0, 1]; with standardisation each
//!    feature becomes `(x − μ)/σ` with μ, σ from the training set (σ = 0 → 1).

pub mod csv;
pub mod idx;

use std::path::{Path, PathBuf};

use engine::rng::Rng;
use thiserror::Error;

use self::csv::LabelColumn;

/// What went wrong with the data.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be read.
    #[error("{}: {msg}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        msg: String,
    },
    /// The file's contents are not valid.
    #[error("{}: {msg}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// The options do not fit the data.
    #[error("{0}")]
    Arg(String),
}

/// Samples with labels.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    /// Features, row-major `len × dim`.
    pub x: Vec<f32>,
    /// Labels.
    pub y: Vec<u32>,
    /// Shape of one sample (`[1, 28, 28]` for MNIST, `[d]` for tables).
    pub sample_shape: Vec<usize>,
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Features per sample.
    pub fn dim(&self) -> usize {
        self.sample_shape.iter().product()
    }

    /// The samples at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        let d = self.dim();
        let mut x = Vec::with_capacity(idx.len() * d);
        for &i in idx {
            x.extend_from_slice(&self.x[i * d..(i + 1) * d]);
        }
        Dataset {
            x,
            y: idx.iter().map(|&i| self.y[i]).collect(),
            sample_shape: self.sample_shape.clone(),
        }
    }

    /// Count of each class `0..classes`.
    pub fn class_counts(&self, classes: usize) -> Vec<usize> {
        let mut c = vec![0; classes];
        for &l in &self.y {
            if let Some(v) = c.get_mut(l as usize) {
                *v += 1;
            }
        }
        c
    }
}

/// Standardisation policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standardize {
    /// CSV data yes, IDX images no (they are scaled to [0, 1]).
    Auto,
    /// Always.
    On,
    /// Never (IDX pixels are still scaled to [0, 1]).
    Off,
}

/// Where the data comes from and how to prepare it.
#[derive(Clone, Debug)]
pub struct DataOptions {
    /// A directory of MNIST-named IDX files or a CSV file; `None` = embedded MNIST.
    pub path: Option<PathBuf>,
    /// Label column of a CSV.
    pub label_column: LabelColumn,
    /// Fraction of a CSV held out as the test set.
    pub test_fraction: f64,
    /// Training samples to keep (stratified), all if `None`.
    pub train_size: Option<usize>,
    /// Validation samples taken from the training file.
    pub val_size: usize,
    /// Symmetric label-noise rate on the training labels.
    pub label_noise: f64,
    /// Standardisation.
    pub standardize: Standardize,
    /// Seed of every random choice above.
    pub seed: u64,
}

impl Default for DataOptions {
    fn default() -> Self {
        Self {
            path: None,
            label_column: LabelColumn::Last,
            test_fraction: 0.2,
            train_size: None,
            val_size: 0,
            label_noise: 0.0,
            standardize: Standardize::Auto,
            seed: 0,
        }
    }
}

/// Prepared train / validation / test sets.
#[derive(Clone, Debug)]
pub struct Splits {
    /// Training set (possibly subset and noised).
    pub train: Dataset,
    /// Validation set (empty if `val_size` is 0).
    pub val: Dataset,
    /// Test set.
    pub test: Dataset,
    /// Number of classes (max label + 1).
    pub classes: usize,
    /// Where the data came from.
    pub source: String,
}

const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// The MNIST files shipped in `data/mnist`, compiled into the binary.
static EMBEDDED: [&[u8]; 4] = [
    include_bytes!("../../../../data/mnist/train-images-idx3-ubyte.gz"),
    include_bytes!("../../../../data/mnist/train-labels-idx1-ubyte.gz"),
    include_bytes!("../../../../data/mnist/t10k-images-idx3-ubyte.gz"),
    include_bytes!("../../../../data/mnist/t10k-labels-idx1-ubyte.gz"),
];

fn gunzip(bytes: &[u8], name: &str) -> Result<Vec<u8>, DataError> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| DataError::Format {
            path: PathBuf::from(name),
            msg: e.to_string(),
        })?;
    Ok(out)
}

/// Images and labels from four IDX byte arrays.
fn idx_pair(images: &idx::Idx, labels: &idx::Idx, path: &Path) -> Result<Dataset, DataError> {
    if images.dims[0] != labels.dims[0] {
        return Err(DataError::Format {
            path: path.to_path_buf(),
            msg: format!("{} images but {} labels", images.dims[0], labels.dims[0]),
        });
    }
    if images.dims[0] == 0 {
        return Err(DataError::Format {
            path: path.to_path_buf(),
            msg: "no samples".into(),
        });
    }
    Ok(Dataset {
        x: images.data.iter().map(|&b| f32::from(b) / 255.0).collect(),
        y: labels.data.iter().map(|&b| u32::from(b)).collect(),
        sample_shape: vec![1, images.dims[1], images.dims[2]],
    })
}

/// Train and test sets of an MNIST-layout directory (or the embedded copy).
fn load_idx(dir: Option<&Path>) -> Result<(Dataset, Dataset, String), DataError> {
    let mut parsed = Vec::new();
    let base = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("data/mnist (embedded)"));
    for (i, name) in MNIST_FILES.iter().enumerate() {
        let ndims = if name.contains("images") { 3 } else { 1 };
        let (bytes, path) = match dir {
            None => (gunzip(EMBEDDED[i], name)?, base.join(format!("{name}.gz"))),
            Some(d) => {
                let gz = d.join(format!("{name}.gz"));
                let raw = d.join(name);
                let path = if gz.exists() {
                    gz
                } else if raw.exists() {
                    raw
                } else {
                    return Err(DataError::Io {
                        path: d.to_path_buf(),
                        msg: format!("no `{name}` or `{name}.gz` here: a data directory needs the four MNIST-named IDX files"),
                    });
                };
                (idx::read_maybe_gz(&path)?, path)
            }
        };
        parsed.push((idx::parse(&bytes, ndims, &path)?, path));
    }
    let train = idx_pair(&parsed[0].0, &parsed[1].0, &parsed[1].1)?;
    let test = idx_pair(&parsed[2].0, &parsed[3].0, &parsed[3].1)?;
    if train.sample_shape != test.sample_shape {
        return Err(DataError::Format {
            path: base,
            msg: "train and test images differ in size".into(),
        });
    }
    Ok((train, test, base.display().to_string()))
}

/// Shuffled indices split into (first `k` stratified, rest), both in shuffled order.
fn stratified_take(y: &[u32], idx: &[usize], k: usize, classes: usize) -> (Vec<usize>, Vec<usize>) {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for &i in idx {
        by_class[y[i] as usize].push(i);
    }
    let n = idx.len() as f64;
    // Largest-remainder quotas summing to k.
    let exact: Vec<f64> = by_class
        .iter()
        .map(|c| k as f64 * c.len() as f64 / n)
        .collect();
    let mut quota: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..classes).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    let mut left = k - quota.iter().sum::<usize>();
    for &c in order.iter().cycle().take(classes * 2) {
        if left == 0 {
            break;
        }
        if quota[c] < by_class[c].len() {
            quota[c] += 1;
            left -= 1;
        }
    }
    let mut take = vec![false; y.len()];
    for (c, members) in by_class.iter().enumerate() {
        for &i in &members[..quota[c].min(members.len())] {
            take[i] = true;
        }
    }
    idx.iter().partition(|&&i| take[i])
}

/// The data as read from disk, before any preparation.
#[derive(Clone, Debug)]
pub struct Raw {
    /// The training file (all of it).
    pub train: Dataset,
    /// The test set.
    pub test: Dataset,
    /// Where it came from.
    pub source: String,
    /// Whether it was a CSV (standardised by default).
    pub is_csv: bool,
}

/// Load and prepare the data.
///
/// # Errors
/// [`DataError`] naming the file or option at fault.
pub fn load(o: &DataOptions) -> Result<Splits, DataError> {
    prepare(&load_raw(o)?, o)
}

/// Read the files `o` points at (a CSV is split into train and test here).
///
/// # Errors
/// [`DataError`] naming the file or option at fault.
pub fn load_raw(o: &DataOptions) -> Result<Raw, DataError> {
    let is_csv = o.path.as_ref().is_some_and(|p| p.is_file());
    let (train, test, source) = match &o.path {
        Some(p) if p.is_file() => {
            if !(0.0 < o.test_fraction && o.test_fraction < 1.0) {
                return Err(DataError::Arg(format!("--test-fraction {}: must be in (0, 1)", o.test_fraction)));
            }
            let t = csv::read(p, &o.label_column)?;
            let all = Dataset { x: t.x, y: t.y, sample_shape: vec![t.features] };
            let classes = all.y.iter().max().map_or(0, |&m| m as usize + 1);
            let mut idx: Vec<usize> = (0..all.len()).collect();
            Rng::new(o.seed ^ 0x7e57).shuffle(&mut idx);
            let n_test = ((all.len() as f64 * o.test_fraction).round() as usize).clamp(1, all.len().saturating_sub(1).max(1));
            let (test_idx, train_idx) = stratified_take(&all.y, &idx, n_test, classes);
            (all.subset(&train_idx), all.subset(&test_idx), p.display().to_string())
        }
        Some(p) if p.is_dir() => load_idx(Some(p))?,
        Some(p) => return Err(DataError::Io { path: p.clone(), msg: "no such file or directory (give a CSV file or a directory of MNIST-named IDX files)".into() }),
        None => load_idx(None)?,
    };
    Ok(Raw {
        train,
        test,
        source,
        is_csv,
    })
}

/// Prepare loaded data per `o`: validation split, stratified subset, label
/// noise, standardisation (see the module docs).
///
/// # Errors
/// [`DataError::Arg`] for options the data cannot satisfy.
pub fn prepare(raw: &Raw, o: &DataOptions) -> Result<Splits, DataError> {
    if !(0.0..1.0).contains(&o.label_noise) {
        return Err(DataError::Arg(format!(
            "--label-noise {}: must be in [0, 1)",
            o.label_noise
        )));
    }
    let (train_file, source, is_csv) = (&raw.train, raw.source.clone(), raw.is_csv);
    let test = raw.test.clone();
    let classes = train_file
        .y
        .iter()
        .chain(&test.y)
        .max()
        .map_or(0, |&m| m as usize + 1);
    if train_file.len() < 2 || test.is_empty() || classes < 2 {
        return Err(DataError::Arg(format!(
            "{source}: too little data ({} train, {} test samples, {classes} classes)",
            train_file.len(),
            test.len()
        )));
    }
    let mut rng = Rng::new(o.seed);
    let mut idx: Vec<usize> = (0..train_file.len()).collect();
    rng.shuffle(&mut idx);
    if o.val_size >= train_file.len() {
        return Err(DataError::Arg(format!(
            "--val-size {}: the training file has only {} samples",
            o.val_size,
            train_file.len()
        )));
    }
    let (val_idx, rest) = stratified_take(&train_file.y, &idx, o.val_size, classes);
    let train_idx = match o.train_size {
        Some(n) if n > rest.len() => {
            return Err(DataError::Arg(format!(
                "--train-size {n}: only {} training samples are available",
                rest.len()
            )));
        }
        Some(0) => return Err(DataError::Arg("--train-size must be positive".into())),
        Some(n) => stratified_take(&train_file.y, &rest, n, classes).0,
        None => rest,
    };
    let mut train = train_file.subset(&train_idx);
    let mut val = train_file.subset(&val_idx);
    let mut test = test;
    if o.label_noise > 0.0 {
        let mut nr = rng.fork(0x4015e);
        for l in &mut train.y {
            if nr.uniform() < o.label_noise {
                let other = nr.below(classes - 1) as u32;
                *l = if other >= *l { other + 1 } else { other };
            }
        }
    }
    let standardize = match o.standardize {
        Standardize::Auto => is_csv,
        Standardize::On => true,
        Standardize::Off => false,
    };
    if standardize {
        let d = train.dim();
        let n = train.len() as f64;
        let mut mean = vec![0.0f64; d];
        let mut sq = vec![0.0f64; d];
        for row in train.x.chunks(d) {
            for (j, &v) in row.iter().enumerate() {
                mean[j] += f64::from(v) / n;
            }
        }
        for row in train.x.chunks(d) {
            for (j, &v) in row.iter().enumerate() {
                sq[j] += (f64::from(v) - mean[j]).powi(2) / n;
            }
        }
        let sd: Vec<f64> = sq
            .iter()
            .map(|v| if v.sqrt() > 1e-12 { v.sqrt() } else { 1.0 })
            .collect();
        for set in [&mut train, &mut val, &mut test] {
            for row in set.x.chunks_mut(d) {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = ((f64::from(*v) - mean[j]) / sd[j]) as f32;
                }
            }
        }
    }
    Ok(Splits {
        train,
        val,
        test,
        classes,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_take_keeps_proportions() {
        let y: Vec<u32> = (0..1000).map(|i| if i < 700 { 0 } else { 1 }).collect();
        let idx: Vec<usize> = (0..1000).collect();
        let (a, b) = stratified_take(&y, &idx, 100, 2);
        assert_eq!(a.len(), 100);
        assert_eq!(b.len(), 900);
        assert_eq!(a.iter().filter(|&&i| y[i] == 0).count(), 70);
    }
}
