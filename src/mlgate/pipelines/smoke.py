"""Smoke cases: an input sent to the model and what its output must satisfy.

A case is a table with an `input` and any of these checks on the output (all must hold):

- `expect`: the output equals this value (numbers compare within `tolerance` when it is given);
- `one-of`: the output equals one of these values;
- `type`: the output's JSON type: number, integer, string, boolean, list, object or null;
- `length`: the output is a list (or string) of this length.

A case with no check only requires that the model answers. `name` labels the case in reports.
Cases are declared in `[[tool.mlgate.package.smoke]]`, validated here, and stored in the
manifest exactly as written, so the deploy step checks what the package was built with.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from mlgate.errors import ConfigError

KEYS = frozenset({"name", "input", "expect", "tolerance", "one-of", "type", "length"})
_MISSING = object()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


JSON_TYPES: Mapping[str, Callable[[object], bool]] = {
    "boolean": lambda value: isinstance(value, bool),
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "list": lambda value: isinstance(value, list | tuple),
    "null": lambda value: value is None,
    "number": _is_number,
    "object": lambda value: isinstance(value, dict),
    "string": lambda value: isinstance(value, str),
}


class SmokeCase(NamedTuple):
    """One validated smoke case; `expect` is `None` with `has_expect` False when absent."""

    name: str
    input: Any
    expect: Any = None
    has_expect: bool = False
    tolerance: float = 0.0
    one_of: tuple[Any, ...] | None = None
    type: str | None = None
    length: int | None = None


def parse_case(table: Mapping[str, Any], index: int) -> SmokeCase:
    """Validate one smoke case (from config or a manifest); `index` names it when unnamed."""
    where = f"smoke case {index + 1}"
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}'; known: {', '.join(sorted(KEYS))}")
    if "input" not in table:
        raise ConfigError(f"{where}: 'input' is required (the request sent to the model)")
    expect = table.get("expect", _MISSING)
    return SmokeCase(
        name=_typed(table, "name", str, where) or where,
        input=table["input"],
        expect=None if expect is _MISSING else expect,
        has_expect=expect is not _MISSING,
        tolerance=float(_typed(table, "tolerance", int | float, where) or 0.0),
        one_of=_one_of(table, where),
        type=_json_type(table, where),
        length=_typed(table, "length", int, where),
    )


def check_output(case: SmokeCase, output: Any) -> str | None:
    """Why `output` fails `case`, or None when it passes."""
    if case.has_expect and not _equal(output, case.expect, case.tolerance):
        return f"{case.name}: expected {case.expect!r}, got {output!r}"
    if case.one_of is not None and not any(
        _equal(output, allowed, case.tolerance) for allowed in case.one_of
    ):
        return f"{case.name}: expected one of {list(case.one_of)!r}, got {output!r}"
    if case.type is not None and not JSON_TYPES[case.type](output):
        return f"{case.name}: expected a {case.type}, got {output!r}"
    if case.length is not None and not _has_length(output, case.length):
        return f"{case.name}: expected length {case.length}, got {output!r}"
    return None


def _has_length(output: Any, length: int) -> bool:
    return isinstance(output, list | tuple | str) and len(output) == length


def _equal(actual: Any, expected: Any, tolerance: float) -> bool:
    """JSON equality, with numbers compared within `tolerance`."""
    if _is_number(actual) and _is_number(expected):
        return math.isclose(actual, expected, rel_tol=0.0, abs_tol=tolerance)
    if isinstance(actual, list | tuple) and isinstance(expected, list | tuple):
        return len(actual) == len(expected) and all(
            _equal(left, right, tolerance) for left, right in zip(actual, expected, strict=True)
        )
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            _equal(actual[key], expected[key], tolerance) for key in actual
        )
    return bool(type(actual) is type(expected) and actual == expected)


def _typed(table: Mapping[str, Any], key: str, kind: Any, where: str) -> Any:
    value = table.get(key)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise ConfigError(f"{where}: '{key}' has the wrong type ({type(value).__name__})")
    return value


def _one_of(table: Mapping[str, Any], where: str) -> tuple[Any, ...] | None:
    values = _typed(table, "one-of", list, where)
    return None if values is None else tuple(values)


def _json_type(table: Mapping[str, Any], where: str) -> str | None:
    name: str | None = _typed(table, "type", str, where)
    if name is not None and name not in JSON_TYPES:
        raise ConfigError(f"{where}: type '{name}' is not one of {', '.join(sorted(JSON_TYPES))}")
    return name
