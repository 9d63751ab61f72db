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
from typing import cast

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


def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Report a `global` statement unless it sits outside every function."""
    if not isinstance(node, ast.Global):
        return
    scope, in_function = _owner(node, ctx.tree)
    if in_function:
        yield Finding(node.lineno, node.col_offset, _message(node.names, _bound(scope, ctx)))


def _message(names: list[str], bound: frozenset[str]) -> str:
    read_only = [name for name in names if name not in bound]
    declared = ", ".join(names)
    if len(read_only) == len(names):
        return f"`global {declared}` is never assigned here: reading needs no `global`; remove it"
    message = f"`global {declared}` hides module state in the function; pass it in and return it"
    if read_only:
        message += f" (`{', '.join(read_only)}` is only read and needs no `global`)"
    return message


def _owner(statement: ast.Global, tree: ast.Module) -> tuple[ast.AST, bool]:
    """The innermost scope holding `statement`, and whether a function encloses it, found by
    descending through the nodes whose source spans hold it (only its path is visited)."""
    scope: ast.AST = tree
    node: ast.AST = tree
    in_function = False
    while node is not statement:
        node = next(child for child in ast.iter_child_nodes(node) if _holds(child, statement))
        if isinstance(node, _SCOPES):
            scope, in_function = node, in_function or not isinstance(node, ast.ClassDef)
    return scope, in_function


def _holds(node: ast.AST, statement: ast.Global) -> bool:
    """Whether `node`'s source span (line and column) holds the statement's start."""
    if not hasattr(node, "end_lineno") or node.end_lineno is None:
        return False
    start = (node.lineno, node.col_offset)  # type: ignore[attr-defined]
    end = (node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
    return start <= (statement.lineno, statement.col_offset) < end


def _bound(scope: ast.AST, ctx: FileContext) -> frozenset[str]:
    """The names `scope` binds itself (not in nested scopes), computed once per scope."""
    table = cast("dict[int, frozenset[str]]", ctx.cache.setdefault(_CACHE_KEY, {}))
    if id(scope) not in table:
        bound: set[str] = set()
        todo = list(ast.iter_child_nodes(scope))
        while todo:
            node = todo.pop()
            if isinstance(node, _SCOPES):
                todo.extend(_outer_parts(node))
                bound.update([node.name] if not isinstance(node, ast.Lambda) else [])
            else:
                bound.update(_binds(node))
                todo.extend(_comprehension_parts(node))
        table[id(scope)] = frozenset(bound)
    return table[id(scope)]


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
