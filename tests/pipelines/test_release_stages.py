"""Deploy, rollback and their targets on a tiny pure-Python model: fast, but every process, port,
file and HTTP request is real."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from mlgate.cli import main
from mlgate.errors import GateError
from mlgate.pipelines.command_target import CommandTarget, Places
from mlgate.pipelines.environments import CommandSettings, LocalSettings, release_config
from mlgate.pipelines.local_target import LocalTarget, release_key
from mlgate.pipelines.package import BuildOptions, Package, build_package
from mlgate.pipelines.runtime import LocalProcesses, SystemClock

PYPROJECT = """
[tool.mlgate.package]
name = "tiny"
version = "VERSION"
models = ["model.json"]
code = ["serve.py"]
entrypoint = "serve:load"
pythonpath = ["."]

[[tool.mlgate.package.smoke]]
input = 2
expect = 4

[tool.mlgate.environments.dev]
target = { kind = "local", start-timeout = "30s" }
approval = { required = false }
verify = { requests = 2, bake = 0 }

[tool.mlgate.environments.cmd]
approval = { required = false }
verify = { requests = 2, bake = 0 }

[tool.mlgate.environments.cmd.target]
kind = "command"
deploy = ["PYTHON", "ops.py", "deploy", "{package}", "{digest}", "{env}", "{previous}"]
health = ["PYTHON", "ops.py", "health", "{package}"]
rollback = ["PYTHON", "ops.py", "rollback", "{package}", "{digest}", "{env}", "{previous}"]
timeout = "20s"
"""
SERVE = """
import json
from pathlib import Path


def load():
    factor = json.loads((Path(__file__).parent / "model.json").read_text())["factor"]
    return lambda x: x * factor
"""
OPS = """
import sys
from pathlib import Path

