"""dropout_lab: the dropout crate's exact, reproducible, mask-free dropout on NumPy arrays.

Element ``e`` (its row-major index) is dropped iff its Philox4x32-10 word under
the key ``(seed, stream, step)`` is below ``round(p * 2**32)``; survivors are
scaled by ``1 / (1 - p)``. The mask is a pure function of the key and the
index: the same on any thread count or CPU, and the same as the Rust crate's
and the candle op's. Backward recomputes it, so nothing is stored.

    >>> import numpy as np, dropout_lab as dl
    >>> x = np.ones((2, 4), dtype=np.float32)
    >>> key = dl.MaskKey(seed=7, stream=0, step=1)
    >>> y = dl.dropout(x, 0.5, key)
    >>> bool(np.all((y == 0) | (y == 2)))
    True
    >>> dy = np.ones_like(x)
    >>> bool(np.array_equal(dl.dropout_backward(dy, 0.5, key), y))
    True

Every member of the family is one class, ``Variant(kind, p, ...)`` with
``kind`` in ``VARIANT_KINDS`` (plain, alpha, gaussian, noise, concrete, block,
path, head), and the same two calls for all of them:

    >>> v = dl.Variant("alpha", 0.2)
    >>> y = v.forward(x, key)                      # AlphaDropout
    >>> dx = v.backward(np.ones_like(x), key)      # its gradient, the mask recomputed
    >>> dl.Variant("block", 0.1, block=3).kind
    'block'

Inputs must be C-contiguous, aligned float32 arrays (read in place, no copy);
other arrays and NumPy scalars are refused with the conversion to use, and an
``out=`` sharing memory with the input is refused. Kernels run on the
package's own thread pool (``RAYON_NUM_THREADS``, capped), rebuilt in a
forked child; a failed allocation raises ``MemoryError``. ``dropout_lab.torch`` (imported
separately, needs PyTorch) wraps the kernels as ``torch.autograd.Function``s.
"""

from ._native import (
    VARIANT_KINDS,
    MaskKey,
    PackedMask,
    Variant,
    alpha_dropout,
    alpha_dropout_backward,
    attention_dropout,
    attention_dropout_backward,
    backend,
    concrete_dropout,
    concrete_dropout_backward,
    drop_path,
    drop_path_backward,
    dropblock,
    dropblock_backward,
    dropout,
    dropout_backward,
    gaussian_dropout,
    gaussian_dropout_backward,
    gaussian_noise,
    mask,
    num_threads,
)

__all__ = [
    "VARIANT_KINDS",
    "MaskKey",
    "PackedMask",
    "Variant",
    "alpha_dropout",
    "alpha_dropout_backward",
    "attention_dropout",
    "attention_dropout_backward",
    "backend",
    "concrete_dropout",
    "concrete_dropout_backward",
    "drop_path",
    "drop_path_backward",
    "dropblock",
    "dropblock_backward",
    "dropout",
    "dropout_backward",
    "gaussian_dropout",
    "gaussian_dropout_backward",
    "gaussian_noise",
    "mask",
    "num_threads",
]
