"""`mlgate rollback`: bring back an earlier release of an environment by hand."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from mlgate.commands.deploy import warn
from mlgate.errors import GateError, UsageError
from mlgate.pipelines.environments import release_config
from mlgate.pipelines.history import Release, releases, serving, short
from mlgate.pipelines.ledger import read_entries
from mlgate.pipelines.lock import env_lock
from mlgate.pipelines.rollback import Restored, Undo, recover, rollback
from mlgate.pipelines.stage import Stage, holder, open_stage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--env, --to, --reason, --if-interrupted, --by, --config."""
    parser.add_argument("--env", required=True, help="environment name")
    parser.add_argument("--to", metavar="DIGEST", help="release to restore (digest or prefix)")
    parser.add_argument("--reason", default="manual rollback", help="recorded in the ledger")
    parser.add_argument(
        "--if-interrupted",
        action="store_true",
        help="roll back only if the last deployment did not finish; exit 0 otherwise",
    )
    parser.add_argument("--by", help="who rolls back (default: $GITHUB_ACTOR or $USER)")
    parser.add_argument("--config", type=Path, help="pyproject.toml to read")


def resolve(prefix: str, history: Sequence[Release]) -> str:
    """The one digest in `history` that starts with `prefix` (with or without "sha256:")."""
    wanted = prefix if prefix.startswith("sha256:") else f"sha256:{prefix}"
    found = sorted({r.digest for r in history if r.digest and r.digest.startswith(wanted)})
    if len(found) != 1:
        state = "matches no release" if not found else f"is ambiguous ({len(found)} releases)"
        raise UsageError(f"--to {prefix} {state}; see `mlgate releases`")
    return found[0]


def manual_undo(history: Sequence[Release], to: str | None, reason: str, env: str) -> Undo:
    """The rollback asked for: to `to`, else to what served before the current release."""
    current = serving(history)
    if current is None:
        raise GateError(f"nothing was deployed to {env!r}: nothing to roll back")
    target = resolve(to, history) if to else current.previous
    if not target:
        raise GateError(f"deployment #{current.id} has no earlier release; pass --to DIGEST")
    if target == current.digest:
        raise GateError(f"{short(target)} already serves {env!r}")
    return Undo(target, current.digest, current.id, reason)


def _report(stage: Stage, restored: Restored) -> int:
    if restored.health is not None and not restored.health.passed:
        raise GateError(
            f"rolled back, but the restored release is unhealthy: {restored.health.reason()}"
        )
    where = f"; serving at {restored.endpoint}" if restored.endpoint else ""
    number = restored.deployment
    print(f"rolled back {stage.env.name!r} (rollback #{number}) in {restored.seconds:.2f}s{where}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Recover an interrupted deployment, or roll back as asked."""
    config = release_config(args.config, os.environ)
    stage = open_stage(config, args.env, args.by, os.environ, "")
    with env_lock(
        config.ledger_dir, stage.env.name, holder(stage, f"mlgate rollback --env {args.env}")
    ):
        restored = recover(stage, warn(stage.env.name))
        if restored is None and args.if_interrupted:
            print(f"the last deployment to {stage.env.name!r} finished; nothing to roll back")
            return 0
        if restored is None:
            history = releases(read_entries(stage.ledger))
            restored = rollback(stage, manual_undo(history, args.to, args.reason, stage.env.name))
    return _report(stage, restored)
