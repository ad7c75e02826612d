"""A trained run's model.safetensors read from Python: the documented key
mapping gives the logits ``dropout-lab predict`` gave (fixture: a 784-16-10
MLP trained on 1,000 MNIST images, its predictions for 8 test images)."""

import pathlib

import numpy as np
import pytest

from dropout_lab.runs import mlp, mlp_forward, read_safetensors

RUN = pathlib.Path(__file__).parent / "data" / "mnist-mlp"


def expected():
    rows = (RUN / "predict.csv").read_text().splitlines()
    assert rows[0].startswith("row,predicted,confidence,p_0")
    return np.array([[float(v) for v in r.split(",")[3:]] for r in rows[1:]])


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def images():
    return np.load(RUN / "x.npy").reshape(8, -1) / 255.0


def test_the_keys_map_to_an_mlp_that_predicts_as_the_engine_did():
    tensors, meta = read_safetensors(RUN / "model.safetensors")
    assert sorted(tensors) == ["1.bias", "1.weight", "2.bias", "2.weight"]
    layers = mlp(tensors, meta)
    assert [la["weight"].shape for la in layers] == [(16, 784), (10, 16)]
    p = softmax(mlp_forward(layers, images()))
    np.testing.assert_allclose(p, expected(), atol=2e-6)


def test_a_damaged_file_is_refused(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes((RUN / "model.safetensors").read_bytes()[:100])
    with pytest.raises(ValueError):
        read_safetensors(bad)


def test_the_run_loads_into_a_torch_module():
    torch = pytest.importorskip("torch")
    from dropout_lab.torch import load_run

    net = load_run(RUN)
    assert list(net.state_dict()) == ["1.weight", "1.bias", "2.weight", "2.bias"]
    assert not net.training
    with torch.no_grad():
        p = torch.softmax(net(torch.tensor(images(), dtype=torch.float32)), dim=1).numpy()
    np.testing.assert_allclose(p, expected(), atol=2e-6)
