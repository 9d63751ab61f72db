"""Fakes of the release stages' Protocols (Target, Clock, Processes) and a stub model server.

The fakes keep the state a real target keeps (what serves, what runs) and a log of every call,
so a test asserts exactly what the state machine asked of the target. The stub model server is
a real HTTP server on 127.0.0.1: the verification code (health, smoke, measured requests) runs
unchanged against it, in milliseconds. How each release answers is a mode per digest:
`good` (doubles its input, as the packages' smoke cases expect), `wrong` (triples it), `down`
(every request answers 503); `live` overrides a digest's mode on the stable endpoint only (a
release that breaks once it takes traffic).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mlgate.pipelines.package import Package
from mlgate.pipelines.runtime import Completed, Proc
from mlgate.pipelines.targets import Staged
from mlgate.pipelines.verify import Check

START = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


class FakeClock:
    """Time that moves only when a test (or a stage's sleep) moves it."""

    def __init__(self) -> None:
        self.moment = START
        self.ticks = 0.0

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        return self.ticks

    def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0.0))

    def advance(self, seconds: float) -> None:
        self.ticks += seconds
        self.moment += timedelta(seconds=seconds)


class FakeProcesses:
    """Commands answer with the exit code a test scripted for their first word (default 0)."""

    def __init__(self, codes: Mapping[str, int | None] | None = None) -> None:
        self.codes = dict(codes or {})
        self.ran: list[str] = []

    def start(self, argv: Sequence[str], cwd: Path, log: Path, env: Mapping[str, str]) -> Proc:
        raise AssertionError("the command target starts no process")

    def alive(self, proc: Proc) -> bool:
        raise AssertionError("the command target watches no process")

    def stop(self, proc: Proc, grace: float) -> None:
        raise AssertionError("the command target stops no process")

    def run(self, argv: Sequence[str], cwd: Path, timeout: float) -> Completed:
        self.ran.append(" ".join(argv))
        code = self.codes.get(argv[0], 0)
        return Completed(code, f"{argv[0]} said {code}\n")


class StubServer(ThreadingHTTPServer):
    """Answers /<key>/health and /<key>/predict as the release `key` names would."""

    target: FakeTarget | None = None


def _mode(server: StubServer, key: str) -> str:
    target = server.target
    assert target is not None
    if key == "live":
        return target.live.get(target.current, target.modes.get(target.current, "down"))
    return target.modes.get(target.by_key.get(key, ""), "down")


class _Handler(BaseHTTPRequestHandler):
    server: StubServer

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        mode = _mode(self.server, self.path.split("/")[1])
        self._answer(503 if mode == "down" else 200, {"status": mode})

    def do_POST(self) -> None:
        mode = _mode(self.server, self.path.split("/")[1])
        given = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["input"]
        factor = {"good": 2, "wrong": 3}.get(mode)
        if factor is None:
            self._answer(503, {"error": mode})
            return
        self._answer(200, {"output": given * factor})

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def stub_server() -> Iterator[StubServer]:
    """The stub model server on a free port of 127.0.0.1, for the duration of the block."""
    server = StubServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class FakeTarget:
    """A target that remembers what serves and logs every call by release name.

    `knows` False makes `serving()` answer "" as a target with no memory of its own does (a
    command target, a fresh CI runner). `faults` maps a method name to what it raises (a
    GateError, or a process dying); `modes` and `live` say how each digest answers (see the
    module docstring).
    """

    def __init__(self, server: StubServer, names: Mapping[str, str], knows: bool = True) -> None:
        self.base = f"http://127.0.0.1:{server.server_address[1]}"
        self.names = {**names, "": "nothing"}
        self.by_key = {digest.removeprefix("sha256:")[:16]: digest for digest in names}
        self.modes: dict[str, str] = dict.fromkeys(names, "good")
        self.live: dict[str, str] = {}
        self.faults: dict[str, BaseException] = {}
        self.current = ""
        self.running: set[str] = set()
        self.calls: list[str] = []
        self.knows = knows
        server.target = self

    def _call(self, what: str, *digests: str) -> None:
        self.calls.append(" ".join([what, *(self.names[digest] for digest in digests)]))
        fault = self.faults.get(what)
        if fault is not None:
            raise fault

    def serving(self) -> str:
        return self.current if self.knows else ""

    def stage(self, package: Package, previous: str) -> Staged:
        self._call("stage", package.digest, previous)
        self.running.add(package.digest)
        return Staged(f"{self.base}/{package.digest.removeprefix('sha256:')[:16]}", "", False)

    def switch(self, digest: str) -> str:
        self._call("switch", digest)
        self.current = digest
        return f"{self.base}/live"

    def restore(self, digest: str, replacing: str) -> str:
        self._call("restore", digest, replacing)
        self.current = digest
        if not digest:
            return ""
        self.running.add(digest)
        return f"{self.base}/live"

    def resume(self, digest: str) -> str:
        self._call("resume", digest)
        return ""

    def retire(self, keep: Collection[str]) -> None:
        self._call("retire", *sorted(keep, key=lambda digest: self.names[digest]))
        self.running &= set(keep)

    def probe(self) -> Check | None:
        return None
