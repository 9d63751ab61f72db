"""One verdict per exception handler: MLG202, MLG203, MLG204 or nothing.

The three handler rules ask `verdict(handler, ctx)`; the first to ask computes it and the answer
is cached in `ctx.cache`, so each handler is read once and gets at most one of the three codes.

A broad handler (bare `except:`, `Exception` or `BaseException`, also inside a tuple) is fine
when its body leaves a trace of the error: a `raise` outside nested `try`, `def`, `class` and
`lambda`; a log call with the traceback; a call to a configured error reporter; or the caught
exception handed on (returned, yielded, assigned, or passed to a call other than `print` or a log
call; `sys.exc_info()` and `sys.exception()` count as the exception). Otherwise its first log
call at info level or above is MLG204, and a handler without one is MLG202. A narrow handler is
MLG203 when its body only drops the work (`pass`, `...`, `continue`, `break`) and no comment in
it gives a reason, unless it catches only exceptions that signal the end of the work
(`StopIteration`, `queue.Empty`, ...) or a failed optional import; the MLG203 rule reports such a
handler only where it skips an item of a `for` loop (see its page).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import NamedTuple, cast

from mlgate.linters.base import FileContext, Finding
from mlgate.linters.names import dotted_name, last_part, qualified_name, source_text
from mlgate.linters.traces import CallKind, call_kind, log_level

_CACHE_KEY = "handlers.verdicts"
_BROAD = {"Exception", "BaseException", "builtins.Exception", "builtins.BaseException"}
_OPAQUE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_TRIES: tuple[type[ast.AST], ...] = (ast.Try, getattr(ast, "TryStar", ast.Try))
_SINKS = (
    ast.Return,
    ast.Yield,
    ast.YieldFrom,
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.NamedExpr,
)
_MUTING = {CallKind.PRINT, CallKind.LOG, CallKind.TRACEBACK_LOG}
_TRACES = {CallKind.REPORTER, CallKind.EXIT}
_LOGS = {CallKind.LOG, CallKind.TRACEBACK_LOG}
_SIGNALS = {
    "asyncio.QueueEmpty",
    "asyncio.QueueFull",
    "builtins.GeneratorExit",
    "builtins.StopAsyncIteration",
    "builtins.StopIteration",
    "queue.Empty",
    "queue.Full",
    "builtins.ImportError",
    "builtins.ModuleNotFoundError",
}
_TEXT_CALLS = frozenset({"str", "repr", "format", "format_exc"})
_PRAGMAS = ("noqa", "type:", "pragma", "nosec", "pylint:", "fmt:", "mypy:", "pyright:", "ruff:")


class Verdict(NamedTuple):
    """The one finding a handler gets."""

    code: str
    line: int
    col: int
    message: str
    fixable: bool = False  # MLG204 on `.error(...)`/`.warning(...)`: `.exception(...)` fixes it


class _Where(NamedTuple):
    """Where in the handler body a node sits."""

    in_try: bool = False  # inside a nested try: a raise here may be caught there
    sink: bool = False  # a use of the exception here hands it on
    muted: bool = False  # inside a print or log call: the exception is only shown


_FIXABLE_LOGS = ("error", "warning")
_AFTER_KEY = "handlers.after_try"
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def is_broad(expr: ast.expr | None) -> bool:
    """Whether an `except` clause's type catches everything (None is a bare `except:`)."""
    if expr is None:
        return True
    if isinstance(expr, ast.Tuple):
        return any(is_broad(element) for element in expr.elts)
    return dotted_name(expr) in _BROAD


def verdict(handler: ast.ExceptHandler, ctx: FileContext) -> Verdict | None:
    """The handler's finding, computed once per handler."""
    table = cast("dict[int, Verdict | None]", ctx.cache.setdefault(_CACHE_KEY, {}))
    key = id(handler)
    if key not in table:
        table[key] = _classify(handler, ctx)
    return table[key]


