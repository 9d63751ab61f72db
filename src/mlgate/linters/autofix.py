"""Which findings `--fix` can rewrite, and loading the rewriter (it needs libcst)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from mlgate.errors import UsageError
from mlgate.linters.base import Violation

#: Codes with a safe fix for some of their findings (see `mlgate.linters.fix`).
FIXABLE = frozenset({"MLG201", "MLG204", "MLG401"})


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
