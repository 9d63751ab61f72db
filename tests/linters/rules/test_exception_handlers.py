"""MLG201-MLG204 edge cases beyond the rules' examples: one verdict per handler."""

from __future__ import annotations

import sys

import pytest
from rule_findings import findings, messages


def handler(body: str, clause: str = "except Exception as err:", head: str = "") -> str:
    """A function whose try has one handler with `body` (lines joined by `;` become lines)."""
    lines = "".join(f"        {line}\n" for line in body.split(";"))
    return f"{head}def f(work, items, log):\n    try:\n        work()\n    {clause}\n{lines}"


def loop_handler(body: str, clause: str, head: str = "") -> str:
    """`handler`, with the try inside a `for` loop over items (the handler on line 5)."""
    lines = "".join(f"            {line}\n" for line in body.split(";"))
    loop = "def f(work, items, log):\n    for item in items:\n        try:\n"
    loop += "            yield work(item)\n"
    return f"{head}{loop}        {clause}\n{lines}"


@pytest.mark.parametrize(
    "body",
    [
        "raise",
        "raise RuntimeError('wrapped') from err",
        "if items:;    raise;return None",
        "log.exception('failed')",
        "log.debug('failed', exc_info=True)",
        "log.log(logging.DEBUG, 'failed', exc_info=True)",
        "log.debug(traceback.format_exc())",
        "click.echo(f'failed: {err}', err=True)",
        "console.print(err)",
        "self.console.print(f'[red]{err}')",
        "sys.exit(1)",
        "raise SystemExit(1)",
        "return fallback(items)",
        "message = f'failed: {err}';raise RuntimeError(message)",
        "message = f'failed: {err}';return message",
        "log.error('failed', exc_info=True)",
        "log.info('failed', exc_info=err)",
        "logging.getLogger(__name__).critical('x', exc_info=1)",
        "return err",
        "yield err",
        "items.append(err)",
        "items[0] = err",
        "(message := repr(err))",
        "items += [err]",
        "work.fail(reason=err)",
        "items.append(sys.exc_info())",
        "warnings.warn(f'failed: {err}')",
        "traceback.print_exc()",
        "log.error(traceback.format_exc())",
        "sentry_sdk.capture_exception(err)",
    ],
)
def test_broad_handlers_that_leave_a_trace(body: str) -> None:
    head = "import logging\nimport sys\nimport traceback\nimport warnings\n\n"
    head += "import click\nimport sentry_sdk\n\n"
    assert findings(handler(body, head=head)) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("pass", [(4, "MLG202")]),
        ("return None", [(4, "MLG202")]),
        ("print(err)", [(4, "MLG202")]),
        ("print(str(err))", [(4, "MLG202")]),
        ("sys.stderr.write(str(err))", [(4, "MLG202")]),
        ("if 'timeout' in str(err):;    return None", [(4, "MLG202")]),
        ("if isinstance(err, ValueError):;    return None", [(4, "MLG202")]),
        ("log.log(10, 'failed')", [(5, "MLG204")]),
        ("return Empty()", [(4, "MLG202")]),  # a default, not a fallback
        ("log.debug('x', exc_info=True);log.warning(f'failed: {err}')", [(6, "MLG204")]),
        ("log.log(logging.ERROR, 'x', exc_info=1);log.warning('failed')", []),
        ("message = str(err)", [(4, "MLG202")]),  # made text, then dropped
        ("log.debug('failed: %s', err)", [(5, "MLG204")]),
        ("message = f'failed: {err}';log.warning(message)", [(6, "MLG204")]),
        ("log.warning_once(f'failed: {err}')", [(5, "MLG204")]),
        ("try:;    work.undo();except OSError:;    raise", [(4, "MLG202")]),
        ("def later():;    raise;work.later = later", [(4, "MLG202")]),
        ("work.later = lambda: err", [(4, "MLG202")]),
        ("class Later:;    error = err;return Later", [(4, "MLG202")]),
        ("print(sys.exc_info())", [(4, "MLG202")]),
        ("log.error('failed: %s', err)", [(5, "MLG204")]),
        ("log.log(logging.ERROR, 'failed')", [(5, "MLG204")]),
        ("log.log(level, 'failed')", [(5, "MLG204")]),
        ("log.exception('failed', exc_info=False)", [(5, "MLG204")]),
        ("log.warning('failed', exc_info=None)", [(5, "MLG204")]),
        ("print(err);log.info('a');log.error('b')", [(6, "MLG204")]),
        ("log.info('failed', err)", [(5, "MLG204")]),
        ("log.log()", [(5, "MLG204")]),
        ("loggers[0].error('failed')", [(4, "MLG202")]),
    ],
)
def test_broad_handlers_that_leave_no_trace(body: str, expected: list[tuple[int, str]]) -> None:
    head = "import logging\nimport sys\n\n"
    shift = head.count("\n")
    assert findings(handler(body, head=head)) == [(line + shift, c) for line, c in expected]


