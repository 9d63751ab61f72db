"""Smoke cases: validation and output checks."""

from __future__ import annotations

from typing import Any

import pytest

from mlgate.errors import ConfigError
from mlgate.pipelines.smoke import check_output, parse_case


@pytest.mark.parametrize(
    ("case", "output", "problem"),
    [
        ({"input": 1}, "anything", None),
        ({"input": 1, "expect": [0, 1]}, [0, 1], None),
        ({"input": 1, "expect": [0, 1]}, [0, 2], "smoke case 1: expected [0, 1], got [0, 2]"),
        ({"input": 1, "expect": [0.5], "tolerance": 0.01}, [0.505], None),
        ({"input": 1, "expect": [0.5], "tolerance": 0.01}, [0.52], "expected [0.5], got [0.52]"),
        ({"input": 1, "expect": {"a": 1}}, {"a": 1.0}, None),
        ({"input": 1, "expect": {"a": 1}}, {"b": 1}, "expected {'a': 1}, got {'b': 1}"),
        ({"input": 1, "expect": [1]}, [1, 2], "expected [1], got [1, 2]"),
        ({"input": 1, "expect": True}, 1, "expected True, got 1"),
        ({"input": 1, "expect": "x"}, "x", None),
        ({"input": 1, "name": "label", "one-of": ["a", "b"]}, "b", None),
        ({"input": 1, "name": "label", "one-of": ["a", "b"]}, "c", "label: expected one of"),
        ({"input": 1, "type": "list"}, [1], None),
        ({"input": 1, "type": "integer"}, 1.5, "expected a integer, got 1.5"),
        ({"input": 1, "type": "boolean"}, True, None),
        ({"input": 1, "type": "null"}, None, None),
        ({"input": 1, "type": "object"}, {}, None),
        ({"input": 1, "type": "string"}, "s", None),
        ({"input": 1, "type": "number"}, False, "expected a number, got False"),
        ({"input": 1, "length": 2}, [1, 2], None),
        ({"input": 1, "length": 2}, 5, "expected length 2, got 5"),
    ],
)
def test_check_output(case: dict[str, Any], output: Any, problem: str | None) -> None:
    result = check_output(parse_case(case, 0), output)
    if problem is None:
        assert result is None
    else:
        assert result is not None
        assert problem in result


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ({"input": 1, "expected": 2}, "smoke case 3: unknown key 'expected'"),
        ({"expect": 2}, "smoke case 3: 'input' is required"),
        ({"input": 1, "type": "tensor"}, "type 'tensor' is not one of boolean, integer"),
        ({"input": 1, "length": "2"}, "'length' has the wrong type (str)"),
        ({"input": 1, "tolerance": True}, "'tolerance' has the wrong type (bool)"),
    ],
)
def test_parse_case_errors(case: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_case(case, 2)
    assert message in str(err.value)
