"""Least privilege, for real: packages whose code attacks the deployer, served by the local target
under bubblewrap (and without it), with real processes, sockets and files."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_targets import local_target

from mlgate import cli
from mlgate.errors import ConfigError, GateError
from mlgate.pipelines import supervisor
from mlgate.pipelines.environments import LocalSettings, release_config
from mlgate.pipelines.local_target import LocalTarget
from mlgate.pipelines.package import BuildOptions, Package, build_package
from mlgate.pipelines.runtime import LocalProcesses, Proc, SystemClock, bind_local
from mlgate.pipelines.sandbox import choose, main, refused_key, server_env

BWRAP = shutil.which("bwrap")
needs_bwrap = pytest.mark.skipif(BWRAP is None, reason="bubblewrap is not installed")

PYPROJECT = """\
[project]
name = "probe"
version = "VERSION"

[tool.mlgate.package]
models = ["models/*.json"]
code = ["src/probe"]
entrypoint = "probe.serve:load"
"""
#: What the model's code tries when it is loaded; each attempt reports how it ended.
ATTACKS = """
import errno, json, os, signal, socket

def attempt(action):
    try:
        action()
    except OSError as err:
        return errno.errorcode.get(err.errno, type(err).__name__)
    return "ok"

def write(path, text="x"):
    with open(path, "a") as stream:
        stream.write(text)

def read(path):
    with open(path) as stream:
        stream.read()

def connect(port):
    with socket.create_connection(("127.0.0.1", port), timeout=3):
        pass

def bind(port):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()

TARGETS = json.loads(TARGETS_JSON)

def probe():
    found = {"env": {key: os.environ[key] for key in sorted(os.environ)}}
    if not TARGETS:
        return found
    found.update({
        "read ledger": attempt(lambda: read(TARGETS["ledger"])),
        "append ledger": attempt(lambda: write(TARGETS["ledger"])),
        "read router record": attempt(lambda: read(TARGETS["router"])),
        "kill router": attempt(lambda: os.kill(TARGETS["router_pid"], signal.SIGKILL)),
        "kill mlgate": attempt(lambda: os.kill(TARGETS["mlgate_pid"], signal.SIGKILL)),
        "connect out": attempt(lambda: connect(TARGETS["outside"])),
        "take stable port": attempt(lambda: bind(TARGETS["stable"])),
        "read project": attempt(lambda: read(TARGETS["project"])),
        "write python installation": attempt(lambda: write(TARGETS["installation"])),
        "write own release record": attempt(lambda: write(".mlgate-release.json")),
        "write own release folder": attempt(lambda: write("scratch.txt")),
        "write tmp": attempt(lambda: write("/tmp/scratch.txt")),
        "write root": attempt(lambda: write("/scratch.txt")),
        "read shadow": attempt(lambda: read("/etc/shadow")),
        "ssh host keys": sorted(os.listdir("/etc/ssh")) if os.path.isdir("/etc/ssh") else [],
        "pids": sorted(int(name) for name in os.listdir("/proc") if name.isdigit()),
    })
    return found

def load():
    found = probe()
    return lambda features: found
"""
SECRETS = {
    "MLGATE_LEDGER_KEY": "k" * 40,
    "MLGATE_DEPLOY_SECRET": "deploy-secret",
    "GITHUB_TOKEN": "ghs_token",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc",
    "ACTIONS_RUNTIME_TOKEN": "runtime",
    "AWS_SECRET_ACCESS_KEY": "aws",
    "GOOGLE_APPLICATION_CREDENTIALS": "/keys/gcp.json",
    "AZURE_CLIENT_SECRET": "azure",
    "SSH_AUTH_SOCK": "/run/agent",
    "UNRELATED": "not named",
}


def _project(root: Path, version: str, targets: dict[str, Any]) -> Package:
    (root / "models").mkdir(parents=True)
    (root / "models" / "weights.json").write_text("[1, 2]")
    (root / "src" / "probe").mkdir(parents=True)
    (root / "src" / "probe" / "__init__.py").write_text("")
    code = ATTACKS.replace("TARGETS_JSON", repr(json.dumps(targets)))
    (root / "src" / "probe" / "serve.py").write_text(code)
    (root / "pyproject.toml").write_text(PYPROJECT.replace("VERSION", version))
    return build_package(root, BuildOptions(environ={"SOURCE_DATE_EPOCH": "1"}, builder="ci"))


def _call(port: int) -> tuple[int, Any, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", "/predict", json.dumps({"input": [1]}))
        response = connection.getresponse()
        body = json.loads(response.read())
        return response.status, body.get("output"), response.headers.get("X-Mlgate-Digest", "")
    finally:
        connection.close()


def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployer's environment: a few ordinary keys and every kind of secret."""
    path = os.environ["PATH"]
    for key in list(os.environ):
        monkeypatch.delenv(key)
    ordinary = {"PATH": path, "HOME": "/root", "LANG": "C.UTF-8", "MODEL_THREADS": "2"}
    for key, value in {**ordinary, **SECRETS}.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def outside() -> Iterator[tuple[int, list[str]]]:
    """A server on 127.0.0.1 that records every connection it gets."""
    listener = bind_local(0)
    seen: list[str] = []

    def serve() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed when the test ends
                return
            seen.append("connected")
            client.close()

    threading.Thread(target=serve, daemon=True).start()
    yield int(listener.getsockname()[1]), seen
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()