@pytest.mark.parametrize(
    "clause",
    [
        "except:",
        "except BaseException:",
        "except (KeyError, Exception):",
        "except builtins.Exception:",
        "except (OSError, (ValueError, BaseException)):",
    ],
)
def test_every_spelling_of_a_broad_handler(clause: str) -> None:
    expected = [(4, "MLG201"), (4, "MLG202")] if clause == "except:" else [(4, "MLG202")]
    assert findings(handler("pass", clause)) == expected


@pytest.mark.parametrize(
    "logger",
    ["logger", "log", "LOGGER", "self._logger", "self.log", "app.logger", "_log", "Logger"],
)
def test_what_looks_like_a_logger(logger: str) -> None:
    body = f"{logger}.error('failed')"
    assert findings(handler(body)) == [(5, "MLG204")]


@pytest.mark.parametrize(
    "call",
    ["structlog.get_logger().error('x')", "logging.getLogger('a').getChild('b').error('x')"],
)
def test_loggers_made_by_calls(call: str) -> None:
    assert findings(handler(call)) == [(5, "MLG204")]


def test_logger_objects_and_error_reporters_options() -> None:
    source = handler("audit.error('failed')")
    assert findings(source) == [(4, "MLG202")]
    assert findings(source, logger_objects=("audit",)) == [(5, "MLG204")]
    source = handler("ops.page('failed')", head="from alerts import ops\n")
    assert findings(source) == [(5, "MLG202")]
    assert findings(source, error_reporters=("alerts.ops.page",)) == []


def test_handlers_that_reraise_in_only_one_branch_are_fine() -> None:
    source = handler("if items:;    log.warning('retrying');    return None;raise")
    assert findings(source) == []


TRY_STAR = pytest.mark.skipif(sys.version_info < (3, 11), reason="except* needs Python 3.11")


@TRY_STAR
def test_broad_handler_in_try_star() -> None:
    source = "def f(work):\n    try:\n        work()\n    except* Exception:\n        pass\n"
    assert findings(source) == [(4, "MLG202")]
    assert messages(source)[0].startswith("`except* Exception:` swallows the error")


def test_nested_handlers() -> None:
    source = handler("try:;    work.undo();except Exception:;    pass;raise")
    assert findings(source) == [(7, "MLG202")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("pass", [(5, "MLG203")]),
        ("...", [(5, "MLG203")]),
        ("continue", [(5, "MLG203")]),
        ("pass;continue", [(5, "MLG203")]),
        ("pass  # type: ignore[misc]", [(5, "MLG203")]),
        ("pass  # pragma: no cover", [(5, "MLG203")]),
        ("pass  # missing is fine", []),
        ("# missing is fine;pass", []),
        ("return", []),  # the loop ends with the function: the caller sees that
        ("return None", []),
        ("pass;return None", []),
        ("return False", []),
        ("items.append(None)", []),
        ("'missing is fine'", []),
    ],
)
def test_narrow_handlers_in_a_loop(body: str, expected: list[tuple[int, str]]) -> None:
    assert findings(loop_handler(body, "except KeyError:")) == expected


@pytest.mark.parametrize("body", ["pass", "...", "return", "return None"])
def test_narrow_handlers_outside_loops_are_eafp(body: str) -> None:
    assert findings(handler(body, "except KeyError:")) == []


def test_only_the_loops_own_tries() -> None:
    source = (
        "def f(items, work):\n    for item in items:\n        def g():\n            try:\n"
        "                work()\n            except KeyError:\n                pass\n"
        "        while item:\n            try:\n                work()\n"
        "            except KeyError:\n                continue\n"
    )
    assert findings(source) == []


def test_narrow_handlers_in_loops() -> None:
    source = (
        "def f(work, items):\n    for item in items:\n        try:\n            yield work(item)\n"
    )
    for drop in ("continue", "break"):
        assert findings(source + f"        except ValueError:\n            {drop}\n") == [
            (5, "MLG203")
        ]


@TRY_STAR
def test_narrow_handlers_in_try_star() -> None:
    source = loop_handler("pass", "except* (KeyError, OSError):")
    assert findings(source) == [(5, "MLG203")]
    assert messages(source) == [
        "`except* (KeyError, OSError):` skips the item silently; count it, log it, "
        "or comment why it is safe"
    ]


