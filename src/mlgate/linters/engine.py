"""Parse a file once, walk its tree once, and hand each node to the rules that want its type.

The walk visits every node except the `ctx` markers (`Load`, `Store`, `Del`): no rule needs
them and skipping them makes the walk about a third cheaper than `ast.walk`. Visiting order is
unspecified; findings are sorted afterwards.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from mlgate.linters.base import FileContext, Options, Rule, Violation
from mlgate.linters.rules import unparsable_file

SYNTAX_ERROR = unparsable_file.CODE
# The same pattern and matching as flake8, so both front ends suppress the same findings.
_NOQA = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)
_ANY_NOQA = re.compile("noqa", re.IGNORECASE)
# File-level directives, comment lines of their own: "mlgate: noqa" exempts the whole file and
# "mlgate: noqa: CODE,..." those codes in the whole file. flake8's own "flake8: noqa" exempts the
# whole file, matched exactly as flake8 matches it (whatever follows, codes included), so the
# plugin and `mlgate lint` agree. (Written without the leading hash, or tools would obey.)
_FILE_NOQA = re.compile(
    r"^[ \t\f\v]*(?:#[ \t]*(?P<mlgate>mlgate)|# flake8)[:=][ \t\f\v]*noqa(?P<rest>[^\n]*)$",
    re.IGNORECASE | re.MULTILINE,
)
_FILE_CODES = re.compile(r":[ \t]*([A-Z]+[0-9]*(?:[ \t]*,[ \t]*[A-Z]+[0-9]*)*)(?:[ \t]|$)", re.I)
_NEWLINES = re.compile(r"\r\n?")


class Checker(NamedTuple):
    """A set of rules and the dispatch table from node type to the rules that want it."""

    rules: Mapping[str, Rule]
    table: Mapping[type[ast.AST], tuple[Rule, ...]]
    fields: Mapping[type[ast.AST], tuple[str, ...]]


def make_checker(rules: Mapping[str, Rule]) -> Checker:
    """Build the dispatch table once per rule set."""
    table: dict[type[ast.AST], list[Rule]] = {}
    for rule in rules.values():
        for node_type in rule.NODE_TYPES:
            table.setdefault(node_type, []).append(rule)
    dispatch = {node_type: tuple(found) for node_type, found in table.items()}
    return Checker(rules, dispatch, _child_fields())


def run_checker(ctx: FileContext, checker: Checker) -> list[Violation]:
    """Run the checker's rules over `ctx.tree`; findings sorted by position and code."""
    found: list[Violation] = []
    wanted, fields = checker.table.get, checker.fields.get
    stack: list[ast.AST] = [ctx.tree]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        node = pop()
        rules = wanted(node.__class__)
        if rules:
            found.extend(_run_rules(node, ctx, rules))
        for name in fields(node.__class__, ()):
            value = getattr(node, name, None)
            if value.__class__ is list:
                extend([item for item in value if isinstance(item, ast.AST)])
            elif isinstance(value, ast.AST):
                push(value)
    found.sort()
    return found


def run_guarded(ctx: FileContext, checker: Checker) -> list[Violation]:
    """`run_checker`, with any exception raised while checking turned into one MLG000 finding
    for the file (a rule's bug, or a tree nested deeper than Python's stack), so the run goes on."""
    try:
        return run_checker(ctx, checker)
    except Exception as err:  # noqa: BLE001 - reported as the file's finding, never hidden
        return [internal_error(ctx.path, err)]


def internal_error(path: str, err: Exception) -> Violation:
    """The MLG000 finding for a file mlgate failed to check."""
    message = f"mlgate could not check this file: {describe(err)} (please report this)"
    return Violation(path, 1, 0, SYNTAX_ERROR, message)


def check_tree(ctx: FileContext, rules: Mapping[str, Rule]) -> list[Violation]:
    """Run `rules` over the already parsed `ctx.tree`; findings sorted by position and code."""
    return run_checker(ctx, make_checker(rules))


def check_source(
    source: str, path: str, options: Options, rules: Mapping[str, Rule]
) -> list[Violation]:
    """Parse `source` and run `rules` (no `# noqa` handling); a syntax error is one MLG000."""
    parsed = parse_source(source, path)
    if isinstance(parsed, Violation):
        return [parsed]
    return check_tree(FileContext(path, split_lines(source), parsed, options), rules)


