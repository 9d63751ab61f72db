"""Which rules and options apply to each file: the profiles and `per-file-ignores` of a config.

Each file gets the settings of the first path profile matching it (or of `[tool.mlgate]`), then
its `per-file-ignores`. Shared by `mlgate lint` and the flake8 plugin, which imports this module
and not the run machinery (cache, processes) it does not need.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from pathspec import GitIgnoreSpec

from mlgate.linters.base import Rule
from mlgate.linters.config import LintConfig, enabled_codes, is_ignored
from mlgate.linters.discovery import relative_to_root
from mlgate.linters.engine import Checker, make_checker


class Scope(NamedTuple):
    """The settings for the files of one profile (name "" for `[tool.mlgate]` itself)."""

    name: str
    config: LintConfig
    rules: Mapping[str, Rule]
    per_file: tuple[tuple[GitIgnoreSpec, tuple[str, ...]], ...]


class FileRules(NamedTuple):
    """What applies to one file: its scope, the prefixes `per-file-ignores` turns off, the
    checker of the rules left."""

    scope: Scope
    ignored: tuple[str, ...]
    checker: Checker


class Plan(NamedTuple):
    """Which rules run on which file: profile, enabled rules, `per-file-ignores`."""

    root: str
    base: Scope
    profiles: tuple[tuple[GitIgnoreSpec, Scope], ...]
    checkers: dict[tuple[str, tuple[str, ...]], Checker]

    def for_path(self, path: str) -> FileRules:
        """The scope, ignored prefixes and checker for `path` (made relative once)."""
        relative = self._relative(path) if self.profiles or self.base.per_file else ""
        scope = self._scope_for(relative)
        ignored = self._ignored_for(scope, relative)
        return FileRules(scope, ignored, self._checker_for(scope, ignored))

    def _relative(self, path: str) -> str:
        """`path` relative to the project root (posix), as patterns are written."""
        return relative_to_root(os.path.abspath(path), self.root, os.getcwd())

    def _scope_for(self, relative: str) -> Scope:
        """The settings of the first profile whose paths match `relative`, or the base ones."""
        for spec, scope in self.profiles:
            if spec.match_file(relative):
                return scope
        return self.base

    def _ignored_for(self, scope: Scope, relative: str) -> tuple[str, ...]:
        """The code prefixes the scope's `per-file-ignores` turns off for `relative`."""
        if not scope.per_file:
            return ()
        matched = (codes for spec, codes in scope.per_file if spec.match_file(relative))
        return tuple(sorted({code for codes in matched for code in codes}))

    def _checker_for(self, scope: Scope, ignored: tuple[str, ...]) -> Checker:
        """The checker for a file of `scope` whose ignored prefixes are `ignored`."""
        checker = self.checkers.get((scope.name, ignored))
        if checker is None:
            chosen = {c: r for c, r in scope.rules.items() if not is_ignored(c, ignored)}
            checker = self.checkers[scope.name, ignored] = make_checker(chosen)
        return checker


def make_plan(config: LintConfig, rules: Mapping[str, Rule]) -> Plan:
    """The rules `config` and its profiles enable, and the compiled patterns."""
    profiles = tuple(
        (profile.spec(), _scope(profile.name, profile.config, rules)) for profile in config.profiles
    )
    root = str(config.root.resolve())
    return Plan(root, _scope("", config, rules), profiles, {})


def _scope(name: str, config: LintConfig, rules: Mapping[str, Rule]) -> Scope:
    enabled = enabled_codes(config, rules)
    chosen = {code: rule for code, rule in rules.items() if code in enabled}
    per_file = tuple(
        (GitIgnoreSpec.from_lines([glob]), codes) for glob, codes in config.per_file_ignores
    )
    return Scope(name, config, chosen, per_file)
