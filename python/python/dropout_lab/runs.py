"""Trained runs of ``dropout-lab train`` read from Python, with NumPy only.

A run's ``model.safetensors`` holds one float32 tensor per parameter and
buffer, named ``<layer index>.<name>``: the index is the line of the layer in
the model ``train`` prints (``0  Dropout(0.2)``, ``1  Dense(784→1024, relu,
dropout 0.5)``, …), the name PyTorch's (``weight``, ``bias``,
``running_mean``, ``running_var``), and every shape PyTorch's layout
(``Linear``: ``(out, in)``; ``Conv2d``: ``(out, in, k, k)``). The run's
configuration is in the file's metadata under ``config``.

An engine ``Dense`` layer is PyTorch's ``Linear`` followed by its
activation and dropout; ``dropout_lab.torch.load_run`` builds such an
``nn.Sequential`` for a plain MLP, naming each ``Linear`` by its engine
index so that the file's keys are the module's ``state_dict`` keys.

Reading a run and running its MLP with NumPy (``x``: rows of pixels / 255)::

    tensors, meta = read_safetensors("runs/first")
    logits = mlp_forward(mlp(tensors, meta), x)
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np

__all__ = ["read_safetensors", "mlp", "mlp_forward"]

_DTYPES = {"F32": np.float32}


def read_safetensors(path) -> tuple[dict, dict]:
    """The tensors (name → float32 array) and metadata of a safetensors file."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "model.safetensors")
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file (shorter than its header)")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: not a safetensors file (its header runs past the end)")
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {}) or {}
    body = data[8 + n :]
    tensors = {}
    for name, t in header.items():
        if t["dtype"] not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {t['dtype']}; expected F32")
        a, b = t["data_offsets"]
        tensors[name] = np.frombuffer(body[a:b], dtype=_DTYPES[t["dtype"]]).reshape(t["shape"]).copy()
    return tensors, meta


def mlp(tensors: dict, meta: dict) -> list[dict]:
    """The layers of a plain MLP run: ``[{"index", "weight", "bias", "act", "dropout"}, …]``.

    ``act`` and ``dropout`` follow each layer but the last; index 0 without
    weights is the input dropout (rate in ``meta``'s config). Raises
    ``NotImplementedError`` for anything but Dense layers with standard
    dropout and no normalisation (see the book's interop chapter for the
    other layers' keys).
    """
    cfg = json.loads(meta["config"])["model"]
    if cfg.get("norm", "none") != "none" or cfg.get("dropout_variant", "standard") != "standard":
        raise NotImplementedError("only plain MLPs (no --norm, standard dropout) are built; map the keys by hand")
    index = sorted({int(k.split(".")[0]) for k in tensors})
    layers = []
    for i in index:
        w, b = tensors.get(f"{i}.weight"), tensors.get(f"{i}.bias")
        extra = {k for k in tensors if k.split(".")[0] == str(i)} - {f"{i}.weight", f"{i}.bias"}
        if w is None or b is None or w.ndim != 2 or extra:
            raise NotImplementedError(f"layer {i} is not a Dense layer (keys {sorted(k for k in tensors if k.startswith(f'{i}.'))})")
        layers.append({"index": i, "weight": w, "bias": b, "act": cfg["act"], "dropout": float(cfg["dropout"])})
    for a, b in zip(layers, layers[1:]):
        if a["weight"].shape[0] != b["weight"].shape[1]:
            raise NotImplementedError(f"layers {a['index']} and {b['index']} do not chain: not a plain MLP")
    return layers


_ACTS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "selu": lambda z: 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(z)),
}


def mlp_forward(layers: list[dict], x: np.ndarray) -> np.ndarray:
    """The logits of the eval-mode MLP (no dropout) for rows ``x``."""
    h = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    for j, layer in enumerate(layers):
        h = h @ layer["weight"].T.astype(np.float64) + layer["bias"]
        if j + 1 < len(layers):
            h = _ACTS[layer["act"]](h)
    return h
