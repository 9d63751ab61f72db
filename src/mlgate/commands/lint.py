"""`mlgate lint`: check Python files against the team's rules."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mlgate.errors import UsageError
from mlgate.linters.atomic import write_atomic
from mlgate.linters.config import load_lint_config
from mlgate.linters.docs import all_rule_infos
from mlgate.linters.registry import RULES
from mlgate.linters.report import FORMATS, Report, render
from mlgate.linters.run import lint_paths

HELP = "check Python files for long functions, swallowed errors, untestable code, unsafe loading"

_EPILOG = """\
exit status: 0 no findings (or --exit-zero), 1 findings, 2 usage or configuration error.
settings come from [tool.mlgate] in the nearest pyproject.toml; `mlgate rules` lists the rules
and `mlgate rule CODE` explains one. Suppress one finding with `# noqa: CODE` on its line."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`mlgate lint [PATH ...]` and its options."""
    parser.epilog = _EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    _add_selection_arguments(parser)
    _add_report_arguments(parser)


def _add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", default=["."], metavar="PATH",
        help="files or folders to lint (default: .); files named here are linted as given",
    )  # fmt: skip
    parser.add_argument(
        "--config", type=Path, metavar="PYPROJECT",
        help="read [tool.mlgate] from this file instead of the nearest pyproject.toml",
    )  # fmt: skip
    parser.add_argument(
        "--select", metavar="CODES",
        help="comma-separated codes or prefixes to check, e.g. MLG1,MLG401 (replaces the config)",
    )  # fmt: skip
    parser.add_argument(
        "--ignore", metavar="CODES", help="comma-separated codes or prefixes not to check"
    )


def _add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="text", help="report format")
    parser.add_argument("--output", type=Path, metavar="FILE", help="write the report to FILE")
    parser.add_argument("--statistics", action="store_true", help="count findings per rule")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")


def run(args: argparse.Namespace) -> int:
    """Lint the paths and print or write the report; 1 when anything was found."""
    if args.statistics and args.format not in ("text", "json"):
        raise UsageError("--statistics works with --format text or json")
    config = load_lint_config(args.config, RULES, args.select, args.ignore)
    result = lint_paths(args.paths, config, RULES)
    infos = {info.code: info for info in all_rule_infos(RULES)}
    color = args.output is None and _is_terminal()
    report = Report(result.violations, result.files, infos, color, args.statistics)
    emit(render(report, args.format), args.output)
    return 0 if args.exit_zero or not result.violations else 1


def emit(text: str, output: Path | None) -> None:
    """Print `text`, or write it to `output` atomically."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_atomic(output, text)
    except OSError as err:
        raise UsageError(f"--output {output}: cannot write: {err.strerror}") from err


def _is_terminal() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ
