//! Checkpoints in the safetensors format: one F32 little-endian tensor per
//! parameter or buffer, named `<layer index>.<name>` (e.g. `1.weight`, `2.running_var`),
//! with the run config in the `__metadata__` under `config`. Loadable by
//! PyTorch's `safetensors.torch.load_file`. Written durably and atomically
//! ([`crate::rundir::write_atomic`]).
//!
//! A training checkpoint ([`save_state`]) adds the optimizer's moments as
//! `optim.m.<k>` / `optim.v.<k>` (k = parameter index) and the loop position
//! (`epoch`, `step`, `optim_steps`, `train_s`) to the metadata: all a resumed
//! run needs to continue bit for bit (the data order and dropout masks are
//! functions of seed, epoch and step).
//!
//! Loading trusts nothing: the file may be at most the model's size plus
//! 16 MiB of header before it is read, every tensor must have exactly the
//! model's shape (a transposed weight is an error) and hold finite values.
//!
//! Every file this version writes carries a checksum in its metadata:
//!
//! ```text
//! checksum = FNV-1a-64(JSON(header without __metadata__.checksum, keys sorted) ‖ tensor bytes)
//! ```
//! so one flipped bit anywhere — a weight, an optimizer moment, the epoch in
//! the metadata — is an error naming the file, never a silently different
//! run. Files without one (written before it existed) still load.

use std::collections::HashMap;
use std::path::Path;

use engine::optim::Optimizer;
use engine::Sequential;
use safetensors::tensor::{Dtype, TensorView};

use crate::error::{LabError, Result};

mod seal;
use seal::{canonical, verify, CHECKSUM};

/// Room for the JSON header beyond the tensors' bytes.
const HEADER_SLACK: u64 = 16 << 20;

fn bad(path: &Path, msg: String) -> LabError {
    LabError::Checkpoint {
        path: path.to_path_buf(),
        msg,
    }
}

/// Where a training checkpoint stands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainState {
    /// Epochs finished.
    pub epoch: usize,
    /// Optimizer steps taken (the dropout mask counter).
    pub step: u32,
    /// Seconds spent in training steps so far.
    pub train_s: f64,
}

type Named = (String, Vec<usize>, Vec<u8>);

fn model_tensors(model: &mut Sequential) -> Vec<Named> {
    let mut tensors: Vec<Named> = Vec::new();
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
    tensors
}

fn write(path: &Path, tensors: &[Named], meta: HashMap<String, String>) -> Result<()> {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, s, d)| Ok((n.clone(), TensorView::new(Dtype::F32, s.clone(), d)?)))
        .collect::<Result<_, safetensors::SafeTensorError>>()
        .map_err(|e| bad(path, e.to_string()))?;
    let bytes = safetensors::serialize(views, &Some(meta)).map_err(|e| bad(path, e.to_string()))?;
    crate::rundir::write_atomic(path, &canonical(&bytes).map_err(|e| bad(path, e))?)
}

/// Save every parameter and buffer of `model`.
///
/// # Errors
/// [`LabError::Io`] when the file cannot be written.
/// `test_fingerprint` ([`crate::data::Dataset::fingerprint`] of the test
/// split, or empty) lets `eval` check it scores the run on the same test set.
pub fn save(
    model: &mut Sequential,
    config_json: &str,
    test_fingerprint: &str,
    path: &Path,
) -> Result<()> {
    let meta = HashMap::from([
        ("config".to_string(), config_json.to_string()),
        ("test_fingerprint".to_string(), test_fingerprint.to_string()),
    ]);
    write(path, &model_tensors(model), meta)
}