@needs_bwrap
def test_sandboxed_model_fails_at_every_attack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outside: tuple[int, list[str]]
) -> None:
    _clean_environ(monkeypatch)
    project = tmp_path / "project"
    target = local_target(
        project, '{ kind = "local", sandbox = "required", env = ["MODEL_THREADS"] }'
    )
    ledger = project / ".mlgate" / "ledger" / "staging.jsonl"
    ledger.parent.mkdir(parents=True)
    ledger.write_text('{"seq": 1}\n')
    try:
        normal = _project(tmp_path / "normal", "1.0.0", {})
        assert target.stage(normal, "").problem == ""
        stable = target.switch(normal.digest)
        stable_port = int(stable.rsplit(":", 1)[1])
        router = json.loads((target.store / "router.json").read_text())
        targets = {
            "ledger": str(ledger),
            "router": str(target.store / "router.json"),
            "router_pid": router["pid"],
            "mlgate_pid": os.getpid(),
            "outside": outside[0],
            "stable": stable_port,
            "project": str(project / "pyproject.toml"),
            "installation": str(Path(sys.prefix) / "mlgate-sandbox-probe.txt"),
        }
        hostile = _project(tmp_path / "hostile", "6.6.6", targets)
        staged = target.stage(hostile, normal.digest)
        assert staged.problem == ""
        status, found, _ = _call(int(staged.url.rsplit(":", 1)[1]))
        assert status == 200
        release = target.store / "releases" / hostile.digest[7:]
        assert found == {
            "env": {
                "HOME": "/tmp",
                "LANG": "C.UTF-8",
                "MLGATE_DIGEST": hostile.digest,
                "MLGATE_LISTEN_FD": found["env"]["MLGATE_LISTEN_FD"],
                "MODEL_THREADS": "2",
                "PATH": os.environ["PATH"],
                "PORT": staged.url.rsplit(":", 1)[1],
                "PWD": str(release),  # bubblewrap's --chdir sets it
            },
            "read ledger": "ENOENT",
            "append ledger": "ENOENT",
            "read router record": "ENOENT",
            "kill router": "ESRCH",
            "kill mlgate": "ESRCH",
            "connect out": "ECONNREFUSED",
            "take stable port": "ok",
            "read project": "ENOENT",
            "write python installation": "EROFS",
            "write own release record": "EROFS",
            "write own release folder": "EROFS",
            "write tmp": "ok",
            "write root": "EROFS",
            "read shadow": "EACCES" if Path("/etc/shadow").exists() else "ENOENT",
            "ssh host keys": [],
            "pids": [1, 2, 3],  # bwrap, the relay, the server
        }
        assert outside[1] == []
        assert ledger.read_text() == '{"seq": 1}\n'
        assert not (release / "scratch.txt").exists()
        assert not (tmp_path / "scratch.txt").exists()
        assert LocalProcesses().alive(Proc(router["pid"], router["started"]))
        assert _call(stable_port)[2] == normal.digest  # the router still owns the stable port
        run = json.loads((target.store / "runs" / f"{hostile.digest[7:]}.json").read_text())
        assert run["sandbox"] == "bwrap"
    finally:
        target.shutdown()


