"""MLG302 global-statement: a `global` statement in a function.

## What it does
Reports every `global` statement inside a function or method (at any depth, also inside a class
nested in a function), on its line. A `global` at module level or directly in a module-level
class body is a no-op and is not reported.

The message says what the statement does. A name the scope assigns (`=`, `+=`, `del`, a `for`
or `with` target, an import, a `def` or `class`, an `except ... as` name) is module state the
function rebinds. A name the scope only reads needs no `global` at all: reading a module
variable works without it, so the message says to remove the declaration (it is still reported,
since it tells a reader the function writes module state when it does not).

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
from typing import NamedTuple, cast

from mlgate.linters.base import Example, FileContext, Finding

CODE = "MLG302"
NAME = "global-statement"
CATEGORY = "maintainability"
FIX = None
OPTIONS = ()
NODE_TYPES: tuple[type[ast.AST], ...] = (ast.Global,)

_CACHE_KEY = "global_statement.scopes"
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = (*_FUNCTIONS, ast.ClassDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class _Owner(NamedTuple):
    """The scope a `global` statement is in: whether it is in a function, what it binds."""

    in_function: bool
    bound: frozenset[str]


def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Report a `global` statement unless it sits outside every function."""
    owner = _owners(ctx).get(id(node)) if isinstance(node, ast.Global) else None
    if isinstance(node, ast.Global) and owner is not None and owner.in_function:
        yield Finding(node.lineno, node.col_offset, _message(node.names, owner.bound))


def _message(names: list[str], bound: frozenset[str]) -> str:
    read_only = [name for name in names if name not in bound]
    declared = ", ".join(names)
    if len(read_only) == len(names):
        return f"`global {declared}` is never assigned here: reading needs no `global`; remove it"
    message = f"`global {declared}` hides module state in the function; pass it in and return it"
    if read_only:
        message += f" (`{', '.join(read_only)}` is only read and needs no `global`)"
    return message


def _owners(ctx: FileContext) -> dict[int, _Owner]:
    """Each `global` statement's scope, by the statement's id (computed once per file)."""
    if _CACHE_KEY not in ctx.cache:
        found: dict[int, _Owner] = {}
        scopes: list[tuple[ast.AST, bool]] = [(ctx.tree, False)]
        for scope, in_function in scopes:
            statements, bound = _scan(scope, in_function, scopes)
            owner = _Owner(in_function, frozenset(bound))
            found.update((id(statement), owner) for statement in statements)
        ctx.cache[_CACHE_KEY] = found
    return cast("dict[int, _Owner]", ctx.cache[_CACHE_KEY])


def _scan(
    scope: ast.AST, in_function: bool, scopes: list[tuple[ast.AST, bool]]
) -> tuple[list[ast.Global], set[str]]:
    """The `global` statements of `scope` and the names it binds; nested scopes are queued."""
    statements: list[ast.Global] = []
    bound: set[str] = set()
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        if isinstance(node, _SCOPES):
            scopes.append((node, in_function or isinstance(node, (*_FUNCTIONS, ast.Lambda))))
            todo.extend(_outer_parts(node))
            bound.update([node.name] if not isinstance(node, ast.Lambda) else [])
        elif isinstance(node, ast.Global):
            statements.append(node)
        else:
            bound.update(_binds(node))
            todo.extend(_comprehension_parts(node))
    return statements, bound


def _outer_parts(node: ast.AST) -> list[ast.AST]:
    """What a nested scope evaluates in the enclosing one: decorators, defaults, bases."""
    parts: list[ast.AST] = list(getattr(node, "decorator_list", ()))
    parts.extend(getattr(node, "bases", ()))
    arguments = getattr(node, "args", None)
    if isinstance(arguments, ast.arguments):
        parts.extend(default for default in arguments.kw_defaults if default is not None)
        parts.extend(arguments.defaults)
    return parts


def _comprehension_parts(node: ast.AST) -> list[ast.AST]:
    """`node`'s children, minus the loop targets of a comprehension (its own scope)."""
    children = list(ast.iter_child_nodes(node))
    if isinstance(node, _COMPREHENSIONS):
        children = [child for child in children if not isinstance(child, ast.comprehension)]
        children.extend(part for loop in node.generators for part in (loop.iter, *loop.ifs))
    return children


def _binds(node: ast.AST) -> Iterator[str]:
    """The names `node` itself binds in its scope."""
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        yield node.id
    elif isinstance(node, ast.Import | ast.ImportFrom):
        yield from ((alias.asname or alias.name).split(".")[0] for alias in node.names)
    elif isinstance(node, ast.ExceptHandler) and node.name:
        yield node.name


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
    Example(  # read-only: reported, with a message saying the declaration is not needed
        """\
THRESHOLD = 0.5


def accept(score):
    global THRESHOLD
    return score > THRESHOLD
""",
        expected=((5, CODE),),
    ),
)
