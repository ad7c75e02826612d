//! Gzip decompression with a size cap: every compressed input (IDX files,
//! CSVs, the MNIST compiled into the binary) goes through [`gunzip`], so a
//! small file that inflates to gigabytes is an error, not an allocation; a
//! file over the same cap on disk is refused before it is read.

use std::io::Read;
use std::path::Path;

use super::DataError;

/// Largest decompressed file accepted (1 GiB).
pub const MAX_BYTES: u64 = 1 << 30;

/// Decompress gzip `bytes` read from `path` (used in messages), at most [`MAX_BYTES`].
///
/// # Errors
/// [`DataError::Format`] for a corrupt stream or one over the cap.
pub fn gunzip(bytes: &[u8], path: &Path) -> Result<Vec<u8>, DataError> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| DataError::Format {
            path: path.to_path_buf(),
            msg: format!("corrupt gzip stream: {e}"),
        })?;
    if out.len() as u64 > MAX_BYTES {
        return Err(DataError::Format {
            path: path.to_path_buf(),
            msg: format!("decompresses to more than {MAX_BYTES} bytes"),
        });
    }
    Ok(out)
}

/// Read a file, decompressing it when it starts with the gzip magic.
///
/// # Errors
/// [`DataError::Io`] if it cannot be read; [`gunzip`]'s errors.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len > MAX_BYTES {
        return Err(DataError::Format {
            path: path.to_path_buf(),
            msg: format!(
                "the file is {len} bytes; data files of at most {MAX_BYTES} bytes (1 GiB) are read"
            ),
        });
    }
    let raw = std::fs::read(path).map_err(|e| DataError::Io {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        gunzip(&raw, path)
    } else {
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_bytes_pass_and_corrupt_gzip_is_an_error() {
        let dir = std::env::temp_dir().join(format!("dropout-lab-gz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("plain");
        std::fs::write(&f, b"1,2\n").unwrap();
        assert_eq!(read_maybe_gz(&f).unwrap(), b"1,2\n");
        std::fs::write(&f, [0x1f, 0x8b, 8, 0, 1, 2, 3]).unwrap();
        assert!(matches!(read_maybe_gz(&f), Err(DataError::Format { .. })));
        std::fs::remove_dir_all(&dir).ok();
    }
}
