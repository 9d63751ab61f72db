"""The local target's edges on real processes and sockets: concurrent verification, pruning old
releases, the stable port held by another program, and what the router sees."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_targets import local_target

from mlgate.cli import main
from mlgate.errors import GateError
from mlgate.pipelines.environments import VerifyPolicy
from mlgate.pipelines.local_target import LocalTarget
from mlgate.pipelines.package import BuildOptions, Package, build_package
from mlgate.pipelines.runtime import SystemClock, bind_local
from mlgate.pipelines.server import ModelServer
from mlgate.pipelines.verify import Probe, verify_round

PYPROJECT = """\
[project]
name = "labels"
version = "VERSION"

[tool.mlgate.package]
models = ["models/*.json"]
code = ["src/labels"]
entrypoint = "labels.serve:load"
"""


def _one_at_a_time() -> Any:
    """A model that breaks when a second request arrives while it works on one."""
    busy = threading.Lock()

    def predict(rows: Any) -> Any:
        if not busy.acquire(blocking=False):
            raise RuntimeError("not thread-safe")
        try:
            time.sleep(0.05)
            return [0]
        finally:
            busy.release()

    return predict


@pytest.fixture
def fragile() -> Iterator[str]:
    server = ModelServer(0, _one_at_a_time(), "sha256:abc")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("concurrency", "outcome"),
    [
        (1, [("health", True), ("smoke", True), ("error-rate", True), ("latency", True)]),
        (4, [("health", True), ("smoke", True), ("error-rate", False)]),
    ],
)
def test_concurrent_requests_catch_a_model_that_is_not_thread_safe(
    fragile: str, concurrency: int, outcome: list[tuple[str, bool]]
) -> None:
    policy = VerifyPolicy(requests=8, bake=0.0, concurrency=concurrency)
    smoke = [{"name": "one", "input": [1], "expect": [0]}]
    checks = verify_round(Probe(fragile, policy, smoke, SystemClock()), [])
    assert [(check.name, check.passed) for check in checks] == outcome


def _package(root: Path, version: str) -> Package:
    (root / "models").mkdir(parents=True)
    (root / "models" / "weights.json").write_text("[]")
    (root / "src" / "labels").mkdir(parents=True)
    (root / "src" / "labels" / "__init__.py").write_text("")
    serve = f"def load():\n    return lambda rows: {version!r}\n"
    (root / "src" / "labels" / "serve.py").write_text(serve)
    (root / "pyproject.toml").write_text(PYPROJECT.replace("VERSION", version))
    return build_package(root, BuildOptions(environ={"SOURCE_DATE_EPOCH": "1"}, builder="ci"))


def _deploy(target: LocalTarget, package: Package, previous: str) -> None:
    assert target.stage(package, previous).problem == ""
    target.switch(package.digest)
    target.retire(keep=(package.digest, previous))
    time.sleep(0.01)  # install times order the releases


@pytest.mark.parametrize(
    ("keep", "left"),
    [(1, ["4.0.0", "5.0.0"]), (2, ["4.0.0", "5.0.0"]), (3, ["3.0.0", "4.0.0", "5.0.0"])],
)
def test_releases_beyond_keep_are_pruned(tmp_path: Path, keep: int, left: list[str]) -> None:
    target = local_target(
        tmp_path / "project", f'{{ kind = "local", sandbox = "off", keep = {keep} }}'
    )
    packages = {v: _package(tmp_path / v, v) for v in ("1.0.0", "2.0.0", "3.0.0", "4.0.0", "5.0.0")}
    previous = ""
    try:
        for package in packages.values():
            _deploy(target, package, previous)
            previous = package.digest
        (target.store / "releases" / ".pruned-leftover").mkdir()
        target.retire(keep=(packages["5.0.0"].digest, packages["4.0.0"].digest))
        names = sorted(p.name for p in (target.store / "releases").iterdir())
        assert names == sorted(packages[v].digest[7:] for v in left)
        runs = sorted(p.stem for p in (target.store / "runs").glob("*.json"))
        assert runs == sorted(packages[v].digest[7:] for v in ("4.0.0", "5.0.0"))
    finally:
        target.shutdown()


def test_rollback_keeps_the_current_release(tmp_path: Path) -> None:
    target = local_target(tmp_path / "project", '{ kind = "local", sandbox = "off", keep = 1 }')
    one, two = _package(tmp_path / "one", "1.0.0"), _package(tmp_path / "two", "2.0.0")
    try:
        _deploy(target, one, "")
        _deploy(target, two, one.digest)
        target.restore(one.digest, two.digest)
        target.retire(keep=(one.digest,))
        assert [p.name for p in (target.store / "releases").iterdir()] == [one.digest[7:]]
    finally:
        target.shutdown()


def test_stable_port_held_by_another_program_starts_nothing(tmp_path: Path) -> None:
    with bind_local(0) as other:
        port = other.getsockname()[1]
        target = local_target(tmp_path / "project", f'{{ kind = "local", port = {port} }}')
        with pytest.raises(GateError) as caught:
            target.stage(_package(tmp_path / "one", "1.0.0"), "")
    assert str(caught.value) == (
        f"127.0.0.1:{port} is taken by another program (Address already in use); stop it or set "
        "another port in the environment's target table; no release was started"
    )
    assert not target.store.exists()  # no release installed, no server started or recorded


def test_an_out_of_range_port_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = _package(tmp_path / "one", "1.0.0")
    config = tmp_path / "project" / "pyproject.toml"
    config.parent.mkdir()
    config.write_text(
        '[tool.mlgate.environments.staging]\ntarget = { kind = "local", port = 70000 }\n'
    )
    assert main(["deploy", str(package.path), "--env", "staging", "--config", str(config)]) == 2
    assert capsys.readouterr().err == (
        "mlgate: error: [tool.mlgate.environments.staging].target.port = 70000: expected a port "
        "from 1 to 65535 (0: pick one)\n"
    )


def test_pruning_keeps_releases_that_served_over_failed_candidates(tmp_path: Path) -> None:
    target = local_target(tmp_path / "project", '{ kind = "local", sandbox = "off", keep = 2 }')
    good = _package(tmp_path / "good", "1.0.0")
    last = _package(tmp_path / "last", "2.0.0")
    failed = _package(tmp_path / "failed", "3.0.0")
    try:
        _deploy(target, good, "")
        _deploy(target, last, good.digest)
        assert target.stage(failed, last.digest).problem == ""  # installed last, never served
        target.retire(keep=(last.digest,))  # as the rollback stage does after it failed
        names = sorted(p.name for p in (target.store / "releases").iterdir())
        assert names == sorted([good.digest[7:], last.digest[7:]])
        served = sorted(p.name for p in (target.store / "served").iterdir())
        assert served == names
    finally:
        target.shutdown()
