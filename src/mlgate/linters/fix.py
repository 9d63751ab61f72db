"""Safe rewrites for `mlgate lint --fix`, made with libcst so formatting and comments stay.

Only the nodes a finding points at are rewritten, and only in forms where the fix cannot change
what the code means beyond the finding:
- MLG201 `except:` becomes `except BaseException:` when the handler re-raises (same behaviour,
  named), else `except Exception:` (Ctrl-C and SystemExit are no longer swallowed);
- MLG204 `log.error(...)` / `log.warning(...)` becomes `log.exception(...)`, unless the call
  already passes `exc_info`;
- MLG401 `yaml.load(stream)` (one argument) becomes `yaml.safe_load(stream)`, and `torch.load(...)`
  without `weights_only` (and without `**kwargs`) gets `weights_only=True`.
A rewritten file that does not parse is never returned. Importing this module needs libcst
(`pip install 'mlgate[fix]'`); `mlgate.linters.autofix` loads it and says so when it is missing.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable, Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider

from mlgate.linters.autofix import Fixed
from mlgate.linters.base import Violation

_LOG_FIXES = frozenset({"error", "warning"})


def fix_source(source: str, violations: Sequence[Violation]) -> Fixed:
    """Apply the fixes for `violations` to `source`; unchanged when none applies or parses."""
    lines = source.splitlines()
    targets = {(v.line, _char_col(lines, v), v.code): v for v in violations}
    try:
        wrapper = MetadataWrapper(cst.parse_module(source))
    except cst.ParserSyntaxError:
        return Fixed(source, source, ())  # libcst rejects some valid files: leave them be
    fixer = _Fixer(targets)
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


class _Fixer(cst.CSTTransformer):
    """Rewrites the nodes that start where a fixable finding points."""

    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider)

    def __init__(self, targets: dict[tuple[int, int, str], Violation]) -> None:
        super().__init__()
        self.targets = targets
        self.resolved: list[Violation] = []

    def _target(self, node: cst.CSTNode, code: str) -> Violation | None:
        start = self.get_metadata(PositionProvider, node).start
        return self.targets.get((start.line, start.column, code))

    def leave_ExceptHandler(
        self, original_node: cst.ExceptHandler, updated_node: cst.ExceptHandler
    ) -> cst.ExceptHandler:
        violation = self._target(original_node, "MLG201")
        if violation is None or updated_node.type is not None:
            return updated_node
        self.resolved.append(violation)
        name = "BaseException" if _reraises(updated_node.body) else "Exception"
        return updated_node.with_changes(
            type=cst.Name(name), whitespace_after_except=cst.SimpleWhitespace(" ")
        )

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        for code, rewrite in (("MLG204", _log_exception), ("MLG401", self._safe_load)):
            violation = self._target(original_node, code)
            fixed = rewrite(original_node, updated_node) if violation else None
            if violation is not None and fixed is not None:
                self.resolved.append(violation)
                return fixed
        return updated_node

    def _safe_load(self, original: cst.Call, updated: cst.Call) -> cst.Call | None:
        names = {q.name for q in self.get_metadata(QualifiedNameProvider, original.func, set())}
        if "yaml.load" in names:
            return _yaml_safe_load(updated)
        if "torch.load" in names:
            return _torch_weights_only(updated)
        return None


class _RaiseFinder(cst.CSTVisitor):
    """Finds a `raise` in a handler body, outside nested functions and classes."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def visit_Raise(self, node: cst.Raise) -> bool:
        self.found = True
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def _reraises(body: cst.BaseSuite) -> bool:
    finder = _RaiseFinder()
    body.visit(finder)
    return finder.found


def _keywords(call: cst.Call) -> Iterable[str]:
    return (arg.keyword.value if arg.keyword else arg.star for arg in call.args)


def _log_exception(_: cst.Call, call: cst.Call) -> cst.Call | None:
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in _LOG_FIXES:
        return None
    if {"exc_info", "**"} & set(_keywords(call)):
        return None
    return call.with_changes(func=func.with_changes(attr=cst.Name("exception")))


def _yaml_safe_load(call: cst.Call) -> cst.Call | None:
    func = call.func
    if not isinstance(func, cst.Attribute) or len(call.args) != 1 or set(_keywords(call)) != {""}:
        return None
    return call.with_changes(func=func.with_changes(attr=cst.Name("safe_load")))


def _torch_weights_only(call: cst.Call) -> cst.Call | None:
    if {"weights_only", "**"} & set(_keywords(call)):
        return None
    new = cst.Arg(
        value=cst.Name("True"),
        keyword=cst.Name("weights_only"),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )
    args = list(call.args)
    last = args[-1] if args else None
    if last is not None and isinstance(last.comma, cst.Comma):
        # A trailing comma keeps its place at the end; the old last argument gets the layout
        # the first argument has after the opening parenthesis.
        spacing = call.whitespace_before_args
        after = spacing if isinstance(spacing, cst.ParenthesizedWhitespace) else _SPACE
        args[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=after))
        new = new.with_changes(comma=last.comma)
    return call.with_changes(args=[*args, new])


_SPACE = cst.SimpleWhitespace(" ")