def findings_for(code: str, node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """The handler's finding when `node` is a handler whose verdict is `code` (MLG202-MLG204)."""
    if isinstance(node, ast.ExceptHandler):
        found = verdict(node, ctx)
        if found is not None and found.code == code:
            yield Finding(found.line, found.col, found.message, found.fixable)


def _clause(handler: ast.ExceptHandler, lines: tuple[str, ...]) -> str:
    if handler.type is None:
        return "except:"
    text = lines[handler.lineno - 1] if handler.lineno <= len(lines) else ""
    after = text.encode("utf-8", "surrogatepass")[handler.col_offset + len("except") :]
    star = "*" if after.lstrip().startswith(b"*") else ""
    return f"except{star} {source_text(handler.type)}:"


def _classify(handler: ast.ExceptHandler, ctx: FileContext) -> Verdict | None:
    if not is_broad(handler.type):
        return _narrow(handler, ctx)
    if _falls_back(handler, ctx):
        return None
    logs: list[ast.Call] = []
    traced: list[ast.Call] = []
    for event in _body_events(handler, ctx):
        if event is None:
            return None
        kind = call_kind(event, ctx)
        (traced if kind is CallKind.TRACEBACK_LOG else logs).append(event)
    return _log_verdict(handler, ctx, logs, traced)


def _log_verdict(
    handler: ast.ExceptHandler, ctx: FileContext, logs: list[ast.Call], traced: list[ast.Call]
) -> Verdict | None:
    """A traceback logged at least as loudly as every message is a trace; a message logged
    louder than any traceback (`warning(msg)` beside `debug(..., exc_info=True)`) is MLG204."""
    clause = _clause(handler, ctx.lines)
    if traced and (not logs or max(map(log_level, logs)) <= max(map(log_level, traced))):
        return None
    if logs:
        first = max(logs, key=log_level) if traced else logs[0]
        call = source_text(first.func)
        message = f"`{call}(...)` in `{clause}` drops the traceback; use `.exception(...)`"
        fixable = isinstance(first.func, ast.Attribute) and first.func.attr in _FIXABLE_LOGS
        return Verdict("MLG204", first.lineno, first.col_offset, message, fixable)
    if _computes_another_way(handler) or _sets_a_checked_flag(handler, ctx):
        return None
    message = f"`{clause}` swallows the error; re-raise it, log it with the traceback or handle it"
    return Verdict("MLG202", handler.lineno, handler.col_offset, message)


#: Returned expressions that compute a value from other data (a fallback), unlike a constant,
#: a name, an empty container or a placeholder string.
_COMPUTED = (ast.Attribute, ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Subscript)


def _computes_another_way(handler: ast.ExceptHandler) -> bool:
    """The handler returns a value computed from other data (`return session._legacy_field`,
    `return "Client" in text`, `return env or "DEFAULT"`), or tries another source in a
    nested `try` whose body returns (`try: return probe(other_dir)`): a fallback."""
    for stmt in handler.body:
        if isinstance(stmt, ast.Return) and isinstance(stmt.value, _COMPUTED):
            return True
        if isinstance(stmt, ast.Try) and any(_returns_value(inner) for inner in stmt.body):
            return True
    return False


def _returns_value(stmt: ast.stmt) -> bool:
    value = stmt.value if isinstance(stmt, ast.Return) else None
    return value is not None and not (isinstance(value, ast.Constant) and value.value is None)


def _sets_a_checked_flag(handler: ast.ExceptHandler, ctx: FileContext) -> bool:
    """`except Exception: size = None` when the code after the `try` tests `size is None`:
    the failure is recorded as a value that the next statements handle."""
    flags = _flags(handler)
    if not flags:
        return False
    after = _after_try(ctx).get(id(handler), (handler, []))[1]
    tests = (node for stmt in after for node in ast.walk(stmt) if isinstance(node, ast.Compare))
    return any(_tests_flag(test, flags) for test in tests)


def _flags(handler: ast.ExceptHandler) -> set[str]:
    """The names a handler sets to constants, when that is all its body does."""
    names: set[str] = set()
    for stmt in handler.body:
        if not (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant)):
            return set()
        if not all(isinstance(target, ast.Name) for target in stmt.targets):
            return set()
        names.update(target.id for target in stmt.targets if isinstance(target, ast.Name))
    return names


