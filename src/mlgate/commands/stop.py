"""`mlgate stop`: stop the model servers and the router the local target runs for an environment.

Stopping is not a release: the ledger is unchanged and `current` still names the release, so
`mlgate deploy` of that package (or a rollback) starts what it needs again, on the same port.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mlgate import release
from mlgate.commands import COMMANDS
from mlgate.errors import UsageError
from mlgate.pipelines.history import short
from mlgate.pipelines.local_target import LocalTarget
from mlgate.pipelines.lock import env_lock
from mlgate.pipelines.stage import holder, open_stage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--env, --config."""
    parser.description = (
        f"{COMMANDS['stop']}. The ledger is unchanged and the release stays current: "
        "`mlgate deploy` of the same package (or a rollback) starts what it needs again, on the "
        "same port."
    )
    parser.add_argument("--env", required=True, help="environment name")
    parser.add_argument("--config", type=Path, help="pyproject.toml to read")


def run(args: argparse.Namespace) -> int:
    """Stop every process of the environment's local target, under the environment's lock."""
    settings = release.settings(args.env, args.config, None, os.environ)
    config = settings.config
    stage = open_stage(settings)
    if not isinstance(stage.target, LocalTarget):
        raise UsageError(
            f"{stage.env.name!r} uses the command target, whose servers mlgate does not run; "
            "mlgate stop stops the local target's"
        )
    with env_lock(
        config.ledger_dir, stage.env.name, holder(stage, f"mlgate stop --env {args.env}")
    ):
        stopped = stage.target.shutdown()
    serving = stage.target.serving()
    again = f"; deploying {short(serving)} again starts it" if serving else ""
    print(f"stopped {stopped} process(es) of {stage.env.name!r}{again}")
    return 0
