"""The sandbox keeps the ledger and the signing files out of a model's reach, wherever they
lie, and leaves no process behind: real bubblewrap, real servers, real signals."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlgate import release
from mlgate.pipelines import supervisor
from mlgate.pipelines.local_target import LocalTarget
from mlgate.pipelines.lock import start_ticks
from mlgate.pipelines.package import BuildOptions, Package, build_package
from mlgate.pipelines.runtime import LocalProcesses, Proc
from mlgate.pipelines.sandbox import sandbox_argv
from mlgate.pipelines.stage import open_stage

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")

PYPROJECT = """\
[project]
name = "reader"
version = "1.0.0"

[tool.mlgate.package]
models = ["models/*.json"]
code = ["src/reader"]
entrypoint = "reader.serve:load"
"""
#: The model's code reads every path it is given when it loads and answers with what it got.
READER = """
import errno, json

PATHS = json.loads(PATHS_JSON)

def attempt(path):
    try:
        with open(path) as stream:
            return stream.read()
    except OSError as err:
        return errno.errorcode.get(err.errno, type(err).__name__)

def load():
    found = {name: attempt(path) for name, path in PATHS.items()}
    return lambda features: found
"""


def _package(root: Path, paths: dict[str, str]) -> Package:
    (root / "models").mkdir(parents=True)
    (root / "models" / "weights.json").write_text("[1]")
    (root / "src" / "reader").mkdir(parents=True)
    (root / "src" / "reader" / "__init__.py").write_text("")
    code = READER.replace("PATHS_JSON", repr(json.dumps(paths)))
    (root / "src" / "reader" / "serve.py").write_text(code)
    (root / "pyproject.toml").write_text(PYPROJECT)
    return build_package(root, BuildOptions(environ={"SOURCE_DATE_EPOCH": "1"}, builder="ci"))


def _answer(url: str) -> object:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("POST", "/predict", json.dumps({"input": [1]}))
        return json.loads(connection.getresponse().read())["output"]
    finally:
        connection.close()


def _settings(tmp_path: Path, ledger_dir: Path, key: Path) -> release.Settings:
    config = tmp_path / "project" / "pyproject.toml"
    config.parent.mkdir()
    config.write_text(
        '[tool.mlgate.ledger]\nallowed-signers = "../site/allowed_signers"\n'
        "[tool.mlgate.environments.staging]\n"
        'target = { kind = "local", sandbox = "required" }\n'
    )
    environ = {"MLGATE_LEDGER_DIR": str(ledger_dir), "MLGATE_LEDGER_SSH_KEY": str(key)}
    return release.settings("staging", config, "ci", environ)


def test_the_ledger_and_signing_files_stay_hidden_in_a_folder_on_sys_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"  # a folder the interpreter loads from: bound into the sandbox
    monkeypatch.syspath_prepend(str(site))
    ledger_dir = site / "ledger"
    ledger_dir.mkdir(parents=True)
    (ledger_dir / "staging.jsonl").write_text('{"seq": 1}\n')
    (site / "allowed_signers").write_text("ci ssh-ed25519 AAAA\n")
    (site / "ci").write_text("PRIVATE KEY\n")
    (site / "helper.py").write_text("VISIBLE = True\n")
    paths = {
        name: str(site / name)
        for name in ("ledger/staging.jsonl", "ledger/staging.head", "allowed_signers", "ci")
    }
    package = _package(tmp_path / "reader", paths)
    target = open_stage(_settings(tmp_path, ledger_dir, site / "ci")).target
    assert isinstance(target, LocalTarget)
    try:
        staged = target.stage(package, "")
        assert staged.problem == ""
        assert _answer(staged.url) == {
            "ledger/staging.jsonl": "ENOENT",
            "ledger/staging.head": "ENOENT",
            "allowed_signers": "EACCES",  # masked by /dev/null, which the sandbox cannot open
            "ci": "EACCES",
        }
    finally:
        target.shutdown()


def test_hidden_files_are_masked_and_folders_emptied(tmp_path: Path) -> None:
    folder, secret = tmp_path / "ledger", tmp_path / "key"
    folder.mkdir()
    secret.write_text("PRIVATE KEY\n")
    argv = sandbox_argv("bwrap", tmp_path / "release", [folder, secret, tmp_path / "absent"])
    masks = argv[argv.index("/proc") + 1 : argv.index(str(tmp_path / "release")) - 1]
    assert masks[-5:] == ["--tmpfs", str(folder), "--ro-bind", os.devnull, str(secret)]
    assert argv[:3] == ["bwrap", "--die-with-parent", "--new-session"]
    release = [str(tmp_path / "release")] * 2
    assert argv[-8:] == ["--ro-bind", *release, "--remount-ro", "/", "--chdir", release[0], "--"]


def _family(root: int) -> list[Proc]:
    """`root` and every process descended from it, each with its start time."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # it exited while we looked
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(Proc(pid, start_ticks(pid, Path("/proc"))))
        todo += [child for child, parent in parents.items() if parent == pid]
    return found


