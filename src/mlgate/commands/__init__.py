"""The subcommands of `mlgate`, one module each.

Every command module has `add_arguments(parser)` and `run(args) -> int`. The registry below is
explicit and sorted: command name to its one-line help, the only copy of it. Modules are
imported only when their command is parsed, so `mlgate lint` from a pre-commit hook does not
pay for importing the release pipeline.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Protocol, cast


class Command(Protocol):
    """What a command module provides."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


COMMANDS: dict[str, str] = {
    "approve": "approve a package (by digest) for an environment",
    "baseline": "record the current findings in the baseline, or shrink it to what still occurs",
    "deploy": "deploy an approved package to an environment; failed checks roll it back",
    "github": "the release workflow's checks around GitHub environment reviews",
    "init": "write mlgate's GitHub workflows, pre-commit hooks and [tool.mlgate] into a repository",
    "ledger": "check the hash chain of an environment's release ledger, or sign it",
    "ledger-branch": (
        "keep the release ledger on a git branch: pull it into a folder, push new entries"
    ),
    "lint": (
        "check Python files for long functions, swallowed errors, untestable code, unsafe loading"
    ),
    "package": "build, scan and verify model packages",
    "releases": "show the deployments and rollbacks of an environment, newest first",
    "rollback": "roll an environment back to its previous (or a given) release",
    "rule": (
        "explain one rule: what it flags, why, an example and the fix (e.g. `mlgate rule MLG202`)"
    ),
    "rules": "list the lint rules with their codes and what they flag",
    "stop": "stop the local target's model servers and router of an environment (not a release)",
}


def load(name: str) -> Command:
    """The module of command `name` (a key of `COMMANDS`)."""
    return cast(Command, importlib.import_module(f"mlgate.commands.{name.replace('-', '_')}"))
