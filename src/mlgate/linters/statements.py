"""Facts gathered in one pass over a file's statements (never its expressions).

The pass visits every statement, at any depth, breadth first (module level first), and records
what the rules look up later: the import bindings and the lines each docstring occupies. It
runs once per file, on first use, and is cached in `ctx.cache`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import NamedTuple

from mlgate.linters.base import FileContext
from mlgate.linters.lines import docstring_lines

_CACHE_KEY = "statements.index"
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_LOOP = ("body", "orelse")
_BLOCKS: dict[type[ast.AST], tuple[str, ...]] = {
    ast.FunctionDef: ("body",),
    ast.AsyncFunctionDef: ("body",),
    ast.ClassDef: ("body",),
    ast.If: _LOOP,
    ast.For: _LOOP,
    ast.AsyncFor: _LOOP,
    ast.While: _LOOP,
    ast.With: ("body",),
    ast.AsyncWith: ("body",),
    ast.Try: ("body", "handlers", "orelse", "finalbody"),
    getattr(ast, "TryStar", ast.Try): ("body", "handlers", "orelse", "finalbody"),
    ast.ExceptHandler: ("body",),
    ast.Match: ("cases",),
    ast.match_case: ("body",),
}


class StatementIndex(NamedTuple):
    """Import bindings, the names `import` statements bind, docstring line spans (sorted)."""

    imports: dict[str, str]  # local name -> qualified name
    modules: set[str]  # local names bound by `import m` / `import m as n`: modules
    docstrings: list[tuple[int, int]]
    import_lines: set[int]  # the lines import statements occupy


def statement_index(ctx: FileContext) -> StatementIndex:
    """The file's statement facts, computed on first use."""
    cached = ctx.cache.get(_CACHE_KEY)
    if isinstance(cached, StatementIndex):
        return cached
    index = StatementIndex({}, set(), [], set())
    queue: list[ast.AST] = list(ctx.tree.body)
    for node in queue:
        fields = _BLOCKS.get(type(node))
        if fields is None:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                _add_import(node, index)
            continue
        if isinstance(node, _DEFINITIONS):
            _add_docstring(node, ctx, index)
        for name in fields:
            queue.extend(getattr(node, name))
    index.docstrings.sort()
    ctx.cache[_CACHE_KEY] = index
    return index


def _add_import(node: ast.Import | ast.ImportFrom, index: StatementIndex) -> None:
    index.import_lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    for local, qualified in _bindings(node):
        index.imports.setdefault(local, qualified)
        if isinstance(node, ast.Import):
            index.modules.add(local)


def _add_docstring(
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
    ctx: FileContext,
    index: StatementIndex,
) -> None:
    span = docstring_lines(node, ctx.lines)
    if span is not None:
        index.docstrings.append(span)


def _bindings(stmt: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, str]]:
    if isinstance(stmt, ast.Import):
        for alias in stmt.names:
            root = alias.name.partition(".")[0]
            yield (alias.asname, alias.name) if alias.asname else (root, root)
        return
    prefix = "." * stmt.level + (stmt.module or "")
    for alias in stmt.names:
        if alias.name != "*":
            qualified = f"{prefix}.{alias.name}" if stmt.module else prefix + alias.name
            yield alias.asname or alias.name, qualified
