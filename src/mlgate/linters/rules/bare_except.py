"""MLG201 bare-except: an `except:` clause that names no exception.

## What it does
Reports every `except:` clause, on its line. Unlike some linters, a bare `except:` that
re-raises is reported too: write `except BaseException:` to say that catching everything,
`KeyboardInterrupt` and `SystemExit` included, is meant.

## Why is this bad?
`except:` catches `KeyboardInterrupt` and `SystemExit` as well as errors, so Ctrl-C and
`sys.exit()` stop working inside the `try`, and a reader cannot tell whether that was intended.

## Example
```python
try:
    model = load(path)
except:
    model = None
```

## Use instead
```python
try:
    model = load(path)
except FileNotFoundError:
    model = None  # no checkpoint yet: start from scratch
```

## Options
None. Whether the handler leaves a trace of the error is MLG202's concern.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mlgate.linters.base import Example, FileContext, Finding, Fix

if TYPE_CHECKING:
    import libcst as cst

    from mlgate.linters.fix import FixTools

CODE = "MLG201"
NAME = "bare-except"
CATEGORY = "maintainability"
OPTIONS = ()
NODE_TYPES: tuple[type[ast.AST], ...] = (ast.ExceptHandler,)

_MESSAGE = (
    "bare `except:` also catches KeyboardInterrupt and SystemExit; name the exception "
    "(`except BaseException:` if that is meant)"
)


def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Report an `except:` without a type."""
    if isinstance(node, ast.ExceptHandler) and node.type is None:
        yield Finding(node.lineno, node.col_offset, _MESSAGE, fixable=True)


def _name_the_exception(
    tools: FixTools, _: cst.ExceptHandler, handler: cst.ExceptHandler
) -> cst.ExceptHandler | None:
    """`except:` becomes `except BaseException:` when the handler re-raises (same behaviour,
    named), else `except Exception:` (Ctrl-C and SystemExit are no longer swallowed)."""
    if handler.type is not None:
        return None
    name = "BaseException" if tools.contains(handler.body, tools.cst.Raise) else "Exception"
    space = tools.cst.SimpleWhitespace(" ")
    return handler.with_changes(type=tools.cst.Name(name), whitespace_after_except=space)


FIX = Fix("ExceptHandler", _name_the_exception)


VALID: tuple[Example, ...] = (
    Example(
        """\
def load_or_none(load, path):
    try:
        return load(path)
    except FileNotFoundError:
        return None  # no checkpoint yet: start from scratch
"""
    ),
    Example(
        """\
def run(step):
    try:
        step()
    except BaseException:
        step.rollback()
        raise
"""
    ),
)
INVALID: tuple[Example, ...] = (
    Example(
        """\
def run(step):
    try:
        step()
    except:
        step.rollback()
        raise
""",
        expected=((4, CODE),),
        fixed="""\
def run(step):
    try:
        step()
    except BaseException:
        step.rollback()
        raise
""",
    ),
    Example(
        """\
def load_or_none(load, path):
    try:
        return load(path)
    except:
        return None
""",
        expected=((4, CODE), (4, "MLG202")),
        fixed="""\
def load_or_none(load, path):
    try:
        return load(path)
    except Exception:
        return None
""",
    ),
)
