"""The vocabulary shared by the engine and the rules.

A rule is a module (see `Rule`): it names the AST node types it wants and yields findings for
each such node. The engine parses a file once, walks the tree once and hands every node to the
rules registered for its type, together with a `FileContext` holding what rules share.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol


class Violation(NamedTuple):
    """One finding: 1-based line, 0-based column (as `ast` gives it), code and message."""

    path: str
    line: int
    col: int
    code: str
    message: str


class Finding(NamedTuple):
    """What a rule yields; the engine adds the path and the rule's code."""

    line: int
    col: int
    message: str


class Example(NamedTuple):
    """A rule's example: source, the (line, code) pairs it must produce, option overrides.

    VALID examples expect nothing. `fixed` is the source after `--fix`, for fixable rules.
    """

    source: str
    expected: tuple[tuple[int, str], ...] = ()
    options: tuple[tuple[str, object], ...] = ()
    fixed: str | None = None


DEFAULT_ERROR_REPORTERS = (
    "sentry_sdk.capture_exception",
    "sentry_sdk.capture_message",
    "warnings.warn",
)
DEFAULT_PURE_CALLS = (
    "collections.namedtuple",
    "dataclasses.field",
    "enum.Enum",
    "functools.partial",
    "logging.getLogger",
    "os.environ.get",
    "os.getenv",
    "pathlib.Path",
    "re.compile",
    "typing.NamedTuple",
    "typing.NewType",
    "typing.ParamSpec",
    "typing.TypeVar",
    "typing.TypeVarTuple",
    "typing.cast",
)


@dataclass(frozen=True)
class Options:
    """Rule options, as `[tool.mlgate]` spells them with dashes instead of underscores."""

    max_function_lines: int = 20
    max_parameters: int = 5
    logger_objects: tuple[str, ...] = ()
    error_reporters: tuple[str, ...] = DEFAULT_ERROR_REPORTERS
    pure_calls: tuple[str, ...] = DEFAULT_PURE_CALLS
    extend_pure_calls: tuple[str, ...] = ()
    torch_min_version: str = ""


@dataclass
class FileContext:
    """Per-file facts shared by the rules; built once per file by the engine."""

    path: str
    lines: tuple[str, ...]
    tree: ast.Module
    options: Options
    cache: dict[str, object] = field(default_factory=dict)


class Rule(Protocol):
    """What a rule module provides (modules satisfy this protocol)."""

    CODE: str
    NAME: str
    NODE_TYPES: tuple[type[ast.AST], ...]
    VALID: tuple[Example, ...]
    INVALID: tuple[Example, ...]

    def check(self, node: ast.AST, ctx: FileContext) -> Iterator[Finding]: ...


RuleRegistry = Mapping[str, Rule]
