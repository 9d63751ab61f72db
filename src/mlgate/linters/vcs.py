"""Running `git` for the lint features that read history: changed lines and renamed files.

Every call pins the options that user configuration could change (prefixes, quoting, colour,
external diff drivers), so the output mlgate parses is the same on every machine.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from mlgate.errors import UsageError

_PINNED = ("-c", "core.quotepath=false", "-c", "diff.noprefix=false")


class GitResult(NamedTuple):
    """What one git command printed and returned."""

    returncode: int
    stdout: str
    stderr: str


def git(args: Sequence[str], cwd: Path) -> GitResult:
    """Run `git ARGS` in `cwd`; a missing git executable is a UsageError."""
    try:
        done = subprocess.run(
            ["git", *_PINNED, *args],
            cwd=cwd,
            capture_output=True,
            encoding="utf-8",
            errors="surrogateescape",
            check=False,
        )
    except FileNotFoundError as err:
        raise UsageError("git is not installed or not on PATH; install git to use it") from err
    return GitResult(done.returncode, done.stdout, done.stderr.strip())


def git_output(args: Sequence[str], cwd: Path) -> str:
    """The standard output of `git ARGS`; a failure is a UsageError quoting git's message."""
    result = git(args, cwd)
    if result.returncode != 0:
        raise UsageError(f"`git {' '.join(args)}` failed: {result.stderr}")
    return result.stdout


def repo_root(cwd: Path) -> Path | None:
    """The top folder of the git work tree holding `cwd`, or None outside one."""
    result = git(["rev-parse", "--show-toplevel"], cwd)
    return Path(result.stdout.strip()) if result.returncode == 0 else None
