"""MLG203 silently-dropped-exception: a specific handler that drops the work without a word.

## What it does
Reports a handler for a specific exception type (anything but a bare `except:`, `Exception` or
`BaseException`; `except*` included) whose body only drops the work, on the `except` line. The
body drops the work when every statement in it is `pass`, `...`, `continue`, `break`, `return`
or `return None`. A comment anywhere in the handler (from the `except` line to the end of its
body) exempts it, because it gives the reason; tool pragmas (`# noqa`, `# type:`, `# pragma`,
`# nosec`, `# pylint:`, `# fmt:`, `# mypy:`, `# pyright:`, `# ruff:`) are not reasons.
Handlers that catch only exceptions signalling the end of the work, not an error, are not
reported: `StopIteration`, `StopAsyncIteration`, `GeneratorExit`, `queue.Empty`, `queue.Full`,
`asyncio.QueueEmpty` and `asyncio.QueueFull` (`except queue.Empty: break` ends a drain loop).

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
None.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from mlgate.linters.base import Example, FileContext, Finding
from mlgate.linters.handlers import findings_for

CODE = "MLG203"
NAME = "silently-dropped-exception"
NODE_TYPES: tuple[type[ast.AST], ...] = (ast.ExceptHandler,)


def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Report a specific handler that only drops the work, with no reason given."""
    yield from findings_for(CODE, node, ctx)


VALID: tuple[Example, ...] = (
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
def read_config(path):
    try:
        return path.read_text()
    except FileNotFoundError:  # noqa: E501
        return None
""",
        expected=((4, CODE),),
    ),
)
