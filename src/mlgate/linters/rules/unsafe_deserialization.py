"""MLG401 unsafe-deserialization: loading data in a way that can execute code from it.

## What it does
Reports a call that deserializes with a format able to run code hidden in the data, on the
call. Import aliases are resolved (`import pickle as pk`, `from joblib import load`,
`import numpy as np`). Reported:

- `pickle`, `_pickle`, `cPickle`, `dill` and `cloudpickle`: `load`, `loads`, `Unpickler`;
- `joblib.load`, `pandas.read_pickle`, `shelve.open`, `jsonpickle.decode`,
  `marshal.load`, `marshal.loads`;
- `numpy.load(...)` with `allow_pickle=` (keyword or third argument) anything but a false
  literal;
- `yaml.load(...)` and `yaml.load_all(...)` unless the loader (keyword `Loader=` or second
  argument) is `SafeLoader` or `CSafeLoader`; `yaml.unsafe_load`, `yaml.full_load` and their
  `_all` forms;
- `torch.load(...)` with `weights_only=False`, or without `weights_only` (or with
  `weights_only=None`) unless `torch-min-version` is 2.6 or later, where `True` is the default.
  A non-literal `weights_only=` value is not reported (that needs data flow);
- `keras.models.load_model`, `keras.saving.load_model` and
  `tensorflow.keras.models.load_model` with `safe_mode=False`.

## Why is this bad?
Unpickling runs whatever the file says to run: a model downloaded from a hub, a shared drive or
a compromised artifact store can execute code on the machine that loads it, with that machine's
credentials. The message names the safe alternative.

## Example
```python
import joblib
import torch


def load(path):
    return joblib.load(path), torch.load(path + ".pt")
```

## Use instead
```python
import skops.io
import torch


def load(path):
    trusted = skops.io.get_untrusted_types(file=path)  # review these once
    return skops.io.load(path, trusted=trusted), torch.load(path + ".pt", weights_only=True)
```

## Options
- `torch-min-version` (string, default `""`, unknown): the oldest torch the project supports;
  from `"2.6"` on, `torch.load` without `weights_only` is safe.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

from mlgate.linters.base import Example, FileContext, Finding
from mlgate.linters.names import call_name, imports, last_part

CODE = "MLG401"
NAME = "unsafe-deserialization"
NODE_TYPES: tuple[type[ast.AST], ...] = (ast.Call,)

_CACHE_KEY = "unsafe_deserialization.renamed"
_CANDIDATES = {
    "Unpickler",
    "decode",
    "full_load",
    "full_load_all",
    "load",
    "load_all",
    "load_model",
    "loads",
    "open",
    "read_pickle",
    "unsafe_load",
    "unsafe_load_all",
}
_PICKLE = "store weights with safetensors and data as JSON or Parquet"
_YAML = "use `yaml.safe_load`"
_ALWAYS = {
    **{
        f"{module}.{function}": _PICKLE
        for module in ("pickle", "_pickle", "cPickle", "dill", "cloudpickle")
        for function in ("load", "loads", "Unpickler")
    },
    "joblib.load": "save scikit-learn models with skops.io instead",
    "pandas.read_pickle": "store frames as Parquet (`pandas.read_parquet`)",
    "shelve.open": "use JSON or sqlite3",
    "jsonpickle.decode": "use `json.loads`",
    "marshal.load": "use JSON",
    "marshal.loads": "use JSON",
    "yaml.unsafe_load": _YAML,
    "yaml.unsafe_load_all": _YAML,
    "yaml.full_load": _YAML,
    "yaml.full_load_all": _YAML,
}


def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Report a call that deserializes unsafely."""
    if not isinstance(node, ast.Call) or not _may_load(node.func, ctx):
        return
    name = call_name(node, ctx)
    advice = _ALWAYS.get(name or "")
    if advice is None and name in _CONDITIONAL:
        advice = _CONDITIONAL[name](node, ctx)
    if advice is not None:
        message = f"`{name}` can run code hidden in the data; {advice}"
        yield Finding(node.lineno, node.col_offset, message)


def _may_load(func: ast.expr, ctx: FileContext) -> bool:
    """The cheap filter: the called name is a loader's name, or an import renamed one."""
    last = last_part(func)
    if last in _CANDIDATES:
        return True
    return isinstance(func, ast.Name) and func.id in _renamed_loaders(ctx)


def _renamed_loaders(ctx: FileContext) -> set[str]:
    """Local names bound by `from m import load as other` and the like (once per file)."""
    cached = ctx.cache.get(_CACHE_KEY)
    if isinstance(cached, set):
        return cached
    renamed = {
        local
        for local, qualified in imports(ctx).items()
        if qualified.rpartition(".")[2] in _CANDIDATES
    }
    ctx.cache[_CACHE_KEY] = renamed
    return renamed


