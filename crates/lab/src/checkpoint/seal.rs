//! A checkpoint's seal: its header written canonically (keys sorted, so
//! equal contents give byte-identical files) with a checksum of everything
//! in the file, checked before a single value is used.
//!
//! ```text
//! checksum = FNV-1a-64(JSON(header without __metadata__.checksum, keys sorted) ‖ tensor bytes)
//! ```
//! A file without a checksum (written before it existed) is accepted; one
//! whose checksum does not match is an error naming the file and the fix.

use std::path::Path;

use super::bad;
use crate::error::Result;

/// The same safetensors file with its JSON header's keys sorted: the crate
/// writes the metadata map in hash order, which differs from process to
/// process; sorted, equal contents give byte-identical files. Offsets in the
/// header are relative to the data, so only the header (and its padding to
/// a multiple of 8 bytes) is rewritten.
pub(super) fn canonical(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let (mut header, data) = split(bytes)?;
    let sum = content_checksum(&header, data)?;
    if let Some(obj) = header.as_object_mut() {
        let meta = obj
            .entry("__metadata__")
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if let Some(m) = meta.as_object_mut() {
            m.insert(CHECKSUM.into(), serde_json::Value::String(sum));
        }
    }
    // serde_json's maps are BTreeMaps (no `preserve_order`): keys come out sorted.
    let mut text = serde_json::to_string(&header).map_err(|e| e.to_string())?;
    while text.len() % 8 != 0 {
        text.push(' ');
    }
    let mut out = Vec::with_capacity(8 + text.len() + data.len());
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(data);
    Ok(out)
}

/// The metadata key of the checksum.
pub(super) const CHECKSUM: &str = "checksum";

/// A safetensors file's JSON header and its tensor bytes.
fn split(bytes: &[u8]) -> Result<(serde_json::Value, &[u8]), String> {
    let n = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .filter(|&n| n <= (bytes.len() as u64).saturating_sub(8))
        .ok_or("the file is shorter than its header says")? as usize;
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[8..8 + n]).map_err(|e| e.to_string())?;
    Ok((header, &bytes[8 + n..]))
}

/// The checksum of a header (its own checksum left out) and the tensor bytes.
fn content_checksum(header: &serde_json::Value, data: &[u8]) -> Result<String, String> {
    let mut h = header.clone();
    if let Some(m) = h
        .get_mut("__metadata__")
        .and_then(serde_json::Value::as_object_mut)
    {
        m.remove(CHECKSUM);
    }
    let mut f = crate::fnv::Fnv::default();
    f.write(
        serde_json::to_string(&h)
            .map_err(|e| e.to_string())?
            .as_bytes(),
    );
    f.write(data);
    Ok(f.hex())
}

/// Check the checksum of a file that has one (older files have none).
pub(super) fn verify(path: &Path, bytes: &[u8]) -> Result<()> {
    let (header, data) =
        split(bytes).map_err(|e| bad(path, format!("not a valid safetensors file ({e}): damaged, truncated or not a model; restore it from a copy, or train the run again (train --out DIR --force)")))?;
    let Some(stored) = header
        .get("__metadata__")
        .and_then(|m| m.get(CHECKSUM))
        .and_then(serde_json::Value::as_str)
    else {
        return Ok(());
    };
    let sum = content_checksum(&header, data).map_err(|e| bad(path, e))?;
    if sum != stored {
        return Err(bad(
            path,
            format!("is damaged: its checksum is {sum}, the file says {stored} (a changed bit, an edit or a partial copy); restore it from a copy, or train the run again (train --out DIR --force)"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(meta: &str, data: &[u8]) -> Vec<u8> {
        let header = format!(
            r#"{{"__metadata__":{meta},"w":{{"dtype":"F32","shape":[{}],"data_offsets":[0,{}]}}}}"#,
            data.len() / 4,
            data.len()
        );
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn a_sealed_file_checks_out_and_any_flipped_bit_is_caught() {
        let p = Path::new("m.safetensors");
        let raw = file(r#"{"epoch":"3"}"#, &[0u8; 16]);
        assert!(verify(p, &raw).is_ok(), "a file without a checksum loads");
        let sealed = canonical(&raw).unwrap();
        assert!(verify(p, &sealed).is_ok());
        assert_eq!(canonical(&sealed).unwrap(), sealed, "sealing is idempotent");
        // A flip may pass only where it cannot change a value: in the names
        // `__metadata__` or `checksum` (the file then reads as one without a
        // checksum, with every tensor byte and metadata value intact).
        let text = String::from_utf8_lossy(&sealed).into_owned();
        let span = |k: &str| {
            let i = text.find(k).unwrap();
            i..i + k.len()
        };
        let harmless = [span("__metadata__"), span("\"checksum\"")];
        for i in 8..sealed.len() {
            for bit in [0, 3, 6] {
                let mut b = sealed.clone();
                b[i] ^= 1 << bit;
                assert!(
                    verify(p, &b).is_err() || harmless.iter().any(|r| r.contains(&i)),
                    "bit {bit} of byte {i} passed"
                );
            }
        }
        let e = verify(p, &{
            let mut b = sealed.clone();
            let n = b.len();
            b[n - 1] ^= 1;
            b
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("m.safetensors") && e.contains("damaged") && e.contains("--force"),
            "{e}"
        );
    }
}
