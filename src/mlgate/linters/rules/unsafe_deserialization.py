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
  A non-literal `weights_only=` value is not reported (that needs data flow), nor a load of a
  tensor's own bytes read back from memory (`torch.load(io.BytesIO(t.cpu().numpy()))`, also
  through a name assigned that buffer earlier), which is how a job's ranks share objects;
- `keras.models.load_model`, `keras.saving.load_model` and
  `tensorflow.keras.models.load_model` with `safe_mode=False`;
- `torch.jit.load` (a TorchScript archive carries code that runs when it is used);
- any call with `trust_remote_code=True` (`AutoModel.from_pretrained(...)`, `pipeline(...)`,
  `load_dataset(...)`), which runs Python files that come with the model;
- `eval(...)` and `exec(...)` of data read in the call (`eval(f.read())`,
  `exec(path.read_text())`, `eval(json.loads(...))`, `eval(input())`);
- a class derived from `pickle.Unpickler` (or `_pickle`, `dill`, `cloudpickle`) that does not
  override `find_class`: it unpickles whatever the data names.

Names are resolved as Python resolves them: import aliases, `getattr(pickle, "loads")` with a
constant name, and scopes (a local `def load`, a parameter `load`, or `yaml = YAML()` hides the
imported name; see `mlgate.linters.scopes`). A `yaml.load` whose loader is `SafeLoader` or
`CSafeLoader` under any name (`YamlSafeLoader`) is safe. The messages point at the safe
alternative, and for models at `mlgate.models.load(path)`, mlgate's loader that checks a model
file against an allowlist before loading it.

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
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from mlgate.linters.base import Example, FileContext, Finding, Fix, Option
from mlgate.linters.names import call_name, imports, last_part, qualified_name, source_text

if TYPE_CHECKING:
    import libcst as cst

    from mlgate.linters.fix import FixTools

CODE = "MLG401"
NAME = "unsafe-deserialization"
CATEGORY = "security"
_FIXABLE = frozenset({"yaml.load", "torch.load"})
_VERSION = re.compile(r"\d+(\.\d+)*")


def _version_like(value: str) -> str:
    return "" if not value or _VERSION.fullmatch(value) else f'must look like "2.6", got {value!r}'


TORCH_MIN_VERSION: Option[str] = Option(
    "torch-min-version",
    "",
    'the oldest torch the project supports; from "2.6" on, torch.load without weights_only is safe',
    _version_like,
)
OPTIONS = (TORCH_MIN_VERSION,)
NODE_TYPES: tuple[type[ast.AST], ...] = (ast.Call, ast.ClassDef)

