"""Path profiles: `[tool.mlgate.profiles.NAME]` tables with their own rules for some paths.

    [tool.mlgate.profiles.production]
    kind = "production"
    paths = ["src/**"]
    max-function-lines = 15

    [tool.mlgate.profiles.experiments]
    kind = "experiment"
    paths = ["notebooks/**", "experiments/**"]
    ignore = ["MLG101", "MLG301"]

A profile takes every lint key of `[tool.mlgate]` (`select`, `ignore`, `per-file-ignores`, the
rule options, ...) except `exclude`, `extend-exclude` and `force-exclude`, which decide what is
linted at all.
Keys it does not set are inherited from `[tool.mlgate]`. `paths` (gitignore-style globs
relative to the project root) says which files it covers; the first profile in the file whose
paths match a file applies to it, then that profile's `per-file-ignores`. `kind` is optional:
`"production"` profiles get `experiment-paths` (MLG303) filled with the paths of every
`"experiment"` profile, unless they set it themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pathspec import GitIgnoreSpec

from mlgate.config import SECTIONS, RawConfig
from mlgate.errors import ConfigError

if TYPE_CHECKING:
    from mlgate.linters.config import LintConfig

KINDS = ("production", "experiment")
_GLOBAL_ONLY = ("exclude", "extend-exclude", "force-exclude")


@dataclass(frozen=True)
class Profile:
    """One path profile and the settings of the files it covers."""

    name: str
    kind: str
    paths: tuple[str, ...]
    config: LintConfig

    def spec(self) -> GitIgnoreSpec:
        """The compiled `paths` patterns."""
        return GitIgnoreSpec.from_lines(self.paths)


def build_profiles(raw: RawConfig, build: Callable[[RawConfig], LintConfig]) -> tuple[Profile, ...]:
    """The profiles of `raw`, in file order; `build` validates a profile's lint keys."""
    tables = raw.table.get("profiles", {})
    if not isinstance(tables, Mapping):
        raise ConfigError(f"{_where(raw, 'profiles')} must hold tables [tool.mlgate.profiles.NAME]")
    drafts = [(name, _own_keys(raw, name, table)) for name, table in tables.items()]
    experiments = tuple(p for _, (kind, paths, _) in drafts if kind == "experiment" for p in paths)
    return tuple(_profile(raw, name, draft, experiments, build) for name, draft in drafts)


def _own_keys(
    raw: RawConfig, name: str, table: object
) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    where = _where(raw, f"profiles.{name}")
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    paths, kind = table.get("paths"), table.get("kind", "")
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
        raise ConfigError(f"{where}: `paths` must be a non-empty list of globs")
    if kind not in ("", *KINDS):
        raise ConfigError(f"{where}: `kind` must be one of {', '.join(map(repr, KINDS))}")
    rest = {k: v for k, v in table.items() if k not in ("paths", "kind")}
    for key in _GLOBAL_ONLY:
        if key in rest:
            raise ConfigError(
                f"{where}: `{key}` applies to the whole project; set it in [tool.mlgate]"
            )
    return kind, tuple(paths), rest


def _profile(
    raw: RawConfig,
    name: str,
    draft: tuple[str, tuple[str, ...], dict[str, Any]],
    experiments: tuple[str, ...],
    build: Callable[[RawConfig], LintConfig],
) -> Profile:
    kind, paths, own = draft
    base = {k: v for k, v in raw.table.items() if k not in SECTIONS}
    if kind == "production" and "experiment-paths" not in own:
        own = {**own, "experiment-paths": list(experiments)}
    try:
        config = build(RawConfig({**base, **own}, raw.path))
    except ConfigError as err:
        raise ConfigError(f"in profile {name!r}: {err}") from err
    return Profile(name, kind, paths, config)


def _where(raw: RawConfig, table: str) -> str:
    return f"{raw.path}: [tool.mlgate.{table}]" if raw.path else f"[tool.mlgate.{table}]"
