"""The lint part of `[tool.mlgate]`, validated into one frozen `LintConfig`.

Keys: `select`, `extend-select`, `ignore`, `exclude`, `extend-exclude`, `force-exclude`,
`per-file-ignores`, and every option a rule declares (`mlgate.linters.registry.OPTIONS`:
`max-function-lines`, ...).
Sub-tables named in `mlgate.config.SECTIONS` belong to other areas and are skipped here. Any
other key, and any value of the wrong type, is a `ConfigError` that names the key.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from difflib import get_close_matches
from pathlib import Path
from typing import Any, NamedTuple

from mlgate.config import SECTIONS, RawConfig, load_raw
from mlgate.errors import ConfigError
from mlgate.linters.base import Options, OptionValue
from mlgate.linters.engine import SYNTAX_ERROR
from mlgate.linters.profiles import Profile, build_profiles
from mlgate.linters.registry import OPTIONS, build_options

#: Folders never linted unless `exclude` is set (it replaces this list; `extend-exclude` adds).
DEFAULT_EXCLUDE = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pytest_cache",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    "__pypackages__",
    "_build",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
)
_CODE = re.compile(r"[A-Z]+[0-9]*\Z")


@dataclasses.dataclass(frozen=True)
class LintConfig:
    """Everything `mlgate lint` needs to know, read once and passed explicitly.

    `root` is the folder `exclude` and `per-file-ignores` patterns are relative to: the folder
    of the pyproject.toml the settings came from, or the working directory.
    """

    root: Path
    select: tuple[str, ...] = ("MLG",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    force_exclude: bool = False
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    options: Options = dataclasses.field(default_factory=Options)
    profiles: tuple[Profile, ...] = ()


_CODE_KEYS = ("select", "extend-select", "ignore")
_PATTERN_KEYS = ("exclude", "extend-exclude")


class _Kind(NamedTuple):
    """How one option type is checked and converted: `describe` names it in errors."""

    describe: str
    accepts: Callable[[object], bool]
    convert: Callable[[Any], object]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _kinds() -> dict[type, _Kind]:
    return {
        int: _Kind("a whole number >= 0", _is_int, int),
        str: _Kind("a string", lambda value: isinstance(value, str), str),
        bool: _Kind("true or false", lambda value: isinstance(value, bool), bool),
        tuple: _Kind("a list of strings", _is_str_list, tuple),
    }


def option_kinds() -> dict[str, _Kind]:
    """Each rule option (as `[tool.mlgate]` spells it) and the kind of value it takes."""
    kinds = _kinds()
    return {name: kinds[type(option.default)] for name, option in OPTIONS.items()}


def known_keys() -> tuple[str, ...]:
    """Every key `[tool.mlgate]` accepts for linting, sorted, as users write them."""
    named = (*_CODE_KEYS, *_PATTERN_KEYS, "force-exclude", "per-file-ignores")
    return tuple(sorted((*named, *OPTIONS)))


def build_lint_config(raw: RawConfig, known_codes: Iterable[str]) -> LintConfig:
    """Validate `raw` into a `LintConfig`; `known_codes` are the rule codes that exist."""
    codes, kinds = tuple(known_codes), option_kinds()
    fields: dict[str, Any] = {}
    options: dict[str, OptionValue] = {}
    for key, value in raw.table.items():
        name = key.replace("-", "_")
        if key in SECTIONS:
            continue
        if key in _CODE_KEYS:
            fields[name] = _codes(_where(raw, key), value, codes)
        elif key in _PATTERN_KEYS:
            fields[name] = _strings(_where(raw, key), value)
        elif key == "per-file-ignores":
            fields[name] = _per_file_ignores(_where(raw, key), value, codes)
        elif key == "force-exclude":
            fields[name] = _option(_where(raw, key), value, _kinds()[bool])
        elif key in kinds:
            options[key] = _option(_where(raw, key), value, kinds[key])  # type: ignore[assignment]
        else:
            raise ConfigError(_unknown_key(raw, key))
    return LintConfig(raw.root, options=_options(raw, options), **fields)


def _options(raw: RawConfig, values: dict[str, OptionValue]) -> Options:
    try:
        return build_options(values)
    except ConfigError as err:
        raise ConfigError(f"{_where(raw, str(err))}") from err


def load_lint_config(
    config_path: Path | None, rule_codes: Iterable[str], select: str | None, ignore: str | None
) -> LintConfig:
    """Read `--config` or the nearest pyproject.toml, then apply `--select` and `--ignore`."""
    codes = (SYNTAX_ERROR, *rule_codes)
    raw = load_raw(config_path)
    config = build_lint_config(raw, codes)
    profiles = build_profiles(raw, lambda table: build_lint_config(table, codes))
    config = dataclasses.replace(config, profiles=profiles)
    return with_overrides(config, codes, select, ignore)


def with_overrides(
    config: LintConfig, known_codes: Iterable[str], select: str | None, ignore: str | None
) -> LintConfig:
    """Apply `--select` (replaces `select` and `extend-select`) and `--ignore` (adds)."""
    codes = tuple(known_codes)
    if select is not None:
        chosen = _codes("--select", _split(select), codes)
        config = dataclasses.replace(config, select=chosen, extend_select=())
    if ignore is not None:
        more = _codes("--ignore", _split(ignore), codes)
        config = dataclasses.replace(config, ignore=(*config.ignore, *more))
    profiles = tuple(
        dataclasses.replace(p, config=with_overrides(p.config, codes, select, ignore))
        for p in config.profiles
    )
    return dataclasses.replace(config, profiles=profiles)


def enabled_codes(config: LintConfig, known_codes: Iterable[str]) -> frozenset[str]:
    """The codes `select`/`extend-select` turn on and `ignore` does not turn off.

    Selectors are code prefixes (`MLG`, `MLG2`, `MLG202`); the longest matching one decides,
    and `ignore` wins a tie.
    """
    chosen = (*config.select, *config.extend_select)
    return frozenset(code for code in known_codes if _wins(code, chosen, config.ignore))


def is_ignored(code: str, ignore: Iterable[str]) -> bool:
    """Whether any prefix in `ignore` matches `code`."""
    return any(code.startswith(prefix) for prefix in ignore)


def _wins(code: str, select: Iterable[str], ignore: Iterable[str]) -> bool:
    selected = max((len(p) for p in select if code.startswith(p)), default=-1)
    ignored = max((len(p) for p in ignore if code.startswith(p)), default=-1)
    return selected > ignored


def _split(codes: str) -> list[str]:
    return [code.strip() for code in codes.split(",") if code.strip()]


def _where(raw: RawConfig, key: str) -> str:
    return f"{raw.path}: [tool.mlgate] {key}" if raw.path else key


def _strings(where: str, value: object) -> tuple[str, ...]:
    if not _is_str_list(value):
        raise ConfigError(f"{where} must be a list of strings, not {_shown(value)}")
    return tuple(value)  # type: ignore[arg-type]


def _codes(where: str, value: object, known: tuple[str, ...]) -> tuple[str, ...]:
    codes = _strings(where, value)
    for code in codes:
        if not _CODE.match(code) or not any(k.startswith(code) for k in known):
            raise ConfigError(
                f"{where}: unknown rule code {code!r}; `mlgate rules` lists the codes "
                "(a prefix such as MLG2 selects a group)"
            )
    return codes


def _per_file_ignores(
    where: str, value: object, known: tuple[str, ...]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table of glob = [codes], not {_shown(value)}")
    return tuple((glob, _codes(f"{where}.{glob!r}", codes, known)) for glob, codes in value.items())


def _option(where: str, value: object, kind: _Kind) -> object:
    if not kind.accepts(value):
        raise ConfigError(f"{where} must be {kind.describe}, not {_shown(value)}")
    return kind.convert(value)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _unknown_key(raw: RawConfig, key: str) -> str:
    keys = known_keys()
    close = get_close_matches(key.replace("_", "-"), keys, n=1)
    hint = f"did you mean `{close[0]}`?" if close else "known keys: " + ", ".join(keys)
    return f"{_where(raw, key)}: unknown key; {hint}"
