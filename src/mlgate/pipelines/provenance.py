"""Where a package comes from: git commit, builder, interpreter and framework versions."""

from __future__ import annotations

import datetime
import importlib.metadata
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path

from mlgate.errors import UsageError
from mlgate.pipelines.manifest import GitInfo

#: Distributions whose installed versions are recorded in the manifest when present.
FRAMEWORKS = ("joblib", "lightgbm", "numpy", "scikit-learn", "scipy", "torch", "xgboost")
_BUILDER_VARIABLES = ("MLGATE_BUILDER", "GITHUB_ACTOR", "USER", "USERNAME")


def git_info(root: Path) -> GitInfo | None:
    """HEAD's commit and whether tracked or untracked files differ; None outside a git repo."""
    commit = _git(root, "rev-parse", "HEAD")
    if commit is None:
        return None
    status = _git(root, "status", "--porcelain")
    return GitInfo(commit=commit, dirty=bool(status))


def git_commit_time(root: Path) -> int | None:
    """The committer timestamp of HEAD, or None outside a git repo."""
    stamp = _git(root, "log", "-1", "--format=%ct")
    return int(stamp) if stamp else None


def _git(root: Path, *args: str) -> str | None:
    """Output of a git command, or None when git is missing or the folder is not a repo."""
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None  # git is not installed: the manifest records no commit
    return done.stdout.strip() if done.returncode == 0 else None


def builder_name(explicit: str | None, environ: Mapping[str, str], root: Path) -> str | None:
    """Who built: --builder, then MLGATE_BUILDER, GITHUB_ACTOR, USER, then git user.name."""
    if explicit:
        return explicit
    for variable in _BUILDER_VARIABLES:
        if environ.get(variable):
            return environ[variable]
    return _git(root, "config", "user.name") or None


def framework_versions() -> dict[str, str]:
    """Installed versions of the ML frameworks in `FRAMEWORKS`."""
    versions = {}
    for name in FRAMEWORKS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed: nothing to record
    return versions


def python_version() -> str:
    """The interpreter that built the package, e.g. `3.11.9`."""
    return platform.python_version()


def source_date_epoch(environ: Mapping[str, str]) -> int | None:
    """SOURCE_DATE_EPOCH as an integer, None when unset; a bad value is a usage error."""
    value = environ.get("SOURCE_DATE_EPOCH")
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise UsageError(f"SOURCE_DATE_EPOCH={value!r} must be a whole number of seconds")
    return int(value)


def iso_time(epoch: int) -> str:
    """UTC ISO 8601 with a Z, second precision."""
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
