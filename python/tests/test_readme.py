"""The README's Python examples run as written (the PyTorch one only where torch is installed)."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def blocks():
    text = README.read_text()
    section = text.split("## Use from Python/PyTorch", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_readme_has_numpy_and_torch_examples():
    b = blocks()
    assert len(b) == 2 and "import dropout_lab" in b[0] and "import torch" in b[1]


@pytest.mark.parametrize("i", [0, 1])
def test_readme_example_runs(i):
    code = blocks()[i]
    if "import torch" in code:
        pytest.importorskip("torch")
    exec(compile(code, f"README.md python block {i}", "exec"), {})
