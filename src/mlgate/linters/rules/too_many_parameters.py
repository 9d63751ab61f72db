"""MLG102 too-many-parameters: a function that takes more parameters than the limit.

## What it does
Reports a function or method (`def` or `async def`) with more than `max-parameters`
parameters (default 5), on its `def` line. Every parameter counts: positional-only, ordinary
and keyword-only ones, with or without defaults; `*args` and `**kwargs` count once each. A first
positional parameter named `self` or `cls` is not counted. Stubs decorated with `@overload`
are exempt (the implementation is still checked). Lambdas are not checked.

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

from mlgate.linters.base import Example, FileContext, Finding
from mlgate.linters.names import last_part

CODE = "MLG102"
NAME = "too-many-parameters"
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
NODE_TYPES: tuple[type[ast.AST], ...] = _FUNCTIONS


def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Report `node` when it takes more parameters than the limit."""
    if not isinstance(node, _FUNCTIONS):
        return
    count, limit = _count(node.args), ctx.options.max_parameters
    if count > limit and not any(last_part(d) == "overload" for d in node.decorator_list):
        message = f"function `{node.name}` takes {count} parameters (limit {limit})"
        yield Finding(node.lineno, node.col_offset, message)


def _count(args: ast.arguments) -> int:
    positional = [*args.posonlyargs, *args.args]
    skip = 1 if positional and positional[0].arg in ("self", "cls") else 0
    starred = (args.vararg is not None) + (args.kwarg is not None)
    return len(positional) - skip + len(args.kwonlyargs) + starred


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
    def fit(self, model, data, /, epochs, *args, seed=0, **kwargs):
        return model
""",
        expected=((2, CODE),),
    ),
    Example(
        "async def fetch(url, timeout, *, retries, backoff):\n    return url\n",
        expected=((1, CODE),),
        options=(("max-parameters", 3),),
    ),
)
