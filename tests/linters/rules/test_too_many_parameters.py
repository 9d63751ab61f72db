"""MLG102 edge cases beyond the rule's examples."""

from __future__ import annotations

import sys

import pytest
from rule_findings import findings, messages


@pytest.mark.parametrize(
    ("signature", "expected"),
    [
        ("def f(a, b, c, d, e, *args, **kwargs):", []),  # variadics do not count (PLR0913)
        ("def f(a, b, c, d, e, g, *args, **kwargs):", [(1, "MLG102")]),
        ("def f(a, b, c, /, d, *, e, f):", [(1, "MLG102")]),
        ("def f(self, a, b, c, d, e):", [(1, "MLG102")]),  # not a method: `self` counts
        ("def f(a, self, b, c, d, e):", [(1, "MLG102")]),
        ("def f(_, a, b, c, d, e):", []),
        ("def f(_a, b, c, d, e, g):", [(1, "MLG102")]),  # only all-underscore names are skipped
        ("async def f(a, b, c, d, e, f=1):", [(1, "MLG102")]),
    ],
)
def test_what_counts(signature: str, expected: list[tuple[int, str]]) -> None:
    assert findings(f"{signature}\n    return 1\n") == expected


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("def f(self, a, b, c, d, e):", []),
        ("def f(this, /, a, b, c, d, e):", []),
        ("@classmethod\n    def f(klass, a, b, c, d, e):", []),
        ("@staticmethod\n    def f(a, b, c, d, e, g):", [(4, "MLG102")]),
        ("@staticmethod\n    def f(self, a, b, c, d, e):", [(4, "MLG102")]),
        ("@typing.override\n    def f(self, a, b, c, d, e, g):", []),
    ],
)
def test_the_implicit_first_parameter_by_decorator(method: str, expected: object) -> None:
    source = f"import typing\nclass A:\n    {method}\n        return 1\n"
    assert findings(source) == expected


def test_lambdas_are_not_checked() -> None:
    source = "def f(items):\n    return sorted(items, key=lambda a, b, c, d, e, g: a)\n"
    assert findings(source) == []


@pytest.mark.parametrize("decorator", ["overload", "typing.overload", "t.overload"])
def test_overload_stubs_are_exempt_but_not_the_implementation(decorator: str) -> None:
    source = (
        "import typing\nimport typing as t\nfrom typing import overload\n\n\n"
        f"@{decorator}\ndef f(a, b, c, d, e, g): ...\n"
        "def f(a, b, c, d, e, g):\n    return a\n"
    )
    assert findings(source) == [(8, "MLG102")]


def test_nested_and_method_definitions_and_message() -> None:
    source = (
        "class A:\n    def outer(self):\n        def inner(a, b, c, d, e, g):\n"
        "            return a\n        return inner\n"
    )
    assert findings(source) == [(3, "MLG102")]
    assert messages(source) == ["function `inner` takes 6 parameters (limit 5)"]
    assert findings(source, max_parameters=6) == []


@pytest.mark.skipif(sys.version_info < (3, 12), reason="PEP 695 generics need Python 3.12")
def test_generic_functions() -> None:  # pragma: no cover - Python 3.12+
    assert findings("def f[T](a: T, b, c, d, e, g):\n    return a\n") == [(1, "MLG102")]
