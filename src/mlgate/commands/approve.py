"""`mlgate approve`: record an approval of a package digest for an environment."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mlgate import release


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PKG, --env, --by, --expires, --note, --config."""
    parser.add_argument("package", type=Path, metavar="PKG", help="the .mlpkg file")
    parser.add_argument("--env", required=True, help="environment name")
    parser.add_argument("--by", required=True, help="who approves")
    parser.add_argument(
        "--expires", help="lifetime, e.g. 2h (default and longest: the environment's)"
    )
    parser.add_argument("--note", default="", help="why, ticket, link")
    parser.add_argument(
        "--sign-with",
        type=Path,
        metavar="KEY",
        help="sign the approval with this SSH private key (default: $MLGATE_SIGNING_KEY)",
    )
    parser.add_argument("--config", type=Path, help="pyproject.toml to read")


def run(args: argparse.Namespace) -> int:
    """Verify the package, check the approver against the policy, record the approval."""
    settings = release.settings(args.env, args.config, args.by, os.environ)
    key = args.sign_with or os.environ.get("MLGATE_SIGNING_KEY") or None
    entry = release.approve(settings, args.package, args.expires, args.note, key)
    print(
        f"approved {entry.digest} ({entry.data['package']}) for {args.env!r} by {entry.by} "
        f"until {entry.data['expires']}{', signed' if 'signature' in entry.data else ''}"
    )
    return 0
