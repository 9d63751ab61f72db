"""The one error family of mlgate.

Every error a user can cause is an `MlgateError` whose message says what is wrong and how to fix
it. `mlgate.cli.main` turns it into one line on stderr and the exit code; nothing else does.
"""

from __future__ import annotations


class MlgateError(Exception):
    """An error the user can fix; the message says how."""

    exit_code = 2


class UsageError(MlgateError):
    """The command line asks for something that cannot be done."""


class ConfigError(MlgateError):
    """`[tool.mlgate]` (or a value passed for it) is invalid."""


class PackageError(MlgateError):
    """A model package is missing, malformed, tampered with or unsafe."""


class GateError(MlgateError):
    """A release gate refused: missing approval, failed verification, busy environment."""

    exit_code = 1
