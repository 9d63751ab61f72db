"""Which findings `--fix` can rewrite, and loading the rewriter (it needs libcst)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from mlgate.errors import UsageError
from mlgate.linters.base import Violation

#: Codes with a safe fix for some of their findings (see `mlgate.linters.fix`).
FIXABLE = frozenset({"MLG201", "MLG204", "MLG401"})


_FIXABLE_LOGS = (".error", ".warning")
_FIXABLE_LOADS = ("`yaml.load`", "`torch.load`")
_CUT = "..."  # how `names.source_text` ends an expression it shortened


def may_fix(violation: Violation) -> bool:
    """Whether a fix may apply, judged from the finding alone (no parsing).

    Only files with such findings are parsed with libcst, so `--fix` on a tree with nothing to
    fix costs no more than a lint. The calls are read from the rules' messages, which quote
    them: MLG204 ``"`logger.error(...)` in ..."`` (the logger may hold spaces, or be cut short
    to `...`, when nothing can be told), MLG401 ``"`torch.load` can ..."``.
    """
    if violation.code == "MLG201":
        return True
    if violation.code == "MLG204":
        call = violation.message[1:].split("(...)`", 1)[0]
        return call.endswith((*_FIXABLE_LOGS, _CUT))
    return violation.code == "MLG401" and violation.message.startswith(_FIXABLE_LOADS)


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