/// Save the model, the optimizer state, the loop position, the
/// fingerprint of the data it trains on (checked when it is resumed) and
/// `loop_meta` (the loop's schedules, which a resume keeps).
///
/// # Errors
/// [`LabError::Io`] when the file cannot be written.
pub fn save_state(
    model: &mut Sequential,
    opt: &Optimizer,
    state: TrainState,
    config_json: &str,
    data_fingerprint: &str,
    loop_meta: &[(&str, String)],
    path: &Path,
) -> Result<()> {
    let mut tensors = model_tensors(model);
    let (t, m, v) = opt.state();
    for (k, (m, v)) in m.iter().zip(v).enumerate() {
        tensors.push((format!("optim.m.{k}"), vec![m.len()], le_bytes(m)));
        tensors.push((format!("optim.v.{k}"), vec![v.len()], le_bytes(v)));
    }
    let meta = HashMap::from([
        ("config".to_string(), config_json.to_string()),
        ("epoch".to_string(), state.epoch.to_string()),
        ("step".to_string(), state.step.to_string()),
        ("optim_steps".to_string(), t.to_string()),
        ("train_s".to_string(), state.train_s.to_string()),
        ("data_fingerprint".to_string(), data_fingerprint.to_string()),
    ]);
    let mut meta = meta;
    meta.extend(loop_meta.iter().map(|(k, v)| (k.to_string(), v.clone())));
    write(path, &tensors, meta)
}

/// The metadata of the safetensors file at `path`, reading only its header.
///
/// # Errors
/// [`LabError::Io`] for an unreadable file, [`LabError::Checkpoint`] for a
/// header that is not one (or over 16 MiB).
pub fn read_meta(path: &Path) -> Result<HashMap<String, String>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(LabError::io(path))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len).map_err(LabError::io(path))?;
    let n = u64::from_le_bytes(len);
    if n > HEADER_SLACK {
        return Err(bad(
            path,
            format!("has a header of {n} bytes: not a checkpoint"),
        ));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header).map_err(LabError::io(path))?;
    let v: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|e| bad(path, format!("has a header that is not JSON ({e}): damaged; train the run again (train --out DIR --force)")))?;
    Ok(v.get("__metadata__")
        .and_then(serde_json::Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default())
}

/// The bytes of `path`, refused unread when far larger than `expected_bytes`.
fn open(path: &Path, expected_bytes: u64) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path).map_err(LabError::io(path))?.len();
    if len > expected_bytes.saturating_add(HEADER_SLACK) {
        return Err(bad(
            path,
            format!("is {len} bytes, far more than this model's {expected_bytes}; it was written for another architecture"),
        ));
    }
    std::fs::read(path).map_err(LabError::io(path))
}

fn f32s(
    path: &Path,
    st: &safetensors::SafeTensors<'_>,
    name: &str,
    shape: &[usize],
) -> Result<Vec<f32>> {
    let t = st.tensor(name).map_err(|_| {
        bad(
            path,
            format!(
                "tensor `{name}` is missing (was the checkpoint written for another architecture?)"
            ),
        )
    })?;
    if t.dtype() != Dtype::F32 || t.shape() != shape {
        return Err(bad(
            path,
            format!(
                "tensor `{name}` is {:?} {:?}, the model needs F32 {shape:?}",
                t.dtype(),
                t.shape()
            ),
        ));
    }
    let v: Vec<f32> = t
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(bad(
            path,
            format!(
                "tensor `{name}` holds {} at index {i}; the file is damaged or the run diverged",
                v[i]
            ),
        ));
    }
    Ok(v)
}

fn fill_model(
    path: &Path,
    st: &safetensors::SafeTensors<'_>,
    model: &mut Sequential,
) -> Result<()> {
    let mut err: Option<LabError> = None;
    let mut fill = |name: String, shape: &[usize], dst: &mut [f32]| {
        if err.is_none() {
            match f32s(path, st, &name, shape) {
                Ok(v) => dst.copy_from_slice(&v),
                Err(e) => err = Some(e),
            }
        }
    };
    model.visit_params(&mut |i, p| fill(format!("{i}.{}", p.name), p.shape.as_slice(), p.value));
    model.visit_buffers(&mut |i, b| {
        let n = b.value.len();
        fill(format!("{i}.{}", b.name), &[n], b.value)
    });
    err.map_or(Ok(()), Err)
}

fn model_bytes(model: &mut Sequential) -> u64 {
    let mut n = 0u64;
    model.visit_params(&mut |_, p| n += 4 * p.value.len() as u64);
    model.visit_buffers(&mut |_, b| n += 4 * b.value.len() as u64);
    n
}

fn deserialize<'a>(path: &Path, bytes: &'a [u8]) -> Result<safetensors::SafeTensors<'a>> {
    safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| bad(path, format!("not a valid safetensors file ({e}): damaged, truncated or not a model; restore it from a copy, or train the run again (train --out DIR --force)")))
}

