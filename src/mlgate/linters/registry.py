"""Every rule mlgate has, by code, and what is derived from the rules' own declarations.

Codes are final once released and never reused. A rule module declares its code, name,
category, options and fix; `OPTIONS` (every option, by name) and `build_options` (the checked
`Options` record) come from those declarations, and so do the configuration keys, the flake8
options, `--show-profile` and the SARIF categories.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgate.errors import ConfigError
from mlgate.linters.base import Option, Options, OptionValue, Rule
from mlgate.linters.rules import (
    bare_except,
    exception_logged_without_traceback,
    function_too_long,
    global_statement,
    import_time_side_effect,
    production_imports_experiment,
    silently_dropped_exception,
    swallowed_broad_exception,
    too_many_parameters,
    unparsable_file,
    unsafe_deserialization,
)

RULES: dict[str, Rule] = {
    "MLG000": unparsable_file,
    "MLG101": function_too_long,
    "MLG102": too_many_parameters,
    "MLG201": bare_except,
    "MLG202": swallowed_broad_exception,
    "MLG203": silently_dropped_exception,
    "MLG204": exception_logged_without_traceback,
    "MLG301": import_time_side_effect,
    "MLG302": global_statement,
    "MLG303": production_imports_experiment,
    "MLG401": unsafe_deserialization,
}


def declared_options(rules: Mapping[str, Rule]) -> dict[str, Option[Any]]:
    """Every option the rules declare, by name, sorted; rules may share one (by identity)."""
    found: dict[str, Option[Any]] = {}
    for code in sorted(rules):
        for option in rules[code].OPTIONS:
            if found.setdefault(option.name, option) is not option:
                raise ValueError(f"{code} declares another option named {option.name}")
    return dict(sorted(found.items()))


OPTIONS = declared_options(RULES)


def build_options(values: Mapping[str, OptionValue]) -> Options:
    """The `Options` record for `values` (keys as `[tool.mlgate]` spells them), checked.

    Values must already be of their option's kind (`mlgate.linters.config` converts them);
    a value a rule cannot work with is a `ConfigError` naming its key. Defaults are left out.
    """
    changed: dict[str, OptionValue] = {}
    for name, value in values.items():
        option = OPTIONS.get(name)
        if option is None:
            raise ConfigError(f"{name}: no rule has such an option")
        problem = option.check(value)
        if problem:
            raise ConfigError(f"{name}: {problem}")
        if value != option.default:
            changed[name] = value
    return Options(tuple(sorted(changed.items())))
