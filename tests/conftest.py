"""Fixtures shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from workspace import git


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
