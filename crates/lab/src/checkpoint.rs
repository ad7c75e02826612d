//! Checkpoints in the safetensors format: one F32 little-endian tensor per
//! parameter or buffer, named `<layer index>.<name>` (e.g. `1.weight`, `2.running_var`),
//! with the run config in the `__metadata__` under `config`. Loadable by
//! PyTorch's `safetensors.torch.load_file`. Written atomically: to a
//! temporary file in the same directory, then renamed over the target.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use engine::Sequential;
use safetensors::tensor::{Dtype, TensorView};

/// Save every parameter and buffer of `model`.
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
        .collect::<Result<_, safetensors::SafeTensorError>>()?;
    let meta = HashMap::from([("config".to_string(), config_json.to_string())]);
    let bytes = safetensors::serialize(views, &Some(meta))?;
    write_atomic(path, &bytes)
}

/// Load parameters and buffers saved by [`save`] into a model of the same architecture.
pub fn load(model: &mut Sequential, path: &Path) -> Result<()> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading checkpoint {}", path.display()))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .with_context(|| format!("{} is not a valid safetensors file", path.display()))?;
    let mut err: Option<anyhow::Error> = None;
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
            Ok(t) => err = Some(anyhow::anyhow!("{}: tensor `{name}` has shape {:?} / {:?}, the model needs {} f32", path.display(), t.shape(), t.dtype(), dst.len())),
            Err(_) => err = Some(anyhow::anyhow!("{}: tensor `{name}` is missing (was the checkpoint written for another architecture?)", path.display())),
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
        bail!("{}: not a file path", path.display());
    }
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(())
}
