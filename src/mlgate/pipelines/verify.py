"""Verification: the checks a release must pass, with measured values against thresholds.

Checks run in order and stop at the first failure: `health` (GET the health path answers 200),
`smoke` (every smoke case of the manifest: POST `{"input": ...}` to /predict; the `output` must
satisfy the case, see `mlgate.pipelines.smoke`), then `requests` predictions (smoke inputs in
turn, or health GETs when there are none; `concurrency` of them in flight at once) judged for
`error-rate` (answers that are not 200, timeouts, refused connections; against
`max-error-rate`) and `latency` (p95 against `max-p95-latency`). The bake phase repeats the
whole round on the stable endpoint until the bake period is over, so a release that degrades
after the switch is caught too.
"""

from __future__ import annotations

import http.client
import json
import math
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

from mlgate.pipelines.environments import VerifyPolicy
from mlgate.pipelines.runtime import Clock
from mlgate.pipelines.smoke import SmokeCase, check_output, parse_case


class Check(NamedTuple):
    """One verification check and what it measured."""

    name: str
    passed: bool
    measured: Mapping[str, Any]
    threshold: Mapping[str, Any]
    detail: str

    def reason(self) -> str:
        """One line for the ledger and the error message."""
        return f"check {self.name} failed: {self.detail}"


class Answer(NamedTuple):
    """One HTTP exchange: status (0 when no answer came), parsed JSON body, seconds taken."""

    status: int
    body: Any
    seconds: float
    error: str


class Probe(NamedTuple):
    """Where and how to send the requests of one verification phase."""

    url: str
    policy: VerifyPolicy
    smoke: Sequence[Mapping[str, Any]]
    clock: Clock


def request(probe: Probe, method: str, path: str, payload: Any = None) -> Answer:
    """Send one request to the probe's endpoint; never raises for network trouble."""
    address = urllib.parse.urlsplit(probe.url)
    began = probe.clock.monotonic()
    connection = http.client.HTTPConnection(address.netloc, timeout=probe.policy.timeout)
    try:
        body = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"} if body else {}
        connection.request(method, address.path.rstrip("/") + path, body=body, headers=headers)
        response = connection.getresponse()
        status, data = response.status, response.read()
    except (OSError, http.client.HTTPException) as err:  # the check measures it as an error
        return Answer(0, None, probe.clock.monotonic() - began, f"{type(err).__name__}: {err}")
    finally:
        connection.close()
    return Answer(status, _json(data), probe.clock.monotonic() - began, "")


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:  # a non-JSON answer is kept as text for the report
        return data.decode(errors="replace")


def check_health(probe: Probe) -> Check:
    """GET the health path: 200 passes."""
    answer = request(probe, "GET", probe.policy.health)
    measured = {"status": answer.status, "seconds": round(answer.seconds, 4)}
    detail = answer.error or f"GET {probe.policy.health} answered {answer.status}"
    return Check("health", answer.status == 200, measured, {"status": 200}, detail)


def _smoke_failure(probe: Probe, case: SmokeCase) -> Mapping[str, Any] | None:
    answer = request(probe, "POST", "/predict", {"input": case.input})
    got = answer.body.get("output") if isinstance(answer.body, dict) else answer.body
    if answer.status != 200:
        refused = f"{case.name}: answered {answer.status or answer.error}"
        return {"case": case.name, "status": answer.status, "problem": refused}
    problem = check_output(case, got)
    return {"case": case.name, "status": 200, "problem": problem} if problem else None


def check_smoke(probe: Probe) -> Check:
    """Every smoke case answers 200 with an output that satisfies the case."""
    cases = [parse_case(case, number) for number, case in enumerate(probe.smoke)]
    failures = [f for f in (_smoke_failure(probe, case) for case in cases) if f]
    measured = {"cases": len(cases), "failed": len(failures)}
    if failures:
        detail = f"{len(failures)} of {len(cases)} smoke cases wrong; {failures[0]['problem']}"
        return Check("smoke", False, {**measured, "first": failures[0]}, {"failed": 0}, detail)
    return Check("smoke", True, measured, {"failed": 0}, f"{len(cases)} cases passed")


def _one(probe: Probe, number: int) -> Answer:
    if probe.smoke:
        case = probe.smoke[number % len(probe.smoke)]
        return request(probe, "POST", "/predict", {"input": case["input"]})
    return request(probe, "GET", probe.policy.health)


def _traffic(probe: Probe) -> Iterator[Answer]:
    """The measured requests, `concurrency` of them in flight at once."""
    numbers = range(probe.policy.requests)
    if probe.policy.concurrency <= 1:
        yield from (_one(probe, number) for number in numbers)
        return
    with ThreadPoolExecutor(max_workers=probe.policy.concurrency) as pool:
        yield from pool.map(lambda number: _one(probe, number), numbers)


def p95(seconds: Sequence[float]) -> float:
    """The 95th percentile (nearest rank) of `seconds`; 0 for none."""
    ordered = sorted(seconds)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)] if ordered else 0.0


def judge_load(answers: Sequence[Answer], policy: VerifyPolicy) -> list[Check]:
    """The latency and error-rate checks over `answers`."""
    latency = round(p95([answer.seconds for answer in answers]), 4)
    errors = sum(1 for answer in answers if answer.status != 200)
    rate = round(errors / len(answers), 4) if answers else 0.0
    return [
        Check(
            "error-rate",
            rate <= policy.max_error_rate,
            {"error_rate": rate, "errors": errors, "requests": len(answers)},
            {"max_error_rate": policy.max_error_rate},
            f"{errors} of {len(answers)} requests failed, limit {policy.max_error_rate:.2%}",
        ),
        Check(
            "latency",
            latency <= policy.max_p95_latency,
            {"p95_seconds": latency, "requests": len(answers)},
            {"max_p95_seconds": policy.max_p95_latency},
            f"p95 {latency:.3f}s over {len(answers)} requests, limit {policy.max_p95_latency:.3f}s",
        ),
    ]


def verify_round(probe: Probe, answers: list[Answer]) -> list[Check]:
    """Health, smoke, then one round of load; stop at the first failure.

    The load answers are added to `answers`, so that the bake phase can judge them together.
    """
    checks = [check_health(probe)]
    if checks[-1].passed and probe.policy.smoke and probe.smoke:
        checks.append(check_smoke(probe))
    if checks[-1].passed:
        answers.extend(_traffic(probe))
        checks.extend(judge_load(answers, probe.policy))
    return _until_failure(checks)


def _until_failure(checks: Sequence[Check]) -> list[Check]:
    for number, check in enumerate(checks):
        if not check.passed:
            return list(checks[: number + 1])
    return list(checks)


def bake(probe: Probe) -> list[Check]:
    """Rounds of checks on the live endpoint until the bake period is over (at least one)."""
    deadline = probe.clock.monotonic() + probe.policy.bake
    answers: list[Answer] = []
    while True:
        checks = verify_round(probe, answers)
        if not all(check.passed for check in checks) or probe.clock.monotonic() >= deadline:
            return checks
        probe.clock.sleep(min(0.2, max(deadline - probe.clock.monotonic(), 0.0)))
