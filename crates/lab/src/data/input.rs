//! New inputs for a trained run (`predict`): a CSV of feature rows, an IDX
//! image file, or a NumPy `.npy` array, read into the run's sample layout
//! and prepared as its training data was.
//!
//! ```text
//! CSV   n rows × d numbers (or d + 1: the run's label column is dropped); a first
//!       line that is not all numbers is a header
//! IDX   unsigned bytes (n, rows, cols) with rows · cols = d; pixel / 255
//! .npy  (n, …) with ∏… = d; uint8 → value / 255 (pixels, as IDX), float32 /
//!       float64 as they are; C order
//! then, if the run standardised: x ← (x − μ) / σ with the run's training μ, σ
//! ([`super::split::apply`], as training did)
//! ```
//! Sizes are checked against the file's length before anything is
//! allocated from a header, and every value must be finite.

use std::path::Path;

use super::{gz::read_maybe_gz, idx, DataError};
use crate::config::LabelColumn;

/// Rows of `d` features each, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Inputs {
    /// The features, n × d.
    pub x: Vec<f32>,
    /// Number of rows.
    pub n: usize,
}

fn bad(path: &Path, msg: String) -> DataError {
    DataError::Format {
        path: path.to_path_buf(),
        msg,
    }
}

/// Read `path` (by its extension: `.csv`, `.npy`, else IDX, `.gz` allowed)
/// as rows of `d` features; a CSV with one extra column drops `label`.
///
/// # Errors
/// [`DataError`] naming the file and what does not fit.
pub fn read(path: &Path, d: usize, label: &LabelColumn) -> Result<Inputs, DataError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let inputs = if name.ends_with(".csv") {
        read_csv(path, d, label)?
    } else if name.ends_with(".npy") {
        read_npy(path, d)?
    } else {
        let img = idx::read(path, 3)?;
        let per = img.dims[1] * img.dims[2];
        if per != d {
            return Err(bad(
                path,
                format!(
                    "holds {}×{} images ({per} pixels); the run's model takes {d} features",
                    img.dims[1], img.dims[2]
                ),
            ));
        }
        Inputs {
            x: img.data.iter().map(|&b| f32::from(b) / 255.0).collect(),
            n: img.dims[0],
        }
    };
    if inputs.n == 0 {
        return Err(bad(path, "holds no samples".into()));
    }
    if let Some(i) = inputs.x.iter().position(|v| !v.is_finite()) {
        return Err(bad(
            path,
            format!(
                "sample {} holds a value that is not a finite number",
                i / d.max(1)
            ),
        ));
    }
    Ok(inputs)
}

fn read_csv(path: &Path, d: usize, label: &LabelColumn) -> Result<Inputs, DataError> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .map_err(|e| DataError::Io {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })?;
    let (mut x, mut n, mut header) = (Vec::new(), 0usize, None::<Vec<String>>);
    for (line, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| bad(path, format!("line {}: {e}", line + 1)))?;
        let nums: Vec<Option<f32>> = rec.iter().map(|f| f.trim().parse::<f32>().ok()).collect();
        if line == 0 && nums.iter().any(Option::is_none) {
            header = Some(rec.iter().map(|f| f.trim().to_string()).collect());
            continue;
        }
        let drop = match nums.len() {
            c if c == d => None,
            c if c == d + 1 => Some(label_index(label, header.as_deref(), c).ok_or_else(|| {
                bad(path, format!("has {c} columns, one more than the model's {d} features, but the run's label column ({label}) is not among them"))
            })?),
            c => return Err(bad(path, format!("line {}: {c} columns; the run's model takes {d} features (or {} columns with the label)", line + 1, d + 1))),
        };
        for (j, v) in nums.into_iter().enumerate() {
            if Some(j) == drop {
                continue;
            }
            x.push(v.ok_or_else(|| {
                bad(
                    path,
                    format!("line {}, column {}: not a number", line + 1, j + 1),
                )
            })?);
        }
        n += 1;
    }
    Ok(Inputs { x, n })
}

fn label_index(label: &LabelColumn, header: Option<&[String]>, columns: usize) -> Option<usize> {
    match label {
        LabelColumn::Last => Some(columns - 1),
        LabelColumn::Index(i) => (*i < columns).then_some(*i),
        LabelColumn::Name(name) => header?.iter().position(|h| h == name),
    }
}

