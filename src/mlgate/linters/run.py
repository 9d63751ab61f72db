"""One lint run: discover the files, pick the rules for each, check them, collect findings."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from pathspec import GitIgnoreSpec

from mlgate.linters.base import Rule, Violation
from mlgate.linters.config import LintConfig, enabled_codes, is_ignored
from mlgate.linters.discovery import discover, relative_to_root
from mlgate.linters.engine import SYNTAX_ERROR, Checker, lint_file, make_checker


class LintResult(NamedTuple):
    """The sorted findings of a run and how many files it checked."""

    violations: list[Violation]
    files: int


class Plan(NamedTuple):
    """Which rules run on which file: the enabled rules minus the file's `per-file-ignores`."""

    config: LintConfig
    root: str
    rules: Mapping[str, Rule]
    per_file: tuple[tuple[GitIgnoreSpec, tuple[str, ...]], ...]
    checkers: dict[tuple[str, ...], Checker]

    def ignored_for(self, path: str) -> tuple[str, ...]:
        """The code prefixes `per-file-ignores` turns off for `path`."""
        if not self.per_file:
            return ()
        absolute = os.path.abspath(path)
        relative = relative_to_root(absolute, self.root, os.getcwd())
        matched = (codes for spec, codes in self.per_file if spec.match_file(relative))
        return tuple(sorted({code for codes in matched for code in codes}))

    def checker_for(self, ignored: tuple[str, ...]) -> Checker:
        """The checker for a file whose ignored prefixes are `ignored` (built once per set)."""
        checker = self.checkers.get(ignored)
        if checker is None:
            chosen = {c: r for c, r in self.rules.items() if not is_ignored(c, ignored)}
            checker = self.checkers[ignored] = make_checker(chosen)
        return checker


def make_plan(config: LintConfig, rules: Mapping[str, Rule]) -> Plan:
    """The rules `config` enables, and the compiled `per-file-ignores` patterns."""
    enabled = enabled_codes(config, rules)
    chosen = {code: rule for code, rule in rules.items() if code in enabled}
    per_file = tuple(
        (GitIgnoreSpec.from_lines([glob]), codes) for glob, codes in config.per_file_ignores
    )
    return Plan(config, str(config.root.resolve()), chosen, per_file, {})


def lint_paths(paths: Iterable[str], config: LintConfig, rules: Mapping[str, Rule]) -> LintResult:
    """Lint every Python file under `paths` with the rules `config` enables."""
    found = discover(paths, config)
    plan = make_plan(config, rules)
    violations = [v for v in found.errors if not is_ignored(v.code, config.ignore)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the parser's SyntaxWarnings are not mlgate's findings
        for path in found.files:
            violations.extend(lint_one(plan, path))
    violations.sort()
    return LintResult(violations, len(found.files))


def lint_one(plan: Plan, path: str) -> list[Violation]:
    """The findings for one file under `plan`, MLG000 included unless ignored."""
    ignored = plan.ignored_for(path)
    found = lint_file(path, plan.config.options, plan.checker_for(ignored))
    if found and found[0].code == SYNTAX_ERROR:
        drop = (*plan.config.ignore, *ignored)
        return [] if is_ignored(SYNTAX_ERROR, drop) else found
    return found
