"""What the sandbox costs a deploy: examples/iris deployed with `sandbox = "off"` and "required".

    python bench/deploy_overhead.py [--trials 3]

Trains the example once, builds its package, then deploys it to fresh environments (a new release
store each time, so every deploy installs the package and starts its server). For each deploy it
reads the ledger: deploy start to the candidate's first check (install and server start, the
model loaded and answering), and deploy start to the last candidate check passing (verified).
It also prints the wall time of the whole `mlgate deploy` call (including the bake), and what
bubblewrap itself adds to starting a process: `python -c pass` with and without the sandbox's
command line, and the probe mlgate runs before each server start (median of 10).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from mlgate.cli import main as mlgate
from mlgate.pipelines import sandbox
from mlgate.pipelines.environments import LocalSettings, release_config
from mlgate.pipelines.ledger import ledger_for, read_entries
from mlgate.pipelines.local_target import LocalTarget
from mlgate.pipelines.package import BuildOptions, build_package
from mlgate.pipelines.runtime import LocalProcesses, SystemClock, parse_stamp

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "iris"
MARKER = "# Release environments."
ENVIRONMENT = """
[tool.mlgate.environments.NAME]
target = { kind = "local", sandbox = "MODE" }
approval = { required = false }
verify = { requests = 20, bake = "0s" }
"""
MODES = ("off", "required")


def project(folder: Path, names: Sequence[tuple[str, str]]) -> Path:
    """The example, trained, with one environment per (name, sandbox mode)."""
    root = folder / "iris"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("models", "dist", ".mlgate"))
    subprocess.run([sys.executable, "train.py"], cwd=root, check=True, capture_output=True)
    text = (root / "pyproject.toml").read_text()
    tables = "".join(ENVIRONMENT.replace("NAME", n).replace("MODE", m) for n, m in names)
    (root / "pyproject.toml").write_text(text[: text.index(MARKER)] + tables)
    return root


def measure(root: Path, package: Path, env: str) -> tuple[float, float, float]:
    """(to first check, to verified, whole call) in seconds for one deploy to `env`."""
    config = str(root / "pyproject.toml")
    began = time.monotonic()
    assert mlgate(["deploy", str(package), "--env", env, "--config", config]) == 0
    whole = time.monotonic() - began
    entries = read_entries(ledger_for(root / ".mlgate" / "ledger", env))
    start = parse_stamp(next(e.at for e in entries if e.kind == "deploy-start")).timestamp()
    checks = [e for e in entries if e.kind == "verify" and e.data["phase"] == "candidate"]
    first, last = (parse_stamp(checks[i].at).timestamp() - start for i in (0, -1))
    return first, last, whole


def process_start(folder: Path) -> tuple[float, float, float]:
    """(plain, sandboxed, probe) seconds: starting `python -c pass`, and `sandbox.choose`."""
    release = folder / "release"
    release.mkdir()
    (release / ".mlgate-release.json").write_text("{}")
    bwrap = sandbox.choose("required").bwrap
    boxed = sandbox.sandbox_argv(bwrap, release, [folder / "store"])
    command = [sys.executable, "-c", "pass"]
    plain = _median(lambda: subprocess.run(command, check=True))
    sandboxed = _median(lambda: subprocess.run([*boxed, *command], check=True))
    return plain, sandboxed, _median(lambda: sandbox.choose("required"))


def _median(action: Callable[[], object]) -> float:
    seconds = []
    for _ in range(10):
        began = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds)


def stop(root: Path, env: str) -> None:
    settings = release_config(root / "pyproject.toml", {}).environment(env).target
    assert isinstance(settings, LocalSettings)
    LocalTarget(settings, LocalProcesses(), SystemClock()).shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    """Deploy the example `--trials` times per mode; print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args(argv)
    names = [(f"{mode}-{n}", mode) for n in range(args.trials) for mode in MODES]
    with tempfile.TemporaryDirectory() as folder:
        root = project(Path(folder), names)
        package = build_package(root, BuildOptions(environ={})).path
        results: dict[str, list[tuple[float, float, float]]] = {mode: [] for mode in MODES}
        for env, mode in names:
            try:
                results[mode].append(measure(root, package, env))
            finally:
                stop(root, env)
        plain, sandboxed, probe = process_start(Path(folder))
    print(f"examples/iris, {args.trials} deploys per mode (median seconds):")
    print("  sandbox    | start to first check | start to verified | whole deploy call")
    for mode, rows in results.items():
        first, last, whole = (statistics.median(column) for column in zip(*rows, strict=True))
        print(f"  {mode:<10} | {first:20.3f} | {last:17.3f} | {whole:17.3f}")
    print(f"python -c pass: {plain * 1000:.1f} ms, in the sandbox {sandboxed * 1000:.1f} ms;")
    print(f"the bwrap probe before each server start: {probe * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
