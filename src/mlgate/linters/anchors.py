"""Where a finding sits beyond its line number: its span, its enclosing symbol, its source.

Computed once per file while the tree is at hand, and only for files with findings:
- the span is the statement (or `except` clause) that starts on the finding's line, decorators
  included, so a function-level finding covers the whole function;
- the symbol is the qualified name of the innermost function or class around the line
  (`Trainer.fit`), or `<module>`;
- the digest hashes the offending line's tokens without comments and spacing, so baseline
  entries survive re-indentation, moved code and unrelated edits.
"""

from __future__ import annotations

import ast
import hashlib
import io
import tokenize
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from mlgate.linters.base import Violation

MODULE = "<module>"
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
_SKIPPED_TOKENS = frozenset(
    {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
)


class Anchor(NamedTuple):
    """A finding's span (first and last line), enclosing symbol and source digest."""

    start: int
    end: int
    symbol: str
    digest: str


class _Scope(NamedTuple):
    start: int
    end: int
    name: str


def anchor_all(
    tree: ast.Module | None, lines: Sequence[str], violations: Sequence[Violation]
) -> tuple[Anchor, ...]:
    """One anchor per violation, in the same order; `tree` is None for unparsable files.

    Linear in the file and the findings: one walk of the statements, then one sweep over the
    scopes and the findings' lines, both sorted.
    """
    if not violations:
        return ()
    wanted = {v.line for v in violations}
    scopes, spans = _collect(tree, wanted) if tree else ([], {})
    symbols = _innermost(sorted(scopes, key=_outer_first), sorted(wanted))
    return tuple(_anchor(v, symbols[v.line], spans, lines) for v in violations)


def _outer_first(scope: _Scope) -> tuple[int, int]:
    return scope.start, -scope.end


def _innermost(scopes: Sequence[_Scope], wanted: Sequence[int]) -> dict[int, str]:
    """Line -> the name of the innermost scope around it, for each of the sorted `wanted`.

    Scopes nest (their spans never cross), so the scopes open at a line form a stack.
    """
    found: dict[int, str] = {}
    stack: list[_Scope] = []
    index, count = 0, len(scopes)
    for line in wanted:
        while index < count and scopes[index].start <= line:
            _close(stack, scopes[index].start)
            stack.append(scopes[index])
            index += 1
        _close(stack, line)
        found[line] = stack[-1].name if stack else MODULE
    return found


def _close(stack: list[_Scope], line: int) -> None:
    """Pop the scopes that end before `line`."""
    while stack and stack[-1].end < line:
        stack.pop()


def _anchor(
    violation: Violation, symbol: str, spans: dict[int, tuple[int, int]], lines: Sequence[str]
) -> Anchor:
    line = violation.line
    start, end = spans.get(line, (line, line))
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return Anchor(start, end, symbol, digest(text))


def _collect(tree: ast.Module, wanted: set[int]) -> tuple[list[_Scope], dict[int, tuple[int, int]]]:
    """Functions and classes with dotted names, and the widest statement (or `except` clause)
    span starting on each `wanted` line; statements only, expressions are not entered."""
    scopes: list[_Scope] = []
    spans: dict[int, tuple[int, int]] = {}
    stack: list[tuple[ast.AST, str]] = [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for child in _children(node):
            inner = prefix
            if isinstance(child, _SCOPES):
                inner = f"{prefix}{child.name}."
                scopes.append(_Scope(_first_line(child), _last_line(child), inner[:-1]))
            if getattr(child, "lineno", None) in wanted:
                _widen(spans, child)  # type: ignore[arg-type]
            stack.append((child, inner))
    return scopes, spans


def _children(node: ast.AST) -> Iterator[ast.AST]:
    for name in _BLOCK_FIELDS:
        yield from getattr(node, name, ())


def _widen(spans: dict[int, tuple[int, int]], node: ast.stmt | ast.ExceptHandler) -> None:
    start, end = _first_line(node), _last_line(node)
    known = spans.get(node.lineno)
    if known is None or end > known[1]:
        spans[node.lineno] = (min(start, known[0]) if known else start, end)


def _last_line(node: ast.stmt | ast.ExceptHandler) -> int:
    return node.end_lineno or node.lineno


def _first_line(node: ast.stmt | ast.ExceptHandler) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def digest(text: str) -> str:
    """A short hash of one source line's tokens, ignoring comments and spacing."""
    normal = " ".join(_tokens(text)) or text.strip()
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _tokens(text: str) -> Iterator[str]:
    reader = io.StringIO(text.strip() + "\n").readline
    try:
        for token in tokenize.generate_tokens(reader):
            if token.type not in _SKIPPED_TOKENS and token.string:
                yield token.string
    except (tokenize.TokenError, SyntaxError):
        return  # a line that opens a bracket it does not close: its tokens so far are enough