def decode_source(data: bytes, path: str) -> str | Violation:
    """Decode `data` with its BOM or coding cookie (default UTF-8), or say why it cannot be."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as err:
        return Violation(path, err.lineno or 1, 0, SYNTAX_ERROR, f"cannot decode: {err.msg}")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1)
        byte = data[err.start : err.start + 1].hex()
        message = f"cannot decode: byte 0x{byte} is not valid {encoding}; declare the encoding"
        return Violation(path, line, col, SYNTAX_ERROR, f"{message} (PEP 263) or re-save the file")


def parse_source(source: str, path: str) -> ast.Module | Violation:
    """The module's tree, or one MLG000 finding with the parser's position and message."""
    if "\0" in source:
        at = source.index("\0")
        line, col = source.count("\n", 0, at) + 1, at - (source.rfind("\n", 0, at) + 1)
        return Violation(path, line, col, SYNTAX_ERROR, "syntax error: a null byte in the source")
    try:
        return ast.parse(source, filename=path)
    except SyntaxError as err:
        line, col = err.lineno or 1, max((err.offset or 1) - 1, 0)
        return Violation(path, line, col, SYNTAX_ERROR, f"syntax error: {err.msg}")
    except (RecursionError, MemoryError, ValueError) as err:  # nesting too deep for the parser
        return Violation(path, 1, 0, SYNTAX_ERROR, f"cannot parse: {describe(err)}")


def describe(err: BaseException) -> str:
    """One line saying what went wrong: the exception's type and its first line of text."""
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def split_lines(source: str) -> tuple[str, ...]:
    """Physical lines as Python counts them (only \\n, \\r\\n and \\r end a line)."""
    if "\r" in source:
        source = _NEWLINES.sub("\n", source)
    lines = source.split("\n")
    if lines[-1] == "":
        lines.pop()
    return tuple(lines)


def apply_noqa(
    found: Iterable[Violation], lines: tuple[str, ...], source: str | None = None
) -> list[Violation]:
    """Drop findings whose line carries `# noqa` or `# noqa: CODE,...` naming their code,
    and those a file-level `# mlgate: noqa[: CODE,...]` or `# flake8: noqa` line exempts.

    As in flake8, a `# noqa` on any line of a token that spans several lines (a multi-line
    string, a backslash continuation) covers all of them. Only files mentioning noqa are
    tokenized. `source` is the text `lines` came from (joined from them when not given).
    """
    found = list(found)
    source = "\n".join(lines) if source is None and found else source or ""
    if not found or not _ANY_NOQA.search(source):
        return found
    found = drop_file_noqa(found, source)
    spans = _statement_lines(source, lines) if found else {}
    return [v for v in found if not _suppressed(v.code, spans.get(v.line) or _line(lines, v))]


def drop_file_noqa(found: list[Violation], source: str) -> list[Violation]:
    """`found` without what a file-level `# mlgate: noqa` or `# flake8: noqa` line exempts."""
    exempt = [code for match in _FILE_NOQA.finditer(source) for code in _exempted(match)]
    return [v for v in found if not v.code.startswith(tuple(exempt))] if exempt else found


def _exempted(match: re.Match[str]) -> list[str]:
    """The code prefixes one directive exempts: [""] is every code."""
    rest = match.group("rest")
    if match.group("mlgate") is None or not rest or rest[0] in " \t":
        return [""]
    codes = _FILE_CODES.match(rest)
    return re.split(r"[ \t]*,[ \t]*", codes.group(1).upper()) if codes else []


def _line(lines: tuple[str, ...], violation: Violation) -> str:
    return lines[violation.line - 1] if 0 < violation.line <= len(lines) else ""


def _suppressed(code: str, text: str) -> bool:
    match = _NOQA.search(text)
    if match is None:
        return False
    codes = match.group("codes")
    if codes is None:
        return True
    return code.startswith(tuple(name for name in re.split(r"[,\s]+", codes) if name))


def _statement_lines(source: str, lines: tuple[str, ...]) -> dict[int, str]:
    """Line number -> the text of all lines of the logical line it belongs to (flake8's map)."""
    spans: dict[int, str] = {}
    first, last = len(lines) + 2, -1
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.ENDMARKER, tokenize.DEDENT):
                continue
            first, last = min(first, token.start[0]), max(last, token.end[0])
            if token.type in (tokenize.NL, tokenize.NEWLINE):
                joined = "\n".join(lines[first - 1 : last]) + "\n"
                spans.update(dict.fromkeys(range(first, last + 1), joined))
                first, last = len(lines) + 2, -1
    except (tokenize.TokenError, SyntaxError):
        return {}  # flake8 then falls back to the physical line; so do we
    return spans


def _run_rules(node: ast.AST, ctx: FileContext, rules: tuple[Rule, ...]) -> list[Violation]:
    path = ctx.path
    return [
        Violation(path, f.line, f.col, rule.CODE, f.message, None, f.fixable)
        for rule in rules
        for f in rule.check(node, ctx)
    ]


def _child_fields() -> dict[type[ast.AST], tuple[str, ...]]:
    """The fields of every node class that can hold child nodes, `ctx` left out."""
    found: dict[type[ast.AST], tuple[str, ...]] = {}
    todo = [ast.AST]
    while todo:
        node_type = todo.pop()
        found[node_type] = tuple(name for name in node_type._fields if name != "ctx")
        todo.extend(node_type.__subclasses__())
    return found
