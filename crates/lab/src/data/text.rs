//! Text for a character-level language model: a file (or the built-in
//! Shakespeare, `data/shakespeare/README.md`) read as UTF-8, split into
//! contiguous blocks, its characters numbered from the training block.
//!
//! ```text
//! N characters:   train = [0, ⌊0.9 N⌋),  validation = next ⌊0.05 N⌋,  test = the rest
//! vocabulary:     the training block's distinct characters in code-point order → ids 0 … V−2;
//!                 id V−1 is the reserved symbol every character unseen in training maps to
//! evaluation:     non-overlapping windows x = ids[kT … kT+T), y = ids[kT+1 … kT+T+1) over a whole
//!                 block (its last (n − 1) mod T characters left out), loss per character
//! training batch: step s draws B offsets o_b ~ U{0 … n_train − T − 1} from Rng(seed ^ 0x7e47).fork(s):
//!                 a pure function of (seed, step), so a resumed run sees the same batches
//! ```
//! Refused, with what to do: an empty file, a binary one (a NUL byte or
//! invalid UTF-8, with the byte offset), a file over [`MAX_TEXT_BYTES`], and
//! (where the windows are cut, `Splits::windows`) a block not longer than
//! the context (a window and its next characters need context + 1).

use std::path::Path;

use engine::rng::Rng;

use super::{DataError, Dataset};

/// The largest text read (256 MiB): memory stays bounded.
pub const MAX_TEXT_BYTES: usize = 256 << 20;

/// The built-in corpus: the complete works of Shakespeare (`data/shakespeare`).
static SHAKESPEARE: &[u8] = include_bytes!("../../../../data/shakespeare/shakespeare.txt.gz");

/// A text's characters as ids, by block, and its vocabulary.
#[derive(Clone, Debug, PartialEq)]
pub struct Text {
    /// Training block.
    pub train: Vec<u32>,
    /// Validation block.
    pub val: Vec<u32>,
    /// Test block.
    pub test: Vec<u32>,
    /// Id → character; the last id is the reserved unknown symbol (written `\u{FFFD}`).
    pub vocab: Vec<char>,
}

/// The reserved symbol's character in a vocabulary listing.
pub const UNKNOWN: char = '\u{FFFD}';

/// Read `path` (plain or `.gz`) — or the built-in Shakespeare when `None` — as text.
///
/// # Errors
/// [`DataError`] for an unreadable, oversized, empty or binary file.
pub fn read(path: Option<&Path>) -> Result<String, DataError> {
    let (bytes, shown) = match path {
        Some(p) => {
            let meta = std::fs::metadata(p).map_err(|e| DataError::Io {
                path: p.to_path_buf(),
                msg: e.to_string(),
            })?;
            if meta.len() > MAX_TEXT_BYTES as u64 {
                return Err(format_err(p, format!("is {} bytes; a text for the language model may have at most {MAX_TEXT_BYTES} (256 MiB) — give a shorter file", meta.len())));
            }
            (super::gz::read_maybe_gz(p)?, p.to_path_buf())
        }
        None => {
            let p = Path::new("data/shakespeare/shakespeare.txt.gz");
            (super::gz::gunzip(SHAKESPEARE, p)?, p.to_path_buf())
        }
    };
    if bytes.len() > MAX_TEXT_BYTES {
        return Err(format_err(
            &shown,
            format!(
                "holds more than {MAX_TEXT_BYTES} bytes (256 MiB) of text; give a shorter file"
            ),
        ));
    }
    if bytes.is_empty() {
        return Err(format_err(
            &shown,
            "is empty: a language model needs text to learn from".into(),
        ));
    }
    if let Some(i) = bytes.iter().position(|&b| b == 0) {
        return Err(format_err(&shown, format!("has a NUL byte at offset {i}: it is a binary file, not text — give a plain UTF-8 text file (.txt)")));
    }
    String::from_utf8(bytes).map_err(|e| {
        format_err(&shown, format!("is not UTF-8 text (invalid byte at offset {}) — give a plain UTF-8 text file (.txt)", e.utf8_error().valid_up_to()))
    })
}

fn format_err(path: &Path, msg: String) -> DataError {
    DataError::Format {
        path: path.to_path_buf(),
        msg,
    }
}