def _expected_env(package: Package, url: str, **more: str) -> dict[str, str]:
    return {
        "LANG": "C.UTF-8",
        "MLGATE_DIGEST": package.digest,
        "MODEL_THREADS": "2",
        "PATH": os.environ["PATH"],
        "PORT": url.rsplit(":", 1)[1],
        **more,
    }


def test_without_a_sandbox_the_environment_allowlist_still_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clean_environ(monkeypatch)
    target = local_target(
        tmp_path / "project", '{ kind = "local", sandbox = "off", env = ["MODEL_THREADS"] }'
    )
    package = _project(tmp_path / "normal", "1.0.0", {})
    try:
        staged = target.stage(package, "")
        assert staged.problem == ""
        status, found, _ = _call(int(staged.url.rsplit(":", 1)[1]))
        fd = found["env"]["MLGATE_LISTEN_FD"]
        assert (status, found) == (
            200,
            {"env": _expected_env(package, staged.url, HOME="/root", MLGATE_LISTEN_FD=fd)},
        )
        run = json.loads((target.store / "runs" / f"{package.digest[7:]}.json").read_text())
        assert run["sandbox"] == 'off (sandbox = "off")'
        router = json.loads((target.store / "router.json").read_text())
        environ = Path(f"/proc/{router['pid']}/environ").read_bytes().split(b"\0")
        assert sorted(item.split(b"=")[0] for item in environ if item) == [
            b"HOME",
            b"LANG",
            b"MLGATE_LISTEN_FD",
            b"PATH",
        ]
    finally:
        target.shutdown()


def test_auto_without_bwrap_warns_and_keeps_the_allowlist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _clean_environ(monkeypatch)
    monkeypatch.setenv("PATH", str(tmp_path / "no-bwrap-here"))
    target = local_target(tmp_path / "project", '{ kind = "local", env = ["MODEL_THREADS"] }')
    package = _project(tmp_path / "normal", "1.0.0", {})
    try:
        staged = target.stage(package, "")
        assert staged.problem == ""
        found = _call(int(staged.url.rsplit(":", 1)[1]))[1]
        assert sorted(found["env"]) == [
            "HOME",
            "LANG",
            "MLGATE_DIGEST",
            "MLGATE_LISTEN_FD",
            "MODEL_THREADS",
            "PATH",
            "PORT",
        ]
        assert capsys.readouterr().err == (
            "mlgate: warning: model server not sandboxed (none: bwrap (bubblewrap) is not "
            'installed); install bubblewrap, or set sandbox = "off" in the target table to '
            "accept that\n"
        )
    finally:
        target.shutdown()


def test_required_sandbox_without_bwrap_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-bwrap-here"))
    target = local_target(tmp_path / "project", '{ kind = "local", sandbox = "required" }')
    package = _project(tmp_path / "normal", "1.0.0", {})
    try:
        with pytest.raises(GateError) as caught:
            target.stage(package, "")
        assert str(caught.value) == (
            'sandbox = "required" but bwrap (bubblewrap) is not installed; install bubblewrap '
            '(apt-get install bubblewrap) and allow user namespaces, or set sandbox = "auto"'
        )
        assert list((target.store / "runs").glob("*.json")) == []
    finally:
        target.shutdown()


def test_a_bwrap_that_cannot_build_a_sandbox_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    assert choose("auto").note == "none: bwrap: No permissions to create new namespace"
    with pytest.raises(GateError, match="but bwrap: No permissions to create new namespace; "):
        choose("required")
    assert choose("off").bwrap == ""


OWN_SERVER = """
import json, os, socket, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"output": {"how": sys.argv[1], "pids": sorted(
            int(name) for name in os.listdir("/proc") if name.isdigit())}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

if sys.argv[1] == "fd":
    server = HTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
    server.socket = socket.socket(fileno=int(sys.argv[2]))
else:
    server = HTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
server.serve_forever()
"""


