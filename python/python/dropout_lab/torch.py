"""PyTorch autograd wrappers around dropout_lab's kernels (CPU tensors).

``DropoutFunction`` is a ``torch.autograd.Function`` whose forward runs the
kernel and whose backward recomputes the mask from ``(p, key)``: the only
things saved on ``ctx`` are ``p``, the key and the noise shape — no tensor
(``ctx.saved_tensors`` is empty), so a dropout site keeps zero bytes for
backward. ``VariantFunction`` is the same for any member of the family (a
``dropout_lab.Variant``: plain, alpha, gaussian, noise, concrete, block,
path): forward ``y = f(x)``, backward ``dx = f'ᵀ dy`` with the draws
recomputed, ``ctx`` holding the variant, the key and the noise shape.
``Dropout`` is the ``nn.Module``: one key per training step (``step``
counts forwards), a different ``stream`` per site, identity in ``eval()``
unless ``mc=True`` (MC dropout: a fresh reproducible mask per forward even
in eval); ``variant=`` picks the member.

Tensors are viewed as NumPy arrays without a copy when they are contiguous
float32 CPU tensors; other float dtypes go through float32 (the same mask),
non-contiguous tensors are made contiguous (the mask follows the logical
row-major order, as in the other front ends), CUDA tensors are refused.

    >>> import torch
    >>> from dropout_lab.torch import Dropout
    >>> layer = Dropout(0.5, seed=3, stream=0)
    >>> x = torch.ones(4, 8, requires_grad=True)
    >>> layer(x).sum().backward()
    >>> bool(((x.grad == 0) | (x.grad == 2)).all())
    True
"""

from __future__ import annotations

import json

import numpy as np
import torch

from . import _native

__all__ = ["DropoutFunction", "VariantFunction", "Dropout", "dropout", "variant_dropout", "load_run"]


def _as_numpy(t: torch.Tensor, name: str) -> np.ndarray:
    if t.device.type != "cpu":
        raise ValueError(
            f"dropout_lab runs on the CPU; {name} is on {t.device} (move it with .cpu())"
        )
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {t.dtype}")
    t = t.detach()
    if t.dtype != torch.float32:
        t = t.to(torch.float32)
    return t.contiguous().numpy()


def _key(key) -> tuple[int, int, int]:
    if isinstance(key, _native.MaskKey):
        return (key.seed, key.stream, key.step)
    return tuple(key)


class DropoutFunction(torch.autograd.Function):
    """y = keep · x / (1 − p); backward dx = keep · dy / (1 − p), keep recomputed from (p, key)."""

    @staticmethod
    def forward(ctx, x, p, key, noise_shape=None):
        key = _key(key)
        ctx.p, ctx.key, ctx.noise_shape, ctx.dtype = p, key, noise_shape, x.dtype
        y = _native.dropout(_as_numpy(x, "x"), p, key, noise_shape=noise_shape)
        return torch.from_numpy(y).to(x.dtype)

    @staticmethod
    def backward(ctx, dy):
        dx = _native.dropout_backward(
            _as_numpy(dy, "dy"), ctx.p, ctx.key, noise_shape=ctx.noise_shape
        )
        return torch.from_numpy(dx).to(ctx.dtype), None, None, None


class VariantFunction(torch.autograd.Function):
    """y = variant.forward(x, key); backward dx = variant.backward(dy, key), the draws recomputed."""

    @staticmethod
    def forward(ctx, x, variant, key, noise_shape=None):
        key = _key(key)
        ctx.variant, ctx.key, ctx.noise_shape, ctx.dtype = variant, key, noise_shape, x.dtype
        y = variant.forward(_as_numpy(x, "x"), key, noise_shape=noise_shape)
        return torch.from_numpy(y).to(x.dtype)

    @staticmethod
    def backward(ctx, dy):
        dx = ctx.variant.backward(_as_numpy(dy, "dy"), ctx.key, noise_shape=ctx.noise_shape)
        return torch.from_numpy(dx).to(ctx.dtype), None, None, None


class SoftmaxDropoutFunction(torch.autograd.Function):
    """A = dropout(softmax(S)) over the last two axes of (…, T, T) scores; backward
    dS = P ⊙ (dP − Σ P dP) with dP = keep · dA / (1 − p), P and keep recomputed."""

    @staticmethod
    def forward(ctx, scores, p, key, causal=False):
        key = _key(key)
        s = _as_numpy(scores, "scores")
        ctx.p, ctx.key, ctx.causal, ctx.dtype = p, key, causal, scores.dtype
        ctx.save_for_backward(scores)
        a = _native.attention_dropout(s, p, key, causal=causal)
        return torch.from_numpy(a).to(scores.dtype)

    @staticmethod
    def backward(ctx, da):
        (scores,) = ctx.saved_tensors
        ds = _native.attention_dropout_backward(
            _as_numpy(scores, "scores"), _as_numpy(da, "da"), ctx.p, ctx.key, causal=ctx.causal
        )
        return torch.from_numpy(ds).to(ctx.dtype), None, None, None


