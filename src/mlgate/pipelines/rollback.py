"""The rollback stage: bring an earlier release back, recorded as a deployment of its own.

As in AWS CodeDeploy, a rollback is a deployment (`type` "rollback") whose `undoes` names the
deployment it undid, with the reason. It restores the release on the target (restarting its
server when needed), stops the one it replaces, checks health on the endpoint, and records how
long the environment took to serve the restored release again.

`interrupted` finds a deployment whose process died before recording its end; `recovery` is the
rollback that puts the environment back where it was before that deployment started (or, for an
interrupted rollback, finishes it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import NamedTuple

from mlgate.errors import GateError
from mlgate.pipelines.history import Release, releases, serving, short, unfinished
from mlgate.pipelines.ledger import read_entries
from mlgate.pipelines.stage import Stage, record
from mlgate.pipelines.verify import Check, Probe, check_health


class Undo(NamedTuple):
    """A rollback to perform: to `to` in place of `replacing`, undoing deployment `undoes`."""

    to: str
    replacing: str
    undoes: int | None
    reason: str


class Restored(NamedTuple):
    """A finished rollback: its deployment number, endpoint, seconds taken and health check."""

    deployment: int
    endpoint: str
    seconds: float
    health: Check | None


def _start(stage: Stage, undo: Undo) -> int:
    data = {
        "type": "rollback",
        "previous": undo.replacing,
        "undoes": undo.undoes,
        "reason": undo.reason,
        "pid": os.getpid(),
    }
    return record(stage, "deploy-start", undo.to, data).seq


def _restore(stage: Stage, undo: Undo, number: int) -> str:
    try:
        endpoint = stage.target.restore(undo.to, undo.replacing)
    except GateError as err:
        data = {"deployment": number, "outcome": "failed", "reason": str(err)}
        record(stage, "deploy-end", undo.to, data)
        raise
    return endpoint


def _health(stage: Stage, endpoint: str) -> Check | None:
    if not endpoint:
        return None
    return check_health(Probe(endpoint, stage.env.verify, (), stage.clock))


def rollback(stage: Stage, undo: Undo) -> Restored:
    """Restore `undo.to`, retire what it replaces, and record it all."""
    began = stage.clock.monotonic()
    number = _start(stage, undo)
    stage.pause("rollback-started")
    endpoint = _restore(stage, undo, number)
    seconds = round(stage.clock.monotonic() - began, 3)
    stage.pause("restored")
    stage.target.retire(keep=(undo.to,))
    health = _health(stage, endpoint)
    failed = health is not None and not health.passed
    data = {
        "deployment": number,
        "outcome": "failed" if failed else "succeeded",
        "reason": health.reason() if failed and health else undo.reason,
        "seconds": seconds,
        "endpoint": endpoint,
    }
    record(stage, "deploy-end", undo.to, data)
    return Restored(number, endpoint, seconds, health)


def interrupted(stage: Stage, history: Sequence[Release]) -> Release | None:
    """Close the last deployment if its process died before its end; return it."""
    stuck = unfinished(history)
    if stuck is None:
        return None
    serving = stage.target.serving()
    reason = (
        f"the process died after step '{stuck.last_step}'; the target served "
        f"{short(serving) if serving else 'nothing known'}"
    )
    data = {"deployment": stuck.id, "outcome": "interrupted", "reason": reason}
    record(stage, "deploy-end", stuck.digest, data)
    return stuck._replace(outcome="interrupted", reason=reason)


def recovery(stuck: Release) -> Undo:
    """The rollback that makes the environment whole after `stuck` was interrupted."""
    if stuck.type == "rollback":
        reason = f"finishing rollback #{stuck.id}, interrupted: {stuck.reason}"
        return Undo(stuck.digest, stuck.previous, stuck.undoes, reason)
    reason = f"deployment #{stuck.id} was interrupted: {stuck.reason}"
    return Undo(stuck.previous, stuck.digest, stuck.id, reason)


def recover(stage: Stage, warn: Callable[[Release], None]) -> Restored | None:
    """Detect an interrupted deployment, tell `warn`, and roll back from it."""
    stuck = interrupted(stage, releases(read_entries(stage.ledger)))
    if stuck is None:
        return None
    warn(stuck)
    return rollback(stage, recovery(stuck))


def serving_digest(stage: Stage) -> str:
    """What the environment serves: as the target knows it, else as the ledger records it."""
    last = serving(releases(read_entries(stage.ledger)))
    return stage.target.serving() or (last.digest if last else "")
