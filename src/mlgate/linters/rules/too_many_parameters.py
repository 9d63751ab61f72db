"""MLG102 too-many-parameters: a function that takes more parameters than the limit.

## What it does
Reports a function or method (`def` or `async def`) with more than `max-parameters`
parameters (default 5), on its `def` line. It counts as ruff's PLR0913 (pylint's R0913) does:
positional-only, ordinary and keyword-only parameters, with or without defaults; `*args` and
`**kwargs` do not count, nor does a parameter named only with underscores (`_`, `__`). A
method's implicit first parameter is not counted, whatever its name: a function defined in a
class body that is not a `@staticmethod` (its `self`, or its `cls` under `@classmethod`); a
function outside a class counts all its parameters, even one named `self`. Methods decorated
with `@override` (their signature is the base class's) and stubs decorated with `@overload`
are exempt (the implementation is still checked). Lambdas are not checked.

Where mlgate differs from ruff: ruff skips every parameter matching its dummy-variable pattern
(by default also `_name`); mlgate skips only names made of underscores, since `_name`
parameters are real inputs a caller must pass. ruff decides the implicit first parameter the
same way (by decorator); pylint by name.

## Why is this bad?
A function with many parameters is hard to call correctly and hard to test: every combination
is a case. Parameters that travel together (learning rate, batch size, epochs) are one concept
and belong in one value.

## Example
```python
def train(model, data, epochs, batch_size, learning_rate, seed):
    ...
```

## Use instead
```python
@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    batch_size: int
    learning_rate: float
    seed: int


def train(model, data, config: TrainConfig):
    ...
```

## Options
- `max-parameters` (integer, default 5): the most parameters a function may take.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from mlgate.linters.base import Example, FileContext, Finding, Option, at_least_zero
from mlgate.linters.names import last_part

CODE = "MLG102"
NAME = "too-many-parameters"
CATEGORY = "maintainability"
FIX = None
MAX_PARAMETERS: Option[int] = Option(
    "max-parameters", 5, "the most parameters a function may take", at_least_zero
)
OPTIONS = (MAX_PARAMETERS,)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_OWNERS = (ast.Module, ast.ClassDef, *_FUNCTIONS)
_EXEMPT = frozenset({"overload", "override"})
NODE_TYPES: tuple[type[ast.AST], ...] = _OWNERS


def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Report the functions defined directly in `node`'s body that take too many parameters."""
    if not isinstance(node, _OWNERS):
        return
    in_class, limit = isinstance(node, ast.ClassDef), MAX_PARAMETERS.of(ctx.options)
    for function in _defined_in(node.body):
        count = _count(function, in_class)
        if count > limit and not _exempt(function):
            message = f"function `{function.name}` takes {count} parameters (limit {limit})"
            yield Finding(function.lineno, function.col_offset, message)


def _defined_in(body: list[ast.stmt]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions defined in `body`, inside `if`/`try`/`with`/loops too, not in nested defs."""
    todo = list(body)
    while todo:
        stmt = todo.pop()
        if isinstance(stmt, _FUNCTIONS):
            yield stmt
        elif not isinstance(stmt, ast.ClassDef):
            for block in ("body", "orelse", "finalbody"):  # where statements hold statements
                todo.extend(getattr(stmt, block, ()))
            todo.extend(s for h in getattr(stmt, "handlers", ()) for s in h.body)
            todo.extend(s for c in getattr(stmt, "cases", ()) for s in c.body)


def _exempt(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(last_part(d) in _EXEMPT for d in function.decorator_list)


def _count(function: ast.FunctionDef | ast.AsyncFunctionDef, in_class: bool) -> int:
    args = function.args
    named = [*args.posonlyargs, *args.args]
    implicit = in_class and not any(last_part(d) == "staticmethod" for d in function.decorator_list)
    named = named[1:] if implicit else named
    return sum(1 for arg in [*named, *args.kwonlyargs] if arg.arg.strip("_"))


VALID: tuple[Example, ...] = (
    Example("def train(model, data, epochs, batch_size, learning_rate):\n    return model\n"),
    Example(
        """\
class Trainer:
    def fit(self, model, data, epochs, batch_size, learning_rate):
        return model

    @classmethod
    def create(cls, model, data, epochs, batch_size, learning_rate):
        return cls()

    def tune(this, model, data, epochs, batch_size, learning_rate):
        return model
"""
    ),
    Example(  # variadics, `_` placeholders and overriding methods are not counted
        """\
from typing import override


def train(model, data, epochs, batch_size, learning_rate, *args, **kwargs):
    return model


def callback(_, __, trainer, module, outputs, batch):
    return trainer


class Loop(Base):
    @override
    def step(self, model, data, epochs, batch_size, learning_rate, seed):
        return model
"""
    ),
    Example(
        "def train(model, data, epochs, batch_size, learning_rate, seed):\n    return model\n",
        options=(("max-parameters", 6),),
    ),
)
INVALID: tuple[Example, ...] = (
    Example(
        "def train(model, data, epochs, batch_size, learning_rate, seed):\n    return model\n",
        expected=((1, CODE),),
    ),
    Example(
        """\
class Trainer:
    def fit(self, model, data, /, epochs, *args, seed=0, lr=0.1, decay=0.0, **kwargs):
        return model
""",
        expected=((2, CODE),),
    ),
    Example(
        "async def fetch(url, timeout, *, retries, backoff):\n    return url\n",
        expected=((1, CODE),),
        options=(("max-parameters", 3),),
    ),
    Example(  # the implicit parameter is decided by decorator, not by name
        """\
class Trainer:
    @staticmethod
    def fit(self, model, data, epochs, batch_size, learning_rate):
        return model

    if True:
        def tune(this, model, data, epochs, batch_size, learning_rate, seed):
            return model


def helper(self, model, data, epochs, batch_size, learning_rate):
    def inner(self, a, b, c, d, e):
        return a
    return inner
""",
        expected=((3, CODE), (7, CODE), (11, CODE), (12, CODE)),
    ),
)
