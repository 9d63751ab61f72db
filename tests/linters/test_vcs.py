"""Running git: failures and a missing executable are usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.errors import UsageError
from mlgate.linters.vcs import git_output, repo_root


def test_failed_command_quotes_git(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"`git rev-parse --show-toplevel` failed: fatal: not"):
        git_output(["rev-parse", "--show-toplevel"], tmp_path)


def test_missing_git_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UsageError, match="git is not installed"):
        repo_root(tmp_path)