def _tests_flag(test: ast.Compare, flags: set[str]) -> bool:
    operands = [test.left, *test.comparators]
    named = any(isinstance(operand, ast.Name) and operand.id in flags for operand in operands)
    return named and any(isinstance(operand, ast.Constant) for operand in operands)


def _after_try(ctx: FileContext) -> dict[int, tuple[ast.AST, list[ast.stmt]]]:
    """Each handler's id -> its `try` and the statements that run after it (in its block, then
    after each enclosing statement, up to the enclosing function), computed once per file."""
    found = cast("dict[int, tuple[ast.AST, list[ast.stmt]]] | None", ctx.cache.get(_AFTER_KEY))
    if found is None:
        found = {}
        todo: list[tuple[list[ast.stmt], list[ast.stmt]]] = [(ctx.tree.body, [])]
        while todo:
            block, outer = todo.pop()
            for index, stmt in enumerate(block):
                rest = [*block[index + 1 :], *outer]
                handlers = getattr(stmt, "handlers", ())
                found.update((id(handler), (stmt, rest)) for handler in handlers)
                nested = [] if isinstance(stmt, _DEFINITIONS) else rest
                todo.extend((inner, nested) for inner in _blocks(stmt))
        ctx.cache[_AFTER_KEY] = found
    return found


def _blocks(node: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists inside `node`: bodies, `else`/`finally`, handlers and cases."""
    for name in ("body", "orelse", "finalbody"):
        block = getattr(node, name, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            yield block
    for part in (*getattr(node, "handlers", ()), *getattr(node, "cases", ())):
        yield part.body


_Visit = tuple[ast.AST, _Where]


def _falls_back(handler: ast.ExceptHandler, ctx: FileContext) -> bool:
    """`return other_source(key)`: the value is computed another way, the error handled (a
    call without arguments, such as `return Empty()`, is a default, not a fallback)."""
    return any(
        isinstance(stmt, ast.Return)
        and isinstance(stmt.value, ast.Call)
        and bool(stmt.value.args or stmt.value.keywords)
        and call_kind(stmt.value, ctx) is CallKind.OTHER
        for stmt in handler.body
    )


def _body_events(handler: ast.ExceptHandler, ctx: FileContext) -> Iterator[ast.Call | None]:
    """None for each trace of the error, the call for each log call without the traceback.

    Depth first in source order, with an explicit stack: expressions nest deeper than
    Python's recursion limit allows. A name assigned text made from the error (`msg = f"...
    {err}"`) stands for the error: logging it is logging the error's message.
    """
    names = _error_names(handler)
    stack: list[_Visit] = [(stmt, _Where()) for stmt in reversed(handler.body)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, _OPAQUE):
            continue
        if isinstance(node, ast.Call):
            kind = call_kind(node, ctx)
            yield from _call_events(node, kind, where)
            stack.extend(reversed(_call_children(node, kind, where)))
        elif isinstance(node, ast.Name):
            if node.id in names and where.sink and not where.muted:
                yield None
        else:
            if isinstance(node, ast.Raise) and not where.in_try:
                yield None
            stack.extend(reversed(_children(node, where, names)))


def _error_names(handler: ast.ExceptHandler) -> frozenset[str]:
    """The handler's name for the error, and names assigned text made from it."""
    names = {handler.name} if handler.name else set()
    for stmt in handler.body:
        if _is_text_of(stmt, names):
            names.add(stmt.targets[0].id)  # type: ignore[attr-defined]
    return frozenset(names)


def _is_text_of(stmt: ast.stmt, names: set[str]) -> bool:
    """`msg = f"... {err}"`, `msg = str(err)`, `msg = "..." % err`: the error as text."""
    if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
        return False
    if not isinstance(stmt.targets[0], ast.Name) or not names:
        return False
    value = stmt.value
    text = isinstance(value, (ast.JoinedStr, ast.BinOp)) or (
        isinstance(value, ast.Call) and last_part(value.func) in _TEXT_CALLS
    )
    return text and any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(value))