@needs_bwrap
@pytest.mark.parametrize(
    ("command", "pids"),
    [
        ('["{python}", "src/own_server.py", "fd", "{fd}"]', [1, 2, 3]),  # relay, server
        ('["{python}", "src/own_server.py", "port", "{port}"]', [1, 2, 3]),  # relay, server
    ],
)
def test_own_server_command_gets_the_socket_in_the_sandbox(
    tmp_path: Path, command: str, pids: list[int]
) -> None:
    root = tmp_path / "own"
    (root / "src").mkdir(parents=True)
    (root / "src" / "own_server.py").write_text(OWN_SERVER)
    (root / "models").mkdir()
    (root / "models" / "weights.json").write_text("[]")
    (root / "pyproject.toml").write_text(
        PYPROJECT.replace("VERSION", "1.0.0").replace('["src/probe"]', '["src/own_server.py"]')
        + f"server = {command}\n"
    )
    package = build_package(root, BuildOptions(environ={"SOURCE_DATE_EPOCH": "1"}, builder="ci"))
    target = local_target(tmp_path / "project", '{ kind = "local", sandbox = "required" }')
    try:
        staged = target.stage(package, "")
        assert staged.problem == ""
        how = json.loads(command)[2]
        assert _call(int(staged.url.rsplit(":", 1)[1]))[:2] == (200, {"how": how, "pids": pids})
    finally:
        target.shutdown()


#: A `{fd}` server that takes the first connection it accepts (mlgate's readiness probe),
#: disconnects it (connect(AF_UNSPEC)) and connects it to a server outside the sandbox: a TCP
#: socket of the host's network namespace would reach it. Then it serves, reporting the result.
ESCAPE_SERVER = """
import ctypes, errno, json, os, socket, struct, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

def escape(sock):
    unspec = struct.pack("H14x", 0)
    ctypes.CDLL(None, use_errno=True).connect(sock.fileno(), unspec, len(unspec))
    try:
        sock.connect(("127.0.0.1", int(sys.argv[2])))
        sock.sendall(b"escaped")
    except OSError as err:
        return errno.errorcode.get(err.errno, type(err).__name__)
    return "ok"

listener = socket.socket(fileno=int(os.environ["MLGATE_LISTEN_FD"]))
first, _ = listener.accept()
found = {"accepted socket": escape(first)}

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"output": found}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

server = HTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
server.socket = listener
server.serve_forever()
"""


@needs_bwrap
def test_a_sandboxed_server_cannot_turn_its_socket_into_a_host_connection(
    tmp_path: Path, outside: tuple[int, list[str]]
) -> None:
    root = tmp_path / "escape"
    (root / "src").mkdir(parents=True)
    (root / "src" / "escape.py").write_text(ESCAPE_SERVER)
    (root / "models").mkdir()
    (root / "models" / "weights.json").write_text("[]")
    (root / "pyproject.toml").write_text(
        PYPROJECT.replace("VERSION", "1.0.0").replace('["src/probe"]', '["src/escape.py"]')
        + f'server = ["{{python}}", "src/escape.py", "{{fd}}", "{outside[0]}"]\n'
    )
    package = build_package(root, BuildOptions(environ={"SOURCE_DATE_EPOCH": "1"}, builder="ci"))
    target = local_target(tmp_path / "project", '{ kind = "local", sandbox = "required" }')
    try:
        staged = target.stage(package, "")
        assert staged.problem == ""
        status, found, _ = _call(int(staged.url.rsplit(":", 1)[1]))
        assert (status, found) == (200, {"accepted socket": "ECONNREFUSED"})
        assert outside[1] == []
    finally:
        target.shutdown()


