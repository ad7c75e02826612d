//! Preparation of loaded data, in order, all seeded by the run's seed (or `data_seed` when given):
//! 1. the training file is shuffled; `val_size` samples are taken from it,
//!    stratified, as the validation set;
//! 2. `train_size = N` keeps a stratified subset of N of the rest (class
//!    proportions kept by largest remainders);
//! 3. `label_noise = F` replaces each training label, with probability F, by
//!    a uniformly drawn *other* class (symmetric noise); val and test stay clean;
//! 4. with standardisation each feature becomes `(x − μ)/σ` with μ, σ from the
//!    training set (σ = 0 → 1).
//!
//! First the labels are checked: they must be the classes `0..K` with every
//! class present in the training file (an error otherwise, naming missing
//! classes), and samples must have at least one feature.
//!
//! A CSV's test set is split off before this (see [`super::load_raw`]), with
//! the same stratified draw.

use engine::rng::Rng;

use super::{DataError, Dataset, Raw, Splits};
use crate::config::{DataConfig, Standardize};

/// Shuffled indices split into (first `k` stratified, rest), both in shuffled order.
pub fn stratified_take(
    y: &[u32],
    idx: &[usize],
    k: usize,
    classes: usize,
) -> (Vec<usize>, Vec<usize>) {
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

fn option(field: &'static str, value: impl ToString, reason: String) -> DataError {
    DataError::Option {
        field,
        value: value.to_string(),
        reason,
    }
}

/// The labels must be the classes `0..classes` (the largest label in the
/// training or test file + 1), each with at least one training sample: a
/// stray label such as 255 would otherwise make a 256-class model whose
/// missing classes can never be learnt. Checked on the sorted distinct
/// labels, so memory stays proportional to the file, whatever the labels.
pub(crate) fn dense_labels(train: &[u32], classes: usize, source: &str) -> Result<(), DataError> {
    let mut seen = train.to_vec();
    seen.sort_unstable();
    seen.dedup();
    if seen.len() == classes {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut next = 0u64;
    for &l in seen.iter().chain(std::iter::once(&(classes as u32))) {
        while next < u64::from(l) && missing.len() < 5 {
            missing.push(next);
            next += 1;
        }
        next = u64::from(l) + 1;
    }
    Err(DataError::Format {
        path: source.into(),
        msg: format!(
            "the labels imply {classes} classes (0..{}), but {} of them have no training sample (e.g. {missing:?}); labels must be class indices 0, 1, …, K−1 — check for stray or mistyped labels",
            classes - 1,
            classes - seen.len(),
        ),
    })
}

/// Prepare loaded data per `o` and `seed` (see the module docs).
///
/// # Errors
/// [`DataError::Option`] for settings the data cannot satisfy.
pub fn prepare(raw: &Raw, o: &DataConfig, seed: u64) -> Result<Splits, DataError> {
    let seed = o.data_seed.unwrap_or(seed);
    if !(0.0..1.0).contains(&o.label_noise) {
        return Err(option(
            "label_noise",
            o.label_noise,
            "must be in [0, 1)".into(),
        ));
    }
    if let Some(text) = &raw.text {
        return text_splits(text, o, raw.source.clone());
    }
    let (train_file, source) = (&raw.train, raw.source.clone());
    let test = raw.test.clone();
    let classes = train_file
        .y
        .iter()
        .chain(&test.y)
        .max()
        .map_or(0, |&m| m as usize + 1);
    if train_file.len() < 2 || test.is_empty() || classes < 2 {
        return Err(DataError::TooLittle {
            origin: source,
            train: train_file.len(),
            test: test.len(),
            classes,
        });
    }
    dense_labels(&train_file.y, classes, &source)?;
    if train_file.dim() == 0 {
        return Err(DataError::Format {
            path: source.clone().into(),
            msg: "the samples have no features (zero columns, or images of zero pixels)".into(),
        });
    }
    let mut rng = Rng::new(seed);
    let mut idx: Vec<usize> = (0..train_file.len()).collect();
    rng.shuffle(&mut idx);
    if o.val_size >= train_file.len() {
        return Err(option(
            "val_size",
            o.val_size,
            format!("the training file has only {} samples", train_file.len()),
        ));
    }
    let (val_idx, rest) = stratified_take(&train_file.y, &idx, o.val_size, classes);
    let train_idx = match o.train_size {
        Some(0) => return Err(option("train_size", 0, "must be positive".into())),
        Some(n) if n > rest.len() => {
            return Err(option(
                "train_size",
                n,
                format!("only {} training samples are available", rest.len()),
            ));
        }
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
        Standardize::Auto => raw.is_csv,
        Standardize::On => true,
        Standardize::Off => false,
    };
    if standardize {
        let m = moments(&train);
        for set in [&mut train, &mut val, &mut test] {
            apply(&mut set.x, &m);
        }
    }
    Ok(Splits {
        train,
        val,
        test,
        classes,
        source,
        text: None,
    })
}

/// A text's splits: its fixed blocks and vocabulary (`data::text`); the
/// windows are cut for the model's context when it trains
/// ([`Splits::windows`]). The classifier's preparation steps do not apply.
fn text_splits(text: &str, o: &DataConfig, source: String) -> Result<Splits, DataError> {
    if let Some(n) = o.train_size {
        return Err(option("train_size", n, "does not apply to a text: its blocks are fixed (90 % training, 5 % validation, 5 % test); give a shorter text instead".into()));
    }
    if o.label_noise > 0.0 {
        return Err(option(
            "label_noise",
            o.label_noise,
            "does not apply to a text".into(),
        ));
    }
    let t = super::text::split(text);
    Ok(Splits {
        train: Dataset::default(),
        val: Dataset::default(),
        test: Dataset::default(),
        classes: t.vocab.len(),
        source,
        text: Some(t),
    })
}

/// The validation set `train` holds out when none is asked for: 10 % of the
/// training file, at most 5,000 (MNIST and Fashion-MNIST: 5,000 of 60,000).
pub fn default_val_size(train_file: usize) -> usize {
    ((train_file as f64 * 0.1).round() as usize).min(5000)
}

/// Per-feature means and standard deviations.
pub type Moments = (Vec<f64>, Vec<f64>);

/// The μ, σ a run with data settings `o` standardises with (from its
/// prepared training set), or `None` if it does not standardise.
///
/// # Errors
/// As [`super::load`].
pub fn standardizer(o: &DataConfig, seed: u64) -> Result<Option<Moments>, DataError> {
    let raw = super::load_raw(o, seed)?;
    let on = match o.standardize {
        Standardize::Auto => raw.is_csv,
        Standardize::On => true,
        Standardize::Off => false,
    };
    if !on {
        return Ok(None);
    }
    let plain = DataConfig {
        standardize: Standardize::Off,
        ..o.clone()
    };
    Ok(Some(moments(&prepare(&raw, &plain, seed)?.train)))
}

/// Standardise rows of `mean.len()` features: `x ← (x − μ) / σ`.
pub fn apply(x: &mut [f32], (mean, sd): &Moments) {
    for row in x.chunks_mut(mean.len().max(1)) {
        for (j, v) in row.iter_mut().enumerate() {
            *v = ((f64::from(*v) - mean[j]) / sd[j]) as f32;
        }
    }
}

/// Per-feature mean and standard deviation (σ = 0 → 1) of a data set.
fn moments(data: &Dataset) -> (Vec<f64>, Vec<f64>) {
    let d = data.dim();
    let n = data.len() as f64;
    let mut mean = vec![0.0f64; d];
    let mut sq = vec![0.0f64; d];
    if d == 0 {
        return (mean, sq);
    }
    for row in data.x.chunks(d) {
        for (j, &v) in row.iter().enumerate() {
            mean[j] += f64::from(v) / n;
        }
    }
    for row in data.x.chunks(d) {
        for (j, &v) in row.iter().enumerate() {
            sq[j] += (f64::from(v) - mean[j]).powi(2) / n;
        }
    }
    let sd = sq
        .iter()
        .map(|v| if v.sqrt() > 1e-12 { v.sqrt() } else { 1.0 })
        .collect();
    (mean, sd)
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
