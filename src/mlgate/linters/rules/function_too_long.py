"""MLG101 function-too-long: a function whose body has more code lines than the limit.

## What it does
Reports a function or method (`def` or `async def`) whose body has more than
`max-function-lines` code lines (default 20). The finding sits on the `def` line and gives the
count and the limit.

What is counted, by default:

- every line of the body that holds code; each physical line of a multi-line statement or
  expression counts, as does every line of a multi-line string that is not the docstring;
- nested functions and classes count toward the enclosing function, and are checked on their
  own as well.

What is not counted, by default: the signature (the `def` line up to the colon), decorators, the
docstring (of the function and of nested definitions), blank lines and comment-only lines. Lines
are judged by their text: a line that is blank or starts with `#` is not code even inside a
bracket or a multi-line string.

## Why is this bad?
A long function does several things at once. It is hard to name, to read in one screen, and to
test one behaviour at a time; it grows by accretion because there is always room for one more
branch. Counting only code lines means nobody deletes comments or docstrings to pass.

## Example
```python
def train(model, batches):
    for batch in batches:
        inputs, labels = batch
        loss = model.loss(inputs, labels)
        model.backward(loss)
    model.save("model.safetensors")
    return model
```
With `max-function-lines = 5` this has 6 code lines.

## Use instead
```python
def train(model, batches):
    for batch in batches:
        step(model, batch)
    model.save("model.safetensors")
    return model


def step(model, batch):
    inputs, labels = batch
    model.backward(model.loss(inputs, labels))
```

## Options
- `max-function-lines` (integer, default 20): the most code lines a body may have.
- `function-lines-include` (list, default `["nested-definitions"]`): what counts besides the
  body's code lines. Any of `"blank-lines"`, `"comment-lines"`, `"docstrings"`, `"signature"`,
  `"decorators"` and `"nested-definitions"`; leave `"nested-definitions"` out to count a nested
  function's or class's lines only toward itself.
"""

from __future__ import annotations

import ast
from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from mlgate.linters.base import Example, FileContext, Finding, Option, at_least_zero
from mlgate.linters.lines import (
    DefNode,
    count_lines,
    docstring,
    prefix_sums,
    statement_start,
)
from mlgate.linters.statements import statement_index

CODE = "MLG101"
NAME = "function-too-long"
CATEGORY = "maintainability"
FIX = None
#: What `function-lines-include` may name, besides the code lines that always count.
LINE_KINDS = (
    "blank-lines",
    "comment-lines",
    "decorators",
    "docstrings",
    "nested-definitions",
    "signature",
)


def _line_kinds(value: tuple[str, ...]) -> str:
    unknown = sorted(set(value) - set(LINE_KINDS))
    return f"unknown {unknown[0]!r}; use {', '.join(LINE_KINDS)}" if unknown else ""


MAX_LINES: Option[int] = Option(
    "max-function-lines", 20, "the most code lines a body may have", at_least_zero
)
INCLUDE: Option[tuple[str, ...]] = Option(
    "function-lines-include",
    ("nested-definitions",),
    f"what counts besides the body's code lines: any of {', '.join(LINE_KINDS)}",
    _line_kinds,
)
OPTIONS = (MAX_LINES, INCLUDE)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
NODE_TYPES: tuple[type[ast.AST], ...] = _FUNCTIONS

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")

Function = ast.FunctionDef | ast.AsyncFunctionDef
Span = tuple[int, int]


