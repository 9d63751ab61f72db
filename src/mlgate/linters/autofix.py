"""Which findings `--fix` can rewrite, and loading the rewriter (it needs libcst)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from mlgate.errors import UsageError
from mlgate.linters.base import Violation


def may_fix(violation: Violation) -> bool:
    """Whether a fix may apply: the rule marked the finding `fixable` when it found it.

    Only files with such findings are parsed with libcst, so `--fix` on a tree with nothing to
    fix costs no more than a lint.
    """
    return violation.fixable


class Fixed(NamedTuple):
    """A file's source before and after its fixes, and the findings the fixes resolved."""

    before: str
    after: str
    resolved: tuple[Violation, ...]


class Fixer(Protocol):
    """What `mlgate.linters.fix` offers."""

    def fix_source(self, source: str, violations: Sequence[Violation]) -> Fixed: ...

    def unified_diff(self, path: str, fixed: Fixed) -> str: ...


def load_fixer() -> Fixer:
    """`mlgate.linters.fix`, or a UsageError saying how to install libcst."""
    try:
        from mlgate.linters import fix  # noqa: PLC0415 - libcst is optional: import on demand
    except ModuleNotFoundError as err:
        if err.name != "libcst":
            raise
        raise UsageError(
            "--fix and --show-fixes need libcst; install it with `pip install 'mlgate[fix]'`"
        ) from err
    return fix
