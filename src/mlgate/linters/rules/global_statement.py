"""MLG302 global-statement: a `global` statement in a function.

## What it does
Reports every `global` statement inside a function or method (at any depth, also inside a class
nested in a function), on its line. A `global` at module level or directly in a module-level
class body is a no-op and is not reported.

## Why is this bad?
A function that rebinds a module variable has a hidden input and a hidden output: its result
depends on what ran before, tests leak into each other, and two threads or two models in one
process step on each other. ML code does it for caches, loaded models and counters.

## Example
```python
_model = None


def predict(rows):
    global _model
    if _model is None:
        _model = load_model()
    return _model.predict(rows)
```

## Use instead
```python
@functools.cache
def model():
    return load_model()


def predict(rows):
    return model().predict(rows)
```
or pass the model in, or keep it in an object that owns it.

## Options
None.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import cast

from mlgate.linters.base import Example, FileContext, Finding

CODE = "MLG302"
NAME = "global-statement"
NODE_TYPES: tuple[type[ast.AST], ...] = (ast.Global,)

_CACHE_KEY = "global_statement.module_level"
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")


def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Report a `global` statement unless it sits outside every function."""
    if isinstance(node, ast.Global) and id(node) not in _module_level(ctx):
        names = ", ".join(node.names)
        message = f"`global {names}` hides module state in the function; pass it in and return it"
        yield Finding(node.lineno, node.col_offset, message)


def _module_level(ctx: FileContext) -> set[int]:
    """The ids of the `global` statements outside any function (computed once per file)."""
    if _CACHE_KEY not in ctx.cache:
        found: set[int] = set()
        queue: list[ast.AST] = list(ctx.tree.body)
        for node in queue:
            if isinstance(node, ast.Global):
                found.add(id(node))
            elif not isinstance(node, _FUNCTIONS):
                for block in _BLOCKS:
                    queue.extend(getattr(node, block, ()))
        ctx.cache[_CACHE_KEY] = found
    return cast("set[int]", ctx.cache[_CACHE_KEY])


VALID: tuple[Example, ...] = (
    Example(
        """\
import functools


@functools.cache
def model(load):
    return load()


def predict(load, rows):
    return model(load).predict(rows)
"""
    ),
    Example("global CACHE\nCACHE = {}\n"),
)
INVALID: tuple[Example, ...] = (
    Example(
        """\
_MODEL = None


def predict(load, rows):
    global _MODEL
    if _MODEL is None:
        _MODEL = load()
    return _MODEL.predict(rows)
""",
        expected=((5, CODE),),
    ),
    Example(
        """\
COUNT = 0
SEEN = 0


class Counter:
    async def bump(self):
        if self:
            global COUNT, SEEN
            COUNT += 1
""",
        expected=((8, CODE),),
    ),
)
