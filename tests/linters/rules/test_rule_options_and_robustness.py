"""Rule options are checked when built; rules survive line tables that disagree with the tree."""

from __future__ import annotations

import ast

import pytest

from mlgate.errors import ConfigError
from mlgate.linters.base import FileContext, Options
from mlgate.linters.engine import check_source, check_tree
from mlgate.linters.registry import RULES, build_options
from mlgate.linters.rules.unsafe_deserialization import TORCH_MIN_VERSION


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max-function-lines": -1}, "max-function-lines: must be 0 or more, got -1"),
        ({"max-parameters": -2}, "max-parameters: must be 0 or more, got -2"),
        (
            {"function-lines-include": ("blank-lines", "comments")},
            "function-lines-include: unknown 'comments'; use blank-lines, comment-lines, "
            "decorators, docstrings, nested-definitions, signature",
        ),
        ({"torch-min-version": "2.6a"}, "torch-min-version: must look like \"2.6\", got '2.6a'"),
        ({"max-parameter": 2}, "max-parameter: no rule has such an option"),
    ],
)
def test_invalid_options_name_their_key(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_options(options)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_valid_options() -> None:
    options = build_options({"max-function-lines": 0, "torch-min-version": "2.10.1"})
    assert TORCH_MIN_VERSION.of(options) == "2.10.1"
    assert options.values == (("max-function-lines", 0), ("torch-min-version", "2.10.1"))
    assert build_options({"max-parameters": 5}) == Options()  # a default is not a change


SOURCE = '''\
import pickle


def outer(items):
    """Docstring."""

    def inner():
        """Nested docstring
        over lines."""
        return 1

    for item in items:
        try:
            value = pickle.loads(item)
        except Exception:
            pass
        except KeyError:
            pass
    return value, inner
'''


TREE_ONLY = {(14, "MLG401"), (15, "MLG202"), (17, "MLG203")}


@pytest.mark.parametrize(
    ("kept", "expected"),
    [
        (0, TREE_ONLY),
        (3, TREE_ONLY),
        (9, TREE_ONLY),
        # the function's lines from 4 on are there: MLG101 counts them against the limit of 1
        (15, TREE_ONLY | {(4, "MLG101")}),
    ],
)
def test_rules_survive_fewer_lines_than_the_tree(kept: int, expected: set[object]) -> None:
    lines = tuple(SOURCE.splitlines()[:kept])
    ctx = FileContext(
        "module.py", lines, ast.parse(SOURCE), build_options({"max-function-lines": 1})
    )
    assert {(v.line, v.code) for v in check_tree(ctx, RULES)} == expected


TRY = "def f(x):\n    try:\n        pass\n"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "def f(x):\n    try:\n        pass\n    except Exception:\n        y = {e}\n",
            (4, "MLG202"),
        ),
        (
            "def f(x, log):\n  for y in x:\n    try:\n        pass\n"
            "    except ({e}):\n        pass\n",
            (5, "MLG203"),
        ),
        ("X = print({e})\n", (1, "MLG301")),
        ("X = ({e}).fit()\n", (1, "MLG301")),
        ("if ({e}) == '__main__':\n    print()\n", (2, "MLG301")),
    ],
)
def test_deeply_nested_expressions(template: str, expected: tuple[int, str]) -> None:
    """A 1,500-term sum nests deeper than Python's recursion limit; no rule may recurse on it."""
    source = template.format(e=" + ".join(["x"] * 1500))
    found = check_source(source, "module.py", Options(), RULES)
    assert [(v.line, v.code) for v in found] == [expected]