/// Load parameters and buffers saved by [`save`] (or [`save_state`]) into a
/// model of the same architecture; returns the metadata stored with them
/// (`config`, and `test_fingerprint` in run directories).
///
/// # Errors
/// [`LabError::Io`] for an unreadable file, [`LabError::Checkpoint`] for one
/// that is not safetensors, does not fit the model exactly, or holds
/// non-finite values.
pub fn load(model: &mut Sequential, path: &Path) -> Result<HashMap<String, String>> {
    let bytes = open(path, model_bytes(model))?;
    load_bytes(model, &bytes, path)
}

/// [`load`] from the file's bytes (`path` names it in messages).
///
/// # Errors
/// As [`load`].
pub fn load_bytes(
    model: &mut Sequential,
    bytes: &[u8],
    path: &Path,
) -> Result<HashMap<String, String>> {
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(path, format!("not a valid safetensors file ({e}): damaged, truncated or not a model; restore it from a copy, or train the run again (train --out DIR --force)")))?;
    verify(path, bytes)?;
    let mut meta = header.metadata().clone().unwrap_or_default();
    meta.remove(CHECKSUM);
    fill_model(path, &deserialize(path, bytes)?, model)?;
    Ok(meta)
}

/// Restore a training checkpoint written by [`save_state`].
///
/// # Errors
/// As [`load`], and for optimizer state or metadata that does not fit.
/// Returns the state and the metadata stored with it (`config`, and
/// `data_fingerprint` in checkpoints of this version).
pub fn load_state(
    model: &mut Sequential,
    opt: &mut Optimizer,
    path: &Path,
) -> Result<(TrainState, HashMap<String, String>)> {
    let mut sizes = Vec::new();
    model.visit_params(&mut |_, p| sizes.push(p.value.len() as u64));
    let expected = model_bytes(model) + 8 * sizes.iter().sum::<u64>();
    load_state_bytes(model, opt, &open(path, expected)?, path)
}

/// [`load_state`] from the file's bytes (`path` names it in messages).
///
/// # Errors
/// As [`load_state`].
pub fn load_state_bytes(
    model: &mut Sequential,
    opt: &mut Optimizer,
    bytes: &[u8],
    path: &Path,
) -> Result<(TrainState, HashMap<String, String>)> {
    let mut sizes = Vec::new();
    model.visit_params(&mut |_, p| sizes.push(p.value.len() as u64));
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(path, format!("not a valid safetensors file ({e}): damaged, truncated or not a model; restore it from a copy, or train the run again (train --out DIR --force)")))?;
    verify(path, bytes)?;
    let meta = header.metadata().clone().unwrap_or_default();
    let num = |key: &str| -> Result<String> {
        meta.get(key).cloned().ok_or_else(|| {
            bad(
                path,
                format!("has no `{key}` in its metadata: not a training checkpoint"),
            )
        })
    };
    let parse_err = |key: &str| bad(path, format!("metadata `{key}` is not a number"));
    let epoch: usize = num("epoch")?.parse().map_err(|_| parse_err("epoch"))?;
    let step: u32 = num("step")?.parse().map_err(|_| parse_err("step"))?;
    let t: u32 = num("optim_steps")?
        .parse()
        .map_err(|_| parse_err("optim_steps"))?;
    let train_s: f64 = num("train_s")?.parse().map_err(|_| parse_err("train_s"))?;
    let st = deserialize(path, bytes)?;
    fill_model(path, &st, model)?;
    let (mut m, mut v) = (Vec::new(), Vec::new());
    if t > 0 {
        for (k, &n) in sizes.iter().enumerate() {
            let mk = format!("optim.m.{k}");
            m.push(f32s(path, &st, &mk, &[n as usize])?);
            let vk = format!("optim.v.{k}");
            let vn = st
                .tensor(&vk)
                .map(|t| t.shape().to_vec())
                .unwrap_or_default();
            v.push(f32s(path, &st, &vk, &vn)?);
        }
    }
    opt.set_state(model, t, m, v)
        .map_err(|e| bad(path, e.to_string()))?;
    let state = TrainState {
        epoch,
        step,
        train_s,
    };
    Ok((state, meta))
}

fn le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
