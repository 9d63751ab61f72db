"""`mlgate ledger verify`: check that an environment's release ledger was not tampered with."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mlgate.pipelines.environments import release_config
from mlgate.pipelines.ledger import ledger_for, verify_chain

HELP = "check the hash chain of an environment's release ledger"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `verify` sub-verb with --env and --config."""
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=type(parser))
    verbs.required = True
    verify = verbs.add_parser("verify", help=HELP, description=HELP)
    verify.add_argument("--env", required=True, help="environment name")
    verify.add_argument("--config", type=Path, help="pyproject.toml to read")


def run(args: argparse.Namespace) -> int:
    """Verify the chain; GateError (exit 1) names the first broken line."""
    config = release_config(args.config, os.environ)
    env = config.environment(args.env)
    ledger = ledger_for(config.ledger_dir, env.name)
    report = verify_chain(ledger)
    note = f" ({report.note})" if report.note else ""
    print(f"{ledger.path}: {len(report.entries)} entries, chain intact{note}")
    return 0
