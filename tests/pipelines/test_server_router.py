"""The built-in model server and the local target's router, on real sockets."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlgate.pipelines.router import Router, backend
from mlgate.pipelines.runtime import exit_on_term, free_port
from mlgate.pipelines.server import ModelServer, load_entrypoint


class Vector:
    """Stands for a numpy array: JSON-able through tolist()."""

    def tolist(self) -> list[int]:
        return [1, 2]


def _model(value: Any) -> Any:
    return Vector() if value == "vector" else object() if value == "object" else value


def _serve(server: ThreadingHTTPServer) -> Iterator[int]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def model_port() -> Iterator[int]:
    yield from _serve(ModelServer(0, _model, "sha256:feed"))


def _call(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, Any, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, json.loads(response.read()), response.headers
    finally:
        connection.close()


def test_outputs_converted_with_tolist(model_port: int) -> None:
    status, body, _ = _call(model_port, "POST", "/predict", b'{"input": "vector"}')
    assert (status, body) == (200, {"output": [1, 2]})


def test_unserializable_output_is_a_500(model_port: int) -> None:
    status, body, _ = _call(model_port, "POST", "/predict", b'{"input": "object"}')
    assert status == 500
    assert body["error"] == "TypeError: object is not JSON serializable"


def test_body_that_is_not_json(model_port: int) -> None:
    status, body, _ = _call(model_port, "POST", "/predict", b"{")
    assert status == 400
    assert body["error"].startswith("expected a JSON body {'input': ...}: ")


def test_load_entrypoint(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "tripler.py").write_text("def load():\n    return lambda x: 3 * x\n")
    assert load_entrypoint(tmp_path, "tripler:load", ["lib"])(2) == 6
    with pytest.raises(ValueError, match="entrypoint 'tripler' is not 'module:function'"):
        load_entrypoint(tmp_path, "tripler", ["lib"])


def test_router_forwards_to_current(tmp_path: Path, model_port: int) -> None:
    (tmp_path / "releases" / "feed").mkdir(parents=True)
    (tmp_path / "runs").mkdir()
    (tmp_path / "current").symlink_to(Path("releases") / "feed")
    run = {"pid": 1, "port": model_port, "digest": "sha256:feed"}
    (tmp_path / "runs" / "feed.json").write_text(json.dumps(run))
    assert backend(tmp_path) == (model_port, "sha256:feed")
    for port in _serve(Router(0, tmp_path)):
        status, body, headers = _call(port, "POST", "/predict", b'{"input": 7}')
        assert (status, body, headers["X-Mlgate-Digest"]) == (200, {"output": 7}, "sha256:feed")
        assert _call(port, "GET", "/health")[1] == {"status": "ok", "digest": "sha256:feed"}
        (tmp_path / "current").unlink()
        status, body, _ = _call(port, "GET", "/health")
        assert status == 502
        assert body["error"].startswith("no release answering: ")


def test_exit_on_term() -> None:
    with pytest.raises(SystemExit) as caught:
        exit_on_term(15, None)
    assert caught.value.code == 143


@pytest.mark.parametrize("module", ["mlgate.pipelines.server", "mlgate.pipelines.router"])
def test_mains_refuse_bad_arguments(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--port", "x"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "--port: invalid int value: 'x'" in done.stderr


def test_server_main_terminates_cleanly(tmp_path: Path) -> None:
    (tmp_path / "echo.py").write_text("def load():\n    return lambda x: x\n")
    port = free_port()
    argv = ["--root", str(tmp_path), "--entrypoint", "echo:load", "--port", str(port)]
    server = subprocess.Popen(
        [sys.executable, "-m", "mlgate.pipelines.server", *argv], stderr=subprocess.PIPE, text=True
    )
    assert server.stderr is not None
    assert f"serving  on 127.0.0.1:{port}" in server.stderr.readline()
    assert _call(port, "POST", "/predict", b'{"input": [1]}')[1] == {"output": [1]}
    server.terminate()
    assert server.wait(10) == 143
