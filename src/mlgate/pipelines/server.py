"""The built-in model server: `python -m mlgate.pipelines.server`.

It imports the package's entrypoint ("module:function", resolved inside the release folder),
calls the function once to get a predict callable, and serves on 127.0.0.1:

It serves on `--port`, or on the listening socket it inherits as `--fd` (how the local target
starts it: mlgate binds the port and hands the socket over, so a sandboxed server needs no
network of its own).

- `GET /health`   200 `{"status": "ok", "digest": ...}` once the model is loaded;
- `POST /predict` with `{"input": X}`: 200 `{"output": predict(X)}`; 400 for a body that is not
  such JSON, 500 `{"error": ...}` when predict raises (traceback on stderr).

Outputs are converted with `.tolist()` when they have it (numpy arrays and scalars).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mlgate.pipelines.runtime import adopt, exit_on_term

Predict = Callable[[Any], Any]


def load_entrypoint(root: Path, entrypoint: str, pythonpath: Sequence[str]) -> Predict:
    """Import `module:function` with `pythonpath` (relative to `root`) first on sys.path,
    and call it to get the predict callable."""
    module_name, _, function_name = entrypoint.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"entrypoint {entrypoint!r} is not 'module:function'")
    sys.path[:0] = [str(root / folder) for folder in pythonpath]
    factory = getattr(importlib.import_module(module_name), function_name)
    predict: Predict = factory()
    return predict


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode(body: Any) -> bytes:
    """`body` as JSON bytes, numpy values included."""
    return json.dumps(body, default=_plain).encode()


class _Handler(BaseHTTPRequestHandler):
    """Routes /health and /predict to the model held by the server."""

    server: ModelServer

    def _send(self, status: int, body: Any) -> None:
        self._send_bytes(status, encode(body))

    def _send_bytes(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send(200, {"status": "ok", "digest": self.server.digest})
        else:
            self._send(404, {"error": f"no route {self.path}"})

    def do_POST(self) -> None:
        if self.path != "/predict":
            self._send(404, {"error": f"no route {self.path}"})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            features = body["input"]
        except (ValueError, KeyError, TypeError) as err:
            self._send(400, {"error": f"expected a JSON body {{'input': ...}}: {err}"})
            return
        self._predict(features)

    def _predict(self, features: Any) -> None:
        try:
            data = encode({"output": self.server.predict(features)})
        except Exception as err:  # a model bug: answer 500, log it, keep serving
            logging.getLogger("mlgate.server").exception("predict failed")
            self._send(500, {"error": f"{type(err).__name__}: {err}"})
            return
        self._send_bytes(200, data)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep request logs off stderr; errors are logged on their own."""


class ModelServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its model and the digest it serves."""

    daemon_threads = True

    def __init__(self, port: int, predict: Predict, digest: str, fd: int | None = None) -> None:
        self.predict = predict
        self.digest = digest
        super().__init__(("127.0.0.1", port), _Handler, bind_and_activate=fd is None)
        if fd is not None:
            adopt(self, fd)


def main(argv: Sequence[str] | None = None) -> int:
    """Load the model and serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m mlgate.pipelines.server")
    parser.add_argument("--root", type=Path, required=True, help="the release folder")
    parser.add_argument("--entrypoint", required=True, help="module:function")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", type=int, help="bind 127.0.0.1:PORT")
    where.add_argument("--fd", type=int, help="serve on this inherited listening socket")
    parser.add_argument("--digest", default="")
    parser.add_argument("--path", action="append", default=[], help="a pythonpath folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    signal.signal(signal.SIGTERM, exit_on_term)
    predict = load_entrypoint(args.root.resolve(), args.entrypoint, args.path or ["."])
    with ModelServer(args.port or 0, predict, args.digest, args.fd) as server:
        logging.getLogger("mlgate.server").info(
            "serving %s on 127.0.0.1:%d", args.digest, server.server_port
        )
        server.serve_forever()
    return 0  # pragma: no cover - serve_forever returns only on shutdown()


if __name__ == "__main__":
    sys.exit(main())
