"""The rollback stage: bring an earlier release back, recorded as a deployment of its own.

As in AWS CodeDeploy, a rollback is a deployment (`type` "rollback") whose `undoes` names the
deployment it undid, with the reason. It records a write-ahead `intent`, restores the release on
the target (restarting its server when needed), records the switch (`promote`), stops the one it
replaces, and then verifies what it restored as fully as a candidate (the target's own probe,
health, the release's smoke cases as the ledger recorded them, and the measured requests). The
`deploy-end` says whether the restored release passed, and how long the environment took to
serve it again.

Everything a rollback needs comes from the ledger and `Target.serving()`: which release serves,
which ones stand verified (`mlgate.pipelines.history`), and the smoke cases to check them with.
`interrupted` finds a deployment whose process died before recording its end; `recovery` is the
rollback that puts the environment back where it was before that deployment started (or, for an
interrupted rollback, finishes it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from mlgate.errors import GateError
from mlgate.pipelines.deploy import Run, phase_checks, record_checks, record_intent
from mlgate.pipelines.history import Release, releases, serving, short, unfinished
from mlgate.pipelines.ledger import Entry, read_entries
from mlgate.pipelines.stage import Stage, record
from mlgate.pipelines.verify import Check


class Undo(NamedTuple):
    """A rollback to perform: to `to` in place of `replacing`, undoing deployment `undoes`."""

    to: str
    replacing: str
    undoes: int | None
    reason: str


class Restored(NamedTuple):
    """A finished rollback: its number, the release it restored, the endpoint, the seconds until
    that release served again, and the first check it failed (None: verified)."""

    deployment: int
    digest: str
    endpoint: str
    seconds: float
    failure: Check | None


def smoke_of(entries: Iterable[Entry], digest: str) -> list[Mapping[str, Any]]:
    """The smoke cases last recorded for `digest` in a deployment's start (none if never)."""
    found: list[Mapping[str, Any]] = []
    for entry in entries:
        cases = entry.data.get("smoke")
        if entry.kind == "deploy-start" and entry.digest == digest and isinstance(cases, list):
            found = [case for case in cases if isinstance(case, Mapping)]
    return found


def _start(stage: Stage, undo: Undo, smoke: Sequence[Mapping[str, Any]]) -> int:
    data = {
        "type": "rollback",
        "previous": undo.replacing,
        "undoes": undo.undoes,
        "reason": undo.reason,
        "pid": os.getpid(),
        "smoke": list(smoke),
    }
    return record(stage, "deploy-start", undo.to, data).seq


def _end(run: Run, data: Mapping[str, Any]) -> None:
    record(run.stage, "deploy-end", run.digest, {"deployment": run.number, **data})


def _restore(run: Run) -> str:
    record_intent(run)
    try:
        endpoint = run.stage.target.restore(run.digest, run.previous)
    except GateError as err:
        _end(run, {"outcome": "failed", "reason": str(err)})
        if run.digest and run.stage.target.serving() == run.digest:
            run.stage.target.retire(keep=(run.digest,))  # traffic never left it: stop the rest
        raise
    record(run.stage, "promote", run.digest, {"deployment": run.number, "endpoint": endpoint})
    return endpoint


def _verify(run: Run, endpoint: str) -> Check | None:
    if not run.digest:
        return None  # restored nothing: there is nothing to check
    return record_checks(run, "restored", phase_checks(run, endpoint, live=False))


def rollback(stage: Stage, undo: Undo) -> Restored:
    """Restore `undo.to`, retire what it replaces, verify what serves, and record it all."""
    began = stage.clock.monotonic()
    smoke = smoke_of(read_entries(stage.ledger), undo.to)
    run = Run(stage, _start(stage, undo, smoke), undo.to, smoke, undo.replacing)
    stage.pause("rollback-started")
    endpoint = _restore(run)
    seconds = round(stage.clock.monotonic() - began, 3)
    stage.pause("restored")
    stage.target.retire(keep=(undo.to,))
    failure = _verify(run, endpoint)
    data = {
        "outcome": "failed" if failure else "succeeded",
        "reason": failure.reason() if failure else undo.reason,
        "seconds": seconds,
        "endpoint": endpoint,
    }
    _end(run, data)
    return Restored(run.number, undo.to, endpoint, seconds, failure)


def _what_served(stuck: Release, serving: str) -> str:
    """What served when `stuck` died: as the target says, else as the ledger's intent and
    promote entries tell (no intent: traffic never moved)."""
    if serving:
        return f"the target served {short(serving)}"
    if stuck.switched:
        return f"traffic was switched to {short(stuck.digest)}"
    if stuck.intent:
        return f"the target may serve {short(stuck.digest)} or {short(stuck.previous)}"
    return f"traffic never left {short(stuck.previous) if stuck.previous else 'nothing'}"


def interrupted(stage: Stage, history: Sequence[Release]) -> Release | None:
    """Close the last deployment if its process died before its end; return it."""
    stuck = unfinished(history)
    if stuck is None:
        return None
    served = _what_served(stuck, stage.target.serving())
    reason = f"the process died after step '{stuck.last_step}'; {served}"
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


def serving_digest(stage: Stage) -> str:
    """What the environment serves: as the target knows it, else as the ledger records it."""
    last = serving(releases(read_entries(stage.ledger)))
    return stage.target.serving() or (last.digest if last else "")
