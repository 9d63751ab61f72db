"""Line facts of a file, computed in one pass and shared by every function in it.

Each physical line is one of three kinds, judged by its text alone: blank (only whitespace),
comment (its first non-blank character is `#`) or code (anything else, including every line of
a multi-line string or statement that is not blank and does not start with `#`). Prefix sums
per kind make "how many code lines between line a and line b" an O(1) question, so a function's
length never needs a token scan of its own.
"""

from __future__ import annotations

import ast
from typing import NamedTuple

from mlgate.linters.base import FileContext

_CACHE_KEY = "lines.facts"

DefNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


class LineFacts(NamedTuple):
    """Prefix sums: `code[n]` is the number of code lines among lines 1..n (same for others)."""

    code: list[int]
    blank: list[int]
    comment: list[int]


def _compute(lines: tuple[str, ...]) -> LineFacts:
    code, blank, comment = [0], [0], [0]
    n_code = n_blank = n_comment = 0
    for text in lines:
        stripped = text.lstrip()
        if not stripped:
            n_blank += 1
        elif stripped[0] == "#":
            n_comment += 1
        else:
            n_code += 1
        code.append(n_code)
        blank.append(n_blank)
        comment.append(n_comment)
    return LineFacts(code, blank, comment)


def line_facts(ctx: FileContext) -> LineFacts:
    """The file's line facts, computed on first use and cached in `ctx.cache`."""
    cached = ctx.cache.get(_CACHE_KEY)
    if isinstance(cached, LineFacts):
        return cached
    facts = _compute(ctx.lines)
    ctx.cache[_CACHE_KEY] = facts
    return facts


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
    if lines[first - 1].encode()[: doc.col_offset].strip():
        first += 1
    tail = lines[last - 1].encode()[doc.end_col_offset :].strip()
    if tail and not tail.startswith(b"#"):
        last -= 1
    return first, last
