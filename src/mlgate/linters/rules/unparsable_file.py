"""MLG000 unparsable-file: a file that could not be read, decoded or parsed.

## What it does
Reports a Python file mlgate could not check: it cannot be read, its bytes are not valid in
its encoding (UTF-8 unless a byte-order mark or a PEP 263 coding cookie says otherwise), or the
running Python cannot parse it (a syntax error, or an expression nested deeper than the parser
allows, such as a generated 3,000-term sum). The finding gives the position and the parser's
message. A file mlgate fails to check after parsing it (a tree deeper than Python's stack, or a
bug in a rule) is reported the same way, with the exception's type and message and a request to
report it. The other files are still checked, and their findings reported.

## Why is this bad?
A file no tool can parse is a file no rule checks: other linters often skip it silently (flake8
with a narrow `--select` exits 0). It usually means a syntax error, a file written for another
Python version, or a file saved in an undeclared encoding.

## Example
```python
def train(model:
    return model
```

## Use instead
Fix the syntax error, declare the encoding (`# -*- coding: latin-1 -*-` on the first or second
line), or, for a deliberately broken fixture, exclude the file (`exclude`) or ignore the code for
it (`per-file-ignores = {"tests/fixtures/broken.py" = ["MLG000"]}`).

MLG000 is reported whatever `select` says; only `ignore` or `per-file-ignores` can turn it off.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from mlgate.linters.base import Example, FileContext, Finding

CODE = "MLG000"
NAME = "unparsable-file"
CATEGORY = "maintainability"
FIX = None
OPTIONS = ()
NODE_TYPES: tuple[type[ast.AST], ...] = ()  # the engine reports it before any rule runs


def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Nothing: a file that parses has no MLG000 for a rule to find."""
    yield from ()


VALID: tuple[Example, ...] = (Example("def train(model):\n    return model\n"),)
INVALID: tuple[Example, ...] = (
    Example("def train(model:\n    return model\n", expected=((1, CODE),)),
    Example("def train(model):\n\treturn model\n        return None\n", expected=((3, CODE),)),
)
