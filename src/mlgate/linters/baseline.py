"""The baseline: findings a team has accepted for now, so that only new ones fail.

A finding is recorded by its fingerprint, not its line: the file (relative to the project root),
the code, the enclosing symbol and a digest of the offending line (see `mlgate.linters.anchors`).
Identical fingerprints are counted, so a second identical finding in a symbol is new. The file
is sorted JSON with one entry per line, so a ratchet shows up in review as deleted lines. Files
moved with `git mv` keep their entries through git's rename detection.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from mlgate.errors import ConfigError, GateError
from mlgate.linters.atomic import write_atomic
from mlgate.linters.base import Violation
from mlgate.linters.vcs import git, repo_root

BASELINE_FILE = ".mlgate-baseline.json"
VERSION = 1
_FIELDS = ("path", "code", "symbol", "hash")


class Fingerprint(NamedTuple):
    """What identifies a finding across edits: file, code, enclosing symbol, source digest."""

    path: str
    code: str
    symbol: str
    digest: str


Baseline = Counter[Fingerprint]


class Comparison(NamedTuple):
    """Findings split against a baseline, and the baseline entries that no longer occur."""

    new: tuple[Violation, ...]
    known: tuple[Violation, ...]
    fixed: tuple[tuple[Fingerprint, int], ...]


def compare(
    findings: Iterable[tuple[Violation, Fingerprint]],
    baseline: Baseline,
    checked: Collection[str],
) -> Comparison:
    """Split findings into new and known; `fixed` covers entries of the `checked` paths only."""
    remaining = Counter(baseline)
    new: list[Violation] = []
    known: list[Violation] = []
    for violation, fingerprint in findings:
        if remaining[fingerprint] > 0:
            remaining[fingerprint] -= 1
            known.append(violation)
        else:
            new.append(violation)
    fixed = sorted((fp, n) for fp, n in remaining.items() if n > 0 and fp.path in checked)
    return Comparison(tuple(new), tuple(known), tuple(fixed))


def updated(
    old: Baseline | None,
    findings: Sequence[tuple[Violation, Fingerprint]],
    checked: Collection[str],
    allow_growth: bool,
) -> Baseline:
    """The baseline after a `mlgate baseline` run over the `checked` paths.

    Entries of unchecked paths are kept. Findings not in `old` are refused (GateError) unless
    `allow_growth`, so the ratchet never slips by accident; a first baseline takes everything.
    """
    current = Counter(fingerprint for _, fingerprint in findings)
    if old is not None and not allow_growth:
        _refuse_growth(compare(findings, old, checked).new)
    kept = Counter({fp: n for fp, n in (old or Counter()).items() if fp.path not in checked})
    return kept + current


def _refuse_growth(new: Sequence[Violation]) -> None:
    if not new:
        return
    first = new[0]
    raise GateError(
        f"{len(new)} finding(s) are not in the baseline (first: {first.path}:{first.line}: "
        f"{first.code}); fix them, or pass --allow-growth to accept them into the baseline"
    )


def render(baseline: Baseline) -> str:
    """The baseline file's text: sorted, one entry per line, stable across runs."""
    entries = [
        json.dumps({**dict(zip(_FIELDS, fp, strict=True)), "count": n}, ensure_ascii=False)
        for fp, n in sorted(baseline.items())
        if n > 0
    ]
    body = ",\n".join(f"    {entry}" for entry in entries)
    findings = f"[\n{body}\n  ]" if entries else "[]"
    return f'{{\n  "version": {VERSION},\n  "findings": {findings}\n}}\n'


def write_baseline(path: Path, baseline: Baseline) -> None:
    """Write the baseline atomically (a reader sees the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, render(baseline).encode("utf-8"))


def read_baseline(path: Path) -> Baseline | None:
    """The baseline stored at `path`, or None when there is no such file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None  # no baseline yet: every finding is new
    except OSError as err:
        raise ConfigError(f"cannot read baseline {path}: {err.strerror}") from err
    try:
        return _parse(json.loads(data))  # bytes that are not UTF-8 JSON are a ValueError too
    except (ValueError, TypeError, KeyError) as err:
        raise ConfigError(
            f"{path} is not an mlgate baseline ({err}); regenerate it with `mlgate baseline`"
        ) from err


def _parse(data: Mapping[str, object]) -> Baseline:
    if data.get("version") != VERSION:
        raise ValueError(f"unsupported version {data.get('version')!r}")
    entries = data["findings"]
    if not isinstance(entries, list):
        raise TypeError("findings must be a list")
    baseline: Baseline = Counter()
    for entry in entries:
        fields = [entry[name] for name in _FIELDS]
        if not all(isinstance(value, str) for value in fields) or type(entry["count"]) is not int:
            raise TypeError(f"malformed entry {entry!r}")
        baseline[Fingerprint(*fields)] += entry["count"]
    return baseline


def carry_renames(baseline: Baseline, renames: Mapping[str, str]) -> Baseline:
    """The baseline with each renamed file's entries moved to its new path."""
    moved: Baseline = Counter()
    for fp, n in baseline.items():
        moved[fp._replace(path=renames.get(fp.path, fp.path))] += n
    return moved


def git_renames(baseline_path: Path, project_root: Path) -> dict[str, str]:
    """Files renamed since the baseline was last committed (or since HEAD), old to new path.

    Paths are relative to `project_root`; outside a git work tree there are none.
    """
    root = repo_root(project_root)
    if root is None:
        return {}
    since = git(["log", "-1", "--format=%H", "--", str(baseline_path)], root).stdout.strip()
    if not since and git(["rev-parse", "--verify", "--quiet", "HEAD"], root).returncode != 0:
        return {}
    status = git(["diff", "--name-status", "-M", "-z", since or "HEAD", "--"], root).stdout
    return _renames(status.split("\0"), root.resolve(), project_root.resolve())


def _renames(fields: Sequence[str], root: Path, project_root: Path) -> dict[str, str]:
    renames: dict[str, str] = {}
    index = 0
    while index < len(fields) - 1:
        status = fields[index]
        width = 3 if status[:1] in ("R", "C") else 2
        if status.startswith("R"):
            old, new = (_relative(root / fields[index + k], project_root) for k in (1, 2))
            if old and new:
                renames[old] = new
        index += width
    return renames


def _relative(path: Path, root: Path) -> str | None:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else None
