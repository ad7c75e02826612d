"""dropout_lab.torch: autograd through the kernels, nothing saved but the key. Skipped without PyTorch."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import dropout_lab as dl  # noqa: E402
from dropout_lab.torch import (  # noqa: E402
    Dropout,
    DropoutFunction,
    VariantFunction,
    dropout,
    variant_dropout,
)


def test_forward_and_grad_equal_the_numpy_kernels():
    x = torch.randn(32, 100, generator=torch.Generator().manual_seed(0), requires_grad=True)
    key = (5, 2, 9)
    y = dropout(x, 0.3, key)
    assert np.array_equal(y.detach().numpy(), dl.dropout(x.detach().numpy(), 0.3, key))
    g = torch.randn(32, 100, generator=torch.Generator().manual_seed(1))
    y.backward(g)
    assert np.array_equal(x.grad.numpy(), dl.dropout_backward(g.numpy(), 0.3, key))


def test_ctx_saves_no_tensor():
    seen = {}

    class Spy(DropoutFunction):
        @staticmethod
        def backward(ctx, dy):
            seen["saved"] = len(ctx.saved_tensors)
            seen["key"] = ctx.key
            return DropoutFunction.backward(ctx, dy)

    x = torch.ones(10, requires_grad=True)
    Spy.apply(x, 0.5, dl.MaskKey(1, 2, 3)).sum().backward()
    assert seen == {"saved": 0, "key": (1, 2, 3)}


def test_module_steps_its_key_and_is_the_identity_in_eval():
    layer = Dropout(0.5, seed=4, stream=1)
    x = torch.ones(8, 64)
    a, b = layer(x), layer(x)
    assert layer.step == 2 and not torch.equal(a, b)
    assert torch.equal(a, dropout(x, 0.5, (4, 1, 0)))
    layer.eval()
    assert layer(x) is x and layer.step == 2
    mc = Dropout(0.5, seed=4, stream=1, mc=True).eval()
    assert torch.equal(mc(x), a) and torch.equal(mc(x), b)  # MC dropout: reproducible masks in eval


def test_non_contiguous_float64_and_channel_masks():
    x = torch.randn(6, 5, dtype=torch.float64).t()
    y = dropout(x, 0.5, (1, 0, 0))
    assert y.dtype == torch.float64
    want = dl.dropout(np.ascontiguousarray(x.numpy(), dtype=np.float32), 0.5, (1, 0, 0))
    assert np.array_equal((y != 0).numpy(), want != 0)
    layer = Dropout(0.5, seed=2, noise_shape_fn=lambda s: (s[0], s[1], 1, 1))
    z = layer(torch.ones(2, 8, 3, 3)).reshape(2, 8, 9)
    assert torch.all(z.amin(dim=2) == z.amax(dim=2))


def test_gradcheck_in_double_precision_of_the_linear_map():
    x = torch.randn(4, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: dropout(t, 0.4, (3, 0, 1)), (x,), eps=1e-3, atol=1e-3)


def test_cuda_and_integer_tensors_are_refused():
    with pytest.raises(TypeError, match="floating-point"):
        dropout(torch.ones(3, dtype=torch.int64), 0.5, (1, 0, 0))
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="CPU"):
            dropout(torch.ones(3, device="cuda"), 0.5, (1, 0, 0))


SHAPES = {"elements": (6, 5, 7), "rows": (12, 4, 3), "maps": (2, 3, 6, 6), "heads": (5, 4, 3, 2)}


@pytest.mark.parametrize("kind", dl.VARIANT_KINDS)
def test_every_variant_forward_and_grad_equal_the_numpy_class(kind):
    v = dl.Variant(kind, 0.3)
    shape = SHAPES[v.layout]
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(2), requires_grad=True)
    key = (7, 1, 4)
    y = variant_dropout(x, v, key)
    assert np.array_equal(y.detach().numpy(), v.forward(x.detach().numpy(), key))
    g = torch.randn(*shape, generator=torch.Generator().manual_seed(3))
    y.backward(g)
    assert np.array_equal(x.grad.numpy(), v.backward(g.numpy(), key))
    assert variant_dropout(x, v, key, training=False) is x


def test_variant_ctx_saves_no_tensor_and_broadcast_forms_work():
    seen = {}

    class Spy(VariantFunction):
        @staticmethod
        def backward(ctx, dy):
            seen["saved"] = len(ctx.saved_tensors)
            seen["kind"] = ctx.variant.kind
            return VariantFunction.backward(ctx, dy)

    x = torch.ones(2, 3, 4, 4, requires_grad=True)
    Spy.apply(x, dl.Variant("alpha", 0.5), (1, 2, 3), (2, 3, 1, 1)).sum().backward()
    assert seen == {"saved": 0, "kind": "alpha"}
    g = x.grad.reshape(2, 3, 16)
    assert torch.all(g.amin(dim=2) == g.amax(dim=2))  # one bit per (sample, channel)


def test_module_takes_any_variant():
    layer = Dropout(0.3, seed=5, stream=2, variant="block", block=2)
    x = torch.ones(2, 3, 6, 6)
    y = layer(x)
    assert layer.step == 1 and "variant=block" in repr(layer)
    assert torch.equal(y, variant_dropout(x, dl.Variant("block", 0.3, block=2), (5, 2, 0)))
    layer.eval()
    assert layer(x) is x


def test_softmax_dropout_autograd_matches_the_numpy_backward():
    from dropout_lab.torch import softmax_dropout

    s = torch.randn(2, 2, 6, 6, generator=torch.Generator().manual_seed(4), requires_grad=True)
    g = torch.randn(2, 2, 6, 6, generator=torch.Generator().manual_seed(5))
    a = softmax_dropout(s, 0.25, (3, 2, 1), causal=True)
    a.backward(g)
    want = dl.attention_dropout_backward(
        s.detach().numpy(), g.numpy(), 0.25, (3, 2, 1), causal=True
    )
    assert np.allclose(s.grad.numpy(), want)
    # Eval: torch's own causal softmax, rows summing to 1.
    e = softmax_dropout(s, 0.25, (3, 2, 1), causal=True, training=False)
    assert torch.allclose(e.sum(-1), torch.ones(2, 2, 6))
    assert torch.all(e[..., 0, 1:] == 0)
