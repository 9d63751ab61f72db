"""The side effects the release stages depend on, each behind a small Protocol.

`SystemClock` and `LocalProcesses` are the real ones. The stages take them as arguments, so a
test can hand in its own clock (approval expiry) while everything else runs for real.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from http.server import HTTPServer
from pathlib import Path
from types import FrameType
from typing import NamedTuple, Protocol

from mlgate.pipelines.lock import pid_alive, start_ticks


class Clock(Protocol):
    """Wall time for records, monotonic time for measuring, and sleeping."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`."""
        time.sleep(max(seconds, 0.0))


class Completed(NamedTuple):
    """A finished command: exit code (None when it timed out) and its combined output."""

    code: int | None
    output: str


class Proc(NamedTuple):
    """A process: its pid and its start time, so that a reused pid is not mistaken for it."""

    pid: int
    started: str


class Processes(Protocol):
    """Starting, watching and stopping the processes a target runs."""

    def start(self, argv: Sequence[str], cwd: Path, log: Path, env: Mapping[str, str]) -> Proc: ...

    def alive(self, proc: Proc) -> bool: ...

    def stop(self, proc: Proc, grace: float) -> None: ...

    def run(self, argv: Sequence[str], cwd: Path, timeout: float) -> Completed: ...


#: The environment variable naming the listening socket a server inherits.
LISTEN_FD = "MLGATE_LISTEN_FD"


class LocalProcesses:
    """Real processes on this machine. Servers get their own session and outlive mlgate."""

    def start(self, argv: Sequence[str], cwd: Path, log: Path, env: Mapping[str, str]) -> Proc:
        """Spawn `argv` detached with exactly the environment `env` (nothing inherited), output
        appended to `log`; the descriptor `env` names in MLGATE_LISTEN_FD is passed on."""
        log.parent.mkdir(parents=True, exist_ok=True)
        fds = (int(env[LISTEN_FD]),) if env.get(LISTEN_FD) else ()
        with log.open("ab") as out:
            process = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=fds,
            )
        process.returncode = 0  # reaped by stop() or by init; silences Popen's ResourceWarning
        return Proc(process.pid, start_ticks(process.pid, Path("/proc")))

    def alive(self, proc: Proc) -> bool:
        """Whether the process still runs (a zombie does not, nor another one with its pid)."""
        if not pid_alive(proc.pid):
            return False
        return not proc.started or start_ticks(proc.pid, Path("/proc")) in ("", proc.started)

    def stop(self, proc: Proc, grace: float) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds, to the process, its process group and
        every process below it (a sandbox runs in its own session, out of the group's reach,
        and may not have armed bwrap's --die-with-parent yet); reap it when it is our child."""
        tree = [proc, *descendants(proc.pid, Path("/proc"))] if self.alive(proc) else [proc]
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            running = [each for each in tree if self.alive(each)]
            if not running:
                _ended(proc.pid, 0.0)
                return
            for each in running:
                with contextlib.suppress(ProcessLookupError):  # ended meanwhile: nothing to stop
                    _signal(each.pid, sig)
            if self._all_ended(tree, wait):
                return

    def _all_ended(self, tree: Sequence[Proc], wait: float) -> bool:
        """Whether the first process of `tree` (reaped) and all the others end within `wait`."""
        deadline = time.monotonic() + wait
        while not _ended(tree[0].pid, 0.0) or any(self.alive(each) for each in tree[1:]):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def run(self, argv: Sequence[str], cwd: Path, timeout: float) -> Completed:
        """Run `argv` to completion (or `timeout`), capturing stdout and stderr together."""
        try:
            done = subprocess.run(
                list(argv), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as err:
            return Completed(None, _text(err.stdout) + _text(err.stderr))
        except OSError as err:
            return Completed(127, f"cannot run {argv[0]}: {err.strerror}")
        return Completed(done.returncode, done.stdout + done.stderr)


def _parent(entry: Path) -> int:
    """The parent pid of the process `entry` (a procfs folder) describes; 0 if none."""
    try:
        stat = (entry / "stat").read_text()
    except OSError:  # it ended while we looked: no longer anyone's child
        return 0
    return int(stat.rsplit(")", 1)[-1].split()[1])


def descendants(pid: int, proc: Path) -> list[Proc]:
    """Every process below `pid`, with its start time, as `proc` (procfs) tells; none when
    there is no procfs (the process group must do there)."""
    children: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):  # no procfs (macOS): nothing to walk
        for entry in proc.iterdir():
            if entry.name.isdigit():
                children.setdefault(_parent(entry), []).append(int(entry.name))
    found: list[Proc] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(Proc(child, start_ticks(child, proc)))
        todo += children.get(child, [])
    return found


def _signal(pid: int, sig: int) -> None:
    """Signal the group `pid` leads (servers start their own session), else `pid` alone."""
    if os.getpgid(pid) == pid:
        os.killpg(pid, sig)
    else:
        os.kill(pid, sig)


def _text(value: bytes | str | None) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value or ""


def _ended(pid: int, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        with contextlib.suppress(ChildProcessError):  # not our child: init reaps it
            os.waitpid(pid, os.WNOHANG)
        if not pid_alive(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`.

    A connection from an ephemeral port to itself (TCP simultaneous open, possible when `port`
    is in the ephemeral range and nothing listens) does not count.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        if probe.connect_ex(("127.0.0.1", port)) != 0:
            return False
        return bool(probe.getsockname() != probe.getpeername())


def bind_local(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:`port` (0: a free one); OSError when it is taken."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Linux still refuses a port another socket listens on; this only lets a port whose
    # previous server left connections in TIME_WAIT be bound again (as http.server does).
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


def answering(port: int, timeout: float) -> bool:
    """Whether an HTTP server answers on 127.0.0.1:`port` within `timeout` (any status)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/health")
        connection.getresponse().read()
    except (OSError, http.client.HTTPException):  # not serving (yet): the caller polls again
        return False
    finally:
        connection.close()
    return True


def adopt(server: HTTPServer, fd: int) -> None:
    """Make `server` (created unbound) serve on the inherited listening socket `fd`."""
    server.socket.close()
    server.socket = socket.socket(fileno=fd)
    host, port = server.socket.getsockname()[:2]
    server.server_address = (host, port)
    server.server_name, server.server_port = host, port


def exit_on_term(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends the process through SystemExit, so `finally` blocks and atexit run."""
    raise SystemExit(128 + signum)


def stamp(moment: datetime) -> str:
    """`moment` as the ISO 8601 UTC text the ledger stores."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_stamp(text: str) -> datetime:
    """The inverse of `stamp`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
