"""`mlgate ledger-branch pull|push`: keep the release ledger on a git branch (used by CI)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlgate.pipelines import ledger_branch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`pull DIR [--remote R] [--branch B]` and `push DIR [--branch B] [--attempts N]`."""
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=type(parser))
    verbs.required = True
    pull = verbs.add_parser("pull", help="clone or update the ledger branch into DIR")
    push = verbs.add_parser("push", help="commit each new entry in DIR and push it")
    for verb in (pull, push):
        verb.add_argument("dir", type=Path, help="folder of the ledger branch (MLGATE_LEDGER_DIR)")
        verb.add_argument("--branch", default=ledger_branch.DEFAULT_BRANCH, help="ledger branch")
    pull.add_argument("--remote", default="origin", help="remote name of this repository, or a URL")
    pull.add_argument(
        "--publish", action="store_true", help="push every entry as soon as it is written"
    )
    push.add_argument("--attempts", type=int, default=3, help="pushes before giving up")


def run(args: argparse.Namespace) -> int:
    """Run the verb; print what happened."""
    directory: Path = args.dir.resolve()
    if args.verb == "push":
        subjects = ledger_branch.push(directory, args.branch, args.attempts)
        for subject in subjects:
            print(f"committed: {subject}")
        print(f"{directory}: ledger branch {args.branch} pushed ({len(subjects)} new commits)")
        return 0
    url = ledger_branch.remote_url(args.remote)
    print(ledger_branch.pull(directory, url, args.branch))
    if args.publish:
        ledger_branch.publish_each(directory, args.branch)
        print(f"{directory}: every new entry is pushed to {args.branch} as it is written")
    return 0
