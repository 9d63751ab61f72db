"""The result cache and parallel runs through `mlgate lint`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlgate.cli import main
from mlgate.linters.parallel import MIN_PARALLEL
from workspace import write

OLD = 1_600_000_000_000_000_000
GLOBAL = "def f():\n    global A\n"


def _age(root: Path) -> None:
    for path in root.rglob("*.py"):
        os.utime(path, ns=(OLD, OLD))


def test_warm_run_trusts_size_and_mtime(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(here, {"pyproject.toml": "[tool.mlgate]\n", "a.py": GLOBAL, "b.py": "x = 1\n"})
    _age(here)
    assert main(["lint"]) == 1
    cold = capsys.readouterr().out
    assert (here / ".mlgate_cache" / ".gitignore").is_file()
    (here / "a.py").write_text(GLOBAL.replace("A", "B"), encoding="utf-8")
    os.utime(here / "a.py", ns=(OLD, OLD))
    assert main(["lint"]) == 1
    assert capsys.readouterr().out == cold
    assert main(["lint", "--no-cache"]) == 1
    assert "global B" in capsys.readouterr().out


def test_changed_file_is_checked_again(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(here, {"a.py": GLOBAL})
    _age(here)
    assert main(["lint"]) == 1
    write(here, {"a.py": "x = 1\n"})
    assert main(["lint"]) == 0
    assert main(["lint", "--select", "MLG302"]) == 0
    capsys.readouterr()


def test_corrupt_entries_are_not_trusted(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(here, {"a.py": GLOBAL})
    assert main(["lint"]) == 1
    expected = capsys.readouterr().out
    for entry in (here / ".mlgate_cache").rglob("*.json"):
        entry.write_text('{"key": "x"', encoding="utf-8")
    assert main(["lint"]) == 1
    assert capsys.readouterr().out == expected


def test_no_cache_writes_nothing(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(here, {"a.py": GLOBAL})
    assert main(["lint", "--no-cache"]) == 1
    assert not (here / ".mlgate_cache").exists()


def test_parallel_output_matches_serial(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(here, {f"pkg/m{n:03}.py": GLOBAL * (n % 3) for n in range(MIN_PARALLEL + 10)})
    write(here, {"pkg/broken.py": "def (:\n"})
    assert main(["lint", "--no-cache", "--jobs", "1"]) == 1
    serial = capsys.readouterr().out
    assert main(["lint", "--no-cache", "--jobs", "2"]) == 1
    assert capsys.readouterr().out == serial
    assert "pkg/broken.py:1:5: MLG000" in serial


def test_jobs_must_be_positive(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--jobs", "0"]) == 2
    assert "must be a whole number >= 1, not '0'" in capsys.readouterr().err


def test_concurrent_runs_share_the_cache(here: Path) -> None:
    write(here, {f"pkg/m{n:02}.py": GLOBAL * (n % 2) for n in range(40)})
    _age(here)
    command = [sys.executable, "-m", "mlgate", "lint", "--jobs", "1"]
    runs = [subprocess.Popen(command, cwd=here, stdout=subprocess.PIPE) for _ in range(3)]
    outputs = [run.communicate()[0] for run in runs]
    assert [run.returncode for run in runs] == [1, 1, 1]
    assert outputs[0] == outputs[1] == outputs[2]
    assert [line.split(b" ")[:2] for line in outputs[0].splitlines()[:-1]] == [
        [f"pkg/m{n:02}.py:2:5:".encode(), b"MLG302"] for n in range(1, 40, 2)
    ]
    warm = subprocess.run(command, cwd=here, stdout=subprocess.PIPE, check=False)
    assert warm.stdout == outputs[0]
