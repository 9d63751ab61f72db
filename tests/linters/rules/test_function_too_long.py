"""MLG101 edge cases beyond the rule's examples."""

from __future__ import annotations

import sys

import pytest
from rule_findings import findings, messages

BODY_OF_3 = "    a = 1\n    b = 2\n    return a + b\n"


def test_message_gives_count_and_limit() -> None:
    assert messages("def f():\n" + BODY_OF_3, max_function_lines=2) == [
        "function `f` has 3 code lines (limit 2)"
    ]


@pytest.mark.parametrize("header", ["def f():\n", "async def f():\n", "def f[T](x: T):\n"])
def test_sync_async_and_generic_functions(header: str) -> None:
    if "[T]" in header and sys.version_info < (3, 12):
        pytest.skip("PEP 695 generics need Python 3.12")
    assert findings(header + BODY_OF_3, max_function_lines=2) == [(1, "MLG101")]
    assert findings(header + BODY_OF_3, max_function_lines=3) == []


def test_decorators_and_signature_count_only_when_asked() -> None:
    source = """\
        @first
        @second(
            option=1,
        )
        def f(
            a,
            b,
        ):
            return a + b
        """
    assert findings(source, max_function_lines=1) == []
    assert findings(source, max_function_lines=4, function_lines_include=("decorators",)) == [
        (5, "MLG101")
    ]
    assert findings(source, max_function_lines=5, function_lines_include=("decorators",)) == []
    assert findings(source, max_function_lines=5, function_lines_include=("signature",)) == []
    both = ("signature", "decorators")
    assert findings(source, max_function_lines=8, function_lines_include=both) == [(5, "MLG101")]
    assert findings(source, max_function_lines=9, function_lines_include=both) == []


def test_comment_lines_between_signature_and_body_belong_to_the_body() -> None:
    source = "def f(\n    a,\n):\n    # why\n\n    return a\n"
    assert findings(source, max_function_lines=1, function_lines_include=()) == []
    include = ("comment-lines", "blank-lines")
    assert findings(source, max_function_lines=2, function_lines_include=include) == [(1, "MLG101")]
    assert findings(source, max_function_lines=3, function_lines_include=include) == []
    include = ("comment-lines", "signature")
    assert findings(source, max_function_lines=5, function_lines_include=include) == []
    assert findings(source, max_function_lines=4, function_lines_include=include) == [(1, "MLG101")]


def test_multi_line_strings_count_every_non_blank_line() -> None:
    source = '''\
        def query():
            """Docstring lines are free."""
            sql = """
                SELECT *

                FROM runs
            """
            return sql
        '''
    # sql = """, SELECT, FROM, """ and return: the blank line inside the string is not code.
    assert findings(source, max_function_lines=5) == []
    assert findings(source, max_function_lines=4) == [(1, "MLG101")]


def test_lambdas_count_toward_the_enclosing_function_only() -> None:
    source = "def f(xs):\n    key = lambda x: (\n        x.score\n    )\n"
    source += "    return sorted(xs, key=key)\n"
    assert findings(source, max_function_lines=3) == [(1, "MLG101")]
    assert findings(source, max_function_lines=4) == []


def test_nested_classes_and_methods() -> None:
    source = '''\
        def factory():
            class Model:
                """Free."""

                def predict(self, x):
                    """Free."""
                    y = x * 2
                    return y

            return Model
        '''
    # factory: class, def, y, return y, return Model = 5; predict: 2.
    assert findings(source, max_function_lines=5) == []
    assert findings(source, max_function_lines=4) == [(1, "MLG101")]
    assert findings(source, max_function_lines=1) == [(1, "MLG101"), (5, "MLG101")]
    assert findings(source, max_function_lines=1, function_lines_include=()) == [(5, "MLG101")]


def test_decorated_nested_definitions_are_left_out_with_their_decorators() -> None:
    source = (
        "def outer():\n    @cache\n    def inner():\n        return 1\n\n    x = inner()\n"
        "    return x\n"
    )
    assert findings(source, max_function_lines=2, function_lines_include=()) == []
    assert findings(source, max_function_lines=5) == []
    assert findings(source, max_function_lines=4) == [(1, "MLG101")]


def test_docstring_sharing_a_line_with_code_still_counts_that_line() -> None:
    source = 'def outer():\n    def inner(): """doc"""\n    x = 1\n    return x\n'
    assert findings(source, max_function_lines=3) == []
    assert findings(source, max_function_lines=2) == [(1, "MLG101")]
    source = 'def outer():\n    class A:\n        """doc"""; x = 1\n    return A\n'
    assert findings(source, max_function_lines=3) == []
    assert findings(source, max_function_lines=2) == [(1, "MLG101")]


def test_docstrings_option_counts_nested_docstrings() -> None:
    source = 'def outer():\n    def inner():\n        """a\n\n        b"""\n    return inner\n'
    assert findings(source, max_function_lines=2) == []
    include = ("docstrings", "nested-definitions")
    assert findings(source, max_function_lines=4, function_lines_include=include) == []
    assert findings(source, max_function_lines=3, function_lines_include=include) == [(1, "MLG101")]


def test_functions_with_only_a_docstring_or_one_line() -> None:
    assert findings('def f():\n    """Only\n    a\n    docstring."""\n', max_function_lines=0) == []
    assert findings("def f(): return 1\n", max_function_lines=0) == [(1, "MLG101")]
    assert findings("def f(): return 1\n", max_function_lines=1) == []


def test_methods_and_form_feeds() -> None:
    source = "class A:\n    def m(self):\n        a = 1\n\x0c\n        return a\n"
    assert findings(source, max_function_lines=1) == [(2, "MLG101")]
    assert findings(source, max_function_lines=2) == []
