"""Time from a failed check to the previous release answering again, on the local target.

    python bench/rollback_time.py [--trials 5] [--sandbox auto|required|off]

Deploys a good release of a small pure-Python model, then releases that pass their candidate
checks and fail during the bake (after traffic was switched to them). A client keeps sending
predictions to the environment's endpoint the whole time. For each failed rollout it prints the
time from the failed check (its ledger entry) to the first answer from the previous release, as
the client saw it, and the rollback stage's own recorded duration. Target: under 2 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from mlgate.cli import main as mlgate
from mlgate.pipelines.environments import LocalSettings, release_config
from mlgate.pipelines.ledger import ledger_for, read_entries
from mlgate.pipelines.local_target import LocalTarget
from mlgate.pipelines.package import BuildOptions, build_package
from mlgate.pipelines.runtime import LocalProcesses, SystemClock, parse_stamp

PYPROJECT = """
[tool.mlgate.package]
name = "bench"
version = "VERSION"
models = ["model.json"]
code = ["serve.py"]
entrypoint = "serve:load"
pythonpath = ["."]

[[tool.mlgate.package.smoke]]
input = 2
expect = 4

[tool.mlgate.environments.bench]
target = { kind = "local", sandbox = "SANDBOX" }
approval = { required = false }
verify = { requests = 5, bake = "2s" }
"""
SERVE = """
import json
from pathlib import Path


def load():
    limit = json.loads((Path(__file__).parent / "model.json").read_text())["limit"]
    calls = []

    def predict(x):
        calls.append(1)
        if len(calls) > limit:
            raise RuntimeError("degraded")
        return 2 * x

    return predict
"""


class Client(threading.Thread):
    """Sends a prediction every few milliseconds; records (wall time, status, digest)."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.stopping = threading.Event()
        self.seen: list[tuple[float, int, str]] = []

    def run(self) -> None:
        while not self.stopping.is_set():
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            connection.request("POST", "/predict", json.dumps({"input": 1}))
            response = connection.getresponse()
            response.read()
            self.seen.append((time.time(), response.status, response.headers["X-Mlgate-Digest"]))
            connection.close()
            time.sleep(0.005)


def build(root: Path, version: str, limit: int) -> Path:
    """A package whose model fails after `limit` predictions (the sandbox setting kept)."""
    sandbox = (root / "sandbox").read_text()
    text = PYPROJECT.replace("VERSION", version).replace("SANDBOX", sandbox)
    (root / "pyproject.toml").write_text(text)
    (root / "model.json").write_text(json.dumps({"limit": limit}))
    return build_package(root, BuildOptions(out_dir=root / "dist", environ={})).path


def deploy(root: Path, package: Path) -> int:
    """`mlgate deploy PACKAGE --env bench`, in process."""
    config = str(root / "pyproject.toml")
    return mlgate(["deploy", str(package), "--env", "bench", "--config", config])


def trial(root: Path, number: int, good_digest: str) -> tuple[float, float]:
    """One failed rollout: (seconds until the client saw the good release, rollback stage)."""
    package = build(root, f"bad-{number}", 7)
    port = json.loads((root / ".mlgate/releases/bench/router.json").read_text())["port"]
    client = Client(port)
    client.start()
    code = deploy(root, package)
    client.stopping.set()
    client.join()
    assert code == 1, "the degrading release should have been rolled back"
    entries = read_entries(ledger_for(root / ".mlgate" / "ledger", "bench"))
    failed = [e for e in entries if e.kind == "verify" and not e.data["passed"]][-1]
    failed_at = parse_stamp(failed.at).timestamp()
    back = next(t for t, status, digest in client.seen if t > failed_at and digest == good_digest)
    restored = [e for e in entries if e.kind == "deploy-end"][-1]
    return back - failed_at, float(restored.data["seconds"])


def run(root: Path, trials: int, sandbox: str) -> tuple[list[float], list[float]]:
    """Deploy the good release, then `trials` failing ones; return both measurements."""
    (root / "serve.py").write_text(SERVE)
    (root / "sandbox").write_text(sandbox)
    good = build(root, "good", 10**9)
    assert deploy(root, good) == 0
    entries = read_entries(ledger_for(root / ".mlgate" / "ledger", "bench"))
    good_digest = entries[-1].digest
    results = [trial(root, number, good_digest) for number in range(trials)]
    return [seen for seen, _ in results], [stage for _, stage in results]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark in a temporary project; print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--sandbox", choices=("auto", "required", "off"), default="auto")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        try:
            seen, stage = run(root, args.trials, args.sandbox)
        finally:
            settings = release_config(root / "pyproject.toml", {}).environment("bench").target
            assert isinstance(settings, LocalSettings)
            LocalTarget(settings, LocalProcesses(), SystemClock()).shutdown()
    trials = f"{args.trials} trials, sandbox {args.sandbox!r}"
    print(f"failed bake check -> previous release answering, {trials} (target < 2 s):")
    print(f"  seen by a client: median {statistics.median(seen):.3f} s, max {max(seen):.3f} s")
    print(f"  rollback stage:   median {statistics.median(stage):.3f} s, max {max(stage):.3f} s")
    return 0 if max(seen) < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
