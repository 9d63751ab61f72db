"""Safe rewrites for `mlgate lint --fix`, made with libcst so formatting and comments stay.

Each rule declares its own rewrite (`FIX`, a `mlgate.linters.base.Fix`) and marks the findings
it can rewrite (`fixable`); this module applies them. Only the node a fixable finding points at
is rewritten, by the rule that found it. A rewritten file that does not parse is never
returned. Importing this module needs libcst
(`pip install 'mlgate[fix]'`); `mlgate.linters.autofix` loads it and says so when it is missing.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Mapping, Sequence
from typing import TypeVar, cast

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider

from mlgate.linters.autofix import Fixed
from mlgate.linters.base import Fix, Rule, Violation
from mlgate.linters.registry import RULES


def fix_source(
    source: str, violations: Sequence[Violation], rules: Mapping[str, Rule] = RULES
) -> Fixed:
    """Apply the fixes for `violations` to `source`; unchanged when none applies or parses."""
    lines = source.splitlines()
    targets = {(v.line, _char_col(lines, v), v.code): v for v in violations if v.fixable}
    try:
        wrapper = MetadataWrapper(cst.parse_module(source))
    except cst.ParserSyntaxError:
        return Fixed(source, source, ())  # libcst rejects some valid files: leave them be
    fixer = _Fixer(targets, _fixes(rules))
    after = wrapper.visit(fixer).code
    if after == source or not _parses(after):
        return Fixed(source, source, ())
    return Fixed(source, after, tuple(sorted(fixer.resolved)))


def _char_col(lines: Sequence[str], violation: Violation) -> int:
    """The character column of a violation whose column is in UTF-8 bytes, as `ast` gives it."""
    if not 0 < violation.line <= len(lines):
        return violation.col
    text = lines[violation.line - 1].encode("utf-8", "surrogatepass")
    return len(text[: violation.col].decode("utf-8", "replace"))


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def unified_diff(path: str, fixed: Fixed) -> str:
    """The fix as a unified diff between `a/PATH` and `b/PATH`."""
    return "".join(
        difflib.unified_diff(
            fixed.before.splitlines(keepends=True),
            fixed.after.splitlines(keepends=True),
            f"a/{path}",
            f"b/{path}",
        )
    )


_Node = TypeVar("_Node", bound=cst.CSTNode)


def _fixes(rules: Mapping[str, Rule]) -> dict[str, list[tuple[str, Fix]]]:
    """The rules' fixes by the libcst node type they rewrite."""
    found: dict[str, list[tuple[str, Fix]]] = {}
    for code, rule in sorted(rules.items()):
        if rule.FIX is not None:
            found.setdefault(rule.FIX.node, []).append((code, rule.FIX))
    return found


class FixTools:
    """What a rule's rewrite gets: the libcst module and facts about the nodes it sees."""

    cst = cst

    def __init__(self, fixer: _Fixer) -> None:
        self._fixer = fixer

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        """The qualified names `node` may refer to (`yaml.load` for `load` imported from yaml)."""
        found = self._fixer.get_metadata(QualifiedNameProvider, node, set())
        return {name.name for name in found}

    @staticmethod
    def keywords(call: cst.Call) -> set[str]:
        """The keywords `call` passes (`""` for a positional argument, `"*"`/`"**"` unpacked)."""
        return {arg.keyword.value if arg.keyword else arg.star for arg in call.args}

    def contains(self, node: cst.CSTNode, wanted: type[cst.CSTNode]) -> bool:
        """Whether `node` holds a `wanted` node outside nested functions and classes."""
        finder = _Finder(wanted)
        node.visit(finder)
        return finder.found


class _Fixer(cst.CSTTransformer):
    """Rewrites the nodes that start where a fixable finding points, with its rule's fix."""

    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider)

    def __init__(
        self,
        targets: dict[tuple[int, int, str], Violation],
        fixes: dict[str, list[tuple[str, Fix]]],
    ) -> None:
        super().__init__()
        self.targets, self.fixes, self.tools = targets, fixes, FixTools(self)
        self.resolved: list[Violation] = []

    def on_leave(
        self, original_node: _Node, updated_node: _Node
    ) -> _Node | cst.RemovalSentinel | cst.FlattenSentinel[_Node]:
        for code, fix in self.fixes.get(type(original_node).__name__, ()):
            violation = self._target(original_node, code)
            fixed = fix.rewrite(self.tools, original_node, updated_node) if violation else None
            if violation is not None and fixed is not None:
                self.resolved.append(violation)
                return cast("_Node", fixed)
        return updated_node

    def _target(self, node: cst.CSTNode, code: str) -> Violation | None:
        start = self.get_metadata(PositionProvider, node).start
        return self.targets.get((start.line, start.column, code))


class _Finder(cst.CSTVisitor):
    """Finds a node of one type, outside nested functions and classes."""

    def __init__(self, wanted: type[cst.CSTNode]) -> None:
        super().__init__()
        self.wanted, self.found = wanted, False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, self.wanted):
            self.found = True
        return not self.found and not isinstance(node, cst.FunctionDef | cst.ClassDef)
