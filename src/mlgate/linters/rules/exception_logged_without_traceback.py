"""MLG204 exception-logged-without-traceback: a broad handler that logs the error but not where.

## What it does
Reports a broad handler (as in MLG202: bare, `Exception`, `BaseException`, also in a tuple)
whose only trace of the error is a log call without the traceback, at any level, on that log
call (the first one, when there are several). The error's message may be passed directly
(`logger.warning("failed: %s", err)`) or through a local name (`msg = f"failed: {err}"` then
`logger.warning(msg)`): both lose the traceback.

A log call is a call of `debug`, `info`, `warning`, `warn`, `warning_once`, `warn_once`,
`info_once`, `error`, `exception`, `critical`, `fatal` or `log` on a logger: the `logging`
module, the result of `getLogger(...)` or `get_logger(...)`, a name whose last part (leading
underscores dropped, case ignored) starts with `log` or ends with `logger` (`logger`, `log`,
`self._logger`, `LOGGER`), or a name listed in `logger-objects`; and lightning's
`rank_zero_warn`/`rank_zero_info`/`rank_zero_debug`. It carries the traceback when it is
`.exception(...)`, passes an `exc_info=` that is not a false literal, or is given the formatted
traceback (`traceback.format_exc()`); at any level, since a team that wants the traceback of an
expected failure only at DEBUG has made that choice.

## Why is this bad?
`logger.error("failed: %s", err)` records that something failed and what the message was, but
not where: the traceback is gone, and for a `KeyError: 'x'` from deep inside a pipeline that is
the only useful part.

## Example
```python
try:
    publish(model)
except Exception as err:
    logger.error("publishing failed: %s", err)
```

## Use instead
```python
try:
    publish(model)
except Exception:
    logger.exception("publishing failed")
```

## Options
- `logger-objects` (list of qualified names): objects that are loggers, beyond the heuristic.
- `error-reporters` (list of qualified names): calls that report an error (shared with MLG202).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mlgate.linters.base import Example, FileContext, Finding, Fix
from mlgate.linters.handlers import findings_for

if TYPE_CHECKING:
    import libcst as cst

    from mlgate.linters.fix import FixTools
from mlgate.linters.traces import ERROR_REPORTERS, LOGGER_OBJECTS

CODE = "MLG204"
NAME = "exception-logged-without-traceback"
CATEGORY = "maintainability"
OPTIONS = (LOGGER_OBJECTS, ERROR_REPORTERS)
NODE_TYPES: tuple[type[ast.AST], ...] = (ast.ExceptHandler,)


def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Report the log call of a broad handler whose only trace is that log call."""
    yield from findings_for(CODE, node, ctx)


_EXPLICIT_EXC_INFO = """\
class Publisher:
    def publish(self, model):
        try:
            self.target.push(model)
        except Exception:
            self.failures += 1
            self._log.warning(
                "push failed", exc_info=False
            )
            return False
        return True
"""


def _log_exception(tools: FixTools, _: cst.Call, call: cst.Call) -> cst.Call | None:
    """`log.error(...)` / `log.warning(...)` becomes `log.exception(...)`, unless the call
    already passes `exc_info` (or unpacks keywords that may)."""
    func = call.func
    if not isinstance(func, tools.cst.Attribute) or func.attr.value not in ("error", "warning"):
        return None
    if {"exc_info", "**"} & tools.keywords(call):
        return None
    return call.with_changes(func=func.with_changes(attr=tools.cst.Name("exception")))


FIX = Fix("Call", _log_exception)


VALID: tuple[Example, ...] = (
    Example(
        """\
import logging

logger = logging.getLogger(__name__)


def publish_or_warn(publish, model):
    try:
        publish(model)
    except Exception as err:
        logger.error("publishing failed: %s", err, exc_info=err)
"""
    ),
    Example(
        """\
def publish_or_warn(publish, model, log):
    try:
        publish(model)
    except Exception:
        log.warning("publishing failed")
        raise
"""
    ),
)
INVALID: tuple[Example, ...] = (
    Example(
        """\
import logging

logger = logging.getLogger(__name__)


def publish_or_warn(publish, model):
    try:
        publish(model)
    except Exception as err:
        logger.error("publishing failed: %s", err)
""",
        expected=((10, CODE),),
        fixed="""\
import logging

logger = logging.getLogger(__name__)


def publish_or_warn(publish, model):
    try:
        publish(model)
    except Exception as err:
        logger.exception("publishing failed: %s", err)
""",
    ),
    # `--fix` leaves a call alone that decides about `exc_info` itself.
    Example(_EXPLICIT_EXC_INFO, expected=((7, CODE),), fixed=_EXPLICIT_EXC_INFO),
)
