"""MLG301 import-time-side-effect: module-level code that calls something when imported.

## What it does
Reports module-level statements that call a function when the module is imported: reading
files, opening connections, loading models, printing, building clients and apps. The finding
sits on the first such call of the statement.

Checked: the module's statements, including those nested in module-level `if`, `try`, `with`,
`for`, `while` and `match` blocks and the headers of those blocks (the `if` test, the `with`
items, the `for` iterable, ...). Calls inside a `lambda` do not run at import and are skipped.

Not checked: imports; function and class definitions, including their decorators, default
values, base classes and class bodies; the body of `if __name__ == "__main__":` and of
`if TYPE_CHECKING:` (their `else` branches are checked); files named `__main__.py`,
`conftest.py` and `setup.py`, which exist to run code.

Pure calls are fine: those listed in `pure-calls` (by default `logging.getLogger`,
`typing.TypeVar`, `collections.namedtuple`, `re.compile`, `dataclasses.field`, `os.getenv`,
side-effect-free builtins such as `frozenset` and `sorted`, and more; `mlgate rule MLG301` shows
the page, the `Options` default lists all) plus `extend-pure-calls`. Names are matched after
resolving import aliases (`from re import compile` calls `re.compile`); `typing_extensions.X`
matches `typing.X`; an entry ending in `.*` matches everything below it (`pytest.mark.*`).
Also pure: methods of literals (`", ".join(NAMES)`), methods of pure builtin types
(`bytes.maketrans`, `dict.fromkeys`), and read-only container and string methods (`items`,
`keys`, `values`, `get`, `copy`, `count`, `index`, `join`, `split`, `rsplit`, `partition`,
`strip`, `lower`, `upper`, `replace`, `startswith`, `endswith`, `format`, `encode`, `decode`)
called on a name that is not bound by an `import` statement (a module), as in
`ID2LABEL = {v: k for k, v in LABEL2ID.items()}`.

## Why is this bad?
Importing a module should not do work. Code that runs at import makes every test, every tool
that imports the package (including documentation builds and type checkers' plugins) and every
worker process pay for it, and fail with it: a model loaded at import time makes a unit test
download gigabytes, and a client built at import time makes network calls before the program
has read its configuration.

## Example
```python
import joblib

model = joblib.load("model.joblib")


def predict(rows):
    return model.predict(rows)
```

## Use instead
```python
import functools

import joblib


@functools.cache
def model():
    return joblib.load("model.joblib")


def predict(rows):
    return model().predict(rows)
```

## Options
- `pure-calls` (list of qualified names): calls that are fine at module level; replaces the
  default list.
- `extend-pure-calls` (list of qualified names): added to `pure-calls`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from mlgate.linters.base import Example, FileContext, Finding
from mlgate.linters.names import dotted_name, last_part, qualified_name, source_text
from mlgate.linters.statements import statement_index

CODE = "MLG301"
NAME = "import-time-side-effect"
NODE_TYPES: tuple[type[ast.AST], ...] = (ast.Module,)

_EXEMPT_FILES = {"__main__.py", "conftest.py", "setup.py"}
_SKIPPED = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Import,
    ast.ImportFrom,
    ast.Global,
    ast.Nonlocal,
    ast.Pass,
)
_BLOCKS = ("body", "orelse", "finalbody")
_LITERALS = (ast.Constant, ast.JoinedStr, ast.Dict, ast.List, ast.Set, ast.Tuple)
_READ_ONLY_METHODS = {
    "copy",
    "count",
    "decode",
    "encode",
    "endswith",
    "format",
    "get",
    "index",
    "items",
    "join",
    "keys",
    "lower",
    "partition",
    "replace",
    "rsplit",
    "split",
    "startswith",
    "strip",
    "upper",
    "values",
}


def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Report the first impure call of each module-level statement."""
    if not isinstance(node, ast.Module) or _file_name(ctx.path) in _EXEMPT_FILES:
        return
    pure = _pure_calls(ctx)
    for root in _import_time_code(node.body):
        if not _has_parenthesis(root, ctx.lines):
            continue  # no call without one: skip constant tables cheaply
        for call in _calls(root):
            if not _is_pure(call, ctx, pure):
                yield Finding(call.lineno, call.col_offset, _message(call))
                break


_Pure = tuple[frozenset[str], tuple[str, ...]]


