"""Run the whole rule set over a snippet: the one helper the rule edge-case tests share."""

from __future__ import annotations

import textwrap

from mlgate.linters.base import Options
from mlgate.linters.engine import check_source
from mlgate.linters.registry import RULES, build_options


def findings(source: str, path: str = "module.py", **options: object) -> list[tuple[int, str]]:
    """Sorted (line, code) pairs of every rule's findings in `source` (dedented)."""
    found = check_source(textwrap.dedent(source), path, _options(options), RULES)
    return sorted((violation.line, violation.code) for violation in found)


def messages(source: str, path: str = "module.py", **options: object) -> list[str]:
    """The findings' messages, in order."""
    found = check_source(textwrap.dedent(source), path, _options(options), RULES)
    return [violation.message for violation in found]


def _options(given: dict[str, object]) -> Options:
    """`Options` from keyword arguments (`max_parameters=3` for `max-parameters`)."""
    return build_options({name.replace("_", "-"): value for name, value in given.items()})  # type: ignore[misc]