fn read_npy(path: &Path, d: usize) -> Result<Inputs, DataError> {
    let bytes = read_maybe_gz(path)?;
    let npy =
        npyz::NpyFile::new(&bytes[..]).map_err(|e| bad(path, format!("not a .npy file ({e})")))?;
    if npy.order() != npyz::Order::C {
        return Err(bad(
            path,
            "is in Fortran order; save it in C order (numpy.ascontiguousarray)".into(),
        ));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&s| s as usize).collect();
    let per: usize = shape.iter().skip(1).product();
    let n = shape.first().copied().unwrap_or(0);
    if shape.len() < 2 || per != d {
        return Err(bad(
            path,
            format!(
                "has shape {shape:?}; the run's model takes (n, …) arrays of {d} values per sample"
            ),
        ));
    }
    let width = match npy.dtype() {
        npyz::DType::Plain(t) => t.num_bytes().unwrap_or(0),
        _ => 0,
    };
    if (n as u128) * (per as u128) * (width.max(1) as u128) > bytes.len() as u128 {
        return Err(bad(
            path,
            format!("says shape {shape:?} but holds fewer bytes; it is truncated"),
        ));
    }
    let type_str = match npy.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        other => format!("{other:?}"),
    };
    let err = |e: std::io::Error| bad(path, format!("cannot be read ({e})"));
    let x: Vec<f32> = match type_str.trim_start_matches(['<', '|', '=']) {
        "u1" => npy
            .into_vec::<u8>()
            .map_err(err)?
            .into_iter()
            .map(|b| f32::from(b) / 255.0)
            .collect(),
        "f4" => npy.into_vec::<f32>().map_err(err)?,
        "f8" => npy
            .into_vec::<f64>()
            .map_err(err)?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        t => {
            return Err(bad(
                path,
                format!("holds dtype {t}; give float32, float64 or uint8 (little-endian)"),
            ))
        }
    };
    Ok(Inputs { x, n })
}

#[cfg(test)]
mod tests {
    use super::*;
    use npyz::WriterBuilder as _;

    fn tmp(name: &str, bytes: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), bytes).unwrap();
        dir
    }

    #[test]
    fn csv_with_or_without_the_label_column_and_a_header() {
        let dir = tmp("a.csv", b"f1,f2,label\n1,2,0\n3,4,1\n");
        let p = dir.path().join("a.csv");
        let got = read(&p, 2, &LabelColumn::Last).unwrap();
        assert_eq!(
            got,
            Inputs {
                x: vec![1.0, 2.0, 3.0, 4.0],
                n: 2
            }
        );
        let got = read(&p, 2, &LabelColumn::Name("f1".into())).unwrap();
        assert_eq!(got.x, [2.0, 0.0, 4.0, 1.0]);
        let e = read(&p, 5, &LabelColumn::Last).unwrap_err().to_string();
        assert!(e.contains("5 features"), "{e}");
    }

    #[test]
    fn npy_of_bytes_is_scaled_like_pixels_and_a_wrong_shape_is_named() {
        let mut v = Vec::new();
        {
            let mut w = npyz::WriteOptions::<u8>::new()
                .default_dtype()
                .shape(&[2, 2, 2])
                .writer(&mut v)
                .begin_nd()
                .unwrap();
            w.extend([0u8, 255, 51, 0, 0, 0, 0, 255]).unwrap();
            w.finish().unwrap();
        }
        let dir = tmp("x.npy", &v);
        let p = dir.path().join("x.npy");
        let got = read(&p, 4, &LabelColumn::Last).unwrap();
        assert_eq!(got.n, 2);
        assert_eq!(&got.x[..3], &[0.0, 1.0, 0.2]);
        let e = read(&p, 784, &LabelColumn::Last).unwrap_err().to_string();
        assert!(e.contains("[2, 2, 2]") && e.contains("784"), "{e}");
        let dir = tmp("y.npy", &v[..v.len() - 3]);
        assert!(read(&dir.path().join("y.npy"), 4, &LabelColumn::Last).is_err());
    }
}
