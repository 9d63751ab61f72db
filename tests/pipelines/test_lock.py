"""One deploy per environment; a dead holder never leaves the lock stuck."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlgate.errors import GateError
from mlgate.pipelines.lock import Holder, env_lock, held, pid_alive, start_ticks, zombie

ME = Holder(os.getpid(), "2026-11-27T10:00:00.000Z", "mlgate deploy")

HOLD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mlgate.pipelines.lock import Holder, env_lock
    with env_lock(Path(sys.argv[1]), "prod", Holder(int(sys.argv[2]), "then", "mlgate deploy x")):
        print("locked", flush=True)
        sys.stdin.readline()
    """
)


def test_second_holder_refused_while_first_holds(tmp_path: Path) -> None:
    assert not held(tmp_path, "prod")
    with env_lock(tmp_path, "prod", ME):
        assert held(tmp_path, "prod")
        with pytest.raises(GateError) as caught, env_lock(tmp_path, "prod", ME):
            pass
    assert str(caught.value) == (
        f"environment 'prod' is busy: `mlgate deploy` (pid {os.getpid()}, running) started at "
        f"2026-11-27T10:00:00.000Z holds {tmp_path / 'prod.lock'}; wait for it to finish"
    )
    assert not held(tmp_path, "prod")


def test_lock_freed_when_holder_is_killed(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), str(gone.pid)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == b"locked\n"
    busy = rf"`mlgate deploy x` \(pid {gone.pid}, its pid is gone"
    with pytest.raises(GateError, match=busy), env_lock(tmp_path, "prod", ME):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with env_lock(tmp_path, "prod", ME):
        assert held(tmp_path, "prod")


@pytest.mark.parametrize("record", ["", "{", "[1]"])
def test_busy_without_holder_record(tmp_path: Path, record: str) -> None:
    with env_lock(tmp_path, "prod", ME):
        (tmp_path / "prod.lock").write_text(record)
        with pytest.raises(GateError, match="another deploy holds"), env_lock(tmp_path, "prod", ME):
            pass


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_alive(child.pid)
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)
    assert not pid_alive(zombie.pid)
    zombie.wait()
    assert pid_alive(1)


def test_zombie_without_procfs(tmp_path: Path) -> None:
    assert not zombie(os.getpid(), tmp_path)


def test_start_ticks() -> None:
    assert start_ticks(os.getpid(), Path("/proc")).isdigit()
    assert start_ticks(os.getpid(), Path("/nonexistent")) == ""
