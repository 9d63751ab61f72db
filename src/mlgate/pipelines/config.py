"""`[tool.mlgate.package]` and `[tool.mlgate.scan]`, validated into frozen values.

[tool.mlgate.package]
name = "iris"                      # default: [project] name
version = "1.2.0"                  # default: [project] version
models = ["models/*.joblib"]       # globs (a folder means every file under it)
code = ["src/iris_model"]          # globs or package folders shipped with the model
exclude = ["*.ipynb"]              # gitignore-style patterns removed from both
entrypoint = "iris_model.serve:load"   # returns the predict callable
server = ["uvicorn", "app:app", "--port", "{port}"]   # optional own server
pythonpath = ["src"]               # default: ["src"] when src/ exists, else ["."]
out = "dist"                       # where `mlgate package build` writes
metadata = { owner = "ml-team" }

[[tool.mlgate.package.smoke]]
input = [[5.1, 3.5, 1.4, 0.2]]
expect = [0]

[tool.mlgate.scan]
packs = ["sklearn"]                # numpy, torch, sklearn, xgboost, lightgbm
allow = ["iris_model.features.Scaler"]
max-bytes = 4294967296             # larger pickles are refused unread
max-opcodes = 20000000
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from mlgate.config import RawConfig
from mlgate.errors import ConfigError
from mlgate.pipelines.smoke import parse_case

PACKAGE_KEYS = frozenset(
    {"name", "version", "models", "code", "exclude", "entrypoint", "server"}
    | {"pythonpath", "out", "smoke", "metadata"}
)
SCAN_KEYS = frozenset({"packs", "allow", "max-bytes", "max-opcodes"})
DEFAULT_MAX_BYTES = 4 * 1024**3
DEFAULT_MAX_OPCODES = 20_000_000
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*\Z")
_ENTRYPOINT = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*\Z")


class PackageConfig(NamedTuple):
    """What `mlgate package build` puts in a package."""

    root: Path
    name: str
    version: str
    models: tuple[str, ...]
    entrypoint: str
    code: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    server: tuple[str, ...] | None = None
    pythonpath: tuple[str, ...] = (".",)
    out: str = "dist"
    smoke: tuple[Mapping[str, Any], ...] = ()
    metadata: Mapping[str, str] = MappingProxyType({})


class ScanConfig(NamedTuple):
    """What the pickle scanner allows and how much it reads."""

    packs: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    max_bytes: int = DEFAULT_MAX_BYTES
    max_opcodes: int = DEFAULT_MAX_OPCODES


def load_package_config(raw: RawConfig) -> PackageConfig:
    """Validate `[tool.mlgate.package]`; name and version fall back to `[project]`."""
    table = _section(raw, "package", PACKAGE_KEYS)
    where = "[tool.mlgate.package]"
    project = _project_table(raw.path)
    return PackageConfig(
        root=raw.root,
        name=_safe_name(table, project, "name"),
        version=_safe_name(table, project, "version"),
        models=_required_strings(table, "models", where),
        entrypoint=_entrypoint(table),
        code=_strings(table, "code", where) or (),
        exclude=_strings(table, "exclude", where) or (),
        server=_strings(table, "server", where),
        pythonpath=_strings(table, "pythonpath", where) or _default_pythonpath(raw.root),
        out=_string(table, "out", where) or "dist",
        smoke=_smoke(table),
        metadata=_metadata(table),
    )


def load_scan_config(raw: RawConfig) -> ScanConfig:
    """Validate `[tool.mlgate.scan]` (packs and allow entries are checked by the scanner)."""
    table = _section(raw, "scan", SCAN_KEYS)
    where = "[tool.mlgate.scan]"
    return ScanConfig(
        packs=_strings(table, "packs", where) or (),
        allow=_strings(table, "allow", where) or (),
        max_bytes=_positive(table, "max-bytes", where) or DEFAULT_MAX_BYTES,
        max_opcodes=_positive(table, "max-opcodes", where) or DEFAULT_MAX_OPCODES,
    )


def _section(raw: RawConfig, name: str, keys: frozenset[str]) -> Mapping[str, Any]:
    table = raw.table.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{raw.path}: [tool.mlgate.{name}] must be a table")
    unknown = sorted(set(table) - keys)
    if unknown:
        known = ", ".join(sorted(keys))
        raise ConfigError(f"[tool.mlgate.{name}]: unknown key '{unknown[0]}' (known: {known})")
    return table


def _project_table(path: Path | None) -> Mapping[str, Any]:
    if path is None:
        return {}
    with path.open("rb") as handle:
        project = tomllib.load(handle).get("project", {})
    return project if isinstance(project, dict) else {}


def _safe_name(table: Mapping[str, Any], project: Mapping[str, Any], key: str) -> str:
    value = table.get(key, project.get(key))
    if value is None:
        raise ConfigError(f"[tool.mlgate.package]: no {key}; set '{key}' there or in [project]")
    if not isinstance(value, str) or not _SAFE_NAME.match(value):
        raise ConfigError(
            f"[tool.mlgate.package]: {key} {value!r} must be letters, digits and . _ + -"
        )
    return value


def _entrypoint(table: Mapping[str, Any]) -> str:
    value = _string(table, "entrypoint", "[tool.mlgate.package]")
    if value is None or not _ENTRYPOINT.match(value):
        raise ConfigError(
            "[tool.mlgate.package]: 'entrypoint' must be \"module:function\", the function "
            f"that returns the predict callable (got {value!r})"
        )
    return value


def _default_pythonpath(root: Path) -> tuple[str, ...]:
    return ("src",) if (root / "src").is_dir() else (".",)


def _string(table: Mapping[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: '{key}' must be a string")
    return value


def _strings(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: '{key}' must be a list of strings")
    return tuple(value)


def _required_strings(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = _strings(table, key, where)
    if not values:
        raise ConfigError(f"{where}: '{key}' is required: list the globs of the model files")
    return values


def _positive(table: Mapping[str, Any], key: str, where: str) -> int | None:
    value = table.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ConfigError(f"{where}: '{key}' must be a positive integer")
    return value


def _smoke(table: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    cases = table.get("smoke", [])
    if not isinstance(cases, list) or not all(isinstance(case, dict) for case in cases):
        raise ConfigError("[tool.mlgate.package]: 'smoke' must be an array of tables")
    for index, case in enumerate(cases):
        parse_case(case, index)
    return tuple(cases)


def _metadata(table: Mapping[str, Any]) -> Mapping[str, str]:
    value = table.get("metadata", {})
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        raise ConfigError("[tool.mlgate.package]: 'metadata' must be a table of strings")
    return dict(value)
