"""`mlgate` command line: one subcommand per module in `mlgate.commands`."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from mlgate import __version__
from mlgate.commands import COMMANDS, load
from mlgate.errors import MlgateError

#: The exit status of a bug in mlgate (the same as a usage error: never 1, "findings" or "refused").
INTERNAL_ERROR = 2
_PACKAGE = Path(__file__).resolve().parent


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so usage errors get mlgate's one-line form."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ArgparseError(f"{message} (see `{self.prog} --help`)")


class _ArgparseError(MlgateError):
    """A command line argparse could not read."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that command's module is imported and given its arguments.

    `only=""` imports none (enough for `--help`, `--version` and usage errors). Tests use the
    full parser (no `only`) to check the commands written in workflows.
    """
    parser = _Parser(
        prog="mlgate",
        description="Code-quality and release gates for Python machine-learning teams.",
    )
    parser.add_argument("--version", action="version", version=f"mlgate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, help_text in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if only in (None, name):
            module = load(name)
            module.add_arguments(command)
            command.set_defaults(run=module.run)
    return parser


def _command_in(argv: Sequence[str]) -> str:
    """The command `argv` names first, or "" (no command module is needed to parse it)."""
    return argv[0] if argv and argv[0] in COMMANDS else ""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one mlgate command; return its exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_in(arguments))
    try:
        args = parser.parse_args(arguments)
        code: int = args.run(args)
    except MlgateError as err:
        print(f"mlgate: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("mlgate: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001, MLG202 - a bug in mlgate: one line, exit 2
        print(f"mlgate: internal error: {_describe(err)}; please report it", file=sys.stderr)
        return INTERNAL_ERROR
    return code


def _describe(err: Exception) -> str:
    """The exception and the innermost line of mlgate's own code it passed through."""
    frames = traceback.extract_tb(err.__traceback__)
    ours = [frame for frame in frames if _PACKAGE in Path(frame.filename).resolve().parents]
    where = (ours or frames)[-1]
    place = Path(where.filename).resolve()
    shown = place.relative_to(_PACKAGE.parent) if ours else place
    return f"{type(err).__name__}: {err} (at {shown}:{where.lineno})"
