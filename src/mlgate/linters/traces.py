"""What a call inside an exception handler does with the error: log it, print it, report it.

A call is a log call when its function is a logging method (`debug`, `info`, `warning`, `warn`,
`error`, `exception`, `critical`, `fatal`, `log`) on something that looks like a logger: the
`logging` module, the result of `getLogger(...)`/`get_logger(...)`, a name whose last part
(leading underscores dropped, case ignored) starts with `log` or ends with `logger`, or a name
listed in the `logger-objects` option. A log call carries the traceback when it is
`.exception(...)` or has an `exc_info=` that is not a false literal (`False`, `None`, `0`, `""`).
"""

from __future__ import annotations

import ast
import enum

from mlgate.linters.base import FileContext
from mlgate.linters.names import dotted_name, last_part, qualified_name


class CallKind(enum.Enum):
    """What one call does with the error being handled."""

    OTHER = "other"  # hands its arguments on
    PRINT = "print"  # shows its arguments, is not logging
    DEBUG_LOG = "debug-log"  # logging that is off in production
    LOG = "log"  # a log record without the traceback
    TRACEBACK_LOG = "traceback-log"  # a log record with the traceback
    REPORTER = "reporter"  # a configured error reporter
    EXC_INFO = "exc-info"  # `sys.exc_info()` / `sys.exception()`: the error itself
    INSPECT = "inspect"  # `str(e)`, `isinstance(e, ...)`: neither hands on nor shows


_LOG_METHODS = {
    "critical",
    "debug",
    "error",
    "exception",
    "fatal",
    "info",
    "log",
    "warn",
    "warning",
}
_LOGGER_FACTORIES = {"getLogger", "get_logger", "getChild"}
_PRINTS = {"builtins.print", "sys.stderr.write", "sys.stdout.write"}
_EXC_INFO = {"sys.exc_info", "sys.exception"}
_INSPECT = {
    "builtins.bool",
    "builtins.format",
    "builtins.getattr",
    "builtins.hasattr",
    "builtins.isinstance",
    "builtins.issubclass",
    "builtins.len",
    "builtins.repr",
    "builtins.str",
    "builtins.type",
}


def is_logger(expr: ast.expr, ctx: FileContext) -> bool:
    """Whether `expr` looks like a logger (see the module docstring)."""
    if isinstance(expr, ast.Call):
        return last_part(expr.func) in _LOGGER_FACTORIES
    name = qualified_name(expr, ctx)
    if name is None:
        return False
    configured = ctx.options.logger_objects
    if name == "logging" or name in configured or dotted_name(expr) in configured:
        return True
    tail = name.rpartition(".")[2].lstrip("_").lower()
    return tail.startswith("log") or tail.endswith("logger")


def _is_false_literal(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Constant) and not expr.value


def _is_debug_level(call: ast.Call) -> bool:
    if not call.args:
        return False
    level = call.args[0]
    if isinstance(level, ast.Constant):
        return level.value == 10  # logging.DEBUG
    return last_part(level) == "DEBUG"


def _log_kind(call: ast.Call, method: str) -> CallKind:
    if method == "debug" or (method == "log" and _is_debug_level(call)):
        return CallKind.DEBUG_LOG
    exc_info = [kw.value for kw in call.keywords if kw.arg == "exc_info"]
    if exc_info:
        return CallKind.LOG if _is_false_literal(exc_info[0]) else CallKind.TRACEBACK_LOG
    return CallKind.TRACEBACK_LOG if method == "exception" else CallKind.LOG


def call_kind(call: ast.Call, ctx: FileContext) -> CallKind:
    """Classify one call made inside a handler."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in _LOG_METHODS and is_logger(func.value, ctx):
        return _log_kind(call, func.attr)
    name = qualified_name(func, ctx)
    if name in _PRINTS:
        return CallKind.PRINT
    if name in _EXC_INFO:
        return CallKind.EXC_INFO
    if name in _INSPECT:
        return CallKind.INSPECT
    if name is not None and name in ctx.options.error_reporters:
        return CallKind.REPORTER
    return CallKind.OTHER
