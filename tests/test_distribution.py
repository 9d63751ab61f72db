"""What users get: the built wheel installed into a fresh virtual environment, and the
pre-commit hook run by a real pre-commit."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from workspace import git, write

ROOT = Path(__file__).resolve().parents[1]
BAD = "def f():\n    try:\n        return 1\n    except:\n        return 2\n"
GOOD = "def f():\n    return 1\n"


def run(*command: str | Path, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        out,
        ROOT,
        cwd=out,
    )
    assert done.returncode == 0, done.stderr
    [built] = out.glob("mlgate-*.whl")
    return built


def test_the_wheel_holds_only_the_mlgate_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        declared = archive.read(entry_points).decode()
    assert {name.split("/")[0] for name in names if ".dist-info/" not in name} == {"mlgate"}
    assert "MLG = mlgate.linters.flake8_plugin:Plugin" in declared
    assert "mlgate = mlgate.cli:main" in declared


@pytest.mark.slow
def test_installed_wheel_gives_mlgate_and_the_flake8_plugin(wheel: Path, tmp_path: Path) -> None:
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    done = run(python, "-m", "pip", "install", "-q", wheel, "flake8", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    work = tmp_path / "work"
    write(work, {"bad.py": BAD})
    lint = run(env / "bin" / "mlgate", "lint", "bad.py", cwd=work)
    assert lint.returncode == 1
    assert lint.stdout.startswith("bad.py:4:5: MLG201 ")
    flake8 = run(python, "-m", "flake8", "--select", "MLG", "bad.py", cwd=work)
    assert flake8.returncode == 1
    assert flake8.stdout.splitlines() == lint.stdout.splitlines()[:-1]
    for name in ("linters", "pipelines"):
        probe = run(python, "-c", f"import {name}", cwd=work)
        assert probe.returncode == 1
        assert f"ModuleNotFoundError: No module named '{name}'" in probe.stderr


@pytest.mark.slow
def test_pre_commit_hook_fails_then_passes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    git(tmp_path, "init", "-q", "project")
    excluded = '[tool.mlgate]\nextend-exclude = ["vendor/"]\n'
    files = {"pkg/model.py": BAD, "vendor/lib.py": BAD, "pyproject.toml": excluded}
    write(project, {**files, "README.md": "not python\n"})
    git(project, "add", ".")
    command = (sys.executable, "-m", "pre_commit", "try-repo", ROOT, "mlgate", "--all-files")
    home = str(tmp_path / "pre-commit-home")
    first = run(*command, cwd=project, PRE_COMMIT_HOME=home)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "pkg/model.py:4:5: MLG201 " in first.stdout
    assert "vendor/lib.py" not in first.stdout  # pre-commit names it; the hook excludes it
    write(project, {"pkg/model.py": GOOD})
    git(project, "add", ".")
    second = run(*command, cwd=project, PRE_COMMIT_HOME=home)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "mlgate lint" in second.stdout
