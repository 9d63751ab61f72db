"""Every registered rule's own VALID and INVALID examples, run through the whole rule set.

All rules run on each example, so an example also proves it triggers nothing else (and that a
handler gets at most one of MLG202, MLG203 and MLG204).
"""

from __future__ import annotations

import ast
from typing import Any

import pytest

from mlgate.linters.base import Example, FileContext, Options, Rule
from mlgate.linters.engine import check_source
from mlgate.linters.registry import RULES, build_options


def _cases() -> list[Any]:
    return [
        pytest.param(example, id=f"{code}-{kind}-{index}")
        for code, rule in RULES.items()
        for kind, examples in (("valid", rule.VALID), ("invalid", rule.INVALID))
        for index, example in enumerate(examples)
    ]


def options_of(example: Example) -> Options:
    """`Options` with the example's overrides (kebab-case keys, as in `[tool.mlgate]`)."""
    return build_options(dict(example.options))  # type: ignore[arg-type]


@pytest.mark.parametrize("example", _cases())
def test_example(example: Example) -> None:
    found = check_source(example.source, "example.py", options_of(example), RULES)
    assert sorted((v.line, v.code) for v in found) == sorted(example.expected)


@pytest.mark.parametrize(("code", "rule"), RULES.items())
def test_every_rule_has_both_kinds_of_example(code: str, rule: Rule) -> None:
    assert code == rule.CODE
    assert rule.VALID
    assert rule.INVALID
    assert all(code in {c for _, c in example.expected} for example in rule.INVALID)


@pytest.mark.parametrize("rule", RULES.values(), ids=RULES.keys())
def test_rules_ignore_node_types_they_did_not_ask_for(rule: Rule) -> None:
    tree = ast.parse("pass\n")
    ctx = FileContext("module.py", ("pass",), tree, Options())
    assert list(rule.check(tree.body[0], ctx)) == []
