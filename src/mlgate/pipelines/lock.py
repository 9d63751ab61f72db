"""One deploy or rollback per environment at a time.

The lock is an exclusive `flock` on `<ledger dir>/<env>.lock`. The kernel drops it when the holder
exits, however it dies (SIGKILL included), so a crashed deploy never leaves the environment stuck;
the descriptor is not inherited by the model servers a deploy starts. The file holds the holder's
pid, start time and command so that a refused deploy can say who holds the environment, and
whether that process is still alive.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from mlgate.errors import GateError


class Holder(NamedTuple):
    """Who holds (or last held) an environment's lock."""

    pid: int
    started: str
    command: str


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (zombies count as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - it exists but belongs to another user
        return True
    return not zombie(pid, Path("/proc"))


def start_ticks(pid: int, proc: Path) -> str:
    """When `pid` started, in clock ticks since boot, as `proc` (procfs) tells; "" if unknown.

    With the pid it identifies a process even after its pid was reused by another one.
    """
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:  # no procfs (macOS) or no such process: identity by pid alone
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def zombie(pid: int, proc: Path) -> bool:
    """Whether `pid` has exited but not been reaped, as `proc` (procfs) tells."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:  # no procfs (macOS) or the process just ended: trust os.kill
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _read_holder(path: Path) -> Holder | None:
    try:
        value = json.loads(path.read_text() or "null")
    except (OSError, ValueError):  # written by nobody yet, or a holder died mid-write
        return None
    return Holder(**value) if isinstance(value, dict) else None


def _busy(path: Path, env: str) -> GateError:
    holder = _read_holder(path)
    if holder is None:
        return GateError(f"environment {env!r} is busy: another deploy holds {path}; retry later")
    state = "running" if pid_alive(holder.pid) else "its pid is gone; a child may hold the lock"
    return GateError(
        f"environment {env!r} is busy: `{holder.command}` (pid {holder.pid}, {state}) started "
        f"at {holder.started} holds {path}; wait for it to finish"
    )


@contextlib.contextmanager
def env_lock(directory: Path, env: str, holder: Holder) -> Iterator[None]:
    """Hold `env`'s lock for the block, or raise GateError naming who holds it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{env}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise _busy(path, env) from err
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder._asdict()).encode(), 0)
        yield
    finally:
        os.close(fd)


def held(directory: Path, env: str) -> bool:
    """Whether a live process holds `env`'s lock right now."""
    path = directory / f"{env}.lock"
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
