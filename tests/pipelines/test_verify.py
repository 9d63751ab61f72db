"""Verification checks against a real model server on 127.0.0.1, served from a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mlgate.pipelines.environments import VerifyPolicy
from mlgate.pipelines.runtime import SystemClock, free_port
from mlgate.pipelines.server import ModelServer
from mlgate.pipelines.verify import (
    Probe,
    bake,
    check_health,
    judge_load,
    p95,
    request,
    verify_round,
)

SMOKE = ({"name": "double", "input": 2, "expect": 4},)


def _model(value: Any) -> Any:
    if value == "boom":
        raise ValueError("boom")
    if value == "slow":
        time.sleep(0.3)
    return value * 2


@pytest.fixture
def url() -> Iterator[str]:
    server = ModelServer(0, _model, "sha256:abc")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _probe(url: str, smoke: Any = SMOKE, **policy: Any) -> Probe:
    return Probe(url, VerifyPolicy(**{"requests": 3, "bake": 0.0, **policy}), smoke, SystemClock())


def test_passing_round(url: str) -> None:
    checks = verify_round(_probe(url), [])
    assert [(c.name, c.passed) for c in checks] == [
        ("health", True),
        ("smoke", True),
        ("error-rate", True),
        ("latency", True),
    ]
    assert checks[1].measured == {"cases": 1, "failed": 0}
    assert checks[2].measured == {"error_rate": 0.0, "errors": 0, "requests": 3}
    assert checks[3].threshold == {"max_p95_seconds": 1.0}


def test_wrong_output(url: str) -> None:
    smoke = ({"name": "double", "input": 2, "expect": 5},)
    checks = verify_round(_probe(url, smoke), [])
    assert [(c.name, c.passed) for c in checks] == [("health", True), ("smoke", False)]
    assert checks[1].detail == "1 of 1 smoke cases wrong; double: expected 5, got 4"
    assert (
        checks[1].reason()
        == "check smoke failed: 1 of 1 smoke cases wrong; double: expected 5, got 4"
    )


def test_model_error_is_a_500(url: str) -> None:
    checks = verify_round(_probe(url, ({"name": "b", "input": "boom"},)), [])
    assert checks[-1].detail == "1 of 1 smoke cases wrong; b: answered 500"
    answer = request(_probe(url), "POST", "/predict", {"input": "boom"})
    assert (answer.status, answer.body) == (500, {"error": "ValueError: boom"})


def test_slow_model(url: str) -> None:
    checks = verify_round(_probe(url, ({"input": "slow"},), max_p95_latency=0.1), [])
    assert (checks[-1].name, checks[-1].passed) == ("latency", False)
    assert checks[-1].measured["p95_seconds"] >= 0.3


def test_timeouts_are_errors(url: str) -> None:
    checks = verify_round(_probe(url, ({"input": "slow"},), timeout=0.05), [])
    assert checks[-1].name == "smoke"
    assert "answered TimeoutError: timed out" in checks[-1].detail


def test_health_without_smoke_cases(url: str) -> None:
    checks = verify_round(_probe(url, ()), [])
    assert [c.name for c in checks] == ["health", "error-rate", "latency"]
    assert (
        verify_round(_probe(url, (), health="/missing"), [])[0].detail
        == "GET /missing answered 404"
    )


def test_nobody_listening() -> None:
    check = check_health(_probe(f"http://127.0.0.1:{free_port()}"))
    assert not check.passed
    assert check.measured["status"] == 0
    assert check.detail.startswith("ConnectionRefusedError")


def test_bake_repeats_until_the_period_ends(url: str) -> None:
    began = time.monotonic()
    checks = bake(_probe(url, bake=0.5))
    assert time.monotonic() - began >= 0.5
    assert [(c.name, c.passed) for c in checks] == [
        ("health", True),
        ("smoke", True),
        ("error-rate", True),
        ("latency", True),
    ]
    requests = checks[-1].measured["requests"]
    assert requests % 3 == 0  # whole rounds of 3 requests
    assert requests >= 6  # at least two rounds


def test_bad_requests_to_the_server(url: str) -> None:
    probe = _probe(url)
    assert request(probe, "GET", "/nowhere").status == 404
    assert request(probe, "POST", "/nowhere", {}).status == 404
    assert request(probe, "POST", "/predict", {"inputs": 1}).status == 400
    answer = request(probe, "GET", "/health")
    assert answer.body == {"status": "ok", "digest": "sha256:abc"}


def test_p95_and_load() -> None:
    assert p95([]) == 0.0
    assert p95([float(n) for n in range(1, 101)]) == 95.0
    checks = judge_load([], VerifyPolicy())
    assert [c.passed for c in checks] == [True, True]
