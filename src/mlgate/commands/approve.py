"""`mlgate approve`: record an approval of a package digest for an environment."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mlgate.pipelines.approvals import Request, approve
from mlgate.pipelines.environments import duration, release_config
from mlgate.pipelines.ledger import append
from mlgate.pipelines.package import read_package
from mlgate.pipelines.runtime import SystemClock, stamp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PKG, --env, --by, --expires, --note, --config."""
    parser.add_argument("package", type=Path, metavar="PKG", help="the .mlpkg file")
    parser.add_argument("--env", required=True, help="environment name")
    parser.add_argument("--by", required=True, help="who approves")
    parser.add_argument("--expires", help="lifetime, e.g. 24h (default: the environment's)")
    parser.add_argument("--note", default="", help="why, ticket, link")
    parser.add_argument("--config", type=Path, help="pyproject.toml to read")


def run(args: argparse.Namespace) -> int:
    """Verify the package, check the approver against the policy, record the approval."""
    config = release_config(args.config, os.environ)
    env = config.environment(args.env)
    package = read_package(args.package)
    manifest = package.manifest
    lifetime = duration("--expires", args.expires) if args.expires else None
    name = f"{manifest.name} {manifest.version}"
    request = Request(args.by, package.digest, manifest.builder or "", name, args.note)
    now = SystemClock().now()
    entry = append(config.ledger(env.name), approve(env, request, now, lifetime), stamp(now))
    print(
        f"approved {package.digest} ({name}) for {env.name!r} by {args.by} "
        f"until {entry.data['expires']}"
    )
    return 0
