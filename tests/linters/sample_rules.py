"""Small stand-in rules for exercising the engine, the front ends and the reports on their own."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from mlgate.linters.base import Example, FileContext, Finding, Fix, Option, Rule
from mlgate.linters.rules import unparsable_file
from mlgate.linters.rules.function_too_long import MAX_LINES


class CallRule:
    """MLG901 call-to-boom: a call to a function named `boom`.

    ## What it does
    Flags `boom()`.
    """

    CODE = "MLG901"
    NAME = "call-to-boom"
    CATEGORY = "maintainability"
    OPTIONS: tuple[Option[Any], ...] = ()
    FIX: Fix | None = None
    NODE_TYPES: tuple[type[ast.AST], ...] = (ast.Call,)
    VALID: tuple[Example, ...] = (Example("fine()\n"),)
    INVALID: tuple[Example, ...] = (Example("boom()\n", ((1, "MLG901"),)),)

    def check(self, node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
        """One finding per `boom(...)` call, on the call."""
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Name) and func.id == "boom":
            yield Finding(func.lineno, func.col_offset, "call to boom")


class LongFunctionRule:
    """MLG902 long-function: a function with more statements than `max-function-lines`.

    ## What it does
    Counts top-level body statements, reports on the `def` line.

    ```python
    # a comment inside a fence is not a heading
    ```
    """

    CODE = "MLG902"
    NAME = "long-function"
    CATEGORY = "maintainability"
    OPTIONS: tuple[Option[Any], ...] = (MAX_LINES,)
    FIX: Fix | None = None
    NODE_TYPES: tuple[type[ast.AST], ...] = (ast.FunctionDef, ast.AsyncFunctionDef)
    VALID: tuple[Example, ...] = ()
    INVALID: tuple[Example, ...] = ()

    def check(self, node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
        """One finding per function longer than the option allows."""
        assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        limit = MAX_LINES.of(ctx.options)
        if len(node.body) > limit:
            yield Finding(node.lineno, node.col_offset, f"{len(node.body)} statements > {limit}")


class GlobalRule:
    """MLG903 global-seen: a `global` statement | with a pipe in the summary."""

    CODE = "MLG903"
    NAME = "global-seen"
    CATEGORY = "maintainability"
    OPTIONS: tuple[Option[Any], ...] = ()
    FIX: Fix | None = None
    NODE_TYPES: tuple[type[ast.AST], ...] = (ast.Global,)
    VALID: tuple[Example, ...] = ()
    INVALID: tuple[Example, ...] = ()

    def check(self, node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
        """Every `global`."""
        yield Finding(node.lineno, node.col_offset, "global, with: %,\r\nspecial chars")  # type: ignore[attr-defined]


SAMPLE_RULES: dict[str, Rule] = {
    "MLG000": unparsable_file,  # the engine reports it whatever rules run
    "MLG901": CallRule(),
    "MLG902": LongFunctionRule(),
    "MLG903": GlobalRule(),
}
