"""MLG401 edge cases beyond the rule's examples."""

from __future__ import annotations

import pytest
from rule_findings import findings, messages


def inside(body: str, head: str = "") -> str:
    """`body` as the return value of a function, after the imports in `head`."""
    return f"{head}\n\ndef f(path, handle, flag):\n    return {body}\n"


@pytest.mark.parametrize(
    ("head", "body"),
    [
        ("import pickle as pk", "pk.load(handle)"),
        ("from pickle import loads as undump", "undump(b'')"),
        ("import _pickle", "_pickle.Unpickler(handle).load()"),
        ("import cPickle", "cPickle.loads(b'')"),
        ("import dill", "dill.loads(b'')"),
        ("import cloudpickle", "cloudpickle.load(handle)"),
        ("import joblib", "joblib.load(path)"),
        ("from pandas import read_pickle", "read_pickle(path)"),
        ("import shelve", "shelve.open(path)"),
        ("import jsonpickle", "jsonpickle.decode(path)"),
        ("import marshal", "marshal.loads(b'')"),
        ("import numpy as np", "np.load(path, allow_pickle=flag)"),
        ("import numpy as np", "np.load(path, None, 1)"),
        ("import numpy as np", "np.load(path, mmap_mode='r', allow_pickle=True)"),
        ("import yaml", "yaml.load(handle, yaml.FullLoader)"),
        ("import yaml", "yaml.load_all(handle, Loader=yaml.Loader)"),
        ("import yaml", "yaml.full_load(handle)"),
        ("from yaml import unsafe_load", "unsafe_load(handle)"),
        ("import torch", "torch.load(path, weights_only=None)"),
        ("from torch import load", "load(path, weights_only=0)"),
        ("import keras", "keras.saving.load_model(path, safe_mode=False)"),
    ],
)
def test_unsafe_calls(head: str, body: str) -> None:
    assert findings(inside(body, head)) == [(4, "MLG401")]


@pytest.mark.parametrize(
    ("head", "body"),
    [
        ("import json", "json.load(handle)"),
        ("", "open(path)"),
        ("import numpy as np", "np.load(path, allow_pickle=0)"),
        ("import numpy as np", "np.load(*path)"),
        ("import yaml", "yaml.load(handle, yaml.CSafeLoader)"),
        ("import yaml", "yaml.safe_load(handle)"),
        ("import torch", "torch.load(path, weights_only=flag)"),
        ("import keras", "keras.models.load_model(path, safe_mode=True)"),
        ("import keras", "keras.models.load_model(path)"),
        ("", "handle.load()"),
        ("from pickle import *", "load(handle)"),
        ("", "loaders[0](path)"),
    ],
)
def test_safe_calls(head: str, body: str) -> None:
    assert findings(inside(body, head)) == []


@pytest.mark.parametrize(
    ("version", "expected"),
    [("", [(4, "MLG401")]), ("2.5.1", [(4, "MLG401")]), ("2.6", []), ("2.10", []), ("3", [])],
)
def test_torch_min_version(version: str, expected: list[tuple[int, str]]) -> None:
    assert findings(inside("torch.load(path)", "import torch"), torch_min_version=version) == (
        expected
    )


def test_conditional_and_function_local_imports() -> None:
    source = """\
        try:
            import cPickle as pickle
        except ImportError:
            import pickle


        def f(handle):
            import joblib as jl

            return pickle.load(handle), jl.load(handle)
        """
    assert findings(source) == [(10, "MLG401"), (10, "MLG401")]


def test_messages_name_the_safe_alternative() -> None:
    source = inside("torch.load(path), pickle.load(handle)", "import pickle\nimport torch")
    assert messages(source) == [
        "`torch.load` can run code hidden in the data; pass `weights_only=True` (or store the "
        "weights with safetensors)",
        "`pickle.load` can run code hidden in the data; load models with "
        "`mlgate.models.load(path)` (it checks the file against an allowlist first), store "
        "weights with safetensors and data as JSON or Parquet",
    ]