def _survivors(family: list[Proc], limit: float = 10.0) -> list[int]:
    deadline = time.monotonic() + limit
    processes = LocalProcesses()
    alive = [proc.pid for proc in family if processes.alive(proc)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [proc.pid for proc in family if processes.alive(proc)]
    return alive


def _started(tmp_path: Path) -> tuple[LocalTarget, list[Proc]]:
    ledger_dir = tmp_path / "ledger"
    package = _package(tmp_path / "reader", {})
    target = open_stage(_settings(tmp_path, ledger_dir, tmp_path / "none")).target
    assert isinstance(target, LocalTarget)
    staged = target.stage(package, "")
    assert staged.problem == ""
    run = json.loads(next((target.store / "runs").glob("*.json")).read_text())
    family = _family(int(run["pid"]))
    assert len(family) >= 4  # the supervisor, bwrap, the sandbox's init, the server
    return target, family


def _reap(family: list[Proc]) -> None:
    """Kill what a failed test left running (only the processes this test started)."""
    for pid in _survivors(family, 0.0):
        os.kill(pid, signal.SIGKILL)


def test_killing_the_recorded_pid_leaves_no_sandboxed_process(tmp_path: Path) -> None:
    target, family = _started(tmp_path)
    try:
        os.kill(family[0].pid, signal.SIGKILL)
        assert _survivors(family) == []
    finally:
        target.shutdown()
        _reap(family)


def test_mlgate_stop_leaves_no_sandboxed_process(tmp_path: Path) -> None:
    target, family = _started(tmp_path)
    router = json.loads((target.store / "router.json").read_text())
    family += _family(int(router["pid"]))
    try:
        assert target.shutdown() == 2
        assert _survivors(family) == []
    finally:
        _reap(family)


def test_servers_outlive_the_mlgate_process_that_deployed_them(tmp_path: Path) -> None:
    package = _package(tmp_path / "reader", {"nothing": "/nonexistent"})
    config = tmp_path / "project" / "pyproject.toml"
    config.parent.mkdir()
    config.write_text(
        "[tool.mlgate.environments.ci]\n"
        'target = { kind = "local", sandbox = "required" }\n'
        "approval = { required = false }\n"
        'verify = { requests = 1, bake = "0s" }\n'
    )
    argv = [sys.executable, "-m", "mlgate", "deploy", str(package.path), "--env", "ci"]
    done = subprocess.run([*argv, "--config", str(config)], capture_output=True, check=False)
    assert (done.returncode, done.stderr) == (0, b"")
    target = open_stage(release.settings("ci", config, "ci", {})).target
    assert isinstance(target, LocalTarget)
    run = json.loads(next((target.store / "runs").glob("*.json")).read_text())
    family = _family(int(run["pid"]))
    try:
        router = json.loads((target.store / "router.json").read_text())
        assert _answer(f"http://127.0.0.1:{router['port']}") == {"nothing": "ENOENT"}
        os.kill(family[0].pid, signal.SIGKILL)
        assert _survivors(family) == []
    finally:
        target.shutdown()
        _reap(family)


def test_the_supervisor_passes_on_the_exit_status() -> None:
    assert supervisor.main(["--", sys.executable, "-c", "raise SystemExit(3)"]) == 3


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="mounts a fake /opt: root"
)
def test_a_project_under_opt_stays_hidden(tmp_path: Path) -> None:
    """A self-hosted runner's layout: the runner's credentials, another repository and the
    project (with its .env) under /opt. `mlgate deploy` runs there, in a mount namespace of
    its own where tmp_path/opt is /opt; the model reads what it can."""
    runner = Path("/opt/actions-runner")
    fake = tmp_path / "opt" / "actions-runner"
    (fake / "_work" / "repo" / "repo").mkdir(parents=True)
    (fake / "_work" / "other").mkdir()
    for name in (".credentials_rsaparams", "_work/other/secret.txt", "_work/repo/repo/.env"):
        (fake / name).write_text("secret")
    wanted = {
        "runner credentials": str(runner / ".credentials_rsaparams"),
        "other repository": str(runner / "_work" / "other" / "secret.txt"),
        "project .env": str(runner / "_work" / "repo" / "repo" / ".env"),
    }
    package = _package(tmp_path / "reader", wanted)
    project = fake / "_work" / "repo" / "repo"
    (project / "pyproject.toml").write_text(
        "[tool.mlgate.environments.ci]\n"
        'target = { kind = "local", sandbox = "required" }\n'
        "approval = { required = false }\n"
        'verify = { requests = 1, bake = "0s" }\n'
    )
    deploy = f"{sys.executable} -m mlgate deploy {package.path} --env ci"
    script = f"mount --bind {tmp_path / 'opt'} /opt && cd {runner}/_work/repo/repo && {deploy}"
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, check=False)
    target = open_stage(release.settings("ci", project / "pyproject.toml", "ci", {})).target
    assert isinstance(target, LocalTarget)
    try:
        assert (done.returncode, done.stderr) == (0, b"")
        router = json.loads((target.store / "router.json").read_text())
        assert _answer(f"http://127.0.0.1:{router['port']}") == dict.fromkeys(wanted, "ENOENT")
    finally:
        target.shutdown()


