//! IDX files (LeCun's MNIST format), gzip-compressed or raw.
//!
//! ```text
//! magic: 0x00 0x00 <type> <ndims>      type 0x08 = unsigned byte (the only one MNIST uses)
//! ndims × u32 big-endian dimension sizes
//! ∏ dims bytes of data, row-major
//! ```
//! Images are `(n, rows, cols)`, labels `(n)`. The header is checked against
//! the bytes actually present *before* anything is allocated from it, so a
//! header claiming 2^31 images on a 1 kB file is an error, not an 8 GB
//! allocation; decompression is capped (see [`super::gz`]).
//!
//! An MNIST-layout directory holds four such files under MNIST's names
//! (`train-images-idx3-ubyte[.gz]`, …); the copy in `data/mnist` is compiled
//! into the binary and is the default data set. Pixels are scaled to [0, 1].

use std::path::{Path, PathBuf};

use super::gz::{gunzip, read_maybe_gz};
use super::{DataError, Dataset};
use crate::config::Builtin;

/// A parsed IDX array of bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Idx {
    /// Dimension sizes.
    pub dims: Vec<usize>,
    /// The data, row-major.
    pub data: Vec<u8>,
}

/// Parse IDX bytes, expecting `ndims` dimensions.
pub fn parse(bytes: &[u8], ndims: usize, path: &Path) -> Result<Idx, DataError> {
    let bad = |msg: String| DataError::Format {
        path: path.to_path_buf(),
        msg,
    };
    if bytes.is_empty() {
        return Err(bad("the file is empty".into()));
    }
    if bytes.len() < 4 {
        return Err(bad(format!(
            "only {} bytes: too short for an IDX header",
            bytes.len()
        )));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad(format!(
            "bad magic {:02x} {:02x} {:02x} {:02x}: not an IDX file",
            bytes[0], bytes[1], bytes[2], bytes[3]
        )));
    }
    if bytes[2] != 0x08 {
        return Err(bad(format!(
            "data type 0x{:02x} is not supported (only 0x08, unsigned byte)",
            bytes[2]
        )));
    }
    if bytes[3] as usize != ndims {
        return Err(bad(format!("{} dimensions, expected {ndims}", bytes[3])));
    }
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(bad(format!(
            "truncated header: {} bytes, need {header}",
            bytes.len()
        )));
    }
    let dims: Vec<usize> = (0..ndims)
        .map(|i| {
            u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize
        })
        .collect();
    let want = dims
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d as u64))
        .unwrap_or(u64::MAX);
    let have = (bytes.len() - header) as u64;
    if want != have {
        return Err(bad(format!(
            "header says {dims:?} = {want} bytes of data, but the file holds {have} ({})",
            if want > have {
                "truncated or lying header"
            } else {
                "trailing bytes"
            }
        )));
    }
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Read an IDX file with `ndims` dimensions.
///
/// # Errors
/// [`DataError`] naming the file.
pub fn read(path: &Path, ndims: usize) -> Result<Idx, DataError> {
    parse(&read_maybe_gz(path)?, ndims, path)
}

pub(crate) const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// The MNIST files shipped in `data/mnist`, compiled into the binary.
static MNIST: [&[u8]; 4] = [
    include_bytes!("../../../../data/mnist/train-images-idx3-ubyte.gz"),
    include_bytes!("../../../../data/mnist/train-labels-idx1-ubyte.gz"),
    include_bytes!("../../../../data/mnist/t10k-images-idx3-ubyte.gz"),
    include_bytes!("../../../../data/mnist/t10k-labels-idx1-ubyte.gz"),
];

/// The Fashion-MNIST files shipped in `data/fashion-mnist` (same names and layout).
static FASHION: [&[u8]; 4] = [
    include_bytes!("../../../../data/fashion-mnist/train-images-idx3-ubyte.gz"),
    include_bytes!("../../../../data/fashion-mnist/train-labels-idx1-ubyte.gz"),
    include_bytes!("../../../../data/fashion-mnist/t10k-images-idx3-ubyte.gz"),
    include_bytes!("../../../../data/fashion-mnist/t10k-labels-idx1-ubyte.gz"),
];

/// Images and labels from two parsed IDX arrays.
fn pair(images: &Idx, labels: &Idx, path: &Path) -> Result<Dataset, DataError> {
    let bad = |msg: String| DataError::Format {
        path: path.to_path_buf(),
        msg,
    };
    if images.dims[0] != labels.dims[0] {
        return Err(bad(format!(
            "{} images but {} labels",
            images.dims[0], labels.dims[0]
        )));
    }
    if images.dims[0] == 0 {
        return Err(bad("no samples".into()));
    }
    if images.dims[1] == 0 || images.dims[2] == 0 {
        return Err(bad(format!(
            "images of {}×{} pixels: an image needs at least one row and one column",
            images.dims[1], images.dims[2]
        )));
    }
    Ok(Dataset {
        x: images.data.iter().map(|&b| f32::from(b) / 255.0).collect(),
        y: labels.data.iter().map(|&b| u32::from(b)).collect(),
        sample_shape: vec![1, images.dims[1], images.dims[2]],
    })
}

