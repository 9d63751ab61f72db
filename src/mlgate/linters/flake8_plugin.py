"""mlgate's rules as a flake8 plugin (`flake8 --select MLG`).

flake8 hands over the tree it already parsed; the plugin runs the same engine over it as
`mlgate lint` does. Rule options are flake8 options prefixed with `mlgate-`
(`--mlgate-max-function-lines 30`, or `mlgate-max-function-lines = 30` in flake8's config) so
they never clash with other plugins' option names. Selection, `# noqa`, `# flake8: noqa` and
per-file ignores are flake8's own; the plugin applies mlgate's file-level `# mlgate: noqa` itself.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, get_type_hints

from mlgate import __version__
from mlgate.linters.base import FileContext, Options
from mlgate.linters.engine import Checker, drop_file_noqa, make_checker, run_checker
from mlgate.linters.registry import RULES

PREFIX = "mlgate-"
# How each option type is declared to flake8's option manager.
_DECLARATIONS: dict[object, dict[str, Any]] = {
    int: {"type": int},
    str: {"type": str},
    tuple[str, ...]: {"comma_separated_list": True},
}


class Plugin:
    """The flake8 entry point `MLG`: one instance per file, as flake8 requires."""

    name = "mlgate"
    version = __version__
    # flake8 passes options to the class, not to instances; parse_options sets these.
    options: ClassVar[Options] = Options()
    checker: ClassVar[Checker | None] = None

    def __init__(self, tree: ast.AST, filename: str, lines: Sequence[str]) -> None:
        self.tree = tree
        self.filename = filename
        self.lines = tuple(line[:-1] if line.endswith("\n") else line for line in lines)

    @classmethod
    def add_options(cls, manager: Any) -> None:
        """Declare every rule option as `--mlgate-<option>`, also read from flake8's config."""
        hints = get_type_hints(Options)
        for field in dataclasses.fields(Options):
            dashed = field.name.replace("_", "-")
            manager.add_option(
                f"--{PREFIX}{dashed}",
                default=field.default,
                parse_from_config=True,
                help=f"mlgate rule option `{dashed}` (default: {_shown(field.default)})",
                **_DECLARATIONS[hints[field.name]],
            )

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        """Take the rule options flake8 parsed."""
        values = {
            field.name: _converted(getattr(options, PREFIX.replace("-", "_") + field.name))
            for field in dataclasses.fields(Options)
        }
        cls.options = Options(**values)  # type: ignore[arg-type]

    def run(self) -> Iterator[tuple[int, int, str, type[Plugin]]]:
        """Yield flake8's (line, column, "CODE message", type) tuples."""
        if not isinstance(self.tree, ast.Module):
            return
        checker = Plugin.checker or make_checker(RULES)
        Plugin.checker = checker
        ctx = FileContext(self.filename, self.lines, self.tree, self.options)
        found = run_checker(ctx, checker)
        if found and any("noqa" in line.lower() for line in self.lines):
            found = drop_file_noqa(found, "\n".join(self.lines))  # flake8 knows only its own
        for violation in found:
            yield violation.line, violation.col, f"{violation.code} {violation.message}", type(self)


def _converted(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def _shown(value: object) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value)
