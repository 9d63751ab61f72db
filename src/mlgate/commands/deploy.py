"""`mlgate deploy`: deploy an approved package, verify it, roll back automatically on failure."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from mlgate import release
from mlgate.pipelines.runtime import exit_on_term
from mlgate.pipelines.stage import Effects, Say, quiet


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PKG, --env, --by, --config."""
    parser.add_argument("package", type=Path, metavar="PKG", help="the .mlpkg file")
    parser.add_argument("--env", required=True, help="environment name")
    parser.add_argument("--by", help="who deploys (default: $GITHUB_ACTOR or $USER)")
    parser.add_argument("--config", type=Path, help="pyproject.toml to read")
    add_progress_arguments(parser)


def add_progress_arguments(parser: argparse.ArgumentParser) -> None:
    """-q/-v: a line on stderr per stage and check as it finishes (by default on a terminal)."""
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument(
        "-q", "--quiet", action="store_true", help="no progress lines, only the result"
    )
    loud.add_argument(
        "-v", "--verbose", action="store_true",
        help="a progress line per stage and check even when stderr is not a terminal",
    )  # fmt: skip


def progress(message: str) -> None:
    """One progress line on stderr, at once."""
    print(f"mlgate: {message}", file=sys.stderr, flush=True)


def _progress(args: argparse.Namespace) -> Say:
    if args.quiet or not (args.verbose or sys.stderr.isatty()):
        return quiet
    return progress


def warn(message: str) -> None:
    """Print a warning on stderr at once (before a recovery that may take a while)."""
    print(f"mlgate: warning: {message}", file=sys.stderr, flush=True)


def settings(args: argparse.Namespace) -> release.Settings:
    """The release settings of a deploy or rollback command line."""
    effects = Effects(warn=warn, progress=_progress(args))
    return release.settings(args.env, args.config, args.by, os.environ, effects)


def _said(done: release.Deployed, env: str) -> str:
    if done.deployment:
        where = f"; serving at {done.endpoint}" if done.endpoint else ""
        return f"deployed {done.digest} to {env!r} (deployment #{done.deployment}){where}"
    if done.endpoint:
        return f"{done.digest} already serves {env!r}; started its server again at {done.endpoint}"
    return f"{done.digest} already serves {env!r}; nothing to deploy"


@contextlib.contextmanager
def terminated_as_exit() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) raises SystemExit for the block, so the release API can
    roll back and record it; the previous handler comes back afterwards."""
    previous = signal.signal(signal.SIGTERM, exit_on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    """Deploy; a failure (or SIGINT/SIGTERM) rolls back and exits 1 saying what serves."""
    with terminated_as_exit():
        done = release.deploy(settings(args), args.package)
    print(_said(done, args.env))
    return 0
