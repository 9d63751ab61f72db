"""The gated release of the example project, end to end: real packages, real model servers on
127.0.0.1, real HTTP, real `mlgate` processes killed with SIGKILL at each step of a deploy."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from mlgate.cli import main
from mlgate.pipelines.environments import LocalSettings, release_config
from mlgate.pipelines.ledger import read_entries
from mlgate.pipelines.local_target import LocalTarget
from mlgate.pipelines.lock import held
from mlgate.pipelines.package import BuildOptions, Package, build_package
from mlgate.pipelines.runtime import LocalProcesses, SystemClock

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "iris"
MARKER = "# Release environments."
ENVIRONMENTS = """
[tool.mlgate.environments.staging]
target = { kind = "local", start-timeout = "90s" }

[tool.mlgate.environments.staging.approval]
approvers = ["alice", "bob"]

[tool.mlgate.environments.staging.verify]
requests = 3
max-p95-latency = "1s"
bake = "0.3s"
timeout = "3s"

[tool.mlgate.environments.flow.approval]
approvers = ["alice", "bob", "carol"]
min-approvals = 2

[tool.mlgate.environments.flow.verify]
requests = 3
bake = "0.3s"

[tool.mlgate.environments.gate.approval]
approvers = ["alice", "bob", "carol"]
"""
RULES = """
from __future__ import annotations

import time


def load():
    calls = []

    def predict(rows):
        calls.append(1)
        if len(calls) > LIMIT:
            raise RuntimeError("model degraded")
        if len(calls) > 2:  # the smoke cases answer at once, the measured requests do not
            time.sleep(DELAY)
        return [0 if row[2] < 2.5 else 1 if row[3] < 1.75 else 2 for row in rows]

    return predict
"""
BAD_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503)
        self.end_headers()

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


class Env(NamedTuple):
    """The example project deployed to `staging`, with the packages the tests use."""

    config: Path
    packages: dict[str, Package]
    target: LocalTarget

    def mlgate(self, *argv: str) -> int:
        return main([*argv, "--config", str(self.config)])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example with its model trained and test environments configured."""
    project = tmp_path_factory.mktemp("iris") / "iris"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("models", "dist", ".mlgate"))
    subprocess.run([sys.executable, "train.py"], cwd=project, check=True, capture_output=True)
    text = (project / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(text[: text.index(MARKER)] + ENVIRONMENTS)
    return project


def _variant(project: Path, version: str, serve: str | None, config: tuple[str, str]) -> Package:
    """The example at another version, with `serve` as its serving module when given."""
    copy = project.parent / version
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("dist", ".mlgate"))
    (copy / "src" / "bad_server.py").write_text(BAD_SERVER)
    pyproject = copy / "pyproject.toml"
    text = pyproject.read_text().replace('version = "1.0.0"', f'version = "{version}"')
    pyproject.write_text(text.replace(*config))
    if serve is not None:
        (copy / "src" / "iris_model" / "serve.py").write_text(serve)
    return build_package(copy, BuildOptions(out_dir=project / "dist", builder="carol", environ={}))


def rules(limit: int = 1000, delay: float = 0.0) -> str:
    """A serving module answering by two rules on petal size: quick to start, no scikit-learn."""
    return RULES.replace("LIMIT", str(limit)).replace("DELAY", str(delay))


LABELS = "return [int(label) for label in model.predict(rows)]"
WRONG = "return [(int(label) + 1) % 3 for label in model.predict(rows)]"
CODE = 'code = ["src/iris_model"]'
OWN_SERVER = (
    'code = ["src/iris_model", "src/bad_server.py"]\n'
    'server = ["{python}", "src/bad_server.py", "{port}"]'
)
SAME = ("", "")


def _variants(project: Path) -> dict[str, Package]:
    wrong = (project / "src" / "iris_model" / "serve.py").read_text().replace(LABELS, WRONG)
    return {
        "v1": _variant(project, "1.0.0", None, SAME),
        "v2": _variant(project, "2.0.0", rules(), SAME),
        "slow": _variant(project, "3.0.0-slow", rules(delay=1.2), SAME),
        "wrong": _variant(project, "3.0.0-wrong", wrong, SAME),
        "degrading": _variant(project, "3.0.0-degrading", rules(limit=6), SAME),
        "unhealthy": _variant(project, "3.0.0-unhealthy", None, (CODE, OWN_SERVER)),
    }


@pytest.fixture(scope="module")
def staging(trained: Path) -> Iterator[Env]:
    """`staging` serving v1, every package approved by alice; all servers stopped afterwards."""
    config = trained / "pyproject.toml"
    settings = release_config(config, {}).environment("staging").target
    assert isinstance(settings, LocalSettings)
    env = Env(config, _variants(trained), LocalTarget(settings, LocalProcesses(), SystemClock()))
    try:
        for package in env.packages.values():
            assert (
                env.mlgate("approve", str(package.path), "--env", "staging", "--by", "alice") == 0
            )
        assert env.mlgate("deploy", str(env.packages["v1"].path), "--env", "staging") == 0
        yield env
    finally:
        env.target.shutdown()


