"""One lint run: discover the files, pick the rules for each, check them, collect findings.

Each file gets its settings from the plan (`mlgate.linters.plan`). With `RunOptions.cache`,
results come from `.mlgate_cache/` when the file is unchanged (see `mlgate.linters.cache`); the
files left to check are spread over `RunOptions.jobs` processes. Findings come back sorted,
whatever the number of processes.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import NamedTuple

from mlgate.linters.anchors import Anchor
from mlgate.linters.base import Cell, Rule, Violation
from mlgate.linters.cache import Cache, ObjectStore, content_key, open_cache
from mlgate.linters.checkfile import FileResult, check_data, is_syntax_only, read_bytes
from mlgate.linters.config import LintConfig, is_ignored
from mlgate.linters.discovery import discover
from mlgate.linters.engine import SYNTAX_ERROR
from mlgate.linters.parallel import map_chunks
from mlgate.linters.plan import FileRules, Plan, make_plan


class RunOptions(NamedTuple):
    """How to run: processes to use, and whether to use the result cache."""

    jobs: int = 1
    cache: bool = False


class LintResult(NamedTuple):
    """The sorted findings of a run, how many files it checked, and which.

    `anchors[i]` is the anchor of `violations[i]` (see `mlgate.linters.anchors`).
    """

    violations: list[Violation]
    files: int
    anchors: tuple[Anchor, ...] = ()
    checked: tuple[str, ...] = ()


def lint_paths(
    paths: Iterable[str],
    config: LintConfig,
    rules: Mapping[str, Rule],
    run: RunOptions | None = None,
) -> LintResult:
    """Lint every Python file and notebook under `paths` with the rules `config` enables.

    Without `run`, everything runs in this process and no cache is used.
    """
    found = discover(paths, config)
    return lint_files(found.files, config, rules, run, found.errors)


def lint_files(
    files: Sequence[str],
    config: LintConfig,
    rules: Mapping[str, Rule],
    run: RunOptions | None = None,
    errors: Sequence[Violation] = (),
) -> LintResult:
    """Lint exactly `files`; `errors` are findings of the discovery to report with them."""
    pairs = [(v, Anchor(v.line, v.line, "<module>", "")) for v in errors]
    pairs = [pair for pair in pairs if not is_ignored(pair[0].code, config.ignore)]
    for result in check_files(files, config, rules, run or RunOptions()):
        pairs.extend(zip(result.violations, result.anchors, strict=True))
    pairs.sort(key=lambda pair: pair[0])
    violations = [v for v, _ in pairs]
    return LintResult(violations, len(files), tuple(a for _, a in pairs), tuple(files))


def check_files(
    files: Sequence[str], config: LintConfig, rules: Mapping[str, Rule], run: RunOptions
) -> list[FileResult]:
    """The result of each file, in order: from the cache, or checked (in parallel)."""
    cache = open_cache(config.root, config_digest(config)) if run.cache else None
    results: dict[str, FileResult] = {}
    todo = [path for path in files if not _cached(cache, path, results)]
    modules = _rule_modules(rules)
    job = _Job(config, modules or (), cache.objects if cache else None)
    work = functools.partial(_check_chunk, job, None if modules else rules)
    jobs = run.jobs if modules else 1  # rules that are not modules cannot cross processes
    for path, (result, key, stat) in zip(todo, map_chunks(work, todo, jobs), strict=True):
        results[path] = result
        if cache is not None and key and stat is not None:
            cache.stats.record(path, stat, key)
    if cache is not None:
        cache.stats.save()
    return [results[path] for path in files]


def config_digest(config: LintConfig) -> str:
    """A digest of the effective configuration, for the cache's salt."""
    return hashlib.sha256(repr(config).encode("utf-8", "surrogateescape")).hexdigest()


def _cached(cache: Cache | None, path: str, results: dict[str, FileResult]) -> bool:
    if cache is None:
        return False
    try:
        stat = os.stat(path)
    except OSError:
        return False  # checked below, where reading it reports the problem
    key = cache.stats.key_for(path, stat)
    result = _stored(cache.objects, key) if key else None
    if result is not None:
        results[path] = result
    return result is not None


def _stored(objects: ObjectStore | None, key: str) -> FileResult | None:
    """The result cached under `key`, if there is a usable one."""
    payload = objects.load(key) if objects is not None else None
    return decode(payload) if payload is not None else None


class _Job(NamedTuple):
    """What a worker needs to check files: picklable, so it can cross to other processes."""

    config: LintConfig
    modules: tuple[tuple[str, str], ...]
    objects: ObjectStore | None


def _rule_modules(rules: Mapping[str, Rule]) -> tuple[tuple[str, str], ...] | None:
    """(code, module name) for every rule when all are modules (importable in a worker)."""
    if not all(isinstance(rule, ModuleType) for rule in rules.values()):
        return None
    return tuple((code, rule.__name__) for code, rule in rules.items())  # type: ignore[attr-defined]


def _check_chunk(
    job: _Job, rules: Mapping[str, Rule] | None, paths: Sequence[str]
) -> list[tuple[FileResult, str, os.stat_result | None]]:
    """Check `paths` (in a worker or in this process): (result, content key, stat) each."""
    if rules is None:
        rules = {code: importlib.import_module(name) for code, name in job.modules}
    plan = make_plan(job.config, rules)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the parser's SyntaxWarnings are not mlgate's findings
        return [_check_path(plan, job.objects, path) for path in paths]


def _check_path(
    plan: Plan, objects: ObjectStore | None, path: str
) -> tuple[FileResult, str, os.stat_result | None]:
    try:
        stat: os.stat_result | None = os.stat(path)
    except OSError:
        stat = None  # reading it below reports why
    data = read_bytes(path)
    if isinstance(data, FileResult):
        return _without_ignored(plan.for_path(path), data), "", None
    key = content_key(path, data)
    result = _stored(objects, key)
    if result is None:
        result = check_one(plan, path, data)
        if objects is not None:
            objects.store(key, encode(result))
    return result, key, stat


def check_one(plan: Plan, path: str, data: bytes) -> FileResult:
    """The findings for the content `data` of `path` under `plan`."""
    rules = plan.for_path(path)
    options = rules.scope.config.options
    return _without_ignored(rules, check_data(path, data, options, rules.checker))


def _without_ignored(rules: FileRules, result: FileResult) -> FileResult:
    """The result, minus an MLG000 finding that `ignore` or `per-file-ignores` turns off."""
    if not is_syntax_only(result):
        return result
    drop = (*rules.scope.config.ignore, *rules.ignored)
    return FileResult((), ()) if is_ignored(SYNTAX_ERROR, drop) else result


def encode(result: FileResult) -> object:
    """A cached result as JSON-ready lists."""
    return {
        "violations": [
            [*v[:5], list(v.cell) if v.cell else None, v.fixable] for v in result.violations
        ],
        "anchors": [list(a) for a in result.anchors],
    }


def _violation(row: list[object]) -> Violation:
    path, line, col, code, message, cell, fixable = row
    where = Cell(*cell) if isinstance(cell, list) else None
    return Violation(path, line, col, code, message, where, fixable is True)  # type: ignore[arg-type]


def decode(payload: object) -> FileResult | None:
    """A cached result, or None when the payload is not one."""
    try:
        rows, anchors = payload["violations"], payload["anchors"]  # type: ignore[index]
        violations = tuple(_violation(row) for row in rows)
        return FileResult(violations, tuple(Anchor(*row) for row in anchors))
    except (TypeError, KeyError, IndexError, ValueError):
        return None  # not what this version writes: check the file again