/// The file of `name` in the MNIST-layout directory `d`: `name.gz`, else `name`.
pub(crate) fn resolve(d: &Path, name: &str) -> Option<PathBuf> {
    [d.join(format!("{name}.gz")), d.join(name)]
        .into_iter()
        .find(|p| p.exists())
}

/// Train and test sets of an MNIST-layout directory (`Err(builtin)`: the
/// copy compiled into the binary), and a description of where they came from.
///
/// # Errors
/// [`DataError`] naming the missing or invalid file.
pub fn load_dir(dir: Result<&Path, Builtin>) -> Result<(Dataset, Dataset, String), DataError> {
    let base = match dir {
        Ok(d) => d.to_path_buf(),
        Err(Builtin::Mnist) => PathBuf::from("data/mnist (embedded)"),
        Err(Builtin::Fashion) => PathBuf::from("data/fashion-mnist (embedded)"),
        Err(Builtin::Shakespeare) => {
            return Err(DataError::Option {
                field: "dataset",
                value: "shakespeare".into(),
                reason: "is a text, not images (a character-level GPT reads it: --arch gpt)".into(),
            })
        }
    };
    let mut parsed = Vec::new();
    for (i, name) in MNIST_FILES.iter().enumerate() {
        let ndims = if name.contains("images") { 3 } else { 1 };
        let (bytes, path) = match dir {
            Err(builtin) => {
                let path = base.join(format!("{name}.gz"));
                let files = match builtin {
                    Builtin::Mnist => &MNIST,
                    Builtin::Fashion => &FASHION,
                    Builtin::Shakespeare => unreachable!("refused above"),
                };
                (gunzip(files[i], &path)?, path)
            }
            Ok(d) => {
                let path = resolve(d, name).ok_or_else(|| DataError::Io {
                        path: d.to_path_buf(),
                        msg: format!("no `{name}` or `{name}.gz` here: a data directory needs the four MNIST-named IDX files"),
                    })?;
                (read_maybe_gz(&path)?, path)
            }
        };
        parsed.push((parse(&bytes, ndims, &path)?, path));
    }
    let train = pair(&parsed[0].0, &parsed[1].0, &parsed[1].1)?;
    let test = pair(&parsed[2].0, &parsed[3].0, &parsed[3].1)?;
    if train.sample_shape != test.sample_shape {
        return Err(DataError::Format {
            path: base,
            msg: "train and test images differ in size".into(),
        });
    }
    Ok((train, test, base.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(ty: u8, dims: &[u32]) -> Vec<u8> {
        let mut v = vec![0, 0, ty, dims.len() as u8];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    #[test]
    fn parses_a_valid_file() {
        let mut b = header(8, &[2, 2, 3]);
        b.extend(0..12u8);
        let idx = parse(&b, 3, Path::new("x")).unwrap();
        assert_eq!(idx.dims, vec![2, 2, 3]);
        assert_eq!(idx.data, (0..12u8).collect::<Vec<_>>());
    }

    #[test]
    fn rejects_bad_headers_without_allocating() {
        let p = Path::new("x");
        let mut lying = header(8, &[1 << 31, 28, 28]);
        lying.extend(vec![0u8; 1000]);
        let e = parse(&lying, 3, p).unwrap_err().to_string();
        assert!(e.contains("truncated or lying"), "{e}");
        assert!(parse(&[], 1, p).unwrap_err().to_string().contains("empty"));
        assert!(parse(&[0, 0, 8], 1, p).is_err());
        assert!(parse(&[1, 2, 8, 1, 0, 0, 0, 0], 1, p)
            .unwrap_err()
            .to_string()
            .contains("magic"));
        assert!(parse(&header(0x0d, &[1]), 1, p)
            .unwrap_err()
            .to_string()
            .contains("type"));
        assert!(parse(&header(8, &[3]), 3, p)
            .unwrap_err()
            .to_string()
            .contains("dimensions"));
        let mut trailing = header(8, &[2]);
        trailing.extend([1, 2, 3]);
        assert!(parse(&trailing, 1, p)
            .unwrap_err()
            .to_string()
            .contains("trailing"));
        let mut short = header(8, &[5]);
        short.extend([1, 2]);
        assert!(parse(&short, 1, p).is_err());
        let huge = header(8, &[u32::MAX, u32::MAX, u32::MAX]);
        assert!(parse(&huge, 3, p).is_err());
    }
}