def _is_pure(call: ast.Call, ctx: FileContext, pure: _Pure) -> bool:
    func = call.func
    name = qualified_name(func, ctx)
    if name is None:
        return isinstance(func, ast.Attribute) and isinstance(func.value, _LITERALS)
    name = _normalised(name)
    if name in pure[0] or name.startswith(pure[1]):
        return True
    owner, _, method = name.rpartition(".")
    if owner in pure[0] and owner.startswith("builtins."):
        return True  # `bytes.maketrans`, `dict.fromkeys`: methods of pure builtin types
    written = dotted_name(func) or ""
    module = written.partition(".")[0] in statement_index(ctx).modules
    local = "." in written and not module and not name.startswith("builtins.")
    return local and method in _READ_ONLY_METHODS


def _file_name(path: str) -> str:
    return path.replace("\\", "/").rpartition("/")[2]


def _has_parenthesis(node: ast.AST, lines: tuple[str, ...]) -> bool:
    first = getattr(node, "lineno", 1)
    last = getattr(node, "end_lineno", None) or first
    return any("(" in text for text in lines[first - 1 : last])


def _pure_calls(ctx: FileContext) -> _Pure:
    names = (*ctx.options.pure_calls, *ctx.options.extend_pure_calls)
    exact = frozenset(name for name in names if not name.endswith(".*"))
    prefixes = tuple(name[:-1] for name in names if name.endswith(".*"))
    return exact, prefixes


def _normalised(name: str) -> str:
    if name.startswith("typing_extensions."):
        return "typing." + name.partition(".")[2]
    return name


def _message(call: ast.Call) -> str:
    written = source_text(call.func, 40)
    return f"`{written}(...)` runs at import; call it from a function or the `__main__` guard"


def _import_time_code(body: Iterable[ast.stmt]) -> Iterator[ast.AST]:
    """The statements and block headers of `body` that run when the module is imported."""
    for stmt in body:
        if isinstance(stmt, _SKIPPED):
            continue
        if isinstance(stmt, ast.If) and _is_guard(stmt.test):
            yield from _import_time_code(stmt.orelse)
            continue
        blocks = [getattr(stmt, name) for name in _BLOCKS if hasattr(stmt, name)]
        handlers = getattr(stmt, "handlers", ()) or getattr(stmt, "cases", ())
        blocks.extend(handler.body for handler in handlers)
        if not blocks:
            yield stmt  # a simple statement: all of it runs
            continue
        yield from _headers(stmt)
        for block in blocks:
            yield from _import_time_code(block)


def _headers(stmt: ast.stmt) -> Iterator[ast.expr]:
    for child in ast.iter_child_nodes(stmt):
        if isinstance(child, ast.expr):
            yield child
        elif isinstance(child, ast.withitem):
            yield child.context_expr
        elif isinstance(child, ast.match_case) and child.guard is not None:
            yield child.guard


def _is_guard(test: ast.expr) -> bool:
    """`if __name__ == "__main__":` or `if TYPE_CHECKING:` (any spelling of the name)."""
    if last_part(test) == "TYPE_CHECKING":
        return True
    if not isinstance(test, ast.Compare) or len(test.comparators) != 1:
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    return {_name_or_text(test.left), _name_or_text(test.comparators[0])} == {
        "__name__",
        "__main__",
    }


def _name_or_text(expr: ast.expr) -> object:
    if isinstance(expr, ast.Name):
        return expr.id
    return expr.value if isinstance(expr, ast.Constant) else None


def _calls(root: ast.AST) -> Iterator[ast.Call]:
    """The calls in `root`, outermost and leftmost first, skipping lambda bodies."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Call):
            yield node
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


VALID: tuple[Example, ...] = (
    Example(
        '''\
"""Scoring service."""

import logging
import re
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger(__name__)
T = TypeVar("T")
TOKEN = re.compile(r"[a-z]+")
LABELS = frozenset(["cat", "dog"])
HEADER = ", ".join(sorted(LABELS))
MAX_ROWS = 10_000

try:
    import orjson as json
except ImportError:
    import json


def main() -> int:
    print(json.dumps({"ok": True}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
'''
    ),
    Example(
        "import mlflow\n\nmlflow.set_tracking_uri('databricks')\n",
        options=(("extend-pure-calls", ("mlflow.set_tracking_uri",)),),
    ),
)
INVALID: tuple[Example, ...] = (
    Example(
        """\
import joblib
import requests

model = joblib.load("model.joblib")
session = requests.Session()
print("model loaded")
for name in sorted(open("labels.txt")):
    LABELS = name
if __name__ == "__main__":
    pass
else:
    session.mount("https://", adapter=None)
""",
        expected=((4, CODE), (4, "MLG401"), (5, CODE), (6, CODE), (7, CODE), (12, CODE)),
    ),
    Example(
        """\
from dataclasses import dataclass

import yaml

with open("config.yaml") as handle:
    CONFIG = yaml.safe_load(handle)
""",
        expected=((5, CODE), (6, CODE)),
    ),
)