#: The model's code appends to itself when it loads: the next start would run the change.
SELF_EDITING = """
import errno, os

def attempt():
    try:
        with open(os.path.abspath(__file__), "a") as stream:
            stream.write("\\nTAMPERED = True\\n")
    except OSError as err:
        return errno.errorcode.get(err.errno, type(err).__name__)
    return "ok"

def load():
    found = {"append to own code": attempt(), "tampered": "TAMPERED" in globals()}
    return lambda features: found
"""


def test_a_release_cannot_change_its_own_code_for_the_next_start(tmp_path: Path) -> None:
    package = _package(tmp_path / "reader", {})
    serve = tmp_path / "reader" / "src" / "reader" / "serve.py"
    serve.write_text(SELF_EDITING)
    package = build_package(
        tmp_path / "reader", BuildOptions(environ={"SOURCE_DATE_EPOCH": "1"}, builder="ci")
    )
    target = open_stage(_settings(tmp_path, tmp_path / "ledger", tmp_path / "none")).target
    assert isinstance(target, LocalTarget)
    try:
        answers = []
        for _ in range(2):  # deploy, stop everything, deploy the same package again
            staged = target.stage(package, "")
            assert staged.problem == ""
            answers.append(_answer(staged.url))
            assert target.shutdown() == 2
        unchanged = {"append to own code": "EROFS", "tampered": False}
        assert answers == [unchanged, unchanged]
    finally:
        target.shutdown()
