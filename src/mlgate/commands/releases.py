"""`mlgate releases`: the deployment history of one environment, from its ledger."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mlgate import release
from mlgate.pipelines import history

_FORMATS = {"json": history.as_json, "markdown": history.as_markdown, "table": history.as_table}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--env, --format, --limit, --config."""
    parser.add_argument("--env", required=True, help="environment name")
    parser.add_argument("--format", choices=sorted(_FORMATS), default="table")
    parser.add_argument("--limit", type=int, default=0, help="show only the N newest (0: all)")
    parser.add_argument("--config", type=Path, help="pyproject.toml to read")


def run(args: argparse.Namespace) -> int:
    """Print the history; warn on stderr about a deployment that did not finish."""
    found = release.releases(release.settings(args.env, args.config, None, os.environ))
    if found.interrupted is not None:
        advice = f"run `mlgate rollback --env {args.env} --if-interrupted` or deploy again"
        note = history.describe_interrupted(found.interrupted, args.env)
        print(f"mlgate: warning: {note}; {advice}", file=sys.stderr)
    shown = found.releases[-args.limit :] if args.limit > 0 else found.releases
    sys.stdout.write(_FORMATS[args.format](shown))
    return 0
