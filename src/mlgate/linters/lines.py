"""Line facts of a file, computed once per file and shared by every function in it.

Each physical line is one of three kinds, judged by its text alone: blank (only whitespace),
comment (its first non-blank character is `#`) or code (anything else, including every line of
a multi-line string or statement that is not blank and does not start with `#`). Prefix sums
per kind make "how many code lines between line a and line b" an O(1) question, so a function's
length never needs a token scan of its own.
"""

from __future__ import annotations

import ast
from itertools import accumulate

from mlgate.linters.base import FileContext

_CACHE_KEY = "lines.prefix."
KINDS = ("code", "blank", "comment")

DefNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _compute(kind: str, ctx: FileContext) -> list[int]:
    lines = ctx.lines
    if kind == "code":
        flags = [text.lstrip()[:1] not in ("", "#") for text in lines]
    elif kind == "blank":
        flags = [not text.strip() for text in lines]
    else:
        code, blank = prefix_sums(ctx, "code"), prefix_sums(ctx, "blank")
        return [index - c - b for index, (c, b) in enumerate(zip(code, blank, strict=True))]
    return list(accumulate(flags, initial=0))


def prefix_sums(ctx: FileContext, kind: str) -> list[int]:
    """`prefix_sums(ctx, kind)[n]`: how many of lines 1..n are of `kind` (one of `KINDS`).

    Computed once per file and kind, on first use; the code kind alone is needed by default.
    """
    key = _CACHE_KEY + kind
    cached = ctx.cache.get(key)
    if isinstance(cached, list):
        return cached
    sums = _compute(kind, ctx)
    ctx.cache[key] = sums
    return sums


def count_lines(prefixes: tuple[list[int], ...], first: int, last: int) -> int:
    """Lines of the kinds whose prefix sums are given, among lines `first`..`last` (1-based)."""
    last = min(last, len(prefixes[0]) - 1)
    if last < first:
        return 0
    return sum(prefix[last] - prefix[first - 1] for prefix in prefixes)


def statement_start(stmt: ast.stmt) -> int:
    """The first line of a statement, counting the decorators of a definition."""
    decorators: list[ast.expr] = getattr(stmt, "decorator_list", [])
    return min([stmt.lineno, *(d.lineno for d in decorators)])


def docstring(node: DefNode) -> ast.Expr | None:
    """The docstring statement of a function or class, if it has one."""
    first = node.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first
    return None


def docstring_lines(node: DefNode, lines: tuple[str, ...]) -> tuple[int, int] | None:
    """The lines only the docstring of `node` occupies (a line shared with code is left out)."""
    doc = docstring(node)
    if doc is None or doc.end_lineno is None or doc.end_col_offset is None:
        return None
    first, last = doc.lineno, doc.end_lineno
    if last > len(lines):
        return None
    if lines[first - 1].encode("utf-8", "surrogatepass")[: doc.col_offset].strip():
        first += 1
    tail = lines[last - 1].encode("utf-8", "surrogatepass")[doc.end_col_offset :].strip()
    if tail and not tail.startswith(b"#"):
        last -= 1
    return first, last
