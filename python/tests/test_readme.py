"""The Python examples of the docs run as written (the PyTorch ones only
where torch is installed): the README's quick-start block and the book's
Python chapter (docs/src/python.md)."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CHAPTER = ROOT / "docs" / "src" / "python.md"


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def blocks():
    return python_blocks(README) + python_blocks(CHAPTER)


def test_the_docs_have_numpy_and_torch_examples():
    readme, chapter = python_blocks(README), python_blocks(CHAPTER)
    assert len(readme) == 1 and "import dropout_lab" in readme[0]
    assert len(chapter) == 2 and "import dropout_lab" in chapter[0] and "import torch" in chapter[1]


@pytest.mark.parametrize("i", [0, 1, 2])
def test_docs_example_runs(i):
    code = blocks()[i]
    if "import torch" in code:
        pytest.importorskip("torch")
    exec(compile(code, f"docs python block {i}", "exec"), {})
