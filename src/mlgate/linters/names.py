"""Qualified names of expressions, with the file's import aliases resolved.

`qualified_name(expr, ctx)` turns `pk.loads` into `pickle.loads` after `import pickle as pk`,
`load` into `joblib.load` after `from joblib import load`, and an unbound builtin such as `print`
into `builtins.print`. The alias table is built once per file, on first use, from the file's
import statements (module level first, then nested blocks and function bodies; the first
binding wins, see `mlgate.linters.statements`). Names are resolved in the scope where they are
used when the caller asks (`scoped=True`, as MLG401 does): a local function, parameter,
assignment or class-body binding of the name hides the import (see `mlgate.linters.scopes`), so
`def load(path): ...` or `yaml = YAML()` is not the imported loader.
"""

from __future__ import annotations

import ast
import builtins
from itertools import islice

from mlgate.linters.base import FileContext
from mlgate.linters.scopes import shadowed
from mlgate.linters.statements import statement_index

# Builtins whose local rebinding changes what a rule reports (I/O and code execution).
_SHADOWABLE_BUILTINS = frozenset({"open", "print", "input", "eval", "exec", "compile"})


def imports(ctx: FileContext) -> dict[str, str]:
    """Local name -> qualified name for every import in the file (computed once per file)."""
    return statement_index(ctx).imports


def dotted_name(expr: ast.expr) -> str | None:
    """`a.b.c` for a chain of attributes on a name, as written; None for anything else."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


def qualified_name(expr: ast.expr, ctx: FileContext, scoped: bool = False) -> str | None:
    """The dotted name of `expr` with its first part resolved through the file's imports;
    with `scoped`, None when a local binding hides the import (see `mlgate.linters.scopes`).

    Scopes are consulted only when asked for (MLG401, on calls already known to name a
    loader): building them costs a walk of the file."""
    dotted = dotted_name(expr)
    if dotted is None:
        return None
    root, dot, rest = dotted.partition(".")
    resolved = imports(ctx).get(root)
    known = resolved is not None or root in _SHADOWABLE_BUILTINS
    if scoped and known and shadowed(ctx, root, expr.lineno):
        return None  # a local binding: not the module's import, nor the builtin
    if resolved is None:
        resolved = f"builtins.{root}" if root in vars(builtins) else root
    return resolved + dot + rest


def call_name(call: ast.Call, ctx: FileContext, scoped: bool = False) -> str | None:
    """The qualified name of the function a call calls, when it is a dotted name."""
    return qualified_name(call.func, ctx, scoped)


def last_part(expr: ast.expr) -> str | None:
    """The last name in `a.b.c` or `c`: the cheap filter applied before resolving names."""
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Name):
        return expr.id
    return None


def source_text(expr: ast.expr, limit: int = 60) -> str:
    """`expr` as source for a message, cut to `limit` characters.

    Only small expressions are unparsed (unparsing recurses, and expressions can nest deeper
    than the recursion limit); a larger one is shown as `...`.
    """
    if sum(1 for _ in islice(ast.walk(expr), 101)) > 100:
        return "..."
    text = ast.unparse(expr)
    return text if len(text) <= limit else text[: limit - 3] + "..."
