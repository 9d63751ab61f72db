"""The real clock and the ledger's time stamps."""

from __future__ import annotations

import io
import os
import socket
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mlgate.pipelines.runtime import (
    Completed,
    LocalProcesses,
    SystemClock,
    descendants,
    free_port,
    listening,
    parse_stamp,
    stamp,
)
from mlgate.pipelines.stage import actor, pause_hook


def test_system_clock() -> None:
    clock = SystemClock()
    before = clock.monotonic()
    clock.sleep(0.01)
    clock.sleep(-1)
    assert clock.monotonic() - before >= 0.01
    assert clock.now().tzinfo is timezone.utc


def test_stamp_round_trip() -> None:
    moment = datetime(2026, 11, 27, 11, 0, 1, 250000, tzinfo=timezone(timedelta(hours=1)))
    assert stamp(moment) == "2026-11-27T10:00:01.250Z"
    assert parse_stamp(stamp(moment)) == moment


def test_processes_start_and_stop(tmp_path: Path) -> None:
    processes = LocalProcesses()
    stubborn = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', flush=True); time.sleep(60)"
    )
    log = tmp_path / "logs" / "p.log"
    proc = processes.start([sys.executable, "-c", stubborn], tmp_path, log, {"X": "1"})
    assert processes.alive(proc)
    assert not processes.alive(proc._replace(started="1"))
    processes.stop(proc._replace(started="1"), 0.1)
    assert processes.alive(proc)
    while "up" not in log.read_text():
        time.sleep(0.02)
    processes.stop(proc, 0.1)
    assert not processes.alive(proc)
    processes.stop(proc, 0.1)


def test_processes_run(tmp_path: Path) -> None:
    processes = LocalProcesses()
    done = processes.run(
        [sys.executable, "-c", "import sys; print('out'); sys.exit(4)"], tmp_path, 10
    )
    assert done == Completed(4, "out\n")
    slow = processes.run([sys.executable, "-c", "import time; time.sleep(5)"], tmp_path, 0.2)
    assert slow.code is None
    missing = processes.run(["/nonexistent"], tmp_path, 1)
    assert missing == Completed(127, "cannot run /nonexistent: No such file or directory")


def test_listening_tells_a_listening_port_from_a_free_one() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert listening(server.getsockname()[1]) is True
    port = free_port()
    assert listening(port) is False
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))  # free: it can be bound


def test_pause_hook(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    pause_hook({"MLGATE_PAUSE_AT": "staged"})("started")
    assert capsys.readouterr().err == ""
    pause_hook({"MLGATE_PAUSE_AT": "staged"})("staged")
    assert capsys.readouterr().err == f"mlgate: paused at staged (pid {os.getpid()})\n"
    assert actor(None, {"GITHUB_ACTOR": "octo", "USER": "me"}) == "octo"
    assert actor("ann", {}) == "ann"


ESCAPER = """
import subprocess, sys, time
code = "import time; print('ready', flush=True); time.sleep(60)"
child = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)  # out of the
print(child.pid, flush=True)  # group, as bwrap --new-session puts the sandbox
time.sleep(60)
"""


def test_stop_ends_a_process_that_left_the_group(tmp_path: Path) -> None:
    processes = LocalProcesses()
    log = tmp_path / "escaper.log"
    proc = processes.start([sys.executable, "-c", ESCAPER], tmp_path, log, dict(os.environ))
    deadline = time.monotonic() + 30
    while "ready" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    escaped = descendants(proc.pid, Path("/proc"))
    assert [each.pid for each in escaped] == [int(log.read_text().split()[0])]
    try:
        processes.stop(proc, 5.0)
        assert (processes.alive(proc), processes.alive(escaped[0])) == (False, False)
    finally:
        if processes.alive(escaped[0]):
            os.kill(escaped[0].pid, 9)
