"""The deploy stage: start a candidate, verify it, switch traffic, bake, and record every step.

The stage assumes the caller holds the environment's lock and has checked approvals. It never
rolls back by itself: it returns the first failed check, and the caller runs the rollback stage
(`mlgate.pipelines.rollback`) with it. A local candidate is verified on its own port before any
traffic reaches it; after the switch the bake phase verifies it again on the stable endpoint.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

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
    """Record the deployment's start; its entry number is the deployment's number."""
    manifest = package.manifest
    data = {
        "type": "deploy",
        "previous": previous,
        "package": f"{manifest.name} {manifest.version}",
        "pid": os.getpid(),
        "target": stage.env.target.kind,
    }
    return record(stage, "deploy-start", package.digest, data).seq


class Run(NamedTuple):
    """One deployment in progress: the stage, its ledger number and the package."""

    stage: Stage
    number: int
    package: Package
    previous: str


def record_checks(run: Run, phase: str, checks: Sequence[Check]) -> Check | None:
    """Record each check of a phase; return the first that failed, its name given its phase."""
    for check in checks:
        data = {"deployment": run.number, "phase": phase, "check": check.name}
        data.update(check._asdict())
        del data["name"]
        record(run.stage, "verify", run.package.digest, data)
    failed = next((check for check in checks if not check.passed), None)
    return failed._replace(name=f"{phase} {failed.name}") if failed else None


def phase_checks(run: Run, url: str, live: bool) -> list[Check]:
    """The target's own probe, then the HTTP checks (baked when traffic reaches the release)."""
    stage = run.stage
    probe = stage.target.probe()
    checks = [probe] if probe else []
    if url and all(check.passed for check in checks):
        http = Probe(url, stage.env.verify, run.package.manifest.smoke, stage.clock)
        checks.extend(bake(http) if live else verify_round(http, []))
    return checks


def _start_problem(staged: Staged) -> Check:
    return Check("start", False, {"problem": staged.problem}, {"started": True}, staged.problem)


def _candidate(run: Run, staged: Staged) -> Check | None:
    if staged.problem:
        return record_checks(run, "candidate", [_start_problem(staged)])
    if staged.live:
        return None
    return record_checks(run, "candidate", phase_checks(run, staged.url, live=False))


def _go_live(run: Run, staged: Staged) -> str:
    digest = run.package.digest
    endpoint = staged.url if staged.live else run.stage.target.switch(digest)
    record(run.stage, "promote", digest, {"deployment": run.number, "endpoint": endpoint})
    run.stage.pause("switched")
    return endpoint


def _live(run: Run, staged: Staged) -> Outcome:
    run.stage.pause("verified")
    endpoint = _go_live(run, staged)
    failure = record_checks(run, "bake", phase_checks(run, endpoint, live=True))
    run.stage.pause("baked")
    if failure is None:
        run.stage.target.retire(keep=(run.package.digest, run.previous))
    return Outcome(run.number, failure, endpoint)


def _end(run: Run, outcome: Outcome) -> Outcome:
    failure = outcome.failure
    data = {
        "deployment": run.number,
        "outcome": "failed" if failure else "succeeded",
        "reason": failure.reason() if failure else "",
        "endpoint": outcome.endpoint,
    }
    record(run.stage, "deploy-end", run.package.digest, data)
    return outcome


def deploy(stage: Stage, package: Package, previous: str) -> Outcome:
    """Deploy `package` in place of `previous`; the Outcome says whether it now serves."""
    run = Run(stage, start_entry(stage, package, previous), package, previous)
    stage.pause("started")
    staged = stage.target.stage(package, previous)
    stage.pause("staged")
    failure = _candidate(run, staged)
    if failure is not None:
        return _end(run, Outcome(run.number, failure, ""))
    return _end(run, _live(run, staged))
