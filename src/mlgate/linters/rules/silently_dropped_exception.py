"""MLG203 silently-dropped-exception: a handler that skips a record of a loop without a word.

## What it does
Reports a handler that silently skips a work item of a loop over data, on the `except` line: a
handler for a specific exception type (anything but a bare `except:`, `Exception` or
`BaseException`; `except*` included) of a `try` inside the body of a `for` loop, whose body only
drops the item (every statement in it is `pass`, `...`, `continue` or `break`).

Not reported, because nothing is lost or the idiom says why:
- a comment anywhere in the handler (from the `except` line to the end of its body) gives the
  reason; tool pragmas (`# noqa`, `# type:`, `# pragma`, `# nosec`, `# pylint:`, `# fmt:`,
  `# mypy:`, `# pyright:`, `# ruff:`) are not reasons;
- EAFP idioms outside loops (lookup-or-None, parse-or-None: `except KeyError: return None`),
  since the caller gets the answer it asked for;
- trying the next candidate: the `try` body returns or breaks on success (`for fmt in FORMATS:
  try: return parse(text, fmt) except ValueError: continue`), or the loop body ends by
  returning a value (`for entry in entries: try: token = decode(entry) except ValueError:
  continue; return token`): the loop looks for the first item that works;
- a comment in the `try` body that names the exception caught
  (`# a concurrent insert of the same row is the only IntegrityError here`) gives the reason;
- `try`/`except`/`else` checks, where the `else` branch handles the items that passed;
- optional imports (`ImportError`, `ModuleNotFoundError`);
- exceptions that signal the end of the work, not an error: `StopIteration`,
  `StopAsyncIteration`, `GeneratorExit`, `queue.Empty`, `queue.Full`, `asyncio.QueueEmpty` and
  `asyncio.QueueFull` (`except queue.Empty: break` ends a drain loop).

## Why is this bad?
`except ValueError: continue` in a loop over 10,000 records can lose 50 of them without a
trace. Sometimes that is right, but then the reason belongs next to the code; otherwise the
error should be counted, logged or handled.

## Example
```python
for row in rows:
    try:
        records.append(parse(row))
    except ValueError:
        continue
```

## Use instead
```python
for row in rows:
    try:
        records.append(parse(row))
    except ValueError:
        logger.warning("skipping malformed row %r", row)
```
or, when dropping is right, say why:
```python
    except ValueError:
        continue  # header and footer rows do not parse; they carry no data
```

## Options
What counts as a trace is shared with MLG202 and MLG204:
- `logger-objects` (list of qualified names): objects that are loggers, beyond the heuristic.
- `error-reporters` (list of qualified names): calls that report an error.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from mlgate.linters.base import Example, FileContext, Finding
from mlgate.linters.handlers import findings_for
from mlgate.linters.names import last_part, qualified_name
from mlgate.linters.traces import ERROR_REPORTERS, LOGGER_OBJECTS

CODE = "MLG203"
NAME = "silently-dropped-exception"
CATEGORY = "maintainability"
FIX = None
OPTIONS = (LOGGER_OBJECTS, ERROR_REPORTERS)
NODE_TYPES: tuple[type[ast.AST], ...] = (ast.For, ast.AsyncFor)
_OPAQUE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.AsyncFor, ast.While)
_TRIES: tuple[type[ast.AST], ...] = (ast.Try, getattr(ast, "TryStar", ast.Try))
_COLLECTING = frozenset({"append", "extend", "add", "update", "put", "write", "send", "insert"})
_BLOCKS = ("body", "orelse", "finalbody")


def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Report the handlers of the loop's `try` statements that only drop the item."""
    if not isinstance(node, (ast.For, ast.AsyncFor)) or _counts(node.iter) or _finds(node):
        return
    for attempt, follows in _tries_in(node.body):
        if attempt.orelse or _searches(attempt) or _only_actions(attempt.body):
            continue
        for handler in attempt.handlers:
            if _skips(handler, follows) and not _optional_import(handler, ctx):
                yield from findings_for(CODE, handler, ctx)


def _tries_in(body: list[ast.stmt]) -> Iterator[tuple[ast.Try, bool]]:
    """Each `try` of a loop body (not of nested loops or definitions), and whether any statement
    of the loop body runs after it (in its block or in an enclosing one)."""
    todo = [(body, False)]
    while todo:
        block, follows = todo.pop()
        for index, stmt in enumerate(block):
            later = follows or index + 1 < len(block)
            if isinstance(stmt, _TRIES):
                yield stmt, later  # type: ignore[misc]
            if not isinstance(stmt, _OPAQUE):
                inner = [getattr(stmt, name) for name in _BLOCKS if hasattr(stmt, name)]
                inner.extend(h.body for h in getattr(stmt, "handlers", ()))
                todo.extend((child, later) for child in inner)


