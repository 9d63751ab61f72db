"""`mlgate rollback`: bring back the last release verified good (or the one named) by hand."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlgate import release
from mlgate.commands.deploy import add_progress_arguments, settings, terminated_as_exit


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--env, --to, --force, --reason, --if-interrupted, --by, --config."""
    parser.add_argument("--env", required=True, help="environment name")
    parser.add_argument(
        "--to",
        metavar="DIGEST",
        help="release to restore (digest or prefix; default: the last one verified good)",
    )
    parser.add_argument(
        "--force", action="store_true", help="with --to: restore a release that failed"
    )
    parser.add_argument("--reason", default="manual rollback", help="recorded in the ledger")
    parser.add_argument(
        "--if-interrupted",
        action="store_true",
        help="roll back only if the last deployment did not finish; exit 0 otherwise",
    )
    parser.add_argument("--by", help="who rolls back (default: $GITHUB_ACTOR or $USER)")
    parser.add_argument("--config", type=Path, help="pyproject.toml to read")
    add_progress_arguments(parser)


def _roll_back(args: argparse.Namespace) -> release.Restored | None:
    if args.if_interrupted:
        return release.recover(settings(args))
    return release.rollback(settings(args), release.Choice(args.to, args.force, args.reason))


def run(args: argparse.Namespace) -> int:
    """Recover an interrupted deployment, or roll back as asked; exit 1 if what was restored
    fails its verification."""
    with terminated_as_exit():
        restored = _roll_back(args)
    if restored is None:
        print(f"the last deployment to {args.env!r} finished; nothing to roll back")
        return 0
    where = f"; serving at {restored.endpoint}" if restored.endpoint else ""
    print(
        f"rolled back {args.env!r} (rollback #{restored.deployment}) in "
        f"{restored.seconds:.2f}s{where}, verified"
    )
    return 0
