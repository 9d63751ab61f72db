"""`mlgate rules`: list the rules."""

from __future__ import annotations

import argparse
import json
import sys

from mlgate.linters.docs import all_rule_infos
from mlgate.linters.registry import RULES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--format text|json`."""
    parser.add_argument("--format", choices=("text", "json"), default="text", help="list format")


def run(args: argparse.Namespace) -> int:
    """Print one line per rule (or a JSON list)."""
    infos = all_rule_infos(RULES)
    if args.format == "json":
        data = [{"code": i.code, "name": i.name, "summary": i.summary, "url": i.url} for i in infos]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    width = max(len(info.name) for info in infos)
    for info in infos:
        sys.stdout.write(f"{info.code}  {info.name:<{width}}  {info.summary}\n")
    sys.stdout.write("\n`mlgate rule CODE` explains a rule.\n")
    return 0
