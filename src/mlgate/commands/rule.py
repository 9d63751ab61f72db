"""`mlgate rule CODE`: print a rule's documentation page."""

from __future__ import annotations

import argparse
import sys

from mlgate.errors import UsageError
from mlgate.linters.docs import find_rule
from mlgate.linters.registry import RULES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The rule code."""
    parser.add_argument("code", metavar="CODE", help="a rule code such as MLG101")


def run(args: argparse.Namespace) -> int:
    """Print the page in markdown."""
    info = find_rule(args.code, RULES)
    if info is None:
        raise UsageError(f"unknown rule {args.code!r}; `mlgate rules` lists the codes")
    rest = info.page.split("\n", 1)[1].strip() if "\n" in info.page else ""
    page = f"# {info.code} {info.name}\n\n{info.summary}\n\n{rest}".rstrip()
    sys.stdout.write(page + "\n")
    return 0