def test_server_env_is_an_allowlist() -> None:
    environ = {**SECRETS, "PATH": "/bin", "LC_ALL": "C", "TZ": "UTC", "MODEL_THREADS": "2"}
    given = {"PORT": "8000"}
    assert server_env(environ, ["MODEL_THREADS", "UNRELATED"], given) == {
        "LC_ALL": "C",
        "MODEL_THREADS": "2",
        "PATH": "/bin",
        "PORT": "8000",
        "TZ": "UTC",
        "UNRELATED": "not named",
    }
    assert server_env(environ, ["MLGATE_LEDGER_KEY"], {}) == {
        "LC_ALL": "C",
        "PATH": "/bin",
        "TZ": "UTC",
    }


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'env = ["MLGATE_LEDGER_KEY"]',
            "[tool.mlgate.environments.staging].target.env: 'MLGATE_LEDGER_KEY' cannot be passed "
            "to a model server: mlgate's keys, CI tokens and cloud credentials never reach a "
            "model server",
        ),
        (
            'env = ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]',
            "[tool.mlgate.environments.staging].target.env: 'ACTIONS_ID_TOKEN_REQUEST_TOKEN' "
            "cannot be passed to a model server: mlgate's keys, CI tokens and cloud credentials "
            "never reach a model server",
        ),
        (
            'env = ["A=B"]',
            "[tool.mlgate.environments.staging].target.env: 'A=B' cannot be passed to a model "
            "server: not an environment variable name",
        ),
        (
            'sandbox = "maybe"',
            "[tool.mlgate.environments.staging].target.sandbox = 'maybe': expected 'auto', "
            "'required' or 'off'",
        ),
        (
            "port = 70000",
            "[tool.mlgate.environments.staging].target.port = 70000: expected a port from 1 to "
            "65535 (0: pick one)",
        ),
        (
            "keep = 0",
            "[tool.mlgate.environments.staging].target.keep = 0: expected a whole number >= 1",
        ),
    ],
)
def test_target_settings_are_validated(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        local_target(tmp_path, f'{{ kind = "local", {table} }}')
    assert str(caught.value) == message


def test_refused_keys() -> None:
    assert refused_key("MODEL_THREADS") is None
    assert refused_key("") == "not an environment variable name"
    assert refused_key("GITHUB_TOKEN") == (
        "mlgate's keys, CI tokens and cloud credentials never reach a model server"
    )


ONE_ANSWER = """
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        asked = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({"output": asked["input"]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).handle_request()
sys.exit(3)
"""


def test_relay_forwards_to_the_server_and_ends_with_it(tmp_path: Path) -> None:
    (tmp_path / "one.py").write_text(ONE_ANSWER)
    listener = bind_local(0)
    inner = bind_local(0)
    inner_port = int(inner.getsockname()[1])
    inner.close()  # the server binds it itself, as a `{port}` server command does
    ours, theirs = socket.socketpair()
    # the relay owns the descriptor it is given, as it does in its own process: hand it a copy
    argv = ["--fd", str(os.dup(theirs.fileno())), "--port", str(inner_port), "--"]
    theirs.close()
    codes: list[int] = []
    relay = threading.Thread(
        target=lambda: codes.append(
            main([*argv, sys.executable, str(tmp_path / "one.py"), str(inner_port)])
        )
    )
    relay.start()
    threading.Thread(target=supervisor.accept_loop, args=(listener, ours), daemon=True).start()
    port = int(listener.getsockname()[1])
    for _ in range(500):
        status, output, _ = _retry_call(port)
        if status:
            break
    relay.join(30)
    assert (status, output, codes) == (200, [1], [3])
    handing = [t for t in threading.enumerate() if t.name.endswith("(serve_handoff)")]
    ours.close()  # the relay's loop ends when the supervisor's side closes
    for thread in handing:
        thread.join(5)
    assert [thread.is_alive() for thread in handing] == [False]
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()


def _retry_call(port: int) -> tuple[int, Any, str]:
    try:
        return _call(port)
    except (OSError, http.client.HTTPException):  # the server is not up yet
        time.sleep(0.02)
        return 0, None, ""


@needs_bwrap
def test_mlgate_deploy_hands_no_secret_to_a_sandboxed_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _clean_environ(monkeypatch)
    package = _project(tmp_path / "hostile", "1.0.0", {})
    config = tmp_path / "project" / "pyproject.toml"
    config.parent.mkdir()
    config.write_text(
        "[tool.mlgate.environments.ci]\n"
        'target = { kind = "local", sandbox = "required" }\n'
        "approval = { required = false }\n"
        'verify = { requests = 1, bake = "0s" }\n'
    )
    settings = release_config(config, {}).environment("ci").target
    assert isinstance(settings, LocalSettings)
    target = LocalTarget(settings, LocalProcesses(), SystemClock())
    try:
        assert cli.main(["deploy", str(package.path), "--env", "ci", "--config", str(config)]) == 0
        router = json.loads((target.store / "router.json").read_text())
        status, found, digest = _call(int(router["port"]))
        assert (status, digest) == (200, package.digest)
        assert sorted(found["env"]) == [
            "HOME",
            "LANG",
            "MLGATE_DIGEST",
            "MLGATE_LISTEN_FD",
            "PATH",
            "PORT",
            "PWD",
        ]
        assert found["env"]["HOME"] == "/tmp"
        assert capsys.readouterr().err == ""
    finally:
        target.shutdown()
