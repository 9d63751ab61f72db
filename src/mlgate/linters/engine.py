"""Parse a file once, walk its tree once, and hand each node to the rules that want its type."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping

from mlgate.linters.base import FileContext, Options, Rule, Violation

SYNTAX_ERROR = "MLG000"


def _dispatch_table(rules: Iterable[Rule]) -> dict[type[ast.AST], list[Rule]]:
    table: dict[type[ast.AST], list[Rule]] = {}
    for rule in rules:
        for node_type in rule.NODE_TYPES:
            table.setdefault(node_type, []).append(rule)
    return table


def check_tree(ctx: FileContext, rules: Mapping[str, Rule]) -> list[Violation]:
    """Run `rules` over the already parsed `ctx.tree`; findings sorted by position and code."""
    table = _dispatch_table(rules.values())
    found: list[Violation] = []
    for node in ast.walk(ctx.tree):
        for rule in table.get(type(node), ()):
            found.extend(
                Violation(ctx.path, f.line, f.col, rule.CODE, f.message)
                for f in rule.check(node, ctx)
            )
    return sorted(found)


def check_source(
    source: str, path: str, options: Options, rules: Mapping[str, Rule]
) -> list[Violation]:
    """Parse `source` and run `rules`; a syntax error is one MLG000 finding."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as err:
        line, col = err.lineno or 1, max((err.offset or 1) - 1, 0)
        return [Violation(path, line, col, SYNTAX_ERROR, f"syntax error: {err.msg}")]
    ctx = FileContext(path, tuple(source.splitlines()), tree, options)
    return check_tree(ctx, rules)
