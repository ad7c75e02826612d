//! Checkpoints in the safetensors format: one F32 little-endian tensor per
//! parameter or buffer, named `<layer index>.<name>` (e.g. `1.weight`, `2.running_var`),
//! with the run config in the `__metadata__` under `config`. Loadable by
//! PyTorch's `safetensors.torch.load_file`. Written atomically: to a
//! temporary file in the same directory, then renamed over the target.

use std::collections::HashMap;
use std::path::Path;

use engine::Sequential;
use safetensors::tensor::{Dtype, TensorView};

use crate::error::{LabError, Result};

fn bad(path: &Path, msg: String) -> LabError {
    LabError::Checkpoint {
        path: path.to_path_buf(),
        msg,
    }
}

/// Save every parameter and buffer of `model`.
///
/// # Errors
/// [`LabError::Io`] when the file cannot be written.
pub fn save(model: &mut Sequential, config_json: &str, path: &Path) -> Result<()> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    model.visit_params(&mut |i, p| {
        tensors.push((
            format!("{i}.{}", p.name),
            p.shape.as_slice().to_vec(),
            le_bytes(p.value),
        ));
    });
    model.visit_buffers(&mut |i, b| {
        tensors.push((
            format!("{i}.{}", b.name),
            vec![b.value.len()],
            le_bytes(b.value),
        ));
    });
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, s, d)| Ok((n.clone(), TensorView::new(Dtype::F32, s.clone(), d)?)))
        .collect::<Result<_, safetensors::SafeTensorError>>()
        .map_err(|e| bad(path, e.to_string()))?;
    let meta = HashMap::from([("config".to_string(), config_json.to_string())]);
    let bytes = safetensors::serialize(views, &Some(meta)).map_err(|e| bad(path, e.to_string()))?;
    write_atomic(path, &bytes)
}

/// Load parameters and buffers saved by [`save`] into a model of the same architecture.
///
/// # Errors
/// [`LabError::Io`] for an unreadable file, [`LabError::Checkpoint`] for one
/// that is not safetensors or does not fit the model.
pub fn load(model: &mut Sequential, path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(LabError::io(path))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| bad(path, format!("not a valid safetensors file: {e}")))?;
    let mut err: Option<LabError> = None;
    let mut fill = |name: String, dst: &mut [f32]| {
        if err.is_some() {
            return;
        }
        match st.tensor(&name) {
            Ok(t) if t.dtype() == Dtype::F32 && t.data().len() == dst.len() * 4 => {
                for (d, c) in dst.iter_mut().zip(t.data().chunks_exact(4)) {
                    *d = f32::from_le_bytes(c.try_into().expect("4 bytes"));
                }
            }
            Ok(t) => err = Some(bad(path, format!("tensor `{name}` has shape {:?} / {:?}, the model needs {} f32", t.shape(), t.dtype(), dst.len()))),
            Err(_) => err = Some(bad(path, format!("tensor `{name}` is missing (was the checkpoint written for another architecture?)"))),
        }
    };
    model.visit_params(&mut |i, p| fill(format!("{i}.{}", p.name), p.value));
    model.visit_buffers(&mut |i, b| fill(format!("{i}.{}", b.name), b.value));
    if let Some(e) = err {
        return Err(e);
    }
    Ok(())
}

fn le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Write `bytes` to `path` via a temporary file and a rename, so a crash
/// never leaves a half-written file under the final name.
///
/// # Errors
/// [`LabError::Io`] naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.is_empty() {
        return Err(LabError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        });
    }
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(LabError::io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(LabError::io(path))?;
    Ok(())
}