def _argument(call: ast.Call, keyword: str, position: int) -> ast.expr | None:
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    if len(call.args) > position and not any(
        isinstance(arg, ast.Starred) for arg in call.args[: position + 1]
    ):
        return call.args[position]
    return None


def _is_none(expr: ast.expr | None) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is None


def _is_false(expr: ast.expr | None) -> bool:
    """`False`, `0` and the like; not `None`, which usually means "the default"."""
    return isinstance(expr, ast.Constant) and expr.value is not None and not expr.value


def _numpy(call: ast.Call, ctx: FileContext) -> str | None:
    allow = _argument(call, "allow_pickle", 2)
    if allow is None or _is_none(allow) or _is_false(allow):
        return None
    return "keep `allow_pickle=False` and store object arrays another way"


def _yaml(call: ast.Call, ctx: FileContext) -> str | None:
    loader = _argument(call, "Loader", 1)
    if loader is not None and last_part(loader) in ("SafeLoader", "CSafeLoader"):
        return None
    return "use `yaml.safe_load` (or `Loader=yaml.SafeLoader`)"


def _torch(call: ast.Call, ctx: FileContext) -> str | None:
    weights_only = next((k.value for k in call.keywords if k.arg == "weights_only"), None)
    unset = weights_only is None or _is_none(weights_only)
    if unset and _version(ctx.options.torch_min_version) >= (2, 6):
        return None
    if unset or _is_false(weights_only):
        return "pass `weights_only=True` (or store the weights with safetensors)"
    return None


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")) if text else ()


def _keras(call: ast.Call, ctx: FileContext) -> str | None:
    safe_mode = next((k.value for k in call.keywords if k.arg == "safe_mode"), None)
    return "keep `safe_mode=True` (the default)" if _is_false(safe_mode) else None


_CONDITIONAL: dict[str, Callable[[ast.Call, FileContext], str | None]] = {
    "keras.models.load_model": _keras,
    "keras.saving.load_model": _keras,
    "numpy.load": _numpy,
    "tensorflow.keras.models.load_model": _keras,
    "torch.load": _torch,
    "yaml.load": _yaml,
    "yaml.load_all": _yaml,
}

VALID: tuple[Example, ...] = (
    Example(
        """\
import numpy as np
import torch
import yaml
from safetensors.torch import load_file


def load(path, trusted):
    weights = load_file(path)
    state = torch.load(path, weights_only=True)
    config = yaml.load(open(path), Loader=yaml.SafeLoader)
    arrays = np.load(path, allow_pickle=False), np.load(path)
    maybe = torch.load(path, weights_only=trusted)
    return weights, state, config, arrays, maybe
"""
    ),
    Example(
        "import torch\n\n\ndef load(path):\n    return torch.load(path)\n",
        options=(("torch-min-version", "2.6"),),
    ),
)
INVALID: tuple[Example, ...] = (
    Example(
        """\
import pickle as pk
from joblib import load

import numpy
import pandas as pd
import torch
import yaml


def read(path, handle):
    a = pk.loads(handle.read())
    b = load(path)
    c = numpy.load(path, None, True)
    d = pd.read_pickle(path)
    e = torch.load(path)
    f = torch.load(path, weights_only=False)
    g = yaml.load(handle)
    return a, b, c, d, e, f, g
""",
        expected=(
            (11, CODE),
            (12, CODE),
            (13, CODE),
            (14, CODE),
            (15, CODE),
            (16, CODE),
            (17, CODE),
        ),
        fixed="""\
import pickle as pk
from joblib import load

import numpy
import pandas as pd
import torch
import yaml


def read(path, handle):
    a = pk.loads(handle.read())
    b = load(path)
    c = numpy.load(path, None, True)
    d = pd.read_pickle(path)
    e = torch.load(path, weights_only=True)
    f = torch.load(path, weights_only=False)
    g = yaml.safe_load(handle)
    return a, b, c, d, e, f, g
""",
    ),
    Example(
        """\
import torch
from tensorflow import keras


def load(path):
    model = keras.models.load_model(path, safe_mode=False)
    return model, torch.load(path, weights_only=False)
""",
        expected=((6, CODE), (7, CODE)),
        options=(("torch-min-version", "2.6"),),
        fixed="""\
import torch
from tensorflow import keras


def load(path):
    model = keras.models.load_model(path, safe_mode=False)
    return model, torch.load(path, weights_only=False)
""",
    ),
)
