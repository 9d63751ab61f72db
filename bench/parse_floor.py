"""The floor for a Python checker: read and ``ast.parse`` every ``.py`` file, in one process.

    python bench/parse_floor.py [--walk] FOLDER ...

Any linter built on ``ast`` does at least this much work, so `lint_speed.py` times it next to
the linters. ``--walk`` also visits every node once with ``ast.walk``: the one shared traversal
that a single-pass rule engine adds to the parse. Hidden folders are skipped. Files that cannot
be parsed are named on stderr and counted, never skipped silently.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from collections.abc import Iterator, Sequence


def python_files(root: str) -> Iterator[str]:
    """Every ``.py`` file under ``root`` in a stable order, hidden folders skipped."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        yield from (os.path.join(folder, name) for name in sorted(files) if name.endswith(".py"))


def parse_file(path: str, walk: bool) -> int:
    """Parse one file (and walk it if asked); return its node count, or -1 if it does not parse."""
    with open(path, "rb") as handle:
        source = handle.read()
    try:
        tree = ast.parse(source, path)
    except (SyntaxError, ValueError) as err:
        print(f"{path}: cannot parse: {err}", file=sys.stderr)
        return -1
    return sum(1 for _ in ast.walk(tree)) if walk else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse every file under the given folders; print how many files, failures and nodes."""
    parser = argparse.ArgumentParser(description="Read and ast.parse every .py file.")
    parser.add_argument("--walk", action="store_true", help="also visit every node")
    parser.add_argument("folders", nargs="+", metavar="FOLDER")
    args = parser.parse_args(argv)
    files = failed = nodes = 0
    for folder in args.folders:
        for path in python_files(folder):
            count = parse_file(path, args.walk)
            files += 1
            failed += count < 0
            nodes += max(count, 0)
    print(f"{files} files, {failed} not parsed, {nodes} nodes walked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
