"""Every rule mlgate has, by code. Codes are final once released and never reused."""

from __future__ import annotations

from mlgate.linters.base import Rule
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
    unsafe_deserialization,
)

RULES: dict[str, Rule] = {
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
