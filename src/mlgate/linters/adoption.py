"""What `mlgate lint` and `mlgate baseline` do with a run's findings to make adoption gradual:
compare them with the baseline, keep those on changed lines, and apply the safe fixes.
"""

from __future__ import annotations

import io
import os
import tokenize
from collections.abc import Iterator, Mapping, Sequence
from itertools import groupby
from pathlib import Path
from typing import NamedTuple

from pathspec import GitIgnoreSpec

from mlgate.linters.anchors import Anchor
from mlgate.linters.atomic import write_atomic
from mlgate.linters.autofix import Fixed, Fixer, may_fix
from mlgate.linters.base import Rule, Violation
from mlgate.linters.baseline import (
    BASELINE_FILE,
    Baseline,
    Comparison,
    Fingerprint,
    carry_renames,
    compare,
    git_renames,
    read_baseline,
)
from mlgate.linters.changes import ChangeSet, FileChanges
from mlgate.linters.config import LintConfig
from mlgate.linters.discovery import relative_to_root
from mlgate.linters.notebook_fix import fix_notebook_text
from mlgate.linters.notebooks import SUFFIX
from mlgate.linters.plan import make_plan
from mlgate.linters.run import LintResult, RunOptions, lint_files


def project_keys(paths: Sequence[str], root: Path) -> dict[str, str]:
    """Each path as the baseline records it: relative to the project root, posix."""
    top, cwd = str(root.resolve()), os.getcwd()
    return {path: relative_to_root(os.path.abspath(path), top, cwd) for path in set(paths)}


def fingerprinted(result: LintResult, root: Path) -> list[tuple[Violation, Fingerprint]]:
    """Every finding with its fingerprint."""
    keys = project_keys([v.path for v in result.violations], root)
    return [
        (v, Fingerprint(keys[v.path], v.code, anchor.symbol, anchor.digest))
        for v, anchor in zip(result.violations, result.anchors, strict=True)
    ]


def baseline_file(option: str | None, root: Path) -> Path | None:
    """The baseline `--baseline` names (None for `none`), by default the project's."""
    if option is not None and option.lower() == "none":
        return None
    return Path(option) if option else root / BASELINE_FILE


def load_baseline(path: Path, root: Path) -> Baseline | None:
    """The baseline at `path` with files renamed since then (`git mv`) at their new paths."""
    baseline = read_baseline(path)
    if baseline is None:
        return None
    return carry_renames(baseline, git_renames(path, root))


class Ratchet(NamedTuple):
    """A run's findings against the baseline: only new ones stay in `result`."""

    result: LintResult
    comparison: Comparison


def against_baseline(result: LintResult, baseline: Baseline, root: Path) -> Ratchet:
    """Drop the findings the baseline holds; the comparison lists what it holds no longer."""
    pairs = fingerprinted(result, root)
    checked = set(project_keys(result.checked, root).values())
    comparison = compare(pairs, baseline, checked)
    new = set(map(id, comparison.new))
    kept = [(v, a) for (v, _), a in zip(pairs, result.anchors, strict=True) if id(v) in new]
    return Ratchet(_with(result, kept), comparison)


def _with(result: LintResult, pairs: Sequence[tuple[Violation, Anchor]]) -> LintResult:
    violations = [v for v, _ in pairs]
    return result._replace(violations=violations, anchors=tuple(a for _, a in pairs))


def changed_files(paths: Sequence[str], config: LintConfig, changes: ChangeSet) -> list[str]:
    """The Python files and notebooks with changed lines under `paths`, without walking them.

    Git already knows which files changed: each is kept when it still exists, lies under one of
    `paths` and is not excluded. Paths are shown relative to the working directory.
    """
    cwd = os.path.realpath(os.getcwd())
    tops = [os.path.normpath(os.path.join(cwd, path)).rstrip(os.sep) for path in paths]
    exclude = GitIgnoreSpec.from_lines((*config.exclude, *config.extend_exclude))
    root = os.path.realpath(config.root)
    found = []
    for name in sorted(changes.files):
        absolute = os.path.join(str(changes.root), name)
        if not name.endswith((".py", SUFFIX)) or not os.path.isfile(absolute):
            continue
        inside = any(
            absolute == top or absolute.startswith(top.rstrip(os.sep) + os.sep) for top in tops
        )
        if inside and not exclude.match_file(relative_to_root(absolute, root, cwd)):
            found.append(os.path.relpath(absolute, cwd))
    return found


