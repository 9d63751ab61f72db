"""Spans, symbols and digests of findings."""

from __future__ import annotations

import ast

from mlgate.linters.anchors import MODULE, Anchor, anchor_all, digest
from mlgate.linters.base import Violation

SOURCE = """\
import os


class Trainer:
    @staticmethod
    @cached
    def fit(x):
        try:
            run(x)
        except Exception:
            pass

    async def step(self):
        def inner():
            return 1
        return inner


def load(path):  # a comment
    return torch.load(
        path,
    )
"""


def _anchors(*lines: int) -> tuple[Anchor, ...]:
    violations = [Violation("m.py", line, 0, "MLG999", "m") for line in lines]
    return anchor_all(ast.parse(SOURCE), SOURCE.splitlines(), violations)


def test_function_span_includes_decorators_and_body() -> None:
    (fit,) = _anchors(7)
    assert (fit.start, fit.end, fit.symbol) == (5, 11, "Trainer.fit")


def test_handler_span_and_innermost_symbol() -> None:
    handler, inner, statement = _anchors(10, 15, 20)
    assert (handler.start, handler.end, handler.symbol) == (10, 11, "Trainer.fit")
    assert (inner.start, inner.end, inner.symbol) == (15, 15, "Trainer.step.inner")
    assert (statement.start, statement.end, statement.symbol) == (20, 22, "load")


def test_module_level_and_out_of_range_lines() -> None:
    first, beyond = _anchors(1, 99)
    assert (first.symbol, first.start, first.end) == (MODULE, 1, 1)
    assert (beyond.symbol, beyond.digest) == (MODULE, digest(""))


def test_unparsable_file_gets_line_spans_and_module_symbol() -> None:
    violation = Violation("m.py", 2, 0, "MLG000", "syntax error")
    (anchor,) = anchor_all(None, ["x = 1", "def (:"], [violation])
    assert anchor == Anchor(2, 2, MODULE, digest("def (:"))


def test_no_findings_no_work() -> None:
    assert anchor_all(ast.parse(SOURCE), SOURCE.splitlines(), []) == ()


def test_digest_ignores_spacing_and_comments_but_not_code() -> None:
    assert digest("    except  Exception :  # why") == digest("except Exception:")
    assert digest("x = load( a,") == digest("x = load(a,")
    assert digest("except ValueError:") != digest("except Exception:")
    assert digest('"""unterminated') != digest('"""other')
