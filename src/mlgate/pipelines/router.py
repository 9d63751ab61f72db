"""The local target's stable endpoint: `python -m mlgate.pipelines.router`.

Clients of an environment talk to one port that never changes. For every request the router
reads where traffic goes, the release folder the `current` symlink of the release store points
to and the port its server listens on (`runs/<release>.json`), and forwards the request there.
Switching traffic is therefore one atomic rename of `current`; the router needs no signal and
keeps answering from whichever release `current` names, whatever happens to a deploy.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import signal
import sys
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mlgate.pipelines.runtime import adopt, exit_on_term

_FORWARDED = ("Content-Type",)


def backend(store: Path) -> tuple[int, str]:
    """The port and digest of the release `current` points to; OSError/ValueError if none."""
    release = (store / "current").resolve(strict=True).name
    run = json.loads((store / "runs" / f"{release}.json").read_text())
    return int(run["port"]), str(run["digest"])


class _Handler(BaseHTTPRequestHandler):
    server: Router

    def _reply(self, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            port, digest = backend(self.server.store)
            answer = _relay(port, self.command, self.path, body, self.headers)
        except (OSError, ValueError, KeyError, http.client.HTTPException) as err:
            message = json.dumps({"error": f"no release answering: {err}"}).encode()
            self._reply(502, [("Content-Type", "application/json")], message)
            return
        status, headers, data = answer
        self._reply(status, [*headers, ("X-Mlgate-Digest", digest)], data)

    do_GET = _forward
    do_POST = _forward

    def log_message(self, format: str, *args: Any) -> None:
        """Keep request logs off stderr."""


def _relay(
    port: int, method: str, path: str, body: bytes, headers: Any
) -> tuple[int, list[tuple[str, str]], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        sent = {name: headers[name] for name in _FORWARDED if headers.get(name)}
        connection.request(method, path, body=body or None, headers=sent)
        response = connection.getresponse()
        kept = [(name, response.headers[name]) for name in _FORWARDED if response.headers[name]]
        return response.status, kept, response.read()
    finally:
        connection.close()


class Router(ThreadingHTTPServer):
    """Forwards every request to the release the store's `current` pointer names."""

    daemon_threads = True

    def __init__(self, port: int, store: Path, fd: int | None = None) -> None:
        self.store = store
        super().__init__(("127.0.0.1", port), _Handler, bind_and_activate=fd is None)
        if fd is not None:
            adopt(self, fd)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the store's current release on `--port` until terminated."""
    parser = argparse.ArgumentParser(prog="python -m mlgate.pipelines.router")
    parser.add_argument("--store", type=Path, required=True, help="the release store")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", type=int, help="bind 127.0.0.1:PORT")
    where.add_argument("--fd", type=int, help="serve on this inherited listening socket")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    signal.signal(signal.SIGTERM, exit_on_term)
    with Router(args.port or 0, args.store.resolve(), args.fd) as router:
        logging.getLogger("mlgate.router").info(
            "routing 127.0.0.1:%d to %s", router.server_port, args.store
        )
        router.serve_forever()
    return 0  # pragma: no cover - serve_forever returns only on shutdown()


if __name__ == "__main__":
    sys.exit(main())
