"""On a terminal, a long `mlgate lint` run rewrites one progress line on stderr; the report is
the one a run without a terminal prints."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from mlgate.commands.lint import PROGRESS_FROM
from workspace import write

BAD = "def f():\n    try:\n        return 1\n    except:\n        return 2\n"


def run(cwd: Path, *argv: str, terminal: bool) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `mlgate lint`, stderr on a pseudo-terminal or a pipe."""
    if not terminal:
        done = subprocess.run(
            [sys.executable, "-m", "mlgate", "lint", *argv],
            cwd=cwd, capture_output=True, text=True, check=False,
        )  # fmt: skip
        return done.returncode, done.stdout, done.stderr
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "mlgate", "lint", *argv],
        cwd=cwd, stdout=subprocess.PIPE, stderr=follower, text=True,
    ) as process:  # fmt: skip
        os.close(follower)
        out = process.stdout.read() if process.stdout else ""
        code = process.wait()
    return code, out, _drain(leader)


def _drain(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal is closed once the child is gone and all was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()


def project(tmp_path: Path, count: int) -> Path:
    files = {f"pkg/m{n:04}.py": "def ok():\n    return 1\n" for n in range(count)}
    write(tmp_path, {**files, "pkg/m0007.py": BAD, "pkg/m0613.py": BAD})
    return tmp_path


def test_a_long_run_on_a_terminal_shows_progress(tmp_path: Path) -> None:
    root = project(tmp_path, 2 * PROGRESS_FROM)
    argv = ("--no-cache", "--jobs", "1", "--select", "MLG201", "pkg")
    code, out, err = run(root, *argv, terminal=True)
    plain = run(root, *argv, terminal=False)
    assert (code, out) == plain[:2]
    assert plain[2] == ""
    assert out.splitlines()[-1] == "Found 2 findings in 2 files (1000 files checked)."
    assert err.startswith("\rmlgate: 100/1000 files checked\rmlgate: 200/1000 files checked")
    assert err.endswith("\rmlgate: 1000/1000 files checked\r\x1b[K")
    assert err.count("\r") == 11


def test_a_short_or_quiet_run_shows_none(tmp_path: Path) -> None:
    short = project(tmp_path / "short", PROGRESS_FROM - 10)
    assert run(short, "--no-cache", "--jobs", "1", "-q", "pkg", terminal=True)[2] == ""
    assert (
        run(short, "--no-cache", "--jobs", "1", "--select", "MLG201", "pkg", terminal=True)[2] == ""
    )
    long = project(tmp_path / "long", PROGRESS_FROM + 10)
    assert run(long, "--no-cache", "--jobs", "1", "-q", "pkg", terminal=True)[2] == ""