def softmax_dropout(scores: torch.Tensor, p: float, key, causal: bool = False, training: bool = True):
    """Attention probabilities with their dropout, fused: ``dropout(softmax(scores))`` over the
    last two axes of ``(…, T, T)`` scores, element (b, i, j) keyed by Philox word b·T² + i·T + j
    (the engine's and candle's bits). Not training: the softmax alone (with the causal mask)."""
    if not training:
        if causal:
            t = scores.shape[-1]
            mask = torch.ones(t, t, dtype=torch.bool).triu(1)
            scores = scores.masked_fill(mask, float("-inf"))
        return torch.softmax(scores, dim=-1)
    return SoftmaxDropoutFunction.apply(scores, p, key, causal)


def variant_dropout(x: torch.Tensor, variant, key, training: bool = True, noise_shape=None):
    """``variant`` (a ``dropout_lab.Variant``) applied to ``x`` under ``key`` when training."""
    if not training:
        return x
    ns = None if noise_shape is None else tuple(noise_shape)
    return VariantFunction.apply(x, variant, key, ns)


def dropout(x: torch.Tensor, p: float, key, training: bool = True, noise_shape=None):
    """Dropout of ``x`` under ``key`` (``MaskKey`` or ``(seed, stream, step)``) when training."""
    if not training or p == 0.0:
        return x
    return DropoutFunction.apply(x, p, key, None if noise_shape is None else tuple(noise_shape))


class Dropout(torch.nn.Module):
    """A dropout site: rate ``p``, ``seed``, ``stream``; the step advances every training forward.

    ``mc=True`` keeps dropout on in ``eval()`` (MC dropout); the step still
    advances, so T forwards give T different, reproducible masks.
    ``noise_shape_fn``, if given, maps the input's shape to the mask's
    (e.g. ``lambda s: (s[0], s[1], 1, 1)`` for channel dropout).
    ``variant`` names the member of the family (``dropout_lab.VARIANT_KINDS``;
    default ``"plain"``), ``settings`` its settings (``block=``, ``scope=``,
    ``group=``, ``temperature=``), as ``dropout_lab.Variant`` takes them.
    """

    def __init__(self, p: float = 0.5, seed: int = 0, stream: int = 0, mc: bool = False,
                 noise_shape_fn=None, variant: str = "plain", **settings):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p, self.seed, self.stream, self.mc = p, seed, stream, mc
        self.noise_shape_fn = noise_shape_fn
        self.variant = _native.Variant(variant, p, **settings)
        self.step = 0

    def next_key(self) -> tuple[int, int, int]:
        """The key the next active forward uses."""
        return (self.seed, self.stream, self.step)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training or self.mc) or self.p == 0.0:
            return x
        key = self.next_key()
        self.step += 1
        ns = None if self.noise_shape_fn is None else tuple(self.noise_shape_fn(tuple(x.shape)))
        if self.variant.kind == "plain":
            return DropoutFunction.apply(x, self.p, key, ns)
        return VariantFunction.apply(x, self.variant, key, ns)

    def extra_repr(self) -> str:
        return (f"p={self.p}, seed={self.seed}, stream={self.stream}, mc={self.mc}, "
                f"step={self.step}, variant={self.variant.kind}")


def load_run(path) -> torch.nn.Sequential:
    """A trained plain-MLP run of ``dropout-lab train`` as an ``nn.Sequential``.

    ``path`` is the run directory or its ``model.safetensors``. Each engine
    ``Dense`` layer ``i`` becomes ``nn.Linear`` named ``"i"`` (so the file's
    keys are the ``state_dict``'s), then its activation ``"i_act"`` and
    ``nn.Dropout`` ``"i_drop"``; the input dropout is ``"0"``. The module is
    returned in ``eval()`` mode. Other layers raise ``NotImplementedError``
    (their keys are listed in the book's interop chapter).
    """
    from collections import OrderedDict

    from .runs import mlp, read_safetensors

    tensors, meta = read_safetensors(path)
    layers = mlp(tensors, meta)
    cfg = json.loads(meta["config"])["model"]
    acts = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "selu": torch.nn.SELU}
    mods = OrderedDict()
    if layers[0]["index"] > 0:
        mods["0"] = torch.nn.Dropout(float(cfg["input_dropout"]))
    for j, layer in enumerate(layers):
        out_f, in_f = layer["weight"].shape
        mods[str(layer["index"])] = torch.nn.Linear(in_f, out_f)
        if j + 1 < len(layers):
            mods[f"{layer['index']}_act"] = acts[layer["act"]]()
            mods[f"{layer['index']}_drop"] = torch.nn.Dropout(layer["dropout"])
    net = torch.nn.Sequential(mods)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
    return net.eval()
