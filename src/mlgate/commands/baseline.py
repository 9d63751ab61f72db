"""`mlgate baseline`: record today's findings so that `mlgate lint` fails only on new ones."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlgate.errors import UsageError
from mlgate.linters.adoption import (
    baseline_file,
    fingerprinted,
    load_baseline,
    project_keys,
)
from mlgate.linters.baseline import BASELINE_FILE, updated, write_baseline
from mlgate.linters.config import load_lint_config
from mlgate.linters.parallel import default_jobs
from mlgate.linters.registry import RULES
from mlgate.linters.run import RunOptions, lint_paths

_EPILOG = f"""\
The baseline ({BASELINE_FILE} at the project root unless --baseline says otherwise) holds
every finding by file, code, enclosing function or class and a hash of the offending line, so
unrelated edits do not invalidate it. The first run records everything; later runs only shrink
it (the ratchet) and refuse new findings unless --allow-growth is given. Files not under PATH
keep their entries. Commit the file."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`mlgate baseline [PATH ...] [--baseline FILE] [--allow-growth]`."""
    parser.epilog = _EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "paths", nargs="*", default=["."], metavar="PATH", help="files or folders (default: .)"
    )
    parser.add_argument("--config", type=Path, metavar="PYPROJECT", help="the pyproject.toml")
    parser.add_argument("--baseline", metavar="FILE", help=f"default: {BASELINE_FILE}")
    parser.add_argument(
        "--allow-growth", action="store_true", help="accept new findings into the baseline"
    )


def run(args: argparse.Namespace) -> int:
    """Write the updated baseline; exit 1 (nothing written) when it would grow unasked."""
    config = load_lint_config(args.config, RULES, None, None)
    path = baseline_file(args.baseline, config.root)
    if path is None:
        raise UsageError("--baseline none: name the file to write, or leave the option out")
    result = lint_paths(args.paths, config, RULES, RunOptions(default_jobs(), cache=True))
    old = load_baseline(path, config.root)
    checked = set(project_keys(result.checked, config.root).values())
    new = updated(old, fingerprinted(result, config.root), checked, args.allow_growth)
    write_baseline(path, new)
    before = sum(old.values()) if old is not None else 0
    after = sum(new.values())
    print(f"{path}: {after} finding(s) recorded (was {before})")
    return 0
