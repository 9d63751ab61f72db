"""The deploy stage: start a candidate, verify it, switch traffic, bake, and record every step.

The stage assumes the caller holds the environment's lock and has checked approvals. It never
rolls back by itself: it returns the first failed check, and the caller runs the rollback stage
(`mlgate.pipelines.rollback`) with it. A local candidate is verified on its own port before any
traffic reaches it; after the switch the bake phase verifies it again on the stable endpoint.

Before anything may move traffic, a write-ahead `intent` entry names the release about to serve
and the one it replaces, so that a rollback on another machine (with only the ledger and the
target) knows what may be serving. A target that switches traffic when it deploys (the command
target) gets its intent before the deploy step. A target error after the deployment started
(a port taken, a command that cannot run) is a failed check like any other: the deployment's
end is recorded and the caller rolls back, which stops the candidate.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from mlgate.errors import GateError
from mlgate.pipelines.environments import CommandSettings
from mlgate.pipelines.package import Package
from mlgate.pipelines.stage import Stage, record
from mlgate.pipelines.targets import Staged
from mlgate.pipelines.verify import Check, Probe, bake, verify_round


class Outcome(NamedTuple):
    """How a deployment ended: its ledger number, and the check that failed (None: it serves)."""

    deployment: int
    failure: Check | None
    endpoint: str


def start_entry(stage: Stage, package: Package, previous: str) -> int:
    """Record the deployment's start; its entry number is the deployment's number.

    The smoke cases are recorded too: a rollback to this release verifies it with them, knowing
    nothing but the ledger.
    """
    manifest = package.manifest
    data = {
        "type": "deploy",
        "previous": previous,
        "package": f"{manifest.name} {manifest.version}",
        "pid": os.getpid(),
        "target": stage.env.target.kind,
        "smoke": [dict(case) for case in manifest.smoke],
    }
    return record(stage, "deploy-start", package.digest, data).seq


class Run(NamedTuple):
    """One deployment (or rollback) in progress: its ledger number, the release it brings and
    that release's smoke cases, and the release it replaces."""

    stage: Stage
    number: int
    digest: str
    smoke: Sequence[Mapping[str, Any]]
    previous: str


def record_checks(run: Run, phase: str, checks: Sequence[Check]) -> Check | None:
    """Record each check of a phase; return the first that failed, its name given its phase."""
    for check in checks:
        data = {"deployment": run.number, "phase": phase, "check": check.name}
        data.update(check._asdict())
        del data["name"]
        record(run.stage, "verify", run.digest, data)
    failed = next((check for check in checks if not check.passed), None)
    return failed._replace(name=f"{phase} {failed.name}") if failed else None


def phase_checks(run: Run, url: str, live: bool) -> list[Check]:
    """The target's own probe, then the HTTP checks (baked when traffic reaches the release)."""
    stage = run.stage
    probe = stage.target.probe()
    checks = [probe] if probe else []
    if url and all(check.passed for check in checks):
        http = Probe(url, stage.env.verify, run.smoke, stage.clock)
        checks.extend(bake(http) if live else verify_round(http, []))
    return checks


def record_intent(run: Run) -> None:
    """The write-ahead entry: traffic may move from `run.previous` to `run.digest` from now on."""
    data = {"deployment": run.number, "to": run.digest, "from": run.previous}
    record(run.stage, "intent", run.digest, data)


def _problem(name: str, problem: str) -> Check:
    return Check(name, False, {"problem": problem}, {"started": True}, problem)


def _candidate(run: Run, staged: Staged) -> Check | None:
    if staged.problem:
        return record_checks(run, "candidate", [_problem("start", staged.problem)])
    if staged.live:
        return None
    return record_checks(run, "candidate", phase_checks(run, staged.url, live=False))


def _go_live(run: Run, staged: Staged) -> str:
    if not staged.live:
        record_intent(run)
    endpoint = staged.url if staged.live else run.stage.target.switch(run.digest)
    record(run.stage, "promote", run.digest, {"deployment": run.number, "endpoint": endpoint})
    run.stage.pause("switched")
    return endpoint


def _live(run: Run, staged: Staged) -> Outcome:
    run.stage.pause("verified")
    endpoint = _go_live(run, staged)
    failure = record_checks(run, "bake", phase_checks(run, endpoint, live=True))
    run.stage.pause("baked")
    if failure is None:
        run.stage.target.retire(keep=(run.digest, run.previous))
    return Outcome(run.number, failure, endpoint)


def end_entry(run: Run, outcome: Outcome) -> Outcome:
    """Record the deployment's end with its outcome."""
    failure = outcome.failure
    data = {
        "deployment": run.number,
        "outcome": "failed" if failure else "succeeded",
        "reason": failure.reason() if failure else "",
        "endpoint": outcome.endpoint,
    }
    record(run.stage, "deploy-end", run.digest, data)
    return outcome


def _stage(run: Run, package: Package) -> Staged:
    if isinstance(run.stage.env.target, CommandSettings):
        record_intent(run)  # the command target's deploy command switches traffic itself
    staged = run.stage.target.stage(package, run.previous)
    run.stage.pause("staged")
    return staged


def _steps(run: Run, package: Package) -> Outcome:
    staged = _stage(run, package)
    failure = _candidate(run, staged)
    if failure is not None:
        return Outcome(run.number, failure, "")
    return _live(run, staged)


def guarded(run: Run, step: Callable[[], Outcome]) -> Outcome:
    """`step`, with a target's refusal turned into a recorded failed check."""
    try:
        return step()
    except GateError as err:
        failure = record_checks(run, "target", [_problem("error", str(err))])
        assert failure is not None
        return Outcome(run.number, failure, "")


def deploy(stage: Stage, package: Package, previous: str) -> Outcome:
    """Deploy `package` in place of `previous`; the Outcome says whether it now serves."""
    number = start_entry(stage, package, previous)
    run = Run(stage, number, package.digest, package.manifest.smoke, previous)
    stage.pause("started")
    return end_entry(run, guarded(run, lambda: _steps(run, package)))