def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Report `node` when its counted lines exceed the limit."""
    if not isinstance(node, _FUNCTIONS):
        return
    include = INCLUDE.of(ctx.options)
    spans = _spans(node, include, ctx.lines)
    limit = MAX_LINES.of(ctx.options)
    if sum(last - first + 1 for first, last in spans) <= limit:
        return  # even counting every line in the spans, it is within the limit
    count = _count(node, spans, ctx)
    if count > limit:
        message = f"function `{node.name}` has {count} code lines (limit {limit})"
        yield Finding(node.lineno, node.col_offset, message)


def _spans(node: Function, include: tuple[str, ...], lines: tuple[str, ...]) -> list[Span]:
    """The line ranges whose lines may count: decorators, signature, docstring, body."""
    doc = docstring(node)
    rest = node.body[1:] if doc is not None else node.body
    after_header = statement_start(node.body[0])
    if "blank-lines" in include or "comment-lines" in include:
        after_header = _leading_gap(after_header, node.lineno, lines)
    spans = [
        (statement_start(node), node.lineno - 1) if "decorators" in include else (0, -1),
        (node.lineno, after_header - 1) if "signature" in include else (0, -1),
    ]
    if doc is not None and doc.end_lineno is not None:
        if "docstrings" in include:
            spans.append((doc.lineno, doc.end_lineno))
        after_header = doc.end_lineno + 1
    if rest:
        spans.append((after_header, node.end_lineno or node.lineno))
    return [(first, last) for first, last in spans if last >= first]


def _leading_gap(first: int, header: int, lines: tuple[str, ...]) -> int:
    """Move `first` up over the blank and comment lines between the header and the body."""
    while first - 1 > header and first - 2 < len(lines):
        text = lines[first - 2].strip()
        if text and not text.startswith("#"):
            break
        first -= 1
    return first


def _count(node: Function, spans: list[Span], ctx: FileContext) -> int:
    include = INCLUDE.of(ctx.options)
    kinds = ("code", "blank" * ("blank-lines" in include), "comment" * ("comment-lines" in include))
    prefixes = tuple(prefix_sums(ctx, kind) for kind in kinds if kind)
    total = sum(count_lines(prefixes, first, last) for first, last in spans)
    for excluded in _excluded(node, spans[-1], ctx):  # spans is not empty: count > limit >= 0
        total -= count_lines(prefixes, *excluded)
    return total


def _excluded(node: Function, span: Span, ctx: FileContext) -> Iterator[Span]:
    """Spans inside the body that do not count: nested definitions or their docstrings."""
    include = INCLUDE.of(ctx.options)
    if "nested-definitions" not in include:
        for nested in _outermost_definitions(node):
            yield statement_start(nested), nested.end_lineno or nested.lineno
    elif "docstrings" not in include:
        docstrings = statement_index(ctx).docstrings
        first = bisect_left(docstrings, (span[0], 0))
        last = bisect_right(docstrings, (span[1], span[1]))
        yield from docstrings[first:last]


def _outermost_definitions(node: Function) -> Iterator[DefNode]:
    queue: list[ast.AST] = list(node.body)
    for stmt in queue:
        if isinstance(stmt, _DEFINITIONS):
            yield stmt
            continue
        for block in _BLOCKS:
            queue.extend(getattr(stmt, block, ()))


_SHORT = '''\
def train(model, batches):
    """Fit `model`, one pass over `batches`.

    Long docstrings are free.
    """
    # comments are free too

    for batch in batches:
        model.step(batch)
    return model
'''
_LONG = '''\
@profile
def train(
    model,
    batches,
):
    """Fit `model`."""
    for batch in batches:
        inputs, labels = batch  # a trailing comment does not make a line free
        loss = model.loss(
            inputs,
            # a comment-only line inside a statement is free
            labels,
        )
        model.backward(loss)
    return model
'''
_NESTED = '''\
def outer(items):
    def inner(item):
        """Docstrings of nested functions are free."""
        first = item + 1
        second = first * 2
        return second

    return [inner(item) for item in items]
'''

VALID: tuple[Example, ...] = (
    Example(_SHORT, options=(("max-function-lines", 3),)),
    Example(_LONG, options=(("max-function-lines", 8),)),
    Example(_NESTED, options=(("max-function-lines", 5),)),
    Example(
        _NESTED,
        options=(("max-function-lines", 3), ("function-lines-include", ())),
    ),
)
INVALID: tuple[Example, ...] = (
    Example(_SHORT, expected=((1, CODE),), options=(("max-function-lines", 2),)),
    Example(_LONG, expected=((2, CODE),), options=(("max-function-lines", 7),)),
    Example(_NESTED, expected=((1, CODE),), options=(("max-function-lines", 4),)),
    Example(_NESTED, expected=((1, CODE), (2, CODE)), options=(("max-function-lines", 2),)),
    Example(
        _NESTED,
        expected=((2, CODE),),
        options=(("max-function-lines", 2), ("function-lines-include", ())),
    ),
    Example(
        _SHORT,
        expected=((1, CODE),),
        options=(
            ("max-function-lines", 8),
            ("function-lines-include", ("blank-lines", "comment-lines", "docstrings")),
        ),
    ),
)
