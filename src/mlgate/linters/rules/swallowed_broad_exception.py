"""MLG202 swallowed-broad-exception: a broad handler that leaves no trace of the error.

## What it does
Reports a handler for every exception (bare `except:`, `except Exception:`,
`except BaseException:`, also inside a tuple, also `except*`) whose body leaves no trace of the
error, on the `except` line; and `with contextlib.suppress(Exception):` (or `BaseException`),
on the `with` line, unless the block starts with an import (an optional extra:
`with suppress(Exception): from mlflow import gateway`).

A broad handler leaves a trace, and is fine, when its body (not counting nested `def`, `class`
and `lambda`):

- re-raises: any `raise` statement outside a nested `try`; `sys.exit(...)` counts as
  `raise SystemExit(...)`, which it is;
- logs with the traceback, at any level: `logger.exception(...)`, any log call with an
  `exc_info=` that is not a false literal, or a log call given the formatted traceback
  (`logger.debug(traceback.format_exc())`) (see MLG204 for what a logger is);
- prints or formats the traceback (`traceback.print_exc()`, `traceback.format_exc()`), or calls
  an error reporter listed in `error-reporters` (by default `sentry_sdk.capture_exception`,
  `sentry_sdk.capture_message`);
- reports the error to the user of a command-line tool: passes it to `click.echo`,
  `click.secho`, `typer.echo`, `rich.print`, a rich console's `console.print(...)` or
  `warnings.warn`;
- hands the exception on: returns or yields it, stores it, or passes it to a call other than
  `print`, `sys.stdout.write`/`sys.stderr.write` or a log call. `sys.exc_info()` and
  `sys.exception()` count as the exception. Text made from it and kept in a local name
  (`msg = f"failed: {err}"`) stands for it: returning or raising `msg` hands it on, logging
  `msg` is a message-only log (MLG204), and nothing else is no trace. Only looking at it does not
  hand it on: `isinstance(err, ...)`, `type(err)`, `str(err)` or `repr(err)` in a condition;
- falls back: computes the value the caller asked for another way. That is: it returns the
  result of another call (`return default_source(...)`) or a value computed from other data
  (an attribute, a comparison, an `and`/`or`, arithmetic, a subscript or a conditional:
  `return session._legacy_field`, `return env or "DEFAULT"`), or it tries another source in
  a nested `try` whose body returns a value (`try: return probe(other_dir)`);
- records the failure in a flag the code after the `try` checks: a handler that only sets
  names to constants (`size = None`), when a statement after the `try` (in its block or after
  an enclosing statement of the same function) compares one of them with a constant
  (`if size is None:`). A flag nobody checks is still a swallow.

Returning a constant, a name, an empty container or a placeholder string is not a fallback:
`return None`, `return False`, `return []` and `return partial_result` are still reported.
These forms of handling were added after a labelled benchmark on mlflow, kedro and lightning
(`bench/precision.py`), where every broad handler of these shapes was a fallback, never a
swallow; no finding judged true was lost.

`print` is not a trace (it is neither logging nor a command-line tool's error output), and a
comment does not excuse a broad handler: use `# noqa: MLG202` to accept one. A broad handler whose
only trace is a log call without the traceback, at any level, is reported as MLG204 instead.

## Why is this bad?
A handler that catches everything and says nothing turns every bug inside the `try` (a typo, a
shape mismatch, an out-of-memory) into silently wrong results. The job succeeds, the metrics are
off, and nobody can tell why.

## Example
```python
def score(model, rows):
    try:
        return model.predict(rows)
    except Exception:
        return None
```

## Use instead
```python
def score(model, rows):
    try:
        return model.predict(rows)
    except Exception:
        logger.exception("scoring failed for %d rows", len(rows))
        return None
```

## Options
- `error-reporters` (list of qualified names): calls that report an error.
- `logger-objects` (list of qualified names): objects that are loggers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from mlgate.linters.base import Example, FileContext, Finding
from mlgate.linters.handlers import findings_for, is_broad
from mlgate.linters.names import call_name, last_part
from mlgate.linters.traces import ERROR_REPORTERS, LOGGER_OBJECTS

CODE = "MLG202"
NAME = "swallowed-broad-exception"
CATEGORY = "maintainability"
FIX = None
OPTIONS = (LOGGER_OBJECTS, ERROR_REPORTERS)
NODE_TYPES: tuple[type[ast.AST], ...] = (ast.ExceptHandler, ast.With, ast.AsyncWith)


def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Report a broad handler or `suppress` that leaves no trace."""
    yield from findings_for(CODE, node, ctx)
    if isinstance(node, (ast.With, ast.AsyncWith)) and _optional_import(node):
        return
    if isinstance(node, (ast.With, ast.AsyncWith)) and any(
        _suppresses_everything(item.context_expr, ctx) for item in node.items
    ):
        message = "`contextlib.suppress` of every exception swallows errors; name the exception"
        yield Finding(node.lineno, node.col_offset, message)