def _counts(iterable: ast.expr) -> bool:
    """`for _ in range(...)`: a retry or polling loop, not a loop over data."""
    return isinstance(iterable, ast.Call) and last_part(iterable.func) == "range"


def _finds(loop: ast.For | ast.AsyncFor) -> bool:
    """The loop body ends by returning a value: the loop returns the first item that gets
    through, so an item the handler skips is a candidate that did not fit, not a lost record."""
    last = loop.body[-1]
    value = last.value if isinstance(last, ast.Return) else None
    return value is not None and not (isinstance(value, ast.Constant) and value.value is None)


def _searches(attempt: ast.Try) -> bool:
    """The loop leaves on success: it looks for the first candidate that works."""
    return any(isinstance(node, ast.Return) for stmt in attempt.body for node in ast.walk(stmt))


def _only_actions(body: list[ast.stmt]) -> bool:
    """The try only acts on the item (`child.terminate()`, `os.kill(pid, SIGTERM)`,
    `int(name)`): plain calls whose results are not kept, with no call in their arguments."""
    return all(_action(stmt) for stmt in body)


def _action(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.If):
        return _only_actions(stmt.body) and _only_actions(stmt.orelse)
    return isinstance(stmt, ast.Expr) and _plain_call(stmt.value)


def _plain_call(expr: ast.expr) -> bool:
    if not isinstance(expr, ast.Call) or last_part(expr.func) in _COLLECTING:
        return False
    arguments = (*expr.args, *(keyword.value for keyword in expr.keywords))
    return not any(isinstance(n, ast.Call) for arg in arguments for n in ast.walk(arg))


def _skips(handler: ast.ExceptHandler, follows: bool) -> bool:
    """`continue`/`break` skip the item; `pass` only when nothing in the loop runs after it."""
    ends = any(isinstance(stmt, (ast.Continue, ast.Break)) for stmt in handler.body)
    return ends or not follows


def _optional_import(handler: ast.ExceptHandler, ctx: FileContext) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    names = {qualified_name(k, ctx) for k in kinds if k is not None}
    return bool(names & {"builtins.ImportError", "builtins.ModuleNotFoundError"})


VALID: tuple[Example, ...] = (
    Example(  # a search: the loop returns the first entry that decodes
        """\
def credentials(entries, decode):
    for entry in entries:
        try:
            user, password = decode(entry)
        except ValueError:
            continue
        return user, password
    return None
"""
    ),
    Example(  # the try's comment names the exception it expects
        """\
def attach(session, rows):
    for row in rows:
        try:
            # a concurrent attach of the same row is the only IntegrityError here;
            # the re-read below picks that row up
            session.insert(row)
        except IntegrityError:
            pass
    return session.read()
"""
    ),
    Example(
        """\
def parse_all(parse, rows, skipped):
    records = []
    for row in rows:
        try:
            records.append(parse(row))
        except ValueError:
            skipped.append(row)
    return records
"""
    ),
    Example(
        """\
def parse_all(parse, rows):
    records = []
    for row in rows:
        try:
            records.append(parse(row))
        except ValueError:
            continue  # header and footer rows do not parse; they carry no data
    return records
"""
    ),
    Example(  # EAFP idioms, optional imports, candidates, try/except/else, end signals
        """\
import queue

try:
    import orjson as json
except ImportError:
    import json


def read_config(path):
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def first_date(text, formats):
    for fmt in formats:
        try:
            return parse(text, fmt)
        except ValueError:
            continue


def valid_rows(rows, check, kept):
    for row in rows:
        try:
            check(row)
        except ValueError:
            pass
        else:
            kept.append(row)
    for name in ("ujson", "simplejson"):
        try:
            __import__(name)
        except ImportError:
            continue


def drain(jobs):
    for _ in range(100):
        try:
            jobs.get_nowait()
        except queue.Empty:
            break
"""
    ),
)
INVALID: tuple[Example, ...] = (
    Example(
        """\
def parse_all(parse, rows):
    records = []
    for row in rows:
        try:
            records.append(parse(row))
        except (ValueError, KeyError):
            continue
    return records
""",
        expected=((6, CODE),),
    ),
    Example(
        """\
import json


async def load_all(paths):
    rows = []
    async for path in paths:
        if path.suffix == ".json":
            try:
                rows.extend(json.loads(path.read_text()))
            except (json.JSONDecodeError, OSError):  # noqa: E501
                continue
            try:
                rows.append(path.stat().st_size)
            except OSError:
                break
    return rows
""",
        expected=((10, CODE), (14, CODE)),
    ),
)
