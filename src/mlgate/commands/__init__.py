"""The subcommands of `mlgate`, one module each.

Every command module has `HELP` (one line), `add_arguments(parser)` and `run(args) -> int`.
The registry below is explicit and sorted; `mlgate.cli` builds the parser from it.
"""

from __future__ import annotations

import argparse
from typing import Protocol

from mlgate.commands import (
    approve,
    baseline,
    deploy,
    init,
    ledger,
    ledger_branch,
    lint,
    package,
    releases,
    rollback,
    rule,
    rules,
)


class Command(Protocol):
    """What a command module provides."""

    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


COMMANDS: dict[str, Command] = {
    "approve": approve,
    "baseline": baseline,
    "deploy": deploy,
    "init": init,
    "ledger": ledger,
    "ledger-branch": ledger_branch,
    "lint": lint,
    "package": package,
    "releases": releases,
    "rollback": rollback,
    "rule": rule,
    "rules": rules,
}
