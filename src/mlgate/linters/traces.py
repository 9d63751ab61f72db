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

from mlgate.linters.base import FileContext, Option
from mlgate.linters.names import dotted_name, last_part, qualified_name

_DEFAULT_ERROR_REPORTERS = (
    "sentry_sdk.capture_exception",
    "sentry_sdk.capture_message",
    "traceback.format_exc",
    "traceback.format_exception",
    "traceback.print_exc",
    "traceback.print_exception",
    "warnings.warn",
)
#: Options of the rules that judge a handler's trace (MLG202, MLG203, MLG204).
LOGGER_OBJECTS: Option[tuple[str, ...]] = Option(
    "logger-objects", (), "qualified names of objects that are loggers, beyond the heuristic"
)
ERROR_REPORTERS: Option[tuple[str, ...]] = Option(
    "error-reporters", _DEFAULT_ERROR_REPORTERS, "qualified names of calls that report an error"
)


class CallKind(enum.Enum):
    """What one call does with the error being handled."""

    OTHER = "other"  # hands its arguments on
    PRINT = "print"  # shows its arguments, is not logging
    LOG = "log"  # a log record without the traceback
    TRACEBACK_LOG = "traceback-log"  # a log record with the traceback
    REPORTER = "reporter"  # a configured error reporter, or the traceback printed/formatted
    CLI = "cli"  # output of a command-line tool (`click.echo`, `console.print`): reports what
    # it is given
    EXIT = "exit"  # `sys.exit(...)`: raises SystemExit, as `raise SystemExit(...)` does
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
    "warning_once",
    "warn_once",
    "info_once",
}
_TRACEBACKS = {
    "traceback.format_exc",
    "traceback.format_exception",
    "traceback.print_exc",
    "traceback.print_exception",
}
_CLI = {"click.echo", "click.secho", "typer.echo", "typer.secho", "rich.print", "warnings.warn"}
_CONSOLES = frozenset({"console", "err_console", "error_console", "stderr_console"})
_LOG_FUNCTIONS = ("rank_zero_warn", "rank_zero_info", "rank_zero_debug")
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
    configured = LOGGER_OBJECTS.of(ctx.options)
    if name == "logging" or name in configured or dotted_name(expr) in configured:
        return True
    tail = name.rpartition(".")[2].lstrip("_").lower()
    return tail.startswith("log") or tail.endswith("logger")


def _is_false_literal(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Constant) and not expr.value


def _is_console_print(func: ast.expr) -> bool:
    """`console.print(...)`, `self.console.print(...)`: rich's console output."""
    if not isinstance(func, ast.Attribute) or func.attr not in ("print", "log"):
        return False
    return (last_part(func.value) or "").lstrip("_").lower() in _CONSOLES


def _log_kind(call: ast.Call, method: str, ctx: FileContext) -> CallKind:
    """A log call carries the traceback at any level: `.exception(...)`, a true `exc_info=`, or
    the formatted traceback (`traceback.format_exc()`) among its arguments."""
    exc_info = [kw.value for kw in call.keywords if kw.arg == "exc_info"]
    if exc_info and not _is_false_literal(exc_info[0]):
        return CallKind.TRACEBACK_LOG
    if (method == "exception" and not exc_info) or _formats_traceback(call, ctx):
        return CallKind.TRACEBACK_LOG
    return CallKind.LOG


def _formats_traceback(call: ast.Call, ctx: FileContext) -> bool:
    arguments = (*call.args, *(keyword.value for keyword in call.keywords))
    calls = (node for arg in arguments for node in ast.walk(arg) if isinstance(node, ast.Call))
    return any(qualified_name(node.func, ctx) in _TRACEBACKS for node in calls)


def call_kind(call: ast.Call, ctx: FileContext) -> CallKind:
    """Classify one call made inside a handler."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in _LOG_METHODS and is_logger(func.value, ctx):
        return _log_kind(call, func.attr, ctx)
    name = qualified_name(func, ctx) or ""
    if name.endswith(_LOG_FUNCTIONS):
        return _log_kind(call, "warning", ctx)
    if _is_console_print(func):
        return CallKind.CLI
    if name in ERROR_REPORTERS.of(ctx.options):
        return CallKind.REPORTER
    return _BY_NAME.get(name, CallKind.OTHER)


_BY_NAME: dict[str, CallKind] = {
    **dict.fromkeys(_PRINTS, CallKind.PRINT),
    **dict.fromkeys(_EXC_INFO, CallKind.EXC_INFO),
    **dict.fromkeys(_INSPECT, CallKind.INSPECT),
    **dict.fromkeys(_TRACEBACKS, CallKind.REPORTER),
    **dict.fromkeys(_CLI, CallKind.CLI),
    "sys.exit": CallKind.EXIT,
}


_LEVELS = {"debug": 10, "info": 20, "info_once": 20, "warning": 30, "warn": 30, "error": 40}
_LEVEL_NAMES = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "WARN": 30, "ERROR": 40, "CRITICAL": 50}


def log_level(call: ast.Call) -> int:
    """The level of a log call (`logging.WARNING`, 30, when it cannot be told)."""
    method = last_part(call.func) or ""
    if method != "log":
        return _LEVELS.get(method.removesuffix("_once"), 40 if method != "warn" else 30)
    level = call.args[0] if call.args else None
    if isinstance(level, ast.Constant) and isinstance(level.value, int):
        return level.value
    return _LEVEL_NAMES.get(last_part(level) or "", 30) if level is not None else 30