/// Split `text` into its three blocks and number its characters (each
/// block's length against a context is checked where the windows are cut,
/// `Splits::windows`).
pub fn split(text: &str) -> Text {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let (n_train, n_val) = (n * 9 / 10, n * 5 / 100);
    let blocks = [
        &chars[..n_train],
        &chars[n_train..n_train + n_val],
        &chars[n_train + n_val..],
    ];
    let mut vocab: Vec<char> = blocks[0].to_vec();
    vocab.sort_unstable();
    vocab.dedup();
    let unknown = vocab.len() as u32;
    vocab.push(UNKNOWN);
    let ids = |b: &[char]| -> Vec<u32> {
        b.iter()
            .map(|c| {
                vocab[..vocab.len() - 1]
                    .binary_search(c)
                    .map_or(unknown, |i| i as u32)
            })
            .collect()
    };
    Text {
        train: ids(blocks[0]),
        val: ids(blocks[1]),
        test: ids(blocks[2]),
        vocab,
    }
}

/// The non-overlapping windows of `ids` for context `t`, every `stride`-th
/// one (1: all), as a data set of `(T)` samples with `T` labels each.
pub fn windows(ids: &[u32], t: usize, stride: usize) -> Dataset {
    let count = ids.len().saturating_sub(1) / t;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for k in (0..count).step_by(stride.max(1)) {
        x.extend(ids[k * t..k * t + t].iter().map(|&v| v as f32));
        y.extend_from_slice(&ids[k * t + 1..k * t + t + 1]);
    }
    Dataset {
        x,
        y,
        sample_shape: vec![t],
    }
}

/// Training batch `step`: `x` gets `b` windows of `t` ids, `y` their next ids.
pub fn batch(
    ids: &[u32],
    t: usize,
    seed: u64,
    step: u32,
    b: usize,
    x: &mut [f32],
    y: &mut Vec<u32>,
) {
    let mut rng = Rng::new(seed ^ 0x7e47).fork(u64::from(step));
    y.clear();
    for r in 0..b {
        let o = rng.below(ids.len() - t);
        for (dst, &v) in x[r * t..(r + 1) * t].iter_mut().zip(&ids[o..o + t]) {
            *dst = v as f32;
        }
        y.extend_from_slice(&ids[o + 1..o + t + 1]);
    }
}

/// The text of `ids` (the reserved symbol as [`UNKNOWN`]).
pub fn decode(vocab: &[char], ids: &[u32]) -> String {
    ids.iter()
        .map(|&i| vocab.get(i as usize).copied().unwrap_or(UNKNOWN))
        .collect()
}

/// The ids of `s`, or the first character outside the vocabulary.
///
/// # Errors
/// The unknown character and its position.
pub fn encode(vocab: &[char], s: &str) -> Result<Vec<u32>, (char, usize)> {
    let known = &vocab[..vocab.len().saturating_sub(1)];
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            known
                .iter()
                .position(|&v| v == c)
                .map(|p| p as u32)
                .ok_or((c, i))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_vocabulary_and_windows() {
        let text = "abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabczzzzzzzzzz";
        let t = split(text);
        assert_eq!(t.vocab, vec!['a', 'b', 'c', UNKNOWN]);
        assert_eq!(t.train.len() + t.val.len() + t.test.len(), text.len());
        // 'z' is unseen in training: the reserved id.
        assert_eq!(*t.test.last().unwrap(), 3);
        let w = windows(&t.train[..9], 4, 1);
        assert_eq!((w.len(), w.y.len()), (2, 8));
        assert_eq!(&w.y[..4], &t.train[1..5]);
        assert_eq!(decode(&t.vocab, &t.train[..3]), "abc");
        assert_eq!(encode(&t.vocab, "cab"), Ok(vec![2, 0, 1]));
        assert_eq!(encode(&t.vocab, "cxb"), Err(('x', 1)));
        let (mut x, mut y) = (vec![0.0; 8], Vec::new());
        batch(&t.train, 4, 1, 5, 2, &mut x, &mut y);
        let (mut x2, mut y2) = (vec![0.0; 8], Vec::new());
        batch(&t.train, 4, 1, 5, 2, &mut x2, &mut y2);
        assert_eq!((x, y), (x2, y2), "a batch is a function of (seed, step)");
    }
}