_CACHE_KEY = "unsafe_deserialization.renamed"
_BUFFERS_KEY = "unsafe_deserialization.buffers"
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
_LOADED = {"read", "read_text", "read_bytes", "readline", "readlines", "load", "loads", "recv"}
_LOADED_CALLS = {"builtins.input", "urllib.request.urlopen", "requests.get", "os.getenv"}
_EVALS = {"builtins.eval", "builtins.exec"}
_PICKLE = (
    "load models with `mlgate.models.load(path)` (it checks the file against an allowlist "
    "first), store weights with safetensors and data as JSON or Parquet"
)
_YAML = "use `yaml.safe_load`"
_ALWAYS = {
    **{
        f"{module}.{function}": _PICKLE
        for module in ("pickle", "_pickle", "cPickle", "dill", "cloudpickle")
        for function in ("load", "loads", "Unpickler")
    },
    "joblib.load": "load models with `mlgate.models.load(path)` or save them with skops.io",
    "torch.jit.load": "a TorchScript archive runs its own code; load weights with safetensors",
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
    """Report a call that deserializes unsafely, or an unrestricted `Unpickler` subclass."""
    if isinstance(node, ast.ClassDef):
        yield from _unpickler_subclass(node, ctx)
        return
    if not isinstance(node, ast.Call):
        return
    remote = _trust_remote_code(node)
    if remote is not None:
        yield Finding(node.lineno, node.col_offset, remote)
    name = _loader_name(node, ctx)
    advice = _advice(node, name, ctx) if name else None
    if advice is not None:
        message = f"`{name}` can run code hidden in the data; {advice}"
        yield Finding(node.lineno, node.col_offset, message, name in _FIXABLE)


def _loader_name(call: ast.Call, ctx: FileContext) -> str | None:
    """The qualified name of the function called, through `getattr(pickle, "loads")` too."""
    func = call.func
    if isinstance(func, ast.Call) and _constant_getattr(func):
        owner = qualified_name(func.args[0], ctx, scoped=True)
        return f"{owner}.{func.args[1].value}" if owner else None  # type: ignore[attr-defined]
    if last_part(func) in ("eval", "exec"):
        return call_name(call, ctx, scoped=True)
    return call_name(call, ctx, scoped=True) if _may_load(func, ctx) else None


def _constant_getattr(call: ast.Call) -> bool:
    if last_part(call.func) != "getattr" or len(call.args) < 2:
        return False
    attribute = call.args[1]
    return isinstance(attribute, ast.Constant) and isinstance(attribute.value, str)


def _advice(call: ast.Call, name: str, ctx: FileContext) -> str | None:
    if name in _EVALS:
        return _evaluated(call, ctx)
    advice = _ALWAYS.get(name)
    if advice is None and name in _CONDITIONAL:
        advice = _CONDITIONAL[name](call, ctx)
    return advice


def _evaluated(call: ast.Call, ctx: FileContext) -> str | None:
    """`eval`/`exec` of data read at the call (`eval(f.read())`, `exec(response.text)`)."""
    source = call.args[0] if call.args else None
    if source is None:
        return None
    calls = [node for node in ast.walk(source) if isinstance(node, ast.Call)]
    loaded = any(
        last_part(c.func) in _LOADED or qualified_name(c.func, ctx) in _LOADED_CALLS for c in calls
    )
    return "parse data with `json.loads` or `ast.literal_eval`" if loaded else None


def _trust_remote_code(call: ast.Call) -> str | None:
    for keyword in call.keywords:
        value = keyword.value
        if keyword.arg == "trust_remote_code" and isinstance(value, ast.Constant) and value.value:
            where = source_text(call.func, 40)
            return (
                f"`{where}(..., trust_remote_code=True)` runs the Python code that comes with "
                "the model; pin a reviewed `revision=` or use a model that needs no remote code"
            )
    return None


def _unpickler_subclass(node: ast.ClassDef, ctx: FileContext) -> Iterator[Finding]:
    """A subclass of `pickle.Unpickler` that does not restrict `find_class`."""
    bases = {qualified_name(base, ctx) for base in node.bases}
    if not bases & {f"{m}.Unpickler" for m in ("pickle", "_pickle", "dill", "cloudpickle")}:
        return
    methods = {s.name for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if "find_class" not in methods:
        message = (
            f"`{node.name}` unpickles without restricting `find_class`, so the data can run code; "
            "override `find_class` with an allowlist or use `mlgate.models.load(path)`"
        )
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
    if loader is not None and _safe_loader(loader, ctx):
        return None
    return "use `yaml.safe_load` (or `Loader=yaml.SafeLoader`)"


def _safe_loader(loader: ast.expr, ctx: FileContext) -> bool:
    """`yaml.SafeLoader`, `CSafeLoader`, or either under another name (`from yaml import
    CSafeLoader as YamlSafeLoader`)."""
    name = qualified_name(loader, ctx) or ""
    written = last_part(loader) or ""
    return name in ("yaml.SafeLoader", "yaml.CSafeLoader") or written.endswith("SafeLoader")


def _torch(call: ast.Call, ctx: FileContext) -> str | None:
    weights_only = next((k.value for k in call.keywords if k.arg == "weights_only"), None)
    unset = weights_only is None or _is_none(weights_only)
    if unset and _version(TORCH_MIN_VERSION.of(ctx.options)) >= (2, 6):
        return None
    if _in_memory_tensor(call, ctx):
        return None
    if unset or _is_false(weights_only):
        return "pass `weights_only=True` (or store the weights with safetensors)"
    return None


def _in_memory_tensor(call: ast.Call, ctx: FileContext) -> bool:
    """`torch.load(buffer)` after `buffer = io.BytesIO(tensor.cpu().numpy())`: the bytes of a
    tensor this process holds (sent by the job's own ranks), read back, not a file."""
    source = call.args[0] if call.args else None
    if isinstance(source, ast.Call):
        return _tensor_bytes(source)
    if not isinstance(source, ast.Name):
        return False
    earlier = [v for line, v in _buffers(ctx).get(source.id, []) if line < call.lineno]
    return bool(earlier) and _tensor_bytes(earlier[-1])


def _tensor_bytes(value: ast.expr) -> bool:
    if not isinstance(value, ast.Call) or last_part(value.func) != "BytesIO" or not value.args:
        return False
    calls = (n for n in ast.walk(value.args[0]) if isinstance(n, ast.Call))
    return any(last_part(n.func) in ("numpy", "tobytes") for n in calls)


def _buffers(ctx: FileContext) -> dict[str, list[tuple[int, ast.expr]]]:
    """Name -> (line, value) of its assignments from `BytesIO(...)`, in line order (once)."""
    cached = ctx.cache.get(_BUFFERS_KEY)
    if isinstance(cached, dict):
        return cached
    found: dict[str, list[tuple[int, ast.expr]]] = {}
    for node in ast.walk(ctx.tree):
        if (
            isinstance(node, ast.Assign)
            and last_part(getattr(node.value, "func", None) or node.value) == "BytesIO"
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append((node.lineno, node.value))
    for pairs in found.values():
        pairs.sort(key=lambda pair: pair[0])
    ctx.cache[_BUFFERS_KEY] = found
    return found


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

_WIDER = """\
import pickle
from pathlib import Path

import torch
from joblib import load
from transformers import AutoModel


class CheckpointUnpickler(pickle.Unpickler):
    pass


def restore(path, handle, name):
    model = AutoModel.from_pretrained(name, trust_remote_code=True)
    script = torch.jit.load(path)
    config = eval(Path(path).read_text())
    exec(handle.read())
    state = getattr(pickle, "loads")(handle.read())

    class Local:
        def method(self):
            return load(path)

    return model, script, config, state, Local
"""

_DOWNLOADED = """\
import io

import torch


def fetch(response, obj):
    first = torch.load(io.BytesIO(response.content))
    buffer = io.BytesIO(obj.numpy())
    buffer = io.BytesIO(response.content)
    return first, torch.load(buffer)
"""
_DOWNLOADED_FIXED = _DOWNLOADED.replace(
    "(response.content))", "(response.content), weights_only=True)"
).replace("torch.load(buffer)", "torch.load(buffer, weights_only=True)")


def _safe_load(tools: FixTools, original: cst.Call, updated: cst.Call) -> cst.Call | None:
    """`yaml.load(stream)` (one argument) becomes `yaml.safe_load(stream)`; `torch.load(...)`
    without `weights_only` (and without `**kwargs`) gets `weights_only=True`."""
    names = tools.qualified_names(original.func)
    if "yaml.load" in names:
        return _yaml_safe_load(tools, updated)
    return _torch_weights_only(tools, updated) if "torch.load" in names else None


def _yaml_safe_load(tools: FixTools, call: cst.Call) -> cst.Call | None:
    func = call.func
    if not isinstance(func, tools.cst.Attribute) or len(call.args) != 1:
        return None
    if tools.keywords(call) != {""}:
        return None
    return call.with_changes(func=func.with_changes(attr=tools.cst.Name("safe_load")))


def _torch_weights_only(tools: FixTools, call: cst.Call) -> cst.Call | None:
    if {"weights_only", "**"} & tools.keywords(call):
        return None
    no_space = tools.cst.SimpleWhitespace("")
    new = tools.cst.Arg(
        value=tools.cst.Name("True"),
        keyword=tools.cst.Name("weights_only"),
        equal=tools.cst.AssignEqual(no_space, no_space),
    )
    args = list(call.args)
    last = args[-1] if args else None
    if last is not None and isinstance(last.comma, tools.cst.Comma):
        # A trailing comma keeps its place at the end; the old last argument gets the layout
        # the first argument has after the opening parenthesis.
        spacing = call.whitespace_before_args
        space = tools.cst.SimpleWhitespace(" ")
        after = spacing if isinstance(spacing, tools.cst.ParenthesizedWhitespace) else space
        args[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=after))
        new = new.with_changes(comma=last.comma)
    return call.with_changes(args=[*args, new])


FIX = Fix("Call", _safe_load)


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
    Example(  # a tensor's own bytes read back from memory, as ranks share objects
        """\
import io

import torch


def sync(obj):
    buffer = io.BytesIO(obj.cpu().byte().numpy())
    return torch.load(buffer), torch.load(io.BytesIO(obj.numpy()))
"""
    ),
    Example(  # local names hide the imports; safe loaders under other names
        """\
import pickle
import yaml
from joblib import load
from ruamel.yaml import YAML
from yaml import CSafeLoader as YamlSafeLoader


def read(path, load=None):
    return load(path)


def parse(handle):
    yaml = YAML(typ="safe")
    return yaml.load(handle)


def config(handle):
    return yaml.load(handle, Loader=YamlSafeLoader)


def later(path):
    def load(p):
        return p

    return load(path), eval("1 + 1"), getattr(pickle, "dumps")(path)


class Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(name)


def build():
    class Table:
        load = staticmethod(len)
        size = load("abc")

    return Table
"""
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
    Example(  # the wider reach: TorchScript, remote code, eval of data, Unpickler subclasses
        _WIDER,
        expected=(
            (9, CODE),
            (14, CODE),
            (15, CODE),
            (16, CODE),
            (17, CODE),
            (18, CODE),
            (22, CODE),
        ),
        fixed=_WIDER,
    ),
    Example(  # bytes from elsewhere are data like a file's
        _DOWNLOADED,
        expected=((7, CODE), (10, CODE)),
        fixed=_DOWNLOADED_FIXED,
    ),
)
