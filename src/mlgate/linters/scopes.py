"""Which local bindings shadow a module's imports, by scope, as Python resolves names.

`shadowed(ctx, name, line)` says whether `name`, used on `line`, is bound in a scope that hides
the module-level import of the same name: a function whose parameter, assignment, `def`,
`class`, `for`/`with`/`except` target or walrus binds it (anywhere in the function, as Python
decides local names at compile time, unless it is declared `global`); an enclosing function's
binding (closures); a class body's binding, which Python makes visible to the class body only,
never to its methods; or a module-level assignment of the name (it replaces the import from
there on). A binding by an `import` statement is not a shadow: the import table resolves it.

Computed once per file, on first use, by one walk of the tree; a query looks only at the scopes
that bind the queried name.
"""

from __future__ import annotations

import ast
import re
from typing import NamedTuple

from mlgate.linters.base import FileContext
from mlgate.linters.statements import statement_index

_CACHE_KEY = "scopes.bindings"
_TEXT_KEY = "scopes.may-bind"
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_SCOPES = (*_FUNCTIONS, ast.ClassDef)


class Scope(NamedTuple):
    """The lines a scope's bindings are visible on: [start, end] minus the `hidden` spans."""

    start: int
    end: int
    hidden: tuple[tuple[int, int], ...]  # a class body's methods do not see its names


Bindings = dict[str, list[Scope]]


def shadowed(ctx: FileContext, name: str, line: int) -> bool:
    """Whether `name` on `line` refers to a local binding rather than the module's import.

    A file whose text cannot bind `name` (no `name =`, `name,`, `name)`, `name:`, `def name`,
    `as name`, ...) is answered without building the scopes: most files never rebind an
    imported name, and the walk that builds them costs as much as the rules' own."""
    if not _may_bind(ctx, name):
        return False
    scopes = _bindings(ctx).get(name)
    return bool(scopes) and any(_visible(scope, line) for scope in scopes)  # type: ignore[union-attr]


def _may_bind(ctx: FileContext, name: str) -> bool:
    cache = ctx.cache.setdefault(_TEXT_KEY, {})
    assert isinstance(cache, dict)
    known = cache.get(name)
    if known is None:
        source = cache.get("") or _code_text(ctx)
        cache[""] = source
        escaped = re.escape(name)
        binds = rf"(?<![.\w\"']){escaped}\s*(?:=(?!=)|,|\)|:)|(?:def|class|as|for)\s+{escaped}\b"
        known = cache[name] = re.search(binds, source) is not None
    return bool(known)


def _code_text(ctx: FileContext) -> str:
    """The file's text without its import statements, which bind names the import table knows."""
    skipped = statement_index(ctx).import_lines
    return "\n".join(text for number, text in enumerate(ctx.lines, 1) if number not in skipped)


def _visible(scope: Scope, line: int) -> bool:
    if not scope.start <= line <= scope.end:
        return False
    return not any(start <= line <= end for start, end in scope.hidden)


def _bindings(ctx: FileContext) -> Bindings:
    cached = ctx.cache.get(_CACHE_KEY)
    if isinstance(cached, dict):
        return cached
    found: Bindings = {}
    _add_module(ctx.tree, found)
    for node in ast.walk(ctx.tree):
        if isinstance(node, _SCOPES):
            _add_scope(node, found)
    ctx.cache[_CACHE_KEY] = found
    return found


def _add_module(tree: ast.Module, found: Bindings) -> None:
    """Module-level definitions, and assignments of a call's result (`yaml = YAML()`), shadow
    an import from their line on; `try: import x / except ImportError: x = None` does not."""
    end = len(tree.body) and (tree.body[-1].end_lineno or tree.body[-1].lineno)
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
            names = {t.id for t in stmt.targets if isinstance(t, ast.Name)}
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = {stmt.name}
        else:
            continue
        for name in names:
            found.setdefault(name, []).append(Scope(stmt.lineno, end, ()))


def _add_scope(node: ast.AST, found: Bindings) -> None:
    body = node.body if isinstance(node.body, list) else [node.body]  # type: ignore[attr-defined]
    names = {name for stmt in body for name in _stored_names(stmt, _SCOPES)}
    if isinstance(node, _FUNCTIONS):
        names |= {arg.arg for arg in _parameters(node.args)}
        names -= {n for stmt in body for g in _globals(stmt) for n in g.names}
    start = body[0].lineno if body else node.lineno  # type: ignore[attr-defined]
    end = node.end_lineno or start  # type: ignore[attr-defined]
    hidden = (
        tuple(_span(s) for s in body if isinstance(s, _SCOPES[:2]))
        if isinstance(node, ast.ClassDef)
        else ()
    )
    for name in names:
        found.setdefault(name, []).append(Scope(start, end, hidden))


def _span(node: ast.AST) -> tuple[int, int]:
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])  # type: ignore[attr-defined]
    return start, node.end_lineno or node.lineno  # type: ignore[attr-defined]


def _parameters(args: ast.arguments) -> list[ast.arg]:
    extra = [a for a in (args.vararg, args.kwarg) if a is not None]
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *extra]


def _globals(stmt: ast.stmt) -> list[ast.Global | ast.Nonlocal]:
    return [n for n in _own_nodes(stmt, _SCOPES) if isinstance(n, (ast.Global, ast.Nonlocal))]


def _stored_names(stmt: ast.AST, opaque: tuple[type[ast.AST], ...]) -> set[str]:
    """Names a statement binds in its own scope (nested scopes' insides left out)."""
    names = {_bound_name(node) for node in _own_nodes(stmt, opaque)}
    names.discard(None)
    return names  # type: ignore[return-value]


def _bound_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id if isinstance(node.ctx, (ast.Store, ast.Del)) else None
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    return node.name if isinstance(node, ast.ExceptHandler) else None


def _own_nodes(stmt: ast.AST, opaque: tuple[type[ast.AST], ...]) -> list[ast.AST]:
    """`stmt` and its descendants, not entering nested scopes (but including their heads)."""
    nodes, todo = [], [stmt]
    while todo:
        node = todo.pop()
        nodes.append(node)
        if isinstance(node, opaque) and node is not stmt:
            continue
        if isinstance(node, opaque):
            todo.extend(getattr(node, "decorator_list", []))
            continue
        todo.extend(ast.iter_child_nodes(node))
    return nodes
