"""Finding and reading `[tool.mlgate]` from the nearest `pyproject.toml`.

This module only locates and parses the TOML; each area validates its own part into a frozen
value (`mlgate.linters.config` for the lint keys, `mlgate.pipelines.config` for `package`,
`environments` and `ledger`). Sub-tables listed in `SECTIONS` belong to those areas.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from mlgate.errors import ConfigError

#: Sub-tables of `[tool.mlgate]` owned by an area other than the lint keys.
SECTIONS = frozenset({"environments", "ledger", "package", "profiles", "scan"})


class RawConfig(NamedTuple):
    """`[tool.mlgate]` as parsed, and the file it came from (None when there is none)."""

    table: Mapping[str, Any]
    path: Path | None

    @property
    def root(self) -> Path:
        """The project root: the folder of the pyproject.toml, or the working directory."""
        return self.path.parent if self.path else Path.cwd()


def find_pyproject(start: Path) -> Path | None:
    """The nearest `pyproject.toml` at or above `start` that has a `[tool.mlgate]` table.

    Falls back to the nearest `pyproject.toml` of any kind, so a project without the table still
    gets its root; returns None when there is none up to the filesystem root.
    """
    nearest: Path | None = None
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if not candidate.is_file():
            continue
        nearest = nearest or candidate
        if "mlgate" in _read_toml(candidate).get("tool", {}):
            return candidate
    return nearest


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from err
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from err


def load_raw(config_path: Path | None = None, start: Path | None = None) -> RawConfig:
    """Read `[tool.mlgate]` from `config_path`, or from the nearest pyproject.toml."""
    path = config_path or find_pyproject((start or Path.cwd()).resolve())
    if path is None:
        return RawConfig({}, None)
    if config_path is not None and not config_path.is_file():
        raise ConfigError(f"--config {config_path}: no such file; pass a pyproject.toml path")
    table = _read_toml(path).get("tool", {}).get("mlgate", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.mlgate] must be a table")
    return RawConfig(table, path)