with Path("ops.log").open("a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
verb = sys.argv[1]
if Path(f"fail-{verb}").exists():
    print(f"{verb} went wrong")
    sys.exit(3)
"""


class Tiny(NamedTuple):
    root: Path
    good: Package
    bad: Package

    def mlgate(self, *argv: str) -> int:
        return main([*argv, "--config", str(self.root / "pyproject.toml")])

    def settings(self, env: str) -> LocalSettings | CommandSettings:
        return release_config(self.root / "pyproject.toml", {}).environment(env).target


def _build(root: Path, version: str, factor: int) -> Package:
    text = PYPROJECT.replace("VERSION", version).replace("PYTHON", sys.executable)
    (root / "pyproject.toml").write_text(text)
    (root / "model.json").write_text(json.dumps({"factor": factor}))
    return build_package(root, BuildOptions(out_dir=root / "dist", builder="carol", environ={}))


@pytest.fixture
def tiny(tmp_path: Path) -> Iterator[Tiny]:
    (tmp_path / "serve.py").write_text(SERVE)
    (tmp_path / "ops.py").write_text(OPS)
    project = Tiny(tmp_path, _build(tmp_path, "1", 2), _build(tmp_path, "2", 3))
    settings = project.settings("dev")
    assert isinstance(settings, LocalSettings)
    target = LocalTarget(settings, LocalProcesses(), SystemClock())
    try:
        yield project
    finally:
        target.shutdown()


def _local(tiny: Tiny) -> LocalTarget:
    settings = tiny.settings("dev")
    assert isinstance(settings, LocalSettings)
    return LocalTarget(settings, LocalProcesses(), SystemClock())


def test_first_deploy_failing_rolls_back_to_nothing(
    tiny: Tiny, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tiny.mlgate("deploy", str(tiny.bad.path), "--env", "dev") == 1
    err = capsys.readouterr().err
    assert "check candidate smoke failed: 1 of 1 smoke cases wrong" in err
    assert "rolled back to nothing (first deployment)" in err
    target = _local(tiny)
    assert target.serving() == ""
    assert list((target.store / "runs").glob("*.json")) == []


def test_restore_restarts_a_dead_release(tiny: Tiny, capsys: pytest.CaptureFixture[str]) -> None:
    assert tiny.mlgate("deploy", str(tiny.good.path), "--env", "dev") == 0
    target = _local(tiny)
    run = json.loads((target.store / "runs" / f"{release_key(tiny.good.digest)}.json").read_text())
    os.kill(run["pid"], signal.SIGKILL)
    endpoint = target.restore(tiny.good.digest, "")
    assert (
        endpoint
        == f"http://127.0.0.1:{json.loads((target.store / 'router.json').read_text())['port']}"
    )
    assert target.serving() == tiny.good.digest
    with pytest.raises(GateError, match=r"release sha256:0+ is no longer in .*; deploy it again"):
        target.restore("sha256:" + "0" * 64, tiny.good.digest)
    assert target.restore("", tiny.good.digest) == ""
    assert target.serving() == ""
    assert target.probe() is None


def test_restart_failure_is_reported(tiny: Tiny) -> None:
    assert tiny.mlgate("deploy", str(tiny.good.path), "--env", "dev") == 0
    target = _local(tiny)
    release = target.store / "releases" / release_key(tiny.good.digest)
    (release / "serve.py").write_text("raise SystemExit('model file gone')\n")
    target.retire(())
    with pytest.raises(
        GateError,
        match=r"cannot restart sha256:.*: the server exited before listening: model file gone",
    ):
        target.restore(tiny.good.digest, "")


def test_router_port_taken(tiny: Tiny) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        settings = tiny.settings("dev")
        assert isinstance(settings, LocalSettings)
        target = LocalTarget(
            settings._replace() if False else LocalSettings(settings.state_dir, port, 5.0),
            LocalProcesses(),
            SystemClock(),
        )
        with pytest.raises(GateError, match=f"127.0.0.1:{port} is taken by another program"):
            target.switch(tiny.good.digest)
        target.shutdown()


def test_start_timeout(tiny: Tiny) -> None:
    settings = tiny.settings("dev")
    assert isinstance(settings, LocalSettings)
    slow = LocalTarget(LocalSettings(settings.state_dir, 0, 0.0), LocalProcesses(), SystemClock())
    staged = slow.stage(tiny.good, "")
    assert staged.problem.startswith("the server did not listen on port ")
    slow.shutdown()


def test_manual_rollback_paths(tiny: Tiny, capsys: pytest.CaptureFixture[str]) -> None:
    assert tiny.mlgate("rollback", "--env", "dev") == 1
    assert "nothing was deployed to 'dev': nothing to roll back" in capsys.readouterr().err
    assert tiny.mlgate("deploy", str(tiny.good.path), "--env", "dev") == 0
    assert tiny.mlgate("rollback", "--env", "dev") == 1
    assert "has no earlier release; pass --to DIGEST" in capsys.readouterr().err
    short = tiny.good.digest[7:15]
    assert tiny.mlgate("rollback", "--env", "dev", "--to", short) == 1
    assert f"{tiny.good.digest[7:19]} already serves 'dev'" in capsys.readouterr().err
    assert tiny.mlgate("rollback", "--env", "dev", "--to", "ffff") == 2
    assert "--to ffff matches no release" in capsys.readouterr().err


def test_command_target_deploys_and_rolls_back(
    tiny: Tiny, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tiny.mlgate("deploy", str(tiny.good.path), "--env", "cmd", "--by", "ci") == 0
    (tiny.root / "fail-health").write_text("")
    assert tiny.mlgate("deploy", str(tiny.bad.path), "--env", "cmd", "--by", "ci") == 1
    err = capsys.readouterr().err
    assert "check bake health-command failed: the health command exited 3: health went wrong" in err
    # the release rolled back to is verified too: the health command still fails, and says so
    assert (
        f"which failed its verification too: check restored health-command failed: the health "
        f"command exited 3: health went wrong; {tiny.good.digest[7:19]} serves 'cmd'"
    ) in err
    v1, v2, pkg1, pkg2 = tiny.bad.digest, tiny.good.digest, tiny.bad.path, tiny.good.path
    logged = (tiny.root / "ops.log").read_text().splitlines()
    # the deploy command got a private copy of each package, removed once it returned
    copies = [Path(line.split()[1]) for line in logged if line.startswith("deploy ")]
    assert [(copy.name, copy.parent.parent) for copy in copies] == [
        (pkg2.name, Path(tempfile.gettempdir())),
        (pkg1.name, Path(tempfile.gettempdir())),
    ]
    assert not any(copy.parent.exists() for copy in copies)
    logged = [line.replace(str(copies[0]), str(pkg2), 1) for line in logged]
    logged = [line.replace(str(copies[1]), str(pkg1), 1) for line in logged]
    assert logged == [
        f"deploy {pkg2} {v2} cmd ",
        f"health {pkg2}",
        f"deploy {pkg1} {v1} cmd {v2}",
        f"health {pkg1}",
        f"rollback {pkg1} {v2} cmd {v1}",
        f"health {pkg1}",
    ]
    assert tiny.mlgate("rollback", "--env", "cmd", "--to", v1) == 1
    assert capsys.readouterr().err == (
        f"mlgate: error: {v1[7:19]} stands failed in the ledger (see `mlgate releases`): "
        "restoring it would put a release back that did not pass; add --force to restore it "
        "anyway\n"
    )
    (tiny.root / "fail-rollback").write_text("")
    assert tiny.mlgate("rollback", "--env", "cmd", "--to", v1, "--force") == 1
    assert "rollback to sha256:" in capsys.readouterr().err


def test_command_target_deploy_failure(tiny: Tiny, tmp_path: Path) -> None:
    settings = CommandSettings(
        deploy=(sys.executable, "-c", "import time; time.sleep(5)"), rollback=("true",), timeout=0.2
    )
    target = CommandTarget(settings, Places("cmd", tmp_path, ""), LocalProcesses())
    assert target.serving() == ""
    assert target.probe() is None
    assert target.switch("x") == ""
    assert target.resume("x") == ""  # the platform keeps its releases running
    package = tiny.good
    assert target.stage(package, "").problem == "the deploy command timed out: no output"
    missing = CommandSettings(deploy=("/nonexistent/deploy",), rollback=("true",))
    staged = CommandTarget(missing, Places("cmd", tmp_path, ""), LocalProcesses()).stage(
        package, ""
    )
    assert staged.problem == (
        "the deploy command exited 127: cannot run /nonexistent/deploy: No such file or directory"
    )


def test_failed_rollback_after_failed_deploy(
    tiny: Tiny, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tiny.mlgate("deploy", str(tiny.good.path), "--env", "cmd") == 0
    (tiny.root / "fail-health").write_text("")
    (tiny.root / "fail-rollback").write_text("")
    assert tiny.mlgate("deploy", str(tiny.bad.path), "--env", "cmd") == 1
    err = capsys.readouterr().err
    assert "failed: check bake health-command failed: the health command exited 3" in err
    assert "; and rolling back failed too: rollback to sha256:" in err
    assert "the rollback command exited 3: rollback went wrong" in err
    assert tiny.mlgate("releases", "--env", "cmd", "--format", "json", "--limit", "1") == 0
    assert '"outcome": "failed"' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("signum", "named"), [(signal.SIGTERM, "signal (exit 143)"), (signal.SIGINT, "SIGINT")]
)
def test_signal_during_a_deploy_rolls_back_for_real(
    tiny: Tiny, signum: signal.Signals, named: str
) -> None:
    """A real `mlgate deploy` process, stopped by a signal with its candidate running: it rolls
    back to the release it started from, stops the candidate and records why."""
    import select
    import subprocess

    assert tiny.mlgate("deploy", str(tiny.good.path), "--env", "dev") == 0
    argv = [sys.executable, "-m", "mlgate", "deploy", str(tiny.bad.path), "--env", "dev"]
    process = subprocess.Popen(
        [*argv, "--config", str(tiny.root / "pyproject.toml")],
        env={**os.environ, "MLGATE_PAUSE_AT": "staged"},
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    assert process.stderr is not None
    assert select.select([process.stderr], [], [], 60)[0]
    assert process.stderr.readline().decode().startswith("mlgate: paused at staged (pid ")
    process.send_signal(signum)
    assert process.wait(60) == 1
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.stdin is not None
    process.stdin.close()
    assert re.fullmatch(
        rf"mlgate: error: deploy #\d+ was interrupted by {re.escape(named)} after step "
        rf"'started'; rolled back to {tiny.good.digest[7:19]} in \d\.\d\ds \(rollback #\d+\)\n",
        err,
    ), err
    target = _local(tiny)
    assert target.serving() == tiny.good.digest
    assert [p.stem for p in (target.store / "runs").glob("*.json")] == [tiny.good.digest[7:]]