def _optional_import(node: ast.With | ast.AsyncWith) -> bool:
    """`with suppress(Exception): from pkg import extra`: an optional import."""
    return isinstance(node.body[0], (ast.Import, ast.ImportFrom))


def _suppresses_everything(expr: ast.expr, ctx: FileContext) -> bool:
    return (
        isinstance(expr, ast.Call)
        and last_part(expr.func) == "suppress"
        and call_name(expr, ctx) == "contextlib.suppress"
        and any(is_broad(arg) for arg in expr.args)
    )


VALID: tuple[Example, ...] = (
    Example(
        """\
import logging

logger = logging.getLogger(__name__)


def score(model, rows):
    try:
        return model.predict(rows)
    except Exception:
        logger.exception("scoring failed for %d rows", len(rows))
        return None
"""
    ),
    Example(
        """\
def score_all(model, batches, failures):
    for batch in batches:
        try:
            model.predict(batch)
        except Exception as err:
            failures.append((batch, err))
"""
    ),
    Example(
        """\
import sentry_sdk


def score(model, rows):
    try:
        return model.predict(rows)
    except (ValueError, Exception):
        sentry_sdk.capture_exception()
        return None
"""
    ),
    Example(
        """\
def score(model, rows):
    try:
        return model.predict(rows)
    except Exception as err:
        return err
"""
    ),
    Example(  # falls back: a value computed another way, or another source tried
        """\
def active_session(spark):
    try:
        return spark.getActiveSession()
    except Exception:
        return spark._instantiatedSession


def scratch_dir(primary, probe):
    try:
        return primary()
    except Exception:
        try:
            return probe("/local_disk0/tmp")
        except OSError:
            return None
"""
    ),
    Example(  # the failure is a flag the code after the `try` checks
        """\
def read_all(response, written):
    size = None
    if callable(response.tell):
        try:
            size = response.tell()
        except Exception:
            size = None
    if size is None:
        size = written
    return size
"""
    ),
)
INVALID: tuple[Example, ...] = (
    Example(
        """\
def score(model, rows):
    try:
        return model.predict(rows)
    except Exception:
        return None
""",
        expected=((4, CODE),),
    ),
    Example(
        """\
import logging


def score(model, rows):
    try:
        return model.predict(rows)
    except (ValueError, BaseException) as err:
        print(f"scoring failed: {err}")
        logging.captureWarnings(True)
    return None
""",
        expected=((7, CODE),),
    ),
    Example(
        """\
from contextlib import suppress


def cleanup(path):
    with suppress(OSError, Exception):
        path.unlink()
""",
        expected=((5, CODE),),
    ),
    Example(  # a flag nobody checks, a name or a placeholder returned: still swallowed
        """\
def load_all(paths, read):
    found = []
    for path in paths:
        try:
            found.append(read(path))
        except Exception:
            failed = True
    try:
        return [read(path) for path in paths]
    except Exception:
        return found
""",
        expected=((6, CODE), (10, CODE)),
    ),
)