def _endpoint(env: Env) -> int:
    return int(json.loads((env.target.store / "router.json").read_text())["port"])


def predict(port: int, rows: Any) -> tuple[int, str, Any]:
    """POST /predict; return status, the digest that answered, and the output."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", "/predict", json.dumps({"input": rows}))
        response = connection.getresponse()
        body = json.loads(response.read())
        return response.status, response.headers["X-Mlgate-Digest"], body.get("output")
    finally:
        connection.close()


def _serving(env: Env, name: str) -> None:
    status, digest, output = predict(_endpoint(env), [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]])
    assert (status, digest, output) == (200, env.packages[name].digest, [0, 2])


class Client(threading.Thread):
    """Keeps sending predictions to the environment's endpoint during a rollout."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.stopping = threading.Event()
        self.seen: list[tuple[int, str]] = []

    def run(self) -> None:
        while not self.stopping.is_set():
            status, digest, _ = predict(self.port, [[5.9, 3.0, 5.1, 1.8]])
            self.seen.append((status, digest))

    def stop(self) -> list[tuple[int, str]]:
        self.stopping.set()
        self.join()
        return self.seen


@pytest.mark.parametrize(
    ("broken", "failure"),
    [
        ("unhealthy", "check candidate health failed: GET /health answered 503"),
        ("slow", r"check candidate latency failed: p95 \d\.\d{3}s over 3 requests, limit 1\.000s"),
        (
            "wrong",
            r"check candidate smoke failed: 2 of 2 smoke cases wrong; "
            r"setosa: expected \[0\], got \[1\]",
        ),
        ("degrading", r"check bake smoke failed: [12] of 2 smoke cases wrong; \w+: answered 500"),
    ],
)
def test_broken_release_rolled_back_while_previous_answers(
    staging: Env, broken: str, failure: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _serving(staging, "v1")
    client = Client(_endpoint(staging))
    client.start()
    assert staging.mlgate("deploy", str(staging.packages[broken].path), "--env", "staging") == 1
    seen = client.stop()
    err = capsys.readouterr().err
    assert re.search(f"failed: {failure}; rolled back to ", err), err
    assert "; rolled back to " + staging.packages["v1"].digest[7:19] in err
    _serving(staging, "v1")
    v1 = staging.packages["v1"].digest
    if broken != "degrading":  # the others never reached traffic
        assert set(seen) == {(200, v1)}
    assert seen[-1] == (200, v1)
    assert sorted(p.stem for p in (staging.target.store / "runs").glob("*.json")) == [v1[7:]]


def _deploy_process(env: Env, package: str, step: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "mlgate", "deploy", package, "--env", "staging"]
    process = subprocess.Popen(
        [*argv, "--config", str(env.config)],
        env={**os.environ, "MLGATE_PAUSE_AT": step},
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    assert process.stderr is not None
    ready, _, _ = select.select([process.stderr], [], [], 120)
    assert ready, f"deploy never reached {step}"
    assert process.stderr.readline().decode().startswith(f"mlgate: paused at {step} (pid ")
    return process


@pytest.mark.parametrize(
    ("step", "serves"),
    [("started", "v1"), ("staged", "v1"), ("verified", "v1"), ("switched", "v2"), ("baked", "v2")],
)
def test_deploy_killed_at_each_step(
    staging: Env, step: str, serves: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _serving(staging, "v1")
    process = _deploy_process(staging, str(staging.packages["v2"].path), step)
    if step == "staged":
        assert staging.mlgate("deploy", str(staging.packages["v2"].path), "--env", "staging") == 1
        assert "environment 'staging' is busy: `mlgate deploy" in capsys.readouterr().err
    process.send_signal(signal.SIGKILL)
    process.wait()
    _serving(staging, serves)
    assert not held(staging.config.parent / ".mlgate" / "ledger", "staging")
    assert staging.mlgate("releases", "--env", "staging") == 0
    assert " was interrupted (last step: " in capsys.readouterr().err
    assert staging.mlgate("rollback", "--env", "staging", "--if-interrupted") == 0
    out, err = capsys.readouterr()
    assert "rolling back to where it started" in err
    assert out.startswith("rolled back 'staging' (rollback #")
    _serving(staging, "v1")
    assert staging.mlgate("rollback", "--env", "staging", "--if-interrupted") == 0
    assert "finished; nothing to roll back" in capsys.readouterr().out
    assert staging.mlgate("ledger", "verify", "--env", "staging") == 0


@pytest.fixture
def flow(staging: Env) -> Iterator[Env]:
    """The `flow` environment of the same project: nothing deployed, nothing approved yet."""
    settings = release_config(staging.config, {}).environment("flow").target
    assert isinstance(settings, LocalSettings)
    env = staging._replace(target=LocalTarget(settings, LocalProcesses(), SystemClock()))
    try:
        yield env
    finally:
        env.target.shutdown()


def test_gated_release(flow: Env, capsys: pytest.CaptureFixture[str]) -> None:
    v1, v2 = flow.packages["v1"], flow.packages["v2"]
    assert flow.mlgate("approve", str(v1.path), "--env", "flow", "--by", "bob") == 0
    assert flow.mlgate("deploy", str(v1.path), "--env", "flow", "--by", "ci") == 1
    assert "needs 2 approval(s), has 1; valid: bob; approvers: alice, bob, carol" in (
        capsys.readouterr().err
    )
    assert flow.mlgate("approve", str(v1.path), "--env", "flow", "--by", "alice") == 0
    assert flow.mlgate("deploy", str(v1.path), "--env", "flow", "--by", "ci") == 0
    port = _endpoint(flow)
    rows = [[5.1, 3.5, 1.4, 0.2], [6.0, 2.9, 4.5, 1.5], [6.7, 3.0, 5.2, 2.3]]
    assert predict(port, rows) == (200, v1.digest, [0, 1, 2])
    for name in ("alice", "bob"):
        assert flow.mlgate("approve", str(v2.path), "--env", "flow", "--by", name) == 0
    assert flow.mlgate("deploy", str(v2.path), "--env", "flow", "--by", "ci") == 0
    assert predict(port, rows) == (200, v2.digest, [0, 1, 2])
    assert flow.mlgate("rollback", "--env", "flow", "--by", "dave") == 0
    assert predict(port, rows) == (200, v1.digest, [0, 1, 2])
    assert flow.mlgate("deploy", str(v1.path), "--env", "flow") == 0
    assert "already serves 'flow'; nothing to deploy" in capsys.readouterr().out
    _stopped_then_started_again(flow, v1, port, capsys)
    assert flow.mlgate("releases", "--env", "flow", "--format", "json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert [(r["type"], r["digest"], r["by"], r["outcome"]) for r in shown] == [
        ("rollback", v1.digest, "dave", "succeeded"),
        ("deploy", v2.digest, "ci", "succeeded"),
        ("deploy", v1.digest, "ci", "succeeded"),
    ]
    ids = [r["id"] for r in shown]  # ledger positions: how many checks a bake records varies
    assert ids == sorted(set(ids), reverse=True)
    assert shown[0]["undoes"] == ids[1]
    assert flow.mlgate("ledger", "verify", "--env", "flow") == 0


def _stopped_then_started_again(
    env: Env, serving: Package, port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mlgate stop` stops every process; deploying the current package starts it again."""
    assert env.mlgate("stop", "--env", "flow") == 0
    stopped = rf"stopped [23] process\(es\) of 'flow'; deploying {serving.digest[7:19]} again"
    assert re.match(stopped, capsys.readouterr().out)
    with pytest.raises(ConnectionRefusedError):
        predict(port, [[5.1, 3.5, 1.4, 0.2]])
    assert env.mlgate("stop", "--env", "flow") == 0
    assert capsys.readouterr().out.startswith("stopped 0 process(es) of 'flow'")
    assert env.mlgate("deploy", str(serving.path), "--env", "flow") == 0
    assert capsys.readouterr().out.endswith(
        f"already serves 'flow'; started its server again at http://127.0.0.1:{port}\n"
    )
    assert predict(port, [[5.1, 3.5, 1.4, 0.2]]) == (200, serving.digest, [0])


def test_approval_gates(staging: Env, capsys: pytest.CaptureFixture[str]) -> None:
    v1, v2 = str(staging.packages["v1"].path), str(staging.packages["v2"].path)
    assert staging.mlgate("approve", v1, "--env", "gate", "--by", "carol") == 1
    assert "'carol' built this package and may not approve it" in capsys.readouterr().err
    assert staging.mlgate("approve", v1, "--env", "gate", "--by", "mallory") == 1
    assert "'mallory' is not an approver (approvers: alice, bob, carol)" in (
        capsys.readouterr().err
    )
    assert staging.mlgate("approve", v1, "--env", "gate", "--by", "bob", "--expires", "0s") == 2
    assert capsys.readouterr().err == (
        "mlgate: error: --expires 0s: an approval must last longer than that\n"
    )
    assert staging.mlgate("approve", v1, "--env", "gate", "--by", "bob", "--expires", "1ms") == 0
    time.sleep(0.01)  # bob's approval has expired
    assert staging.mlgate("deploy", v1, "--env", "gate") == 1
    assert "needs 1 approval(s), has 0; expired: bob" in capsys.readouterr().err
    assert staging.mlgate("approve", v1, "--env", "gate", "--by", "alice", "--note", "CHG-1") == 0
    assert staging.mlgate("deploy", v2, "--env", "gate") == 1
    err = capsys.readouterr().err
    assert f"{staging.packages['v2'].digest} is not approved for 'gate': needs 1" in err
    assert not (staging.config.parent / ".mlgate" / "releases" / "gate").exists()


def test_tampered_package_refused(
    staging: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = staging.packages["v1"].path
    tampered = tmp_path / original.name
    with tarfile.open(original) as source, tarfile.open(tampered, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member)
            content = data.read() if data else b""
            if member.name.endswith("serve.py"):
                content = content.replace(b"int(label)", b"int(label)  ")
                member.size = len(content)
            target.addfile(member, io.BytesIO(content))
    assert staging.mlgate("approve", str(tampered), "--env", "staging", "--by", "bob") == 2
    assert staging.mlgate("deploy", str(tampered), "--env", "staging") == 2
    lines = capsys.readouterr().err.splitlines()
    assert [line.startswith(f"mlgate: error: {tampered.name}") for line in lines] == [True, True]
    assert all("src/iris_model/serve.py" in line for line in lines)


def test_rollback_killed_is_finished_by_the_next_deploy(
    staging: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    _serving(staging, "v1")
    degrading = staging.packages["degrading"]
    process = _deploy_process(staging, str(degrading.path), "rollback-started")
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert predict(_endpoint(staging), [[5.1, 3.5, 1.4, 0.2]])[1] == degrading.digest
    assert staging.mlgate("deploy", str(staging.packages["v2"].path), "--env", "staging") == 0
    err = capsys.readouterr().err
    assert re.search(
        r"rollback #\d+ of \w+ to 'staging' was interrupted \(last step: started\)", err
    )
    _serving(staging, "v2")
    assert staging.mlgate("rollback", "--env", "staging", "--reason", "back to v1") == 0
    assert capsys.readouterr().out.startswith("rolled back 'staging' (rollback #")
    _serving(staging, "v1")
    assert staging.mlgate("releases", "--env", "staging", "--format", "json", "--limit", "4") == 0
    shown = json.loads(capsys.readouterr().out)
    assert [(r["type"], r["digest"], r["outcome"]) for r in shown] == [
        ("rollback", staging.packages["v1"].digest, "succeeded"),
        ("deploy", staging.packages["v2"].digest, "succeeded"),
        ("rollback", staging.packages["v1"].digest, "succeeded"),
        ("rollback", staging.packages["v1"].digest, "interrupted"),
    ]
    assert shown[0]["reason"] == "back to v1"
    assert shown[1]["previous"] == staging.packages["v1"].digest


def test_rollback_after_an_automatic_rollback_restores_the_last_good_release(
    staging: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mlgate rollback` used to undo the automatic rollback, putting the failed release back
    and checking only /health; it restores the last release verified good and verifies it."""
    _serving(staging, "v1")
    v1, v2 = staging.packages["v1"].digest, staging.packages["v2"].digest
    degrading = staging.packages["degrading"]
    assert staging.mlgate("deploy", str(staging.packages["v2"].path), "--env", "staging") == 0
    assert staging.mlgate("deploy", str(degrading.path), "--env", "staging") == 1
    assert f"; rolled back to {v2[7:19]} in " in capsys.readouterr().err
    _serving(staging, "v2")
    assert staging.mlgate("rollback", "--env", "staging") == 0
    out = capsys.readouterr().out
    assert re.fullmatch(
        rf"rolled back 'staging' \(rollback #\d+\) in \d+\.\d\ds; serving at "
        rf"http://127\.0\.0\.1:{_endpoint(staging)}, verified\n",
        out,
    )
    _serving(staging, "v1")
    assert staging.mlgate("releases", "--env", "staging", "--format", "json", "--limit", "4") == 0
    shown = json.loads(capsys.readouterr().out)
    assert [(r["type"], r["digest"], r["status"]) for r in shown] == [
        ("rollback", v1, "verified"),
        ("rollback", v2, "rolled back"),
        ("deploy", degrading.digest, "failed"),
        ("deploy", v2, "verified"),
    ]
    ledger = release_config(staging.config, {}).ledger("staging")
    checks = [
        (entry.data["check"], entry.data["passed"])
        for entry in read_entries(ledger)
        if entry.kind == "verify" and entry.data["deployment"] == shown[0]["id"]
    ]
    assert checks == [("health", True), ("smoke", True), ("error-rate", True), ("latency", True)]
    assert staging.mlgate("ledger", "verify", "--env", "staging") == 0
