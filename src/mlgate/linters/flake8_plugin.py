"""mlgate's rules as a flake8 plugin (`flake8 --select MLG`).

flake8 hands over the tree it already parsed; the plugin runs the same engine over it as
`mlgate lint` does, with the same settings: `[tool.mlgate]` of the nearest pyproject.toml (or
the one `--mlgate-config` names), its path profiles and its `per-file-ignores`, so both front
ends report the same findings. Rule options can also be given as flake8 options prefixed with
`mlgate-` (`--mlgate-max-function-lines 30`, or `mlgate-max-function-lines = 30` in flake8's
config), so they never clash with other plugins' option names; given there, they replace the
value of `[tool.mlgate]` and of every profile. flake8's own selection, `# noqa`, file-level
`flake8: noqa` and per-file ignores apply on top; the plugin applies mlgate's file-level
`mlgate: noqa` itself.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from mlgate import __version__
from mlgate.errors import ConfigError
from mlgate.linters.base import FileContext, OptionValue
from mlgate.linters.config import LintConfig, load_lint_config
from mlgate.linters.engine import drop_file_noqa, run_guarded
from mlgate.linters.plan import Plan, make_plan
from mlgate.linters.registry import OPTIONS, RULES, build_options

PREFIX = "mlgate-"
_ATTRIBUTE = PREFIX.replace("-", "_")
# How each option type is declared to flake8's option manager.
_DECLARATIONS: dict[type, dict[str, Any]] = {
    bool: {"action": "store_true"},  # flake8 reads `true`/`false` from its config for these
    int: {"type": int},
    str: {"type": str},
    tuple: {"comma_separated_list": True},
}


class Plugin:
    """The flake8 entry point `MLG`: one instance per file, as flake8 requires."""

    name = "mlgate"
    version = __version__
    # flake8 passes options to the class, not to instances; parse_options sets this.
    plan: ClassVar[Plan | None] = None

    def __init__(self, tree: ast.AST, filename: str, lines: Sequence[str]) -> None:
        self.tree = tree
        self.filename = filename
        self.lines = tuple(line[:-1] if line.endswith("\n") else line for line in lines)

    @classmethod
    def add_options(cls, manager: Any) -> None:
        """Declare every rule option as `--mlgate-<option>`, also read from flake8's config."""
        for name, option in OPTIONS.items():
            manager.add_option(
                f"--{PREFIX}{name}",
                default=None,
                parse_from_config=True,
                help=f"mlgate: {option.help} (default: [tool.mlgate], else "
                f"{_shown(option.default)})",
                **_DECLARATIONS[type(option.default)],
            )
        manager.add_option(
            f"--{PREFIX}config",
            default=None,
            parse_from_config=True,
            normalize_paths=True,
            help="the pyproject.toml whose [tool.mlgate] applies (default: the nearest one)",
        )

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        """Read `[tool.mlgate]`, then apply the rule options flake8 was given."""
        given = {
            name: _converted(value)
            for name in OPTIONS
            if (value := getattr(options, _ATTRIBUTE + name.replace("-", "_"))) is not None
        }
        try:
            config = _with_options(_team_config(getattr(options, _ATTRIBUTE + "config")), given)
        except ConfigError as err:
            print(f"mlgate: error: {err}", file=sys.stderr)
            raise SystemExit(2) from None
        cls.plan = make_plan(config, RULES)

    def run(self) -> Iterator[tuple[int, int, str, type[Plugin]]]:
        """Yield flake8's (line, column, "CODE message", type) tuples."""
        if not isinstance(self.tree, ast.Module):
            return
        plan = Plugin.plan or make_plan(LintConfig(Path.cwd()), RULES)
        Plugin.plan = plan
        scope, _, checker = plan.for_path(self.filename)
        found = run_guarded(
            FileContext(self.filename, self.lines, self.tree, scope.config.options), checker
        )
        if found and any("noqa" in line.lower() for line in self.lines):
            found = drop_file_noqa(found, "\n".join(self.lines))  # flake8 knows only its own
        for violation in found:
            yield violation.line, violation.col, f"{violation.code} {violation.message}", type(self)


def _team_config(path: str | None) -> LintConfig:
    """`[tool.mlgate]` of `path`, or of the nearest pyproject.toml that has one."""
    if path and not Path(path).is_file():
        raise ConfigError(f"--{PREFIX}config {path}: no such file; pass a pyproject.toml path")
    return load_lint_config(Path(path) if path else None, RULES, None, None)


def _with_options(config: LintConfig, given: dict[str, OptionValue]) -> LintConfig:
    """`config` with the rule options `given` to flake8 replacing its own and its profiles'."""
    if not given:
        return config
    profiles = tuple(
        dataclasses.replace(profile, config=_with_options(profile.config, given))
        for profile in config.profiles
    )
    options = build_options({**config.options.mapping, **given})
    return dataclasses.replace(config, options=options, profiles=profiles)


def _converted(value: OptionValue | list[str]) -> OptionValue:
    return tuple(value) if isinstance(value, list) else value


def _shown(value: object) -> str:
    return ",".join(value) if isinstance(value, tuple) else str(value)