def _children(node: ast.AST, where: _Where, names: frozenset[str]) -> list[_Visit]:
    if isinstance(node, ast.Assign) and _is_text_of(node, set(names)):
        return [(node.value, where)]  # only made text of the error: not handed on yet
    inner = where._replace(
        in_try=where.in_try or isinstance(node, _TRIES),
        sink=where.sink or isinstance(node, _SINKS),
    )
    return [(child, inner) for child in ast.iter_child_nodes(node)]


def _call_events(call: ast.Call, kind: CallKind, where: _Where) -> Iterator[ast.Call | None]:
    if kind in _TRACES or (kind is CallKind.EXC_INFO and where.sink and not where.muted):
        yield None
    elif kind in _LOGS:
        yield call


def _call_children(call: ast.Call, kind: CallKind, where: _Where) -> list[_Visit]:
    """The function (never a sink) and the arguments (sinks, unless only inspected)."""
    sink = where.sink if kind is CallKind.INSPECT else True
    inner = where._replace(sink=sink, muted=where.muted or kind in _MUTING)
    arguments = (*call.args, *(keyword.value for keyword in call.keywords))
    return [(call.func, where._replace(sink=False)), *((arg, inner) for arg in arguments)]


_DROP_STATEMENTS = (ast.Pass, ast.Continue, ast.Break)


def _drops_work(stmt: ast.stmt) -> bool:
    if isinstance(stmt, _DROP_STATEMENTS):
        return True
    return isinstance(stmt, ast.Expr) and _is_constant(stmt.value, ...)


def _is_constant(expr: ast.expr, value: object) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is value


def _has_reason(handler: ast.ExceptHandler, lines: tuple[str, ...]) -> bool:
    """Whether a comment in the handler (other than a tool pragma) says why."""
    for text in lines[handler.lineno - 1 : handler.end_lineno]:
        comment = text.partition("#")[2].strip().lower()
        if comment and not comment.startswith(_PRAGMAS):
            return True
    return False


def _try_comment_names_it(handler: ast.ExceptHandler, ctx: FileContext) -> bool:
    """Whether a comment in the `try` body names the exception the handler catches
    (`# a concurrent insert of the same row is the only IntegrityError here`): the reason."""
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    names = {last_part(kind) for kind in kinds if kind is not None} - {None}
    statement = _after_try(ctx).get(id(handler), (handler, []))[0]
    lines = ctx.lines[statement.lineno - 1 : handler.lineno - 1]  # type: ignore[attr-defined]
    comments = " ".join(text.partition("#")[2] for text in lines if "#" in text)
    return any(re.search(rf"\b{re.escape(name)}\b", comments) for name in names if name)


def _signals_only(kind: ast.expr | None, ctx: FileContext) -> bool:
    """Whether the handler catches only exceptions that signal the end of the work."""
    kinds = kind.elts if isinstance(kind, ast.Tuple) else [kind]
    return all(k is not None and qualified_name(k, ctx) in _SIGNALS for k in kinds)


def _narrow(handler: ast.ExceptHandler, ctx: FileContext) -> Verdict | None:
    if not all(_drops_work(stmt) for stmt in handler.body) or _has_reason(handler, ctx.lines):
        return None
    if _try_comment_names_it(handler, ctx):
        return None
    if _signals_only(handler.type, ctx):
        return None
    clause = _clause(handler, ctx.lines)
    message = f"`{clause}` skips the item silently; count it, log it, or comment why it is safe"
    return Verdict("MLG203", handler.lineno, handler.col_offset, message)