def test_messages() -> None:
    assert messages(handler("pass")) == [
        "`except Exception:` swallows the error; re-raise it, log it with the traceback "
        "or handle it"
    ]
    assert messages(handler("log.error('failed')")) == [
        "`log.error(...)` in `except Exception:` drops the traceback; use `.exception(...)`"
    ]
    assert messages(handler("pass", "except:"))[0].startswith("bare `except:` also catches")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import contextlib\nwith contextlib.suppress(Exception):\n    x = 1\n", [(2, "MLG202")]),
        (
            "from contextlib import suppress\nasync def f():\n"
            "    async with suppress(BaseException):\n        pass\n",
            [(3, "MLG202")],
        ),
        ("from contextlib import suppress\nwith suppress(KeyError):\n    x = 1\n", []),
        ("import contextlib\nwith contextlib.suppress(Exception):\n    import extra\n", []),
        ("from contextlib import suppress\nwith suppress(*ERRORS):\n    x = 1\n", []),
        ("from mine import suppress\nwith suppress(Exception):\n    x = 1\n", []),
        ("with open('a') as f, lock:\n    x = 1\n", [(1, "MLG301")]),
    ],
)
def test_suppress(source: str, expected: list[tuple[int, str]]) -> None:
    assert findings(source) == expected


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("except StopIteration:", []),
        ("except (StopAsyncIteration, GeneratorExit):", []),
        ("except queue.Empty:", []),
        ("except Empty:", []),
        ("except (ImportError, ModuleNotFoundError):", []),
        ("except (queue.Empty, KeyError):", [(8, "MLG203")]),
        ("except asyncio.CancelledError:", [(8, "MLG203")]),
    ],
)
def test_end_of_work_signals_are_not_dropped_work(
    clause: str, expected: list[tuple[int, str]]
) -> None:
    head = "import asyncio\nimport queue\nfrom queue import Empty\n"
    assert findings(loop_handler("break", clause, head)) == expected


@pytest.mark.parametrize(
    "loop",
    [
        # retry and polling loops are not loops over data
        "for _ in range(3):\n    try:\n        yield work()\n    except OSError:\n        break\n",
        # a plain action on the item (the process exited already, the name is not a number)
        "for p in items:\n    try:\n        p.terminate()\n    except OSError:\n        continue\n",
        "for p in items:\n    try:\n        if p:\n            p.a()\n"
        "        else:\n            p.b()\n    except OSError:\n        pass\n",
        # `pass` where the loop goes on with the item: a fallback
        "for p in items:\n    if p:\n        try:\n            p = int(p)\n"
        "        except ValueError:\n            pass\n    yield p\n",
        # a try that returns: the first candidate that works
        "for p in items:\n    try:\n        return int(p)\n"
        "    except ValueError:\n        continue\n",
        # an optional import among other exceptions
        "for p in items:\n    try:\n        m = imp(p)\n    except (ImportError, KeyError):\n"
        "        continue\n    yield m\n",
    ],
)
def test_loops_that_lose_no_record(loop: str) -> None:
    body = "".join(f"    {line}\n" for line in loop.splitlines())
    assert findings(f"def f(items, work, imp):\n{body}") == []


def test_a_flag_counts_as_checked_only_by_code_that_runs_after_the_try() -> None:
    source = """\
def outer(command, read):
    match command:
        case "size":
            try:
                size = read()
            except Exception:
                size = None
    if size is None:
        return 0

    def later():
        try:
            value = read()
        except Exception:
            value = -1

        def unrelated(value):
            return value == -1

        return unrelated

    try:
        total = read()
    except BaseException:
        total = 0
    else:
        checked = total == 0
    return size, later, checked
"""
    assert findings(source) == [(1, "MLG101"), (14, "MLG202"), (24, "MLG202")]


def test_a_try_comment_must_name_the_exception_and_a_search_must_return_a_value() -> None:
    source = """\
def load(rows, parse, ValueErrors):
    for row in rows:
        try:
            # parse the row (ValueErrors is a name, not the class caught)
            item = parse(row)
        except ValueError:
            continue
        rows.append(item)
        return None
    for row in rows:
        try:
            item = parse(row)
        except (KeyError, TypeError):
            continue
        rows.append(item)
"""
    assert findings(source) == [(6, "MLG203"), (13, "MLG203")]


def test_only_local_names_set_to_constants_are_flags() -> None:
    source = """\
def probe(self, read):
    try:
        self.size = read()
    except Exception:
        self.size = None
    if self.size is None:
        return 0
    return self.size
"""
    assert findings(source) == [(4, "MLG202")]
