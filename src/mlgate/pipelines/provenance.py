"""Where a package comes from: git commit, builder, interpreter and framework versions.

What the commit determines goes into the manifest (and so into the digest). Who built the
package, when, and in which CI run goes into the build record, `<package>.provenance.json`
beside the package: it names the digest it belongs to and is read back with the package, and
the release workflow attests it together with the package.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from mlgate.errors import PackageError, UsageError
from mlgate.pipelines.manifest import GitInfo

#: Distributions whose installed versions are recorded in the manifest when present.
FRAMEWORKS = ("joblib", "lightgbm", "numpy", "scikit-learn", "scipy", "torch", "xgboost")
# A re-run is started by GITHUB_TRIGGERING_ACTOR; GITHUB_ACTOR stays whoever started attempt 1.
_BUILDER_VARIABLES = (
    "MLGATE_BUILDER",
    "GITHUB_TRIGGERING_ACTOR",
    "GITHUB_ACTOR",
    "USER",
    "USERNAME",
)
RECORD_SUFFIX = ".provenance.json"


class BuildRecord(NamedTuple):
    """One build of a package: the digest it produced, who, when, and the CI run (if any)."""

    digest: str
    builder: str | None
    built: str
    commit: str | None = None
    run_id: str | None = None
    run_attempt: str | None = None
    run_url: str | None = None


def record_path(package: Path) -> Path:
    """Where the build record of `package` is kept: beside it, named after it."""
    return package.with_name(package.name + RECORD_SUFFIX)


def ci_run(environ: Mapping[str, str]) -> dict[str, str | None]:
    """The GitHub Actions run of this build, from its environment; all None elsewhere."""
    run_id = environ.get("GITHUB_RUN_ID") or None
    base = f"{environ.get('GITHUB_SERVER_URL', '')}/{environ.get('GITHUB_REPOSITORY', '')}"
    url = f"{base}/actions/runs/{run_id}" if run_id and "GITHUB_REPOSITORY" in environ else None
    return {"run_id": run_id, "run_attempt": environ.get("GITHUB_RUN_ATTEMPT"), "run_url": url}


def record_json(record: BuildRecord) -> bytes:
    """The build record as indented JSON."""
    return (json.dumps(record._asdict(), indent=2, sort_keys=True) + "\n").encode("utf-8")


def read_record(package: Path, digest: str) -> BuildRecord | None:
    """The build record beside `package` when there is one for `digest`; None otherwise."""
    try:
        table = json.loads(record_path(package).read_text(encoding="utf-8"))
        record = BuildRecord(**table)
    except FileNotFoundError:
        return None  # a package copied without its record: nothing is known about its build
    except (OSError, ValueError, TypeError) as err:
        raise PackageError(f"{record_path(package)}: not a build record ({err})") from err
    if not all(value is None or isinstance(value, str) for value in record):
        raise PackageError(f"{record_path(package)}: not a build record (values must be strings)")
    return record if record.digest == digest else None


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
    """Who built: --builder, then $MLGATE_BUILDER, $GITHUB_TRIGGERING_ACTOR, $GITHUB_ACTOR, $USER,
    $USERNAME, then git user.name."""
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
