"""`mlgate deploy`: deploy an approved package, verify it, roll back automatically on failure."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from mlgate.errors import GateError
from mlgate.pipelines.approvals import missing, recorded
from mlgate.pipelines.deploy import Outcome, deploy
from mlgate.pipelines.environments import release_config
from mlgate.pipelines.history import Release, describe_interrupted, short
from mlgate.pipelines.ledger import verify_chain
from mlgate.pipelines.lock import env_lock
from mlgate.pipelines.package import Package, read_package
from mlgate.pipelines.rollback import Undo, recover, rollback, serving_digest
from mlgate.pipelines.stage import Stage, holder, open_stage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """PKG, --env, --by, --config."""
    parser.add_argument("package", type=Path, metavar="PKG", help="the .mlpkg file")
    parser.add_argument("--env", required=True, help="environment name")
    parser.add_argument("--by", help="who deploys (default: $GITHUB_ACTOR or $USER)")
    parser.add_argument("--config", type=Path, help="pyproject.toml to read")


def check_gates(stage: Stage, package: Package) -> None:
    """Refuse an unscanned package, a tampered ledger, or missing approvals."""
    if package.manifest.scan.verdict != "safe":
        raise GateError(f"{package.path}: scan verdict is {package.manifest.scan.verdict!r}")
    entries = verify_chain(stage.ledger).entries
    now = stage.clock.now()
    builder = package.manifest.builder or ""
    lacking = missing(stage.env, recorded(entries, package.digest), builder, now)
    if lacking:
        raise GateError(
            f"{package.digest} is not approved for {stage.env.name!r}: {lacking}; run "
            f"`mlgate approve {package.path} --env {stage.env.name} --by NAME`"
        )


def warn(env: str) -> Callable[[Release], None]:
    """The warning printer for an interrupted deployment of `env`."""

    def say(stuck: Release) -> None:
        note = describe_interrupted(stuck, env)
        print(f"mlgate: warning: {note}; rolling back to where it started", file=sys.stderr)

    return say


def _already_serving(stage: Stage, digest: str) -> str:
    """Nothing to deploy; a local server stopped (`mlgate stop`, a reboot) is started again."""
    endpoint = stage.target.resume(digest)
    if endpoint:
        return f"{digest} already serves {stage.env.name!r}; started its server again at {endpoint}"
    return f"{digest} already serves {stage.env.name!r}; nothing to deploy"


def _failed(stage: Stage, package: Package, outcome: Outcome, previous: str) -> GateError:
    assert outcome.failure is not None
    reason = outcome.failure.reason()
    undo = Undo(previous, package.digest, outcome.deployment, reason)
    try:
        restored = rollback(stage, undo)
    except GateError as err:
        failed = f"deployment #{outcome.deployment} to {stage.env.name!r} failed: {reason}"
        return GateError(f"{failed}; and rolling back failed too: {err}")
    back = short(previous) if previous else "nothing (first deployment)"
    return GateError(
        f"deployment #{outcome.deployment} of {short(package.digest)} to {stage.env.name!r} "
        f"failed: {reason}; rolled back to {back} in {restored.seconds:.2f}s "
        f"(rollback #{restored.deployment})"
    )


def run(args: argparse.Namespace) -> int:
    """Check gates, take the lock, recover, deploy; a failure rolls back and exits 1."""
    config = release_config(args.config, os.environ)
    package = read_package(args.package)
    stage = open_stage(config, args.env, args.by, os.environ, str(args.package))
    check_gates(stage, package)
    command = f"mlgate deploy {args.package} --env {stage.env.name}"
    with env_lock(config.ledger_dir, stage.env.name, holder(stage, command)):
        recover(stage, warn(stage.env.name))
        previous = serving_digest(stage)
        if previous == package.digest:
            print(_already_serving(stage, package.digest))
            return 0
        outcome = deploy(stage, package, previous)
        if outcome.failure is not None:
            raise _failed(stage, package, outcome, previous)
    where = f"; serving at {outcome.endpoint}" if outcome.endpoint else ""
    print(
        f"deployed {package.digest} to {stage.env.name!r} (deployment #{outcome.deployment}){where}"
    )
    return 0