def on_changed_lines(result: LintResult, changes: ChangeSet) -> LintResult:
    """The findings whose span (a whole function for function-level ones) changed."""
    per_path: dict[str, FileChanges | None] = {}
    kept = []
    for violation, anchor in zip(result.violations, result.anchors, strict=True):
        if violation.path not in per_path:
            per_path[violation.path] = changes.for_path(Path(violation.path))
        found = per_path[violation.path]
        if found is not None and found.touches(anchor.start, anchor.end):
            kept.append((violation, anchor))
    return _with(result, kept)


class FixRun(NamedTuple):
    """What `--fix` (or `--show-fixes`) did: files rewritten, findings resolved, diffs."""

    files: tuple[str, ...]
    resolved: int
    diffs: tuple[str, ...]


def fix(result: LintResult, fixer: Fixer, write: bool) -> FixRun:
    """Apply the safe fixes to the files (and notebooks) with fixable findings."""
    fixable = [v for v in result.violations if may_fix(v)]
    files: list[str] = []
    resolved, diffs = 0, []
    for path, group in groupby(sorted(fixable), key=lambda v: v.path):
        done = _fix_file(path, list(group), fixer, write)
        if done is not None:
            files.append(path)
            resolved += len(done.resolved)
            diffs.append(fixer.unified_diff(path, done))
    return FixRun(tuple(files), resolved, tuple(diffs))


def _fix_file(path: str, found: list[Violation], fixer: Fixer, write: bool) -> Fixed | None:
    data = Path(path).read_bytes()
    if path.endswith(SUFFIX):
        encoding = "utf-8"
        fixed = fix_notebook_text(data.decode(encoding), found, fixer)
    else:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        fixed = fixer.fix_source(data.decode(encoding), found)
    if fixed is None or not fixed.resolved:
        return None
    if write:
        write_atomic(Path(path), fixed.after.encode(encoding))
    return fixed


def relinted(
    result: LintResult, files: Sequence[str], config: LintConfig, rules: Mapping[str, Rule]
) -> LintResult:
    """`result` with the findings of `files` replaced by a fresh check of them."""
    if not files:
        return result
    again = lint_files(files, config, rules, RunOptions())
    changed = set(files)
    pairs = [
        pair
        for pair in zip(result.violations, result.anchors, strict=True)
        if pair[0].path not in changed
    ]
    pairs.extend(zip(again.violations, again.anchors, strict=True))
    pairs.sort(key=lambda pair: pair[0])
    return _with(result, pairs)


def stale_lines(comparison: Comparison, limit: int = 10) -> Iterator[str]:
    """The note about baseline entries that no longer occur, one line each."""
    fixed = comparison.fixed
    if not fixed:
        return
    count = sum(n for _, n in fixed)
    yield f"{count} baseline finding(s) no longer occur (fixed); run `mlgate baseline` to ratchet:"
    for fingerprint, n in fixed[:limit]:
        times = f" (x{n})" if n > 1 else ""
        yield f"  {fingerprint.path}: {fingerprint.code} in {fingerprint.symbol}{times}"
    if len(fixed) > limit:
        yield f"  ... and {len(fixed) - limit} more"


def describe_profile(config: LintConfig, path: str, rules: Mapping[str, Rule]) -> str:
    """Which profile, rules and options apply to `path` (`mlgate lint --show-profile`)."""
    scope, ignored, checker = make_plan(config, rules).for_path(path)
    codes = list(checker.rules)
    profile = next((p for p in config.profiles if p.name == scope.name), None)
    where = "no profile: the [tool.mlgate] settings"
    if profile is not None:
        kind = f", kind {profile.kind}" if profile.kind else ""
        where = f"profile {profile.name!r}{kind} (paths: {', '.join(profile.paths)})"
    changed = [f"  {name} = {value!r}" for name, value in scope.config.options.values]
    ignores = f" (per-file-ignores: {', '.join(ignored)})" if ignored else ""
    lines = [f"{path}: {where}", f"rules{ignores}: {', '.join(codes) or 'none'}"]
    return "\n".join([*lines, *(["options:", *changed] if changed else [])]) + "\n"
